// SPDX-License-Identifier: MIT
/// check_output_file: what a program that writes music (lstmidi-generate) may replace.
///
/// A path may be written when nothing is there yet, or when what is there is a file of the kind
/// about to be written (a MIDI file for .mid output, starting with "MThd"; an SVG picture,
/// starting with "<svg" or "<?xml"): the output of an earlier run. It is refused when it
///   - is one of a model folder's own files (model.lstmidi, vocab.txt, primers.txt,
///     settings.ini, loss.svg, ...) in the model folder in use, or the model file itself;
///   - is a directory, or a file of another kind (a model, a text, anything else).
/// So a slip in --out or --picture never costs a trained model or any other work. All the
/// paths of a run are checked before anything is written.
#pragma once

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "lstmidi/core/config.hpp"

namespace lstmidi::music {

enum class OutputKind { midi, svg };

/// The files lstmidi-train writes into a model folder.
inline constexpr std::array<const char*, 9> kModelFolderFiles = {
    "model.lstmidi", "last.lstmidi", "vocab.txt",      "primers.txt", "settings.ini",
    "history.csv",   "loss.svg",     "evaluation.txt", "run.lock"};

namespace detail {
inline bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  const bool same = std::filesystem::equivalent(a, b, ec);
  return !ec && same;
}
inline bool starts_with_any(const std::filesystem::path& p,
                            std::initializer_list<const char*> magics) {
  std::ifstream in(p, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  const auto n = static_cast<std::size_t>(in.gcount());
  for (const char* m : magics)
    if (n >= std::strlen(m) && std::memcmp(head, m, std::strlen(m)) == 0) return true;
  return false;
}
}  // namespace detail

/// Throws std::invalid_argument when writing `path` (as `flag`, for the message) could destroy
/// something: see the file comment. `model` is the model folder or model file in use.
inline void check_output_file(const std::filesystem::path& path, OutputKind kind,
                              const std::filesystem::path& model, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string p = path.string();
  if (detail::same_file(path, model))
    throw std::invalid_argument(flag + " " + p + " is the model in use; choose another name");
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (fs::is_directory(model, ec) && detail::same_file(parent, model))
    for (const char* own : kModelFolderFiles)
      if (path.filename() == own)
        throw std::invalid_argument(flag + " " + p + " would replace the model folder's own " +
                                    own + "; choose another name");
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return;
  if (fs::is_directory(st))
    throw std::invalid_argument(flag + " " + p + " is a directory; give a file name");
  const bool ours = kind == OutputKind::midi ? detail::starts_with_any(path, {"MThd"})
                                             : detail::starts_with_any(path, {"<svg", "<?xml"});
  if (!ours)
    throw std::invalid_argument(flag + " " + p + " exists and is not " +
                                (kind == OutputKind::midi ? "a MIDI file" : "an SVG picture") +
                                "; refusing to replace it (choose another name, or remove it "
                                "first)");
}

}  // namespace lstmidi::music
