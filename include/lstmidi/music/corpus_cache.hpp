// SPDX-License-Identifier: MIT
/// Corpus cache: what reading and encoding each file of a folder produced, kept in one binary
/// file so that the next run over the same folder reads that instead of every MIDI file.
///
/// A folder of F files is listed, and each file is looked up by its path under the folder, its
/// size and its modification time (nanoseconds). A file found with all three unchanged takes
/// its stored result; every other file (new, changed) is read again, on `threads` threads at
/// once, and the cache is rewritten. What a file produces is an opaque byte record written by
/// the caller (corpus.hpp: the encoded tokens; roll_corpus.hpp: the frames), so one cache
/// serves every way of turning a file into a sequence. The caller's `settings` string names
/// everything that changes a record (encoding, grid, reader options, library version): a cache
/// written with other settings is not used.
///
/// File layout (little-endian; docs/api.md, music/corpus_cache.hpp):
///   magic "LSTMCORP"  u32 format version  string folder  string settings  u64 F
///   F x { string path  u64 size  i64 mtime_ns  u8 status  u64 n  n bytes }
///   u32 CRC-32 of every byte before it
/// status 0: the bytes are the file's record; 1: the bytes are the warning that the file is not
/// a usable MIDI file (a FormatError, which the same bytes give again). A file that could not be
/// opened (IoError) is not stored: it is tried again next time.
///
/// Trust: the CRC is checked before anything is parsed, then every length is bounds-checked,
/// and the folder and settings must match; a truncated, bit-flipped or foreign cache, or one of
/// another format version, is reported in CacheReport::note and rebuilt, never used. Writes are
/// atomic (io/binary.hpp), so two runs that build the same cache at once both finish and the
/// file is one of the two complete versions.
///
/// Memory: the records of the whole folder are held once (about 2-3 bytes per event token) while
/// the cache is read or written.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/midi_reader.hpp"

namespace lstmidi::music {

inline constexpr char kCorpusCacheMagic[8] = {'L', 'S', 'T', 'M', 'C', 'O', 'R', 'P'};
inline constexpr std::uint32_t kCorpusCacheVersion = 2;

/// Where the cache lives and how many files are read at once.
struct CorpusCacheOptions {
  std::filesystem::path dir;  // folder of cache files; empty = no cache (read every file)
  unsigned threads = 0;       // files read at once; 0 = one per core
};

/// What the cache did on one load.
struct CacheReport {
  std::filesystem::path file;  // the cache file (empty when no cache was asked for)
  std::size_t reused = 0;      // files whose stored record was used
  std::size_t read = 0;        // files read and encoded
  bool written = false;        // the cache file was (re)written
  std::string note;            // why a cache present was not used, or could not be written
};

/// One file's outcome, in the folder's order.
struct FileRecord {
  std::string source;               // the file's path as the reader names it
  bool usable = false;              // false: skipped, `warning` says why
  std::vector<std::uint8_t> bytes;  // the caller's record when usable
  std::string warning;              // "path: reason" when not usable
};

/// The default cache folder: $XDG_CACHE_HOME/lstmidi, else $HOME/.cache/lstmidi; empty when
/// neither variable is set.
inline std::filesystem::path default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::filesystem::path(x) / "lstmidi";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::filesystem::path(h) / ".cache" / "lstmidi";
  return {};
}

/// The programs' --cache setting: "auto" = default_cache_dir(), "none" = no cache, else the
/// folder it names.
inline CorpusCacheOptions cache_setting(const std::string& text) {
  CorpusCacheOptions o;
  if (text == "auto")
    o.dir = default_cache_dir();
  else if (text != "none")
    o.dir = text;
  return o;
}

/// One line for a person: what the cache did ("" when no cache was asked for).
inline std::string describe(const CacheReport& r) {
  if (r.file.empty()) return {};
  std::ostringstream os;
  os << r.reused << " of " << (r.reused + r.read) << " files from the corpus cache "
     << r.file.string();
  if (r.written) os << " (" << r.read << " read and cached)";
  return os.str();
}

namespace detail {

inline constexpr std::size_t kMaxCacheBytes = std::size_t{1} << 40;  // 1 TiB: no real cache
inline constexpr std::size_t kMaxCachePath = 1 << 16;
inline constexpr std::size_t kMaxCacheSettings = 1 << 20;

/// FNV-1a, 64 bits: names the cache file of a (folder, settings) pair.
inline std::uint64_t fnv1a64(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

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

/// Reads one file's record: bytes and varints, bounds-checked, naming the file on failure.
class RecordReader {
 public:
  RecordReader(const std::vector<std::uint8_t>& bytes, const std::string& source)
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

/// f(i) for i in [0, n) on up to `threads` threads (0 = one per core), each i once. The first
/// exception any call throws is rethrown here after every thread has stopped.
template <typename F>
void parallel_for(std::size_t n, unsigned threads, F&& f) {
  unsigned k = threads ? threads : std::thread::hardware_concurrency();
  k = std::max(1u, static_cast<unsigned>(std::min<std::size_t>(k, n)));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> failures(k);
  auto work = [&](unsigned w) {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) f(i);
    } catch (...) {
      failures[w] = std::current_exception();
      next = n;  // the others stop too
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < k; ++w) pool.emplace_back(work, w);
  if (n > 0) work(0);
  for (std::thread& t : pool) t.join();
  for (const std::exception_ptr& e : failures)
    if (e) std::rethrow_exception(e);
}

/// A file's identity for the cache: size and modification time.
struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns;
  }
};

inline bool stamp_of(const std::filesystem::path& file, FileStamp& out) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return false;
  const auto time = std::filesystem::last_write_time(file, ec);
  if (ec) return false;
  out.size = size;
  out.mtime_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  return true;
}

struct CachedEntry {
  FileStamp stamp;
  bool usable = false;
  std::vector<std::uint8_t> bytes;  // record, or the warning's text
};

/// Reads and checks a cache file; throws FormatError (or IoError) saying what is wrong.
inline std::unordered_map<std::string, CachedEntry> read_cache_file(const std::string& path,
                                                                    const std::string& folder,
                                                                    const std::string& settings) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, kMaxCacheBytes);
  if (bytes.size() < sizeof(kCorpusCacheMagic) + 8)
    throw FormatError(path + ": too short for a corpus cache (truncated?)");
  ByteReader tail(bytes.data() + bytes.size() - 4, 4, path);
  const auto stored_crc = tail.get<std::uint32_t>("checksum");
  if (crc32(bytes.data(), bytes.size() - 4) != stored_crc)
    throw FormatError(path + ": checksum mismatch (truncated or corrupted)");
  ByteReader r(bytes.data(), bytes.size() - 4, path);
  char magic[sizeof(kCorpusCacheMagic)];
  for (char& c : magic) c = static_cast<char>(r.get<std::uint8_t>("magic"));
  if (!std::equal(magic, magic + sizeof(magic), kCorpusCacheMagic))
    r.fail("not a corpus cache (wrong magic number)");
  const auto version = r.get<std::uint32_t>("format version");
  if (version != kCorpusCacheVersion)
    r.fail(concat("cache format ", version, ", this program reads ", kCorpusCacheVersion));
  if (r.get_string("folder", kMaxCachePath) != folder) r.fail("written for another folder");
  if (r.get_string("settings", kMaxCacheSettings) != settings)
    r.fail("written with other settings or by another version");
  const auto n = r.get<std::uint64_t>("file count");
  if (n > r.remaining()) r.fail(concat("file count ", n, " does not fit the file"));
  std::unordered_map<std::string, CachedEntry> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name = r.get_string("file name", kMaxCachePath);
    CachedEntry e;
    e.stamp.size = r.get<std::uint64_t>("file size");
    e.stamp.mtime_ns = r.get<std::int64_t>("file time");
    const auto status = r.get<std::uint8_t>("file status");
    if (status > 1) r.fail(concat("file status ", int(status), " is not 0 or 1"));
    e.usable = status == 0;
    const auto len = r.get<std::uint64_t>("record length");
    if (len > r.remaining()) r.fail("file ends inside a record (truncated?)");
    const std::uint8_t* body = r.take(static_cast<std::size_t>(len), "record");
    e.bytes.assign(body, body + len);
    out[std::move(name)] = std::move(e);
  }
  if (r.remaining() != 0) r.fail(concat(r.remaining(), " stray bytes after the last record"));
  return out;
}

}  // namespace detail

/// The cache file for `folder` read with `settings` in `dir`.
inline std::filesystem::path corpus_cache_file(const std::filesystem::path& dir,
                                               const std::string& folder,
                                               const std::string& settings) {
  char name[40];
  std::snprintf(name, sizeof(name), "corpus-%016llx.cache",
                static_cast<unsigned long long>(detail::fnv1a64(folder + '\n' + settings)));
  return dir / name;
}

/// Every MIDI file under `path` (or the single file `path`) turned into a record by
/// `make_record(file) -> bytes`, through the cache described above. `make_record` may throw
/// FormatError (the file is skipped with that warning, and that is remembered) or IoError
/// (skipped, tried again next time); it is called from several threads at once. A cache that
/// cannot be read or written is reported in `report`, never an error: the records are the same.
inline std::vector<FileRecord> load_file_records(
    const std::filesystem::path& path, const std::string& settings,
    const std::function<std::vector<std::uint8_t>(const std::filesystem::path&)>& make_record,
    const CorpusCacheOptions& options = {}, CacheReport* report = nullptr) {
  namespace fs = std::filesystem;
  CacheReport rep;
  std::error_code ec;
  const bool single = fs::is_regular_file(path, ec);
  std::vector<fs::path> files = single ? std::vector<fs::path>{path} : list_midi_files(path);
  std::vector<FileRecord> out(files.size());
  std::vector<detail::FileStamp> stamps(files.size());
  std::vector<bool> stamped(files.size(), false);
  std::vector<std::size_t> todo;

  // Look every file up in the cache (a single file is read directly).
  const bool cached = !single && !options.dir.empty();
  const std::string folder = cached ? fs::absolute(path).lexically_normal().string() : "";
  std::unordered_map<std::string, detail::CachedEntry> entries;
  if (cached) {
    rep.file = corpus_cache_file(options.dir, folder, settings);
    if (fs::exists(rep.file, ec)) {
      try {
        entries = detail::read_cache_file(rep.file.string(), folder, settings);
      } catch (const std::exception& e) {  // FormatError, IoError, bad_alloc on a huge count
        rep.note = std::string("cache not used, rebuilt: ") + e.what();
        entries.clear();
      }
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    out[i].source = files[i].string();
    stamped[i] = detail::stamp_of(files[i], stamps[i]);
    if (cached && stamped[i]) {
      auto it = entries.find(files[i].lexically_relative(path).generic_string());
      if (it != entries.end() && it->second.stamp == stamps[i]) {
        out[i].usable = it->second.usable;
        if (it->second.usable)
          out[i].bytes = std::move(it->second.bytes);
        else
          out[i].warning.assign(it->second.bytes.begin(), it->second.bytes.end());
        ++rep.reused;
        continue;
      }
    }
    todo.push_back(i);
  }
  const std::size_t stale_entries = entries.size() - rep.reused;
  entries.clear();

  // Read the rest on several threads; FormatError is remembered, IoError is not.
  std::vector<char> remember(files.size(), 1);
  detail::parallel_for(todo.size(), options.threads, [&](std::size_t k) {
    const std::size_t i = todo[k];
    try {
      out[i].bytes = make_record(files[i]);
      out[i].usable = true;
    } catch (const FormatError& e) {
      out[i].warning = e.what();
    } catch (const IoError& e) {
      out[i].warning = e.what();
      remember[i] = 0;
    }
  });
  rep.read = todo.size();

  // Rewrite the cache when anything changed (files read, files gone).
  if (cached &&
      (rep.read > 0 || stale_entries > 0 || !rep.note.empty() || !fs::exists(rep.file, ec))) {
    ByteWriter w;
    w.put_bytes(kCorpusCacheMagic, sizeof(kCorpusCacheMagic));
    w.put<std::uint32_t>(kCorpusCacheVersion);
    w.put_string(folder);
    w.put_string(settings);
    std::uint64_t kept = 0;
    for (std::size_t i = 0; i < files.size(); ++i) kept += stamped[i] && remember[i];
    w.put<std::uint64_t>(kept);
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (!stamped[i] || !remember[i]) continue;
      w.put_string(files[i].lexically_relative(path).generic_string());
      w.put<std::uint64_t>(stamps[i].size);
      w.put<std::int64_t>(stamps[i].mtime_ns);
      w.put<std::uint8_t>(out[i].usable ? 0 : 1);
      const std::vector<std::uint8_t> warning(out[i].warning.begin(), out[i].warning.end());
      const std::vector<std::uint8_t>& body = out[i].usable ? out[i].bytes : warning;
      w.put<std::uint64_t>(body.size());
      w.put_bytes(body.data(), body.size());
    }
    w.put<std::uint32_t>(crc32(w.bytes().data(), w.bytes().size()));
    try {
      fs::create_directories(options.dir, ec);
      if (ec) throw IoError(options.dir.string() + ": cannot create (" + ec.message() + ")");
      lstmidi::write_file_atomic(rep.file.string(), w.bytes());
      rep.written = true;
    } catch (const IoError& e) {
      rep.note += std::string(rep.note.empty() ? "" : "; ") + "cache not written: " + e.what();
    }
  }
  if (report) *report = std::move(rep);
  return out;
}

}  // namespace lstmidi::music
