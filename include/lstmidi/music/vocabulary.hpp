// SPDX-License-Identifier: MIT
/// Vocabulary: token <-> id, built from training data, saved as a readable text file.
///
/// Ids 0..3 are reserved: 0 <pad> (fills short windows; never a target), 1 <unk> (a token
/// with no close kept token), 2 <bos> and 3 <eos> (start and end of a piece). Kept tokens follow,
/// most frequent first, ties in byte order of their text, so the same data always gives the
/// same ids.
///
/// Tokens that are too rare to keep (count < min_count, or beyond max_size) map to the NEAREST
/// kept token of the same kind (docs/encoding.md#rare-tokens), with the distance
///   notes:  2*|dA - dB| + 12*| |A| - |B| | + sum_{a in A} min_b |a-b| + sum_{b in B} min_a |a-b|
///   classes: the same with circular pitch-class distance, no duration term
///   rest, tie: 2*|dA - dB|
///   event words (events.hpp): |vA - vB| + 16*|v2A - v2B| (the word's numbers)
/// (d = duration in steps, A/B = pitch sets); ties go to the lower id. Only when no kept token
/// of the same kind exists does it map to <unk>. With UnknownPolicy::Unk every unseen token
/// maps to <unk>.
///
/// File format (UTF-8 text, '\n' line ends):
///   lstmidi-vocabulary 1
///   size <N>
///   <id> <token> <count>          N lines, ids 0..N-1 in order, the 4 reserved ones first
/// load() rejects anything else: wrong header, wrong or missing size, ids out of order,
/// a token that is not in canonical form, duplicates, bad counts, extra lines.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/file_io.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

struct VocabularyOptions {
  std::uint64_t min_count = 1;  // keep tokens seen at least this often
  std::size_t max_size = 0;     // most ids in total (reserved included); 0 = no limit
};

enum class UnknownPolicy {
  Nearest,  // nearest kept token of the same kind, else <unk>
  Unk,      // always <unk>
};

class Vocabulary {
 public:
  static constexpr TokenId kPad = 0;
  static constexpr TokenId kUnk = 1;
  static constexpr TokenId kBos = 2;
  static constexpr TokenId kEos = 3;
  static constexpr TokenId kReserved = 4;

  Vocabulary() { reset_reserved(); }

  /// Counts tokens over all sequences and keeps the frequent ones.
  static Vocabulary build(const std::vector<std::vector<Token>>& sequences,
                          const VocabularyOptions& options = {}) {
    require(options.max_size == 0 || options.max_size > static_cast<std::size_t>(kReserved),
            "Vocabulary::build: max_size must be 0 (no limit) or above ", kReserved);
    std::map<std::string, std::pair<std::uint64_t, Token>> counts;
    for (const auto& seq : sequences)
      for (const Token& t : seq) {
        auto it = counts.find(to_string(t));
        if (it == counts.end())
          counts.emplace(to_string(t), std::make_pair(std::uint64_t{1}, t));
        else
          ++it->second.first;
      }
    std::vector<std::pair<std::string, std::pair<std::uint64_t, Token>>> sorted(counts.begin(),
                                                                                counts.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    Vocabulary v;
    for (auto& [text, ct] : sorted) {
      if (ct.first < options.min_count) break;
      if (options.max_size != 0 && v.strings_.size() >= options.max_size) break;
      v.add(text, ct.second, ct.first);
    }
    return v;
  }

  Index size() const { return static_cast<Index>(strings_.size()); }
  bool is_reserved(TokenId id) const { return id >= 0 && id < kReserved; }

  const std::string& str(TokenId id) const { return strings_.at(check(id)); }
  std::uint64_t count(TokenId id) const { return counts_.at(check(id)); }

  /// The token of a non-reserved id. Throws std::invalid_argument for reserved or bad ids.
  const Token& token(TokenId id) const {
    require(!is_reserved(id), "Vocabulary::token: id ", id, " is a reserved id (",
            strings_.at(check(id)), ")");
    return tokens_.at(check(id));
  }

  /// The id of exactly this token, if kept.
  std::optional<TokenId> find(const Token& t) const {
    const auto it = index_.find(to_string(t));
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  /// The id of `t`; tokens that were not kept map as the policy says.
  TokenId id(const Token& t, UnknownPolicy policy = UnknownPolicy::Nearest) const {
    if (auto found = find(t)) return *found;
    return policy == UnknownPolicy::Unk ? kUnk : nearest(t);
  }

  /// Ids of a piece, optionally framed by <bos> ... <eos>.
  std::vector<TokenId> encode(const std::vector<Token>& tokens, bool add_bos_eos = true,
                              UnknownPolicy policy = UnknownPolicy::Nearest) const {
    std::vector<TokenId> out;
    out.reserve(tokens.size() + 2);
    if (add_bos_eos) out.push_back(kBos);
    std::unordered_map<std::string, TokenId> memo;  // unseen tokens repeat; search once each
    for (const Token& t : tokens) {
      const std::string s = to_string(t);
      const auto it = index_.find(s);
      if (it != index_.end()) {
        out.push_back(it->second);
        continue;
      }
      auto m = memo.find(s);
      if (m == memo.end()) m = memo.emplace(s, id(t, policy)).first;
      out.push_back(m->second);
    }
    if (add_bos_eos) out.push_back(kEos);
    return out;
  }

  /// Tokens of `ids`, leaving out the reserved ids.
  std::vector<Token> decode(const std::vector<TokenId>& ids) const {
    std::vector<Token> out;
    for (TokenId id : ids)
      if (!is_reserved(id)) out.push_back(tokens_.at(check(id)));
    return out;
  }

  /// Distance between two tokens used for rare-token mapping (infinite for different kinds).
  static double distance(const Token& a, const Token& b) {
    if (a.kind != b.kind) return std::numeric_limits<double>::infinity();
    if (a.kind >= Token::Kind::Bar)  // event words: the nearest number, parts far apart
      return std::abs(a.value - b.value) + 16.0 * std::abs(a.value2 - b.value2);
    double d = 2.0 * std::abs(a.duration - b.duration);
    if (a.kind == Token::Kind::Rest || a.kind == Token::Kind::Tie) return d;
    const bool circular = a.kind == Token::Kind::PitchClasses;
    auto gap = [circular](int x, int y) {
      const int g = std::abs(x - y);
      return circular ? std::min(g, 12 - g) : g;
    };
    auto one_way = [&](const PitchSet& from, const PitchSet& to) {
      double s = 0;
      for (int x : from) {
        int best = 1000;
        for (int y : to) best = std::min(best, gap(x, y));
        s += best;
      }
      return s;
    };
    const auto na = static_cast<double>(a.pitches.size()),
               nb = static_cast<double>(b.pitches.size());
    return d + 12.0 * std::abs(na - nb) + one_way(a.pitches, b.pitches) +
           one_way(b.pitches, a.pitches);
  }

  /// Text form (see the top of this header).
  std::string to_text() const {
    std::ostringstream os;
    os << "lstmidi-vocabulary 1\n"
       << "size " << strings_.size() << "\n";
    for (std::size_t i = 0; i < strings_.size(); ++i)
      os << i << ' ' << strings_[i] << ' ' << counts_[i] << '\n';
    return os.str();
  }

  /// Parses the text form strictly; `name` goes into error messages. Throws FormatError.
  static Vocabulary from_text(const std::string& text, const std::string& name = "vocabulary") {
    auto fail = [&](std::size_t line, const std::string& why) -> void {
      throw FormatError(detail::concat(name, ":", line, ": ", why));
    };
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
      const auto nl = text.find('\n', start);
      if (nl == std::string::npos) {
        lines.push_back(text.substr(start));
        break;
      }
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    if (lines.empty() || lines[0] != "lstmidi-vocabulary 1")
      fail(1, "not an lstmidi vocabulary file (expected the line 'lstmidi-vocabulary 1')");
    if (lines.size() < 2 || lines[1].rfind("size ", 0) != 0 ||
        !detail::all_digits(lines[1].substr(5)))
      fail(2, "expected 'size <N>'");
    const auto n = static_cast<std::size_t>(std::stoll(lines[1].substr(5)));
    if (n < static_cast<std::size_t>(kReserved))
      fail(2, detail::concat("size ", n, " is below the ", kReserved, " reserved ids"));
    if (lines.size() != n + 2)
      fail(lines.size(),
           detail::concat("size says ", n, " tokens but the file has ", lines.size() - 2,
                          " token lines (truncated or extra lines)"));
    Vocabulary v;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& line = lines[i + 2];
      const std::size_t lineno = i + 3;
      const auto s1 = line.find(' ');
      const auto s2 = s1 == std::string::npos ? s1 : line.find(' ', s1 + 1);
      if (s2 == std::string::npos || line.find(' ', s2 + 1) != std::string::npos)
        fail(lineno, "expected '<id> <token> <count>'");
      const std::string id = line.substr(0, s1), tok = line.substr(s1 + 1, s2 - s1 - 1),
                        cnt = line.substr(s2 + 1);
      if (!detail::all_digits(id) || std::stoll(id) != static_cast<long long>(i))
        fail(lineno, detail::concat("expected id ", i, ", got '", id, "'"));
      if (cnt.empty() || cnt.size() > 19 ||
          !std::all_of(cnt.begin(), cnt.end(),
                       [](unsigned char c) { return c >= '0' && c <= '9'; }))
        fail(lineno, "count '" + cnt + "' is not a non-negative integer");
      const auto count = static_cast<std::uint64_t>(std::stoull(cnt));
      if (i < static_cast<std::size_t>(kReserved)) {
        if (tok != v.strings_[i])
          fail(lineno, detail::concat("id ", i, " must be ", v.strings_[i]));
        v.counts_[i] = count;
        continue;
      }
      Token t;
      try {
        t = parse_token(tok, 0);
      } catch (const FormatError& e) {
        fail(lineno, e.what());
      }
      if (to_string(t) != tok)
        fail(lineno, "token '" + tok + "' is not in canonical form ('" + to_string(t) + "')");
      if (v.index_.count(tok)) fail(lineno, "duplicate token '" + tok + "'");
      v.add(tok, t, count);
    }
    return v;
  }

  /// Saves atomically (temporary file + rename). Throws IoError.
  void save(const std::filesystem::path& path) const { write_file_atomic(path, to_text()); }

  /// Loads and validates. Throws IoError (cannot read) or FormatError (bad content).
  static Vocabulary load(const std::filesystem::path& path) {
    const auto bytes = read_file_capped(path, std::size_t{64} << 20);
    return from_text(std::string(bytes.begin(), bytes.end()), path.string());
  }

  friend bool operator==(const Vocabulary& a, const Vocabulary& b) {
    return a.strings_ == b.strings_ && a.counts_ == b.counts_;
  }

 private:
  void reset_reserved() {
    strings_ = {"<pad>", "<unk>", "<bos>", "<eos>"};
    tokens_.assign(strings_.size(), Token{});
    counts_.assign(strings_.size(), 0);
    index_.clear();
  }
  std::size_t check(TokenId id) const {
    require(id >= 0 && static_cast<std::size_t>(id) < strings_.size(), "Vocabulary: id ", id,
            " is outside 0..", strings_.size() - 1);
    return static_cast<std::size_t>(id);
  }
  void add(const std::string& text, const Token& t, std::uint64_t count) {
    index_.emplace(text, static_cast<TokenId>(strings_.size()));
    strings_.push_back(text);
    tokens_.push_back(t);
    counts_.push_back(count);
  }
  TokenId nearest(const Token& t) const {
    TokenId best = kUnk;
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t i = static_cast<std::size_t>(kReserved); i < tokens_.size(); ++i) {
      const double d = distance(t, tokens_[i]);
      if (d < best_d) {
        best_d = d;
        best = static_cast<TokenId>(i);
      }
    }
    return best;
  }

  std::vector<std::string> strings_;
  std::vector<Token> tokens_;
  std::vector<std::uint64_t> counts_;
  std::unordered_map<std::string, TokenId> index_;
};

}  // namespace lstmidi::music
