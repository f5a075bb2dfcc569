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
/// The file's layout and its checks are in corpus_cache_file.hpp. Trust: a truncated,
/// bit-flipped or foreign cache, or one of another format version, is reported in
/// CacheReport::note and rebuilt, never used. Writes are atomic (io/binary.hpp), so two runs that
/// build the same cache at once both finish and the file is one of the two complete versions.
///
/// A cached load reads the cache file on a thread of its own while the folder is listed and
/// its files are stamped, and a stored record is not copied: it stays in the file's bytes, which
/// live until the last record taken from them is released (RecordBytes).
///
/// Memory: the records of the whole folder are held once (1-3 bytes per event token) while the
/// cache is read, and with the new file's bytes beside them while it is written.
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
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/corpus_cache_file.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/record_codec.hpp"

namespace lstmidi::music {

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
  std::string source;         // the file's path as the reader names it
  bool usable = false;        // false: skipped, `warning` says why
  detail::RecordBytes bytes;  // the caller's record when usable
  std::string warning;        // "path: reason" when not usable
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

/// One stat(2) per file: size and modification time (nanoseconds since the Unix epoch).
inline bool stamp_of(const std::filesystem::path& file, FileStamp& out) {
  struct ::stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

/// `file`'s name in the cache: its path under `folder`, '/'-separated, as a view into `file`
/// or, where the path is not plainly under `folder`, into `storage`. The files come from
/// listing `folder`, so their paths start with it; cutting that prefix gives what
/// lexically_relative() gives, without its cost.
inline std::string_view name_under(const std::filesystem::path& file,
                                   const std::filesystem::path& folder, std::string& storage) {
  const std::string& f = file.native();
  const std::string& d = folder.native();
  if (std::filesystem::path::preferred_separator == '/' && !d.empty() && f.size() > d.size() &&
      f.compare(0, d.size(), d) == 0 && (d.back() == '/' || f[d.size()] == '/')) {
    std::size_t start = d.size();
    while (start < f.size() && f[start] == '/') ++start;
    // f[start - 1] is a '/': a "." or ".." anywhere in the rest falls back below.
    if (start < f.size() && f.find("/./", start - 1) == std::string::npos &&
        f.find("/../", start - 1) == std::string::npos)
      return std::string_view(f).substr(start);
  }
  storage = file.lexically_relative(folder).generic_string();
  return storage;
}
inline std::string name_under(const std::filesystem::path& file,
                              const std::filesystem::path& folder) {
  std::string storage;
  return std::string(name_under(file, folder, storage));
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

  // Read the cache (a single file is read directly) on a thread of its own, while the folder
  // is listed and stamped on this one; the thread is joined on every way out of this scope.
  const bool cached = !single && !options.dir.empty();
  const std::string folder = cached ? fs::absolute(path).lexically_normal().string() : "";
  detail::CacheIndex index;
  bool had_cache = false;
  std::string cache_error;
  auto read_cache = [&] {
    std::error_code e;
    if (!(had_cache = fs::exists(rep.file, e))) return;
    try {
      index = detail::read_cache_file(rep.file.string(), folder, settings);
    } catch (const std::exception& x) {  // FormatError, IoError, bad_alloc on a huge count
      cache_error = x.what();
      index = {};
    }
  };
  struct Joined {
    std::thread t;
    ~Joined() {
      if (t.joinable()) t.join();
    }
  } reader;
  if (cached) {
    rep.file = corpus_cache_file(options.dir, folder, settings);
    if (options.threads == 1)
      read_cache();
    else
      reader.t = std::thread(read_cache);
  }
  std::vector<fs::path> files = single ? std::vector<fs::path>{path} : list_midi_files(path);
  std::vector<FileRecord> out(files.size());
  std::vector<detail::FileStamp> stamps(files.size());
  std::vector<char> stamped(files.size(), 0);  // not vector<bool>: filled in parallel
  detail::parallel_for(files.size(), options.threads,
                       [&](std::size_t i) { stamped[i] = detail::stamp_of(files[i], stamps[i]); });
  if (reader.t.joinable()) reader.t.join();
  if (!cache_error.empty()) rep.note = "cache not used, rebuilt: " + cache_error;

  // Take each unchanged file's record from the cache: a view into the cache file's bytes.
  std::vector<std::size_t> todo;
  std::size_t next = 0;
  std::string storage;
  for (std::size_t i = 0; i < files.size(); ++i) {
    out[i].source = files[i].string();
    if (cached && stamped[i]) {
      const detail::CacheEntry* e = index.find(detail::name_under(files[i], path, storage), next);
      if (e && e->stamp == stamps[i]) {
        out[i].usable = e->usable;
        if (e->usable)
          out[i].bytes = detail::RecordBytes(index.bytes, e->body, e->body_size);
        else
          out[i].warning.assign(reinterpret_cast<const char*>(e->body), e->body_size);
        ++rep.reused;
        continue;
      }
    }
    todo.push_back(i);
  }
  const std::size_t stale_entries = index.entries.size() - rep.reused;
  index = {};  // the records taken keep the bytes they point into

  // Read the rest on several threads; FormatError is remembered, IoError is not.
  std::vector<char> remember(files.size(), 1);
  detail::parallel_for(todo.size(), options.threads, [&](std::size_t k) {
    const std::size_t i = todo[k];
    try {
      out[i].bytes = detail::RecordBytes(make_record(files[i]));
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
  if (cached && (rep.read > 0 || stale_entries > 0 || !rep.note.empty() || !had_cache)) {
    std::uint64_t kept = 0;
    for (std::size_t i = 0; i < files.size(); ++i) kept += stamped[i] && remember[i];
    detail::CacheFileWriter w(folder, settings, kept);
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (!stamped[i] || !remember[i]) continue;
      const FileRecord& f = out[i];
      w.add(std::string(detail::name_under(files[i], path, storage)), stamps[i], f.usable,
            f.usable ? static_cast<const void*>(f.bytes.data()) : f.warning.data(),
            f.usable ? f.bytes.size() : f.warning.size());
    }
    try {
      fs::create_directories(options.dir, ec);
      if (ec) throw IoError(options.dir.string() + ": cannot create (" + ec.message() + ")");
      lstmidi::write_file_atomic(rep.file.string(), w.finish());
      rep.written = true;
    } catch (const IoError& e) {
      rep.note += std::string(rep.note.empty() ? "" : "; ") + "cache not written: " + e.what();
    }
  }
  if (report) *report = std::move(rep);
  return out;
}

}  // namespace lstmidi::music
