// SPDX-License-Identifier: MIT
/// Character-level text data: a byte vocabulary and a window sampler, the text counterparts of
/// music::Vocabulary and music::WindowSampler. Both plug into the same Model, Trainer and
/// generate() as the music layer; nothing here needs libsmf.
///
/// CharVocabulary: the V distinct bytes of a text, ids 0..V-1 in ascending byte order (so the
/// same text always gives the same ids). Text form, one byte value per line in id order:
///   # lstmidi character vocabulary v1
///   10	'\n'
///   32	' '
/// (only the leading decimal number is read back; the quoted glyph is for people).
///
/// CharWindowSampler, over ids x_0 .. x_{n-1}:
///   split BY POSITION: training ids x_0 .. x_{c-1}, validation ids x_c .. x_{n-1},
///   c = n - round(valid_fraction * n)  (the last 10% of the text by default; no shuffling, so
///   no training window overlaps the held-out text).
///   A window of T steps starting at s has inputs x_s .. x_{s+T-1} and targets x_{s+1} .. x_{s+T}.
///   Training starts are 0, S, 2S, ... while s + T < c (stride S).
///   Validation starts are c, c+T, c+2T, ...: every validation character after the first is
///   scored exactly once; the last window is padded (target -1) when it runs off the end.
///   Epoch e visits the training windows in the order of a Fisher-Yates shuffle drawn from
///   Rng(seed, stream = e + 1), B per batch, the last batch padded; the order depends only on
///   (seed, epoch), so CharPosition {epoch, batch} is all a checkpoint needs to resume exactly.
///   Windows and batches are those of data/window_sampler.hpp over two sequences, the training
///   part (WindowTail::full_only) and the validation part (WindowTail::padded, stride T).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/window_sampler.hpp"
#include "lstmidi/io/binary.hpp"

namespace lstmidi::text {

/// Largest text file read_text_file accepts (256 MiB).
inline constexpr std::size_t kMaxTextBytes = std::size_t{1} << 28;

/// The whole file as bytes. Throws IoError when it cannot be read or is larger than max_bytes.
inline std::string read_text_file(const std::string& path, std::size_t max_bytes = kMaxTextBytes) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, max_bytes);
  return std::string(bytes.begin(), bytes.end());
}

class CharVocabulary {
 public:
  CharVocabulary() { id_.fill(-1); }

  /// The distinct bytes of `text`.
  static CharVocabulary build(const std::string& text) {
    std::array<bool, 256> seen{};
    for (char ch : text) seen[static_cast<unsigned char>(ch)] = true;
    CharVocabulary v;
    for (int b = 0; b < 256; ++b)
      if (seen[static_cast<size_t>(b)]) v.add(static_cast<unsigned char>(b));
    return v;
  }

  Index size() const { return static_cast<Index>(bytes_.size()); }
  bool contains(char ch) const { return id_[static_cast<unsigned char>(ch)] >= 0; }

  /// The id of `ch`; throws std::invalid_argument for a byte the text never had.
  TokenId id(char ch) const {
    const TokenId i = id_[static_cast<unsigned char>(ch)];
    require(i >= 0, "character ", quote(static_cast<unsigned char>(ch)),
            " is not in the vocabulary (it never occurs in the training text)");
    return i;
  }
  char byte(TokenId id) const {
    require(id >= 0 && id < size(), "character id ", id, " outside [0, ", size(), ")");
    return static_cast<char>(bytes_[static_cast<size_t>(id)]);
  }

  std::vector<TokenId> encode(const std::string& text) const {
    std::vector<TokenId> out;
    out.reserve(text.size());
    for (char ch : text) out.push_back(id(ch));
    return out;
  }
  std::string decode(const std::vector<TokenId>& ids) const {
    std::string out;
    out.reserve(ids.size());
    for (TokenId i : ids) out.push_back(byte(i));
    return out;
  }

  std::string to_text() const {
    std::string s = "# lstmidi character vocabulary v1: byte value (0-255) per line, in id order\n";
    for (unsigned char b : bytes_) s += std::to_string(b) + '\t' + quote(b) + '\n';
    return s;
  }
  static CharVocabulary from_text(const std::string& text, const std::string& name = "vocabulary") {
    CharVocabulary v;
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty() || line[0] == '#') continue;
      int value = -1;
      std::size_t used = 0;
      try {
        value = std::stoi(line, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || value < 0 || value > 255)
        throw FormatError(detail::concat(name, ":", lineno, ": expected a byte value 0..255"));
      if (v.id_[static_cast<size_t>(value)] >= 0)
        throw FormatError(detail::concat(name, ":", lineno, ": byte ", value, " listed twice"));
      v.add(static_cast<unsigned char>(value));
    }
    if (v.size() == 0) throw FormatError(name + ": no characters (empty vocabulary file)");
    return v;
  }
  void save(const std::string& path) const { write_file_atomic(path, to_text()); }
  static CharVocabulary load(const std::string& path) {
    return from_text(read_text_file(path, 1 << 20), path);
  }

  /// CRC-32 of the text form, stored in model files to catch a vocabulary of another text.
  std::string checksum() const {
    const std::string t = to_text();
    return std::to_string(crc32(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()));
  }

  friend bool operator==(const CharVocabulary& a, const CharVocabulary& b) {
    return a.bytes_ == b.bytes_;
  }

  /// A printable form of a byte: 'a', '\n', '\x07'.
  static std::string quote(unsigned char b) {
    switch (b) {
      case '\n':
        return "'\\n'";
      case '\t':
        return "'\\t'";
      case '\r':
        return "'\\r'";
      case '\\':
        return "'\\\\'";
      case '\'':
        return "'\\''";
      default:
        break;
    }
    if (b >= 32 && b < 127) return std::string("'") + static_cast<char>(b) + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "'\\x%02x'", b);
    return buf;
  }

 private:
  void add(unsigned char b) {
    id_[b] = static_cast<TokenId>(bytes_.size());
    bytes_.push_back(b);
  }

  std::vector<unsigned char> bytes_;  // id -> byte
  std::array<TokenId, 256> id_;       // byte -> id, -1 = absent
};

struct CharWindowOptions {
  Index steps = 100;            // T: characters per window (BPTT length)
  Index stride = 0;             // S: distance between training window starts; 0 = T
  Index batch_size = 32;        // B: windows per batch
  double valid_fraction = 0.1;  // the last share of the text held out, 0 <= f < 1
  std::uint64_t seed = 1;
};

/// Where the sampler stands: {epoch, batch} (data/epoch_order.hpp).
using CharPosition = SamplerPosition;

/// A Trainer Source over one text.
class CharWindowSampler : public ScheduledSampler<CharWindowOptions> {
 public:
  CharWindowSampler(const std::string& text, const CharVocabulary& vocab,
                    const CharWindowOptions& options = {})
      : ScheduledSampler<CharWindowOptions>(options, "CharWindowSampler") {
    if (opt_.stride == 0) opt_.stride = opt_.steps;
    require(opt_.steps >= 1, "CharWindowOptions::steps must be >= 1, got ", opt_.steps);
    require(opt_.stride >= 1, "CharWindowOptions::stride must be >= 0, got ", opt_.stride);
    require(opt_.batch_size >= 1, "CharWindowOptions::batch_size must be >= 1, got ",
            opt_.batch_size);
    require(opt_.valid_fraction >= 0.0 && opt_.valid_fraction < 1.0,
            "CharWindowOptions::valid_fraction must be in [0, 1), got ", opt_.valid_fraction);
    ids_ = vocab.encode(text);
    const auto n = static_cast<std::int64_t>(ids_.size());
    cut_ =
        n - static_cast<std::int64_t>(std::llround(opt_.valid_fraction * static_cast<double>(n)));
    const std::int64_t T = opt_.steps;
    parts_[0].assign(ids_.begin(), ids_.begin() + cut_);
    parts_[1].assign(ids_.begin() + cut_, ids_.end());
    for (const std::int64_t s : window_starts(cut_ - 1, T, opt_.stride, WindowTail::full_only))
      schedule_.train().push_back({0, 0, static_cast<std::uint32_t>(s)});
    require(!schedule_.train().empty(), "CharWindowSampler: the training part of the text (", cut_,
            " characters) is shorter than one window of ", T + 1,
            "; use a longer text or a shorter --seq-len");
    for (const std::int64_t s : window_starts(n - cut_ - 1, T, T, WindowTail::padded))
      schedule_.valid().push_back({1, 0, static_cast<std::uint32_t>(s)});
  }

  const std::vector<TokenId>& ids() const { return ids_; }
  /// Index of the first validation character.
  std::size_t valid_begin() const { return static_cast<std::size_t>(cut_); }

  /// The next training batch (T x B, time-major); moves to the next epoch after the last one.
  void next_batch(TokenBatch& out) {
    out = TokenBatch(opt_.steps, opt_.batch_size);
    schedule_.next_batch(
        [&](Index b, const Window& w) { fill_token_window(out, b, parts_[w.seq], w.start); });
  }

  /// Validation batch i (windows in text order), 0 <= i < valid_batches().
  void valid_batch(std::size_t i, TokenBatch& out) const {
    out = TokenBatch(opt_.steps, opt_.batch_size);
    schedule_.valid_batch(i, "CharWindowSampler", [&](Index b, const Window& w) {
      fill_token_window(out, b, parts_[w.seq], w.start);
    });
  }

 private:
  std::vector<TokenId> ids_;                   // the whole text
  std::int64_t cut_ = 0;                       // first validation position
  std::array<std::vector<TokenId>, 2> parts_;  // ids_ before and from cut_
};

}  // namespace lstmidi::text
