// SPDX-License-Identifier: MIT
/// One piece's tokens as a corpus cache record (music/corpus_cache.hpp), written after the file
/// is read and encoded, read back on every later load instead of the file.
///
/// Record layout (varints as in record_codec.hpp):
///   notes  tempo  time signature (2)  key (2)
///   D  D x token        the piece's distinct tokens, in the order of their first use
///   n  n x index        the piece: each token as its index in that table, 0..D-1
/// A token in the table is one head byte and only the fields that are not zero: bits 0-3 of
/// the head are the kind, bits 4-7 say whether the duration, value, value2 and pitches follow
/// (zigzag varints; the pitches as a count, then pitch bytes in ascending order). A piece uses
/// few distinct tokens (tens to hundreds), so most indices are one byte, and decoding a piece
/// is a table of a few hundred tokens read and then one copy per token: a Token owns no memory.
///
/// Trust: every number is bounds-checked as it is read (RecordReader), every index must lie in
/// the table, pitches must rise within 0..127, and nothing may follow the last index; anything
/// else is a FormatError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/record_codec.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

inline constexpr int kNoSignature = 1000;  // Corpus::opening_*: the piece has no signature

namespace detail {

/// What one file contributes to a Corpus: its tokens and the counts behind Corpus's fields.
struct PieceRecord {
  std::uint64_t notes = 0;
  int tempo = 120;  // opening tempo, whole bpm
  std::pair<int, int> time_signature{kNoSignature, 0};
  std::pair<int, int> key{kNoSignature, 0};  // sharps, minor
  std::vector<Token> tokens;
};

inline constexpr std::uint8_t kHasDuration = 0x10, kHasValue = 0x20, kHasValue2 = 0x40,
                              kHasPitches = 0x80;

inline void put_token(ByteWriter& w, const Token& t) {
  std::uint8_t head = static_cast<std::uint8_t>(t.kind);
  if (t.duration != 0) head |= kHasDuration;
  if (t.value != 0) head |= kHasValue;
  if (t.value2 != 0) head |= kHasValue2;
  if (!t.pitches.empty()) head |= kHasPitches;
  w.put<std::uint8_t>(head);
  if (t.duration != 0) put_svarint(w, t.duration);
  if (t.value != 0) put_svarint(w, t.value);
  if (t.value2 != 0) put_svarint(w, t.value2);
  if (!t.pitches.empty()) {
    put_varint(w, t.pitches.size());
    for (int p : t.pitches) w.put<std::uint8_t>(static_cast<std::uint8_t>(p));
  }
}
inline Token get_token(RecordReader& r) {
  Token t;
  const std::uint8_t head = r.byte("token kind");
  const int kind = head & 0x0F;
  if (kind > static_cast<int>(Token::Kind::Tempo))
    r.fail(concat("token kind ", kind, " is unknown"));
  t.kind = static_cast<Token::Kind>(kind);
  if (head & kHasDuration) t.duration = r.int_in("token duration", 1, kMaxTokenDuration);
  if (head & kHasValue) t.value = r.int_in("token value", -1000000, 1000000);
  if (head & kHasValue2) t.value2 = r.int_in("token value", -1000000, 1000000);
  if (head & kHasPitches) {
    const std::uint64_t n = r.varint("token pitches");
    if (n == 0 || n > 128) r.fail(concat("a token of ", n, " pitches"));
    int last = -1;
    for (std::uint64_t i = 0; i < n; ++i) {
      const int p = r.byte("token pitch");
      if (p > 127 || p <= last)
        r.fail(concat("token pitch ", p, " is not above ", last, " in 0..127"));
      t.pitches.insert_unchecked(p);
      last = p;
    }
  }
  return t;
}

/// The index of each distinct token, by open addressing: table_ holds index + 1, 0 = free.
/// Invariant: at most half of table_ is used, so every probe sequence meets a free slot.
class TokenTable {
 public:
  /// The index of `t`, given the next index when it is new (then `added` is true).
  std::uint32_t index_of(const Token& t, bool& added) {
    if (2 * (tokens_.size() + 1) > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(t) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) {
        tokens_.push_back(t);
        slots_[i] = static_cast<std::uint32_t>(tokens_.size());
        added = true;
        return slots_[i] - 1;
      }
      if (tokens_[slots_[i] - 1] == t) {
        added = false;
        return slots_[i] - 1;
      }
    }
  }

 private:
  static std::size_t hash(const Token& t) {
    std::uint64_t h = t.pitches.hash() ^ (static_cast<std::uint64_t>(t.kind) << 56);
    h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.duration)) * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.value)) * 0xC2B2AE3D27D4EB4Full;
    h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.value2)) * 0x165667B19E3779F9ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
  void grow() {
    std::vector<std::uint32_t> slots(slots_.empty() ? 64 : 2 * slots_.size(), 0);
    const std::size_t mask = slots.size() - 1;
    for (std::uint32_t k = 0; k < tokens_.size(); ++k) {
      std::size_t i = hash(tokens_[k]) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = k + 1;
    }
    slots_ = std::move(slots);
  }
  std::vector<Token> tokens_;
  std::vector<std::uint32_t> slots_;
};

inline std::vector<std::uint8_t> encode_piece_record(const PieceRecord& p) {
  ByteWriter head, table, body;
  put_varint(head, p.notes);
  put_svarint(head, p.tempo);
  put_svarint(head, p.time_signature.first);
  put_svarint(head, p.time_signature.second);
  put_svarint(head, p.key.first);
  put_svarint(head, p.key.second);
  TokenTable index;
  std::uint64_t distinct = 0;
  for (const Token& t : p.tokens) {
    bool added = false;
    const std::uint32_t k = index.index_of(t, added);
    if (added) {
      put_token(table, t);
      ++distinct;
    }
    put_varint(body, k);
  }
  put_varint(head, distinct);
  std::vector<std::uint8_t>& out = head.bytes();
  out.insert(out.end(), table.bytes().begin(), table.bytes().end());
  put_varint(head, p.tokens.size());
  out.insert(out.end(), body.bytes().begin(), body.bytes().end());
  return std::move(out);
}

inline PieceRecord decode_piece_record(const RecordBytes& bytes, const std::string& source) {
  RecordReader r(bytes, source);
  PieceRecord p;
  p.notes = r.varint("note count");
  p.tempo = r.int_in("tempo", 0, 1000000);
  p.time_signature.first = r.int_in("time signature", -1000000, 1000000);
  p.time_signature.second = r.int_in("time signature", -1000000, 1000000);
  p.key.first = r.int_in("key", -1000000, 1000000);
  p.key.second = r.int_in("key", 0, 1);
  const std::uint64_t distinct = r.varint("distinct token count");
  if (distinct > r.remaining()) r.fail(concat("distinct token count ", distinct, " does not fit"));
  std::vector<Token> table;
  table.reserve(static_cast<std::size_t>(distinct));
  for (std::uint64_t k = 0; k < distinct; ++k) table.push_back(get_token(r));
  const std::uint64_t n = r.varint("token count");
  if (n > r.remaining()) r.fail(concat("token count ", n, " does not fit the record"));
  p.tokens.reserve(static_cast<std::size_t>(n));  // one allocation; a Token owns no memory
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t k = r.varint("token index");
    if (k >= distinct) r.fail(concat("token index ", k, " outside the table of ", distinct));
    p.tokens.push_back(table[static_cast<std::size_t>(k)]);
  }
  if (r.remaining() != 0) r.fail("stray bytes after the last token");
  return p;
}

}  // namespace detail
}  // namespace lstmidi::music
