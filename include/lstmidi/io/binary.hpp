// SPDX-License-Identifier: MIT
/// Little-endian binary encoding, CRC-32 and atomic file writes: the plumbing under every file
/// lstmidi saves (model checkpoints, vocabularies, MIDI output).
///
///   CRC-32: the reflected IEEE 802.3 polynomial 0xEDB88320, init and final xor 0xFFFFFFFF
///   (the zlib/PNG checksum; crc32("123456789") = 0xCBF43926).
///   Atomic write: write "<path>.tmp-<pid>-<n>", flush and fsync it, then rename over <path>, so
///   a reader sees either the old file or the complete new one, never a torn one.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

/// The text of errno for a message; never "Success" (errno 0: a stream failed without a
/// system error).
inline std::string errno_text() {
  const int e = errno;
  return e != 0 ? std::strerror(e) : "reason unknown";
}

namespace detail {
/// A table-driven CRC of the reflected polynomial `Poly`, slicing-by-8 (eight tables, eight
/// bytes per round): the same checksum as one table and one byte per round, several times
/// faster on large buffers. A running checksum continues from the previous value `crc`.
template <std::uint32_t Poly>
std::uint32_t crc_slice8(const std::uint8_t* data, size_t n, std::uint32_t crc) {
  static const auto tables = [] {
    std::vector<std::uint32_t> t(8 * 256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? Poly ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k)
        t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[t[(k - 1) * 256 + i] & 0xFFu];
    return t;
  }();
  const std::uint32_t* t = tables.data();
  crc = ~crc;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint32_t lo =
        crc ^ (std::uint32_t{data[i]} | std::uint32_t{data[i + 1]} << 8 |
               std::uint32_t{data[i + 2]} << 16 | std::uint32_t{data[i + 3]} << 24);
    crc = t[7 * 256 + (lo & 0xFFu)] ^ t[6 * 256 + ((lo >> 8) & 0xFFu)] ^
          t[5 * 256 + ((lo >> 16) & 0xFFu)] ^ t[4 * 256 + (lo >> 24)] ^ t[3 * 256 + data[i + 4]] ^
          t[2 * 256 + data[i + 5]] ^ t[1 * 256 + data[i + 6]] ^ t[data[i + 7]];
  }
  for (; i < n; ++i) crc = t[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}
}  // namespace detail

/// CRC-32 (IEEE 802.3, zlib's; polynomial 0xEDB88320 reflected) of data[0..n).
inline std::uint32_t crc32(const std::uint8_t* data, size_t n, std::uint32_t crc = 0) {
  return detail::crc_slice8<0xEDB88320u>(data, n, crc);
}

/// Appends little-endian values to a byte vector.
class ByteWriter {
 public:
  template <typename V>
  void put(V v) {
    static_assert(std::is_arithmetic_v<V>, "put: arithmetic types only");
    std::uint8_t b[sizeof(V)];
    std::memcpy(b, &v, sizeof(V));
    if (!little_endian()) std::reverse(b, b + sizeof(V));
    bytes_.insert(bytes_.end(), b, b + sizeof(V));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    bytes_.insert(bytes_.end(), c, c + n);
  }
  void put_string(const std::string& s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    put_bytes(s.data(), s.size());
  }
  template <typename V>
  void put_array(const V* p, size_t n) {
    if (little_endian()) {
      put_bytes(p, n * sizeof(V));
    } else {
      for (size_t i = 0; i < n; ++i) put(p[i]);
    }
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

  static bool little_endian() {
    const std::uint16_t one = 1;
    std::uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 1;
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Reads little-endian values with bounds checks; running past the end throws FormatError
/// naming what was being read.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, size_t size, std::string source)
      : p_(data), n_(size), source_(std::move(source)) {}

  template <typename V>
  V get(const char* what) {
    need(sizeof(V), what);
    std::uint8_t b[sizeof(V)];
    std::memcpy(b, p_ + pos_, sizeof(V));
    if (!ByteWriter::little_endian()) std::reverse(b, b + sizeof(V));
    pos_ += sizeof(V);
    V v;
    std::memcpy(&v, b, sizeof(V));
    return v;
  }
  std::string get_string(const char* what, size_t max_len) {
    const auto len = get<std::uint32_t>(what);
    if (len > max_len) fail(detail::concat(what, " is ", len, " bytes long, more than ", max_len));
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  template <typename V>
  void get_array(V* out, size_t n, const char* what) {
    if (n > (n_ - pos_) / sizeof(V)) fail(detail::concat("file ends inside ", what));
    for (size_t i = 0; i < n; ++i) out[i] = get<V>(what);
  }
  /// The next n bytes where they lie (valid while the data does); throws when fewer remain.
  const std::uint8_t* take(size_t n, const char* what) {
    need(n, what);
    const std::uint8_t* p = p_ + pos_;
    pos_ += n;
    return p;
  }
  size_t position() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }
  [[noreturn]] void fail(const std::string& why) const { throw FormatError(source_ + ": " + why); }

 private:
  void need(size_t k, const char* what) const {
    if (k > n_ - pos_) fail(detail::concat("file ends inside ", what, " (truncated?)"));
  }
  const std::uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string source_;
};

/// Reads a whole regular file. Throws IoError when it cannot be opened or read, FormatError
/// when it is larger than `max_bytes` (checked before reading, so a huge file costs nothing).
inline std::vector<std::uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw IoError(path + ": cannot open: file does not exist");
  if (!std::filesystem::is_regular_file(status))
    throw IoError(path + ": cannot open: not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(path + ": cannot read its size: " + ec.message());
  if (size > max_bytes)
    throw FormatError(detail::concat(path, ": file is ", size, " bytes, above the limit of ",
                                     max_bytes, " bytes"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + errno_text());
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size ||
      in.peek() != std::char_traits<char>::eof())
    throw IoError(path + ": file changed size while being read");
  return bytes;
}

/// A fresh name for a temporary file next to `target` (same directory, so rename is atomic).
inline std::string temp_path_beside(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  return detail::concat(target, ".tmp-", static_cast<long>(::getpid()), "-", counter.fetch_add(1));
}

/// Writes bytes to path atomically (temp file in the same directory, fsync, rename). On any
/// failure the temp file is removed, the previous file at path is untouched, and IoError says
/// why (e.g. "No space left on device").
inline void write_file_atomic(const std::string& path, const std::uint8_t* data, size_t n) {
  const std::string tmp = temp_path_beside(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path + ": cannot write (" + errno_text() + ")");
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError(path + ": write failed (" + why + ")");
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path + ": write failed (" + why + ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot replace the file (" + why + ")");
  }
}

inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace lstmidi
