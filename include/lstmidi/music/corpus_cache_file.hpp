// SPDX-License-Identifier: MIT
/// The corpus cache's file (music/corpus_cache.hpp): its layout, reading it whole and checked
/// into an index whose entries point into the file's bytes, and writing it.
///
/// File layout (little-endian; docs/api.md, music/corpus_cache.hpp):
///   magic "LSTMCORP"  u32 format version  string folder  string settings  u64 F
///   F x { string path  u64 size  i64 mtime_ns  u8 status  u64 n  n bytes }
///   u32 CRC-32C (io/crc32c.hpp) of every byte before it
/// status 0: the bytes are the file's record; 1: the bytes are the warning that the file is not
/// a usable MIDI file. The files are written in the order of their paths, which is the order
/// they are looked up in.
///
/// Trust: nothing but the magic number and the format version (to name another format) is
/// read before the CRC is checked; then every length is bounds-checked, and the folder and
/// settings must match. Anything else throws FormatError saying what is wrong, and nothing of
/// the file is used.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/io/crc32c.hpp"
#include "lstmidi/music/record_codec.hpp"

namespace lstmidi::music {

inline constexpr char kCorpusCacheMagic[8] = {'L', 'S', 'T', 'M', 'C', 'O', 'R', 'P'};
// 3: file times from stat(2); 4: the checksum is CRC-32C.
inline constexpr std::uint32_t kCorpusCacheVersion = 4;

namespace detail {

inline constexpr std::size_t kMaxCacheBytes = std::size_t{1} << 40;  // 1 TiB: no real cache
inline constexpr std::size_t kMaxCachePath = 1 << 16;
inline constexpr std::size_t kMaxCacheSettings = 1 << 20;

/// A file's identity for the cache: size and modification time.
struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns;
  }
};

/// A whole file's bytes, left uninitialised before the read fills them.
struct ByteBlock {
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t size = 0;
};

/// Reads the whole file at `path` (at most `max_bytes`) with read(2): no zero-filled buffer,
/// no stream. Throws IoError when it cannot be read, FormatError when it is too large.
inline std::shared_ptr<ByteBlock> read_whole_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open: " + errno_text());
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct ::stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(path + ": cannot read its size: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw IoError(path + ": cannot open: not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes)
    throw FormatError(
        concat(path, ": file is ", size, " bytes, above the limit of ", max_bytes, " bytes"));
  auto block = std::make_shared<ByteBlock>();
  block->size = static_cast<std::size_t>(size);
  block->data.reset(new std::uint8_t[block->size + 1]);  // +1: the read that finds the end
  std::size_t got = 0;
  while (true) {  // until end of file: a file that grew is longer than its size said
    const ::ssize_t n = ::read(fd, block->data.get() + got, block->size + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(path + ": cannot read: " + errno_text());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got > block->size) break;
  }
  if (got != block->size) throw IoError(path + ": file changed size while being read");
  return block;
}

/// One file as the cache holds it; `name` and `body` point into the cache file's bytes.
struct CacheEntry {
  std::string_view name;  // path under the folder, '/'-separated
  FileStamp stamp;
  bool usable = false;                 // status 0
  const std::uint8_t* body = nullptr;  // the record, or the warning's text
  std::size_t body_size = 0;
};

/// A cache file read and checked: its bytes and its entries in the file's order.
class CacheIndex {
 public:
  std::shared_ptr<const ByteBlock> bytes;  // what every entry points into
  std::vector<CacheEntry> entries;

  /// The entry named `name`, or nullptr. Files are looked up in the order they were written,
  /// so the entry at `next` (then advanced) is tried first; a name not there is looked up in
  /// a table of every name, built on the first such miss.
  const CacheEntry* find(std::string_view name, std::size_t& next) {
    if (next < entries.size() && entries[next].name == name) return &entries[next++];
    if (by_name_.empty())
      for (std::size_t i = 0; i < entries.size(); ++i) by_name_.emplace(entries[i].name, i);
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return nullptr;
    next = it->second + 1;
    return &entries[it->second];
  }

 private:
  std::unordered_map<std::string_view, std::size_t> by_name_;
};

/// Reads and checks a cache file; throws FormatError (or IoError) saying what is wrong.
inline CacheIndex read_cache_file(const std::string& path, const std::string& folder,
                                  const std::string& settings) {
  CacheIndex out;
  const std::shared_ptr<ByteBlock> block = read_whole_file(path, kMaxCacheBytes);
  const std::uint8_t* bytes = block->data.get();
  const std::size_t size = block->size;
  if (size < sizeof(kCorpusCacheMagic) + 8)
    throw FormatError(path + ": too short for a corpus cache (truncated?)");
  ByteReader r(bytes, size - 4, path);
  const bool magic_ok = std::equal(bytes, bytes + sizeof(kCorpusCacheMagic), kCorpusCacheMagic,
                                   [](std::uint8_t b, char c) { return b == std::uint8_t(c); });
  r.take(sizeof(kCorpusCacheMagic), "magic");
  // Another format's checksum may be another function: its version is named before the
  // checksum is checked (a version is only ever compared, never trusted).
  const auto version = r.get<std::uint32_t>("format version");
  if (magic_ok && version != kCorpusCacheVersion)
    r.fail(concat("cache format ", version, ", this program reads ", kCorpusCacheVersion));
  ByteReader tail(bytes + size - 4, 4, path);
  if (crc32c(bytes, size - 4) != tail.get<std::uint32_t>("checksum"))
    throw FormatError(path + ": checksum mismatch (truncated or corrupted)");
  if (!magic_ok) r.fail("not a corpus cache (wrong magic number)");
  if (r.get_string("folder", kMaxCachePath) != folder) r.fail("written for another folder");
  if (r.get_string("settings", kMaxCacheSettings) != settings)
    r.fail("written with other settings or by another version");
  const auto n = r.get<std::uint64_t>("file count");
  if (n > r.remaining()) r.fail(concat("file count ", n, " does not fit the file"));
  out.entries.resize(static_cast<std::size_t>(n));
  for (CacheEntry& e : out.entries) {
    const auto name_size = r.get<std::uint32_t>("file name");
    if (name_size > kMaxCachePath)
      r.fail(concat("file name is ", name_size, " bytes long, more than ", kMaxCachePath));
    const std::uint8_t* name = r.take(name_size, "file name");
    e.name = std::string_view(reinterpret_cast<const char*>(name), name_size);
    e.stamp.size = r.get<std::uint64_t>("file size");
    e.stamp.mtime_ns = r.get<std::int64_t>("file time");
    const auto status = r.get<std::uint8_t>("file status");
    if (status > 1) r.fail(concat("file status ", int(status), " is not 0 or 1"));
    e.usable = status == 0;
    const auto len = r.get<std::uint64_t>("record length");
    if (len > r.remaining()) r.fail("file ends inside a record (truncated?)");
    e.body_size = static_cast<std::size_t>(len);
    e.body = r.take(e.body_size, "record");
  }
  if (r.remaining() != 0) r.fail(concat(r.remaining(), " stray bytes after the last record"));
  out.bytes = block;
  return out;
}

/// Writes a cache file's bytes: begin(), one add() per file in the order of their paths,
/// finish() for the checksum, then bytes().
class CacheFileWriter {
 public:
  CacheFileWriter(const std::string& folder, const std::string& settings, std::uint64_t files) {
    w_.put_bytes(kCorpusCacheMagic, sizeof(kCorpusCacheMagic));
    w_.put<std::uint32_t>(kCorpusCacheVersion);
    w_.put_string(folder);
    w_.put_string(settings);
    w_.put<std::uint64_t>(files);
  }
  void add(const std::string& name, const FileStamp& stamp, bool usable, const void* body,
           std::size_t size) {
    w_.put_string(name);
    w_.put<std::uint64_t>(stamp.size);
    w_.put<std::int64_t>(stamp.mtime_ns);
    w_.put<std::uint8_t>(usable ? 0 : 1);
    w_.put<std::uint64_t>(size);
    w_.put_bytes(body, size);
  }
  const std::vector<std::uint8_t>& finish() {
    w_.put<std::uint32_t>(crc32c(w_.bytes().data(), w_.bytes().size()));
    return w_.bytes();
  }

 private:
  ByteWriter w_;
};

}  // namespace detail
}  // namespace lstmidi::music
