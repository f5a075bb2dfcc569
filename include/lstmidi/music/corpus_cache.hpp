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

#include <sys/stat.h>

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
#include "lstmidi/music/record_codec.hpp"

namespace lstmidi::music {

inline constexpr char kCorpusCacheMagic[8] = {'L', 'S', 'T', 'M', 'C', 'O', 'R', 'P'};
inline constexpr std::uint32_t kCorpusCacheVersion = 3;  // 3: file times from stat(2)

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

/// One stat(2) per file: size and modification time (nanoseconds since the Unix epoch).
inline bool stamp_of(const std::filesystem::path& file, FileStamp& out) {
  struct ::stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

/// `file`'s name in the cache: its path under `folder`, '/'-separated. The files come from
/// listing `folder`, so their paths start with it; cutting that prefix gives what
/// lexically_relative() gives, without its cost (20 ms for 10,000 files, 3% of a cached load).
inline std::string name_under(const std::filesystem::path& file,
                              const std::filesystem::path& folder) {
  const std::string& f = file.native();
  const std::string& d = folder.native();
  if (std::filesystem::path::preferred_separator == '/' && !d.empty() && f.size() > d.size() &&
      f.compare(0, d.size(), d) == 0 && (d.back() == '/' || f[d.size()] == '/')) {
    std::size_t start = d.size();
    while (start < f.size() && f[start] == '/') ++start;
    // f[start - 1] is a '/': a "." or ".." anywhere in the rest falls back below.
    if (start < f.size() && f.find("/./", start - 1) == std::string::npos &&
        f.find("/../", start - 1) == std::string::npos)
      return f.substr(start);
  }
  return file.lexically_relative(folder).generic_string();
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
  std::vector<char> stamp_ok(files.size(), 0);  // vector<bool> is not safe to fill in parallel
  detail::parallel_for(files.size(), options.threads,
                       [&](std::size_t i) { stamp_ok[i] = detail::stamp_of(files[i], stamps[i]); });
  for (std::size_t i = 0; i < files.size(); ++i) {
    out[i].source = files[i].string();
    stamped[i] = stamp_ok[i] != 0;
    if (cached && stamped[i]) {
      auto it = entries.find(detail::name_under(files[i], path));
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
      w.put_string(detail::name_under(files[i], path));
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
