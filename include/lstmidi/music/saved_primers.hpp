// SPDX-License-Identifier: MIT
/// Saved primers: the openings of training pieces a run keeps in primers.txt (in its folder, or
/// embedded in a one-file model), from which lstmidi-generate picks its default primer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/music/model_metadata.hpp"

namespace lstmidi::music {

/// Largest primers.txt read (a run writes at most 64 lines of --primer-length words).
inline constexpr std::size_t kMaxPrimersFileBytes = std::size_t{16} << 20;

/// One saved primer: its words, and where it came from (for messages).
struct SavedPrimer {
  std::string text;   // at most `max_words` words of the line, single-space separated
  std::string where;  // "<dir>/primers.txt:<line>"
};

/// Every non-empty line of the directory's primers.txt, whole, each with where it came from:
/// the saved openings a program may offer to choose from. Throws std::invalid_argument if the
/// file is missing or has no lines, FormatError if it is larger than kMaxPrimersFileBytes
/// (checked before reading). `dir` may also be a one-file model, with its metadata in `meta`.
inline std::vector<SavedPrimer> read_saved_primer_lines(
    const std::filesystem::path& dir, const std::map<std::string, std::string>* meta = nullptr) {
  std::error_code ec;
  const bool one_file = std::filesystem::is_regular_file(dir, ec);
  const std::filesystem::path file = one_file ? dir : dir / kPrimersFile;
  std::istringstream embedded;
  std::ifstream on_disk;
  if (one_file) {
    const std::optional<std::string> text =
        meta ? embedded_file(*meta, kPrimersFile) : std::nullopt;
    if (!text)
      throw std::invalid_argument(file.string() +
                                  ": carries no saved primers; pass --primer or --primer-notes");
    embedded.str(*text);
  } else {
    if (!std::filesystem::is_regular_file(file, ec))
      throw std::invalid_argument(
          file.string() + ": missing, so no saved primers; pass --primer or --primer-notes");
    const auto size = std::filesystem::file_size(file, ec);
    if (ec || size > kMaxPrimersFileBytes)
      throw FormatError(file.string() + ": file is " + std::to_string(size) +
                        " bytes, above the limit of " + std::to_string(kMaxPrimersFileBytes) +
                        " bytes for saved primers");
    on_disk.open(file, std::ios::binary);
  }
  std::istream& in = one_file ? static_cast<std::istream&>(embedded) : on_disk;
  std::vector<SavedPrimer> lines;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty())
      lines.push_back({std::move(line), file.string() + (one_file ? " (its saved primers)" : "") +
                                            ":" + std::to_string(number)});
  }
  if (lines.empty())
    throw std::invalid_argument(file.string() +
                                ": no saved primers; pass --primer or --primer-notes");
  return lines;
}

namespace detail {
// `p` with its text cut to the first `max_words` words, single-space separated.
inline SavedPrimer first_words(const SavedPrimer& p, std::size_t max_words) {
  SavedPrimer out;
  out.where = p.where;
  std::istringstream words(p.text);
  std::size_t n = 0;
  for (std::string w; n < max_words && words >> w; ++n) out.text += (n ? " " : "") + w;
  return out;
}
}  // namespace detail

/// One line of the directory's primers.txt, picked with `seed` (the same seed, the same line),
/// cut to its first `max_words` words (a saved primer is capped as a primer file is): the
/// default primer of lstmidi-generate. Token lines in tokens mode, frame lines in pianoroll
/// mode. Throws as read_saved_primer_lines.
/// `dir` may also be a one-file model, with its metadata in `meta`: the primers it carries.
inline SavedPrimer pick_saved_primer_line(
    const std::filesystem::path& dir, std::uint64_t seed, std::size_t max_words,
    const std::map<std::string, std::string>* meta = nullptr) {
  const std::vector<SavedPrimer> lines = read_saved_primer_lines(dir, meta);
  Rng pick(seed, 3);
  return detail::first_words(lines[pick.below(static_cast<std::uint32_t>(lines.size()))],
                             max_words);
}

/// The `index`-th (0-based) saved primer, cut to its first `max_words` words; throws
/// std::invalid_argument when there are not that many.
inline SavedPrimer saved_primer_at(const std::filesystem::path& dir, std::size_t index,
                                   std::size_t max_words,
                                   const std::map<std::string, std::string>* meta = nullptr) {
  const std::vector<SavedPrimer> lines = read_saved_primer_lines(dir, meta);
  if (index >= lines.size())
    throw std::invalid_argument("saved primer " + std::to_string(index) + ": the model has " +
                                std::to_string(lines.size()) + " (0 to " +
                                std::to_string(lines.size() - 1) + ")");
  return detail::first_words(lines[index], max_words);
}

/// The text of pick_saved_primer_line(dir, seed, 4096).
inline std::string pick_saved_primer(const std::filesystem::path& dir, std::uint64_t seed,
                                     const std::map<std::string, std::string>* meta = nullptr) {
  return pick_saved_primer_line(dir, seed, 4096, meta).text;
}

}  // namespace lstmidi::music
