// SPDX-License-Identifier: MIT
/// The byte format of the records a corpus cache stores (music/corpus_cache.hpp): unsigned
/// numbers as LEB128 varints, signed ones zigzag-encoded first, and RecordReader, which reads
/// them back with every read bounds-checked. A record that ends early, or a number that does
/// not fit, is a FormatError naming the file the record stands for; a record is never trusted.
/// RecordBytes holds one record: bytes of its own (a file read just now), or a part of the
/// cache file's bytes (a file taken from the cache), which it keeps alive, so that a cached
/// record is never copied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"

namespace lstmidi::music::detail {

using lstmidi::detail::concat;

/// Unsigned LEB128: 7 bits per byte, low bits first, high bit = more follows.
inline void put_varint(ByteWriter& w, std::uint64_t v) {
  while (v >= 0x80) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  w.put<std::uint8_t>(static_cast<std::uint8_t>(v));
}
/// Signed values as zigzag varints (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...).
inline void put_svarint(ByteWriter& w, std::int64_t v) {
  put_varint(w, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

/// One record's bytes: owned, or `size` bytes at `data` inside a block that `keep` keeps alive.
/// Invariant: with `keep` empty the bytes are `own`, else [data, data + size) lies in *keep.
class RecordBytes {
 public:
  RecordBytes() = default;
  explicit RecordBytes(std::vector<std::uint8_t> own) : own_(std::move(own)) {}
  RecordBytes(std::shared_ptr<const void> keep, const std::uint8_t* data, std::size_t size)
      : keep_(std::move(keep)), data_(data), size_(size) {}
  const std::uint8_t* data() const { return keep_ ? data_ : own_.data(); }
  std::size_t size() const { return keep_ ? size_ : own_.size(); }

 private:
  std::vector<std::uint8_t> own_;
  std::shared_ptr<const void> keep_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Reads one file's record: bytes and varints, bounds-checked, naming the file on failure.
class RecordReader {
 public:
  RecordReader(const RecordBytes& bytes, const std::string& source)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), source_(source) {}
  std::uint8_t byte(const char* what) {
    if (p_ == end_) fail(concat("the record ends inside ", what));
    return *p_++;
  }
  void bytes(std::uint8_t* out, std::size_t n, const char* what) {
    if (n > remaining()) fail(concat("the record ends inside ", what));
    std::copy(p_, p_ + n, out);
    p_ += n;
  }
  std::uint64_t varint(const char* what) {
    if (p_ != end_ && *p_ < 0x80) return *p_++;  // most numbers here fit one byte
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte(what);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(concat(what, ": a number longer than 64 bits"));
  }
  std::int64_t svarint(const char* what) {
    const std::uint64_t u = varint(what);
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
  }
  /// A zigzag varint that must fit an int in [lo, hi].
  int int_in(const char* what, int lo, int hi) {
    const std::int64_t v = svarint(what);
    if (v < lo || v > hi) fail(concat(what, " is ", v, ", outside ", lo, "..", hi));
    return static_cast<int>(v);
  }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  [[noreturn]] void fail(const std::string& why) const {
    throw FormatError(source_ + " (corpus cache): " + why);
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::string& source_;
};

}  // namespace lstmidi::music::detail
