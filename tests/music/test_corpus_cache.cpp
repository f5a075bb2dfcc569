// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "lstmidi/music/corpus.hpp"
#include "lstmidi/music/corpus_cache.hpp"
#include "lstmidi/music/roll_corpus.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
using namespace testmidi;
namespace fs = std::filesystem;

namespace {

Encoder events_encoder() {
  EncoderOptions eo;
  eo.encoding = Encoding::Events;
  return Encoder(eo);
}

ReadOptions keep_drums() {
  ReadOptions ro;
  ro.keep_drums = true;
  return ro;
}

void check_same(const Corpus& a, const Corpus& b) {
  CHECK(a.files == b.files);
  REQUIRE(a.pieces.size() == b.pieces.size());
  for (std::size_t i = 0; i < a.pieces.size(); ++i) CHECK(a.pieces[i] == b.pieces[i]);
  CHECK(a.warnings == b.warnings);
  CHECK(a.skipped == b.skipped);
  CHECK(a.notes == b.notes);
  CHECK(a.opening_tempos == b.opening_tempos);
  CHECK(a.opening_time_signatures == b.opening_time_signatures);
  CHECK(a.opening_keys == b.opening_keys);
}

// A folder of `n` chorales from the bundled corpus plus one file that is not MIDI.
fs::path small_folder(const std::string& name, std::size_t n) {
  const fs::path dir = temp_dir(name);
  const std::vector<fs::path> all = list_midi_files(LSTMIDI_CORPUS_DIR);
  REQUIRE(all.size() >= n);
  for (std::size_t i = 0; i < n; ++i)
    fs::copy_file(all[i], dir / all[i].filename(), fs::copy_options::overwrite_existing);
  write_bytes(dir / "broken.mid", {'M', 'T', 'h', 'd', 0, 0});
  return dir;
}

Corpus load(const fs::path& dir, const fs::path& cache, CacheReport* rep = nullptr,
            unsigned threads = 0) {
  CorpusCacheOptions co;
  co.dir = cache;
  co.threads = threads;
  return load_corpus(dir, events_encoder(), keep_drums(), false, co, rep);
}

std::vector<std::uint8_t> file_bytes(const fs::path& p) {
  return read_bytes(p);
}

}  // namespace

TEST_CASE("corpus cache: a cached load gives exactly what reading every file gives") {
  const fs::path cache = temp_dir("cache_whole");
  const Corpus plain = load_corpus(LSTMIDI_CORPUS_DIR, events_encoder(), keep_drums());
  CacheReport first, second;
  const Corpus built = load(LSTMIDI_CORPUS_DIR, cache, &first);
  const Corpus cached = load(LSTMIDI_CORPUS_DIR, cache, &second);
  const std::size_t files = list_midi_files(LSTMIDI_CORPUS_DIR).size();
  CHECK(first.read == files);
  CHECK(first.reused == 0);
  CHECK(first.written);
  CHECK(first.note.empty());
  CHECK(second.reused == files);
  CHECK(second.read == 0);
  CHECK_FALSE(second.written);  // nothing changed: not rewritten
  CHECK(second.file == first.file);
  check_same(plain, built);
  check_same(plain, cached);
}

TEST_CASE("corpus cache: files read on one thread or four give the same corpus") {
  const fs::path dir = small_folder("cache_threads", 24);
  const Corpus one = load(dir, {}, nullptr, 1);
  const Corpus four = load(dir, {}, nullptr, 4);
  check_same(one, four);
  CHECK(one.skipped == 1);  // broken.mid, in both
}

TEST_CASE("corpus cache: changed, new and removed files are read again, the rest reused") {
  const fs::path dir = small_folder("cache_changes", 12);
  const fs::path cache = temp_dir("cache_changes_cache");
  CacheReport rep;
  (void)load(dir, cache, &rep);
  REQUIRE(rep.read == 13);
  const std::vector<fs::path> files = list_midi_files(dir);
  // Change one file's content (another chorale, and a later time), add one, remove one.
  const std::vector<fs::path> all = list_midi_files(LSTMIDI_CORPUS_DIR);
  const fs::path changed = files[3];
  fs::copy_file(all[40], changed, fs::copy_options::overwrite_existing);
  fs::last_write_time(changed, fs::last_write_time(changed) + std::chrono::seconds(5));
  fs::copy_file(all[41], dir / "zz_new.mid");
  fs::remove(files[5]);
  const Corpus cached = load(dir, cache, &rep);
  CHECK(rep.read == 2);
  CHECK(rep.reused == 11);
  CHECK(rep.written);
  check_same(load(dir, {}), cached);
  // The rewritten cache now holds all of it.
  (void)load(dir, cache, &rep);
  CHECK(rep.read == 0);
  CHECK(rep.reused == 13);

  // A file whose size changes but whose time is set back is read again too.
  const auto t = fs::last_write_time(files[4]);
  const auto size = fs::file_size(files[4]);
  fs::copy_file(all[42], files[4], fs::copy_options::overwrite_existing);
  fs::last_write_time(files[4], t);
  if (fs::file_size(files[4]) != size) {
    check_same(load(dir, {}), load(dir, cache, &rep));
    CHECK(rep.read == 1);
  }
}

TEST_CASE("corpus cache: a truncated, bit-flipped, foreign or old cache is rebuilt, not used") {
  const fs::path dir = small_folder("cache_corrupt", 10);
  const fs::path cache = temp_dir("cache_corrupt_cache");
  CacheReport rep;
  const Corpus truth = load(dir, cache, &rep);
  const fs::path file = rep.file;
  const std::vector<std::uint8_t> good = file_bytes(file);
  REQUIRE(good.size() > 100);

  auto reload_with = [&](const std::vector<std::uint8_t>& bytes, const char* expect) {
    write_bytes(file, bytes);
    CacheReport r;
    const Corpus c = load(dir, cache, &r);
    CHECK(r.reused == 0);
    CHECK(r.read == 11);
    CHECK(r.written);
    CHECK_MESSAGE(r.note.find(expect) != std::string::npos, r.note);
    check_same(truth, c);
    CHECK(file_bytes(file) == good);  // rebuilt to the same bytes
  };
  SUBCASE("truncated") {
    reload_with(std::vector<std::uint8_t>(good.begin(), good.begin() + good.size() / 2),
                "checksum");
    reload_with(std::vector<std::uint8_t>(good.begin(), good.begin() + 5), "too short");
  }
  SUBCASE("one bit flipped anywhere") {
    for (std::size_t at : {std::size_t{3}, good.size() / 3, good.size() - 2}) {
      std::vector<std::uint8_t> bad = good;
      bad[at] ^= 0x10;
      reload_with(bad, "checksum");
    }
  }
  SUBCASE("another format version, with a valid checksum") {
    std::vector<std::uint8_t> old = good;
    old[8] = static_cast<std::uint8_t>(kCorpusCacheVersion + 1);
    const std::uint32_t crc = crc32c(old.data(), old.size() - 4);
    for (int k = 0; k < 4; ++k) old[old.size() - 4 + k] = static_cast<std::uint8_t>(crc >> (8 * k));
    reload_with(old, "cache format");
  }
  SUBCASE("format 3, checksummed with CRC-32: named as the old format, not as corruption") {
    std::vector<std::uint8_t> old = good;
    old[8] = 3;
    const std::uint32_t crc = crc32(old.data(), old.size() - 4);
    for (int k = 0; k < 4; ++k) old[old.size() - 4 + k] = static_cast<std::uint8_t>(crc >> (8 * k));
    const std::string expect =
        "cache format 3, this program reads " + std::to_string(kCorpusCacheVersion);
    reload_with(old, expect.c_str());
  }
  SUBCASE("written with other settings, found under this name") {
    const fs::path other_cache = temp_dir("cache_corrupt_other");
    EncoderOptions eo;
    eo.encoding = Encoding::Durations;
    CacheReport r;
    CorpusCacheOptions co;
    co.dir = other_cache;
    (void)load_corpus(dir, Encoder(eo), keep_drums(), false, co, &r);
    CHECK(r.file.filename() != file.filename());  // other settings, other file
    reload_with(file_bytes(r.file), "other settings");
  }
}

TEST_CASE("corpus cache: unusable files are remembered with their warning") {
  const fs::path dir = small_folder("cache_warnings", 3);
  const fs::path cache = temp_dir("cache_warnings_cache");
  CacheReport rep;
  const Corpus a = load(dir, cache, &rep);
  const Corpus b = load(dir, cache, &rep);
  CHECK(rep.reused == 4);
  CHECK(rep.read == 0);
  REQUIRE(b.skipped == 1);
  CHECK(b.warnings.front().find("broken.mid") != std::string::npos);
  check_same(a, b);
}

TEST_CASE("corpus cache: two loads building the same cache at once both succeed") {
  const fs::path dir = small_folder("cache_race", 30);
  const fs::path cache = temp_dir("cache_race_cache");
  const Corpus truth = load(dir, {});
  Corpus a, b;
  std::thread ta([&] { a = load(dir, cache, nullptr, 1); });
  std::thread tb([&] { b = load(dir, cache, nullptr, 1); });
  ta.join();
  tb.join();
  check_same(truth, a);
  check_same(truth, b);
  CacheReport rep;
  check_same(truth, load(dir, cache, &rep));
  CHECK(rep.note.empty());  // the file left is one complete cache
  CHECK(rep.reused == 31);
  std::size_t leftovers = 0;  // no temporary files left behind
  for (const auto& e : fs::directory_iterator(cache)) leftovers += e.path().extension() != ".cache";
  CHECK(leftovers == 0);
}

TEST_CASE("corpus cache: a cache folder that cannot be written is reported, not an error") {
  const fs::path dir = small_folder("cache_unwritable", 3);
  const fs::path blocker = temp_dir("cache_unwritable_cache") / "file";
  write_bytes(blocker, {1});
  CacheReport rep;
  const Corpus c = load(dir, blocker / "sub", &rep);  // a folder below a file: cannot exist
  CHECK_FALSE(rep.written);
  CHECK(rep.note.find("cache not written") != std::string::npos);
  check_same(load(dir, {}), c);
}

TEST_CASE("corpus cache: the piano-roll corpus is cached the same way") {
  const fs::path dir = small_folder("cache_roll", 16);
  const fs::path cache = temp_dir("cache_roll_cache");
  RollOptions ro;
  ro.frame_beats = 0.5;
  CorpusCacheOptions co;
  co.dir = cache;
  CacheReport first, second;
  const RollCorpus plain = load_roll_corpus(dir, ro);
  const RollCorpus built = load_roll_corpus(dir, ro, {}, co, &first);
  const RollCorpus cached = load_roll_corpus(dir, ro, {}, co, &second);
  CHECK(first.read == 17);
  CHECK(second.reused == 17);
  for (const RollCorpus* c : {&built, &cached}) {
    CHECK(c->files == plain.files);
    CHECK(c->pieces == plain.pieces);
    CHECK(c->warnings == plain.warnings);
    CHECK(c->frames == plain.frames);
    CHECK(c->skipped == plain.skipped);
  }
  // Another frame length is another cache.
  ro.frame_beats = 1.0;
  CacheReport third;
  const RollCorpus other = load_roll_corpus(dir, ro, {}, co, &third);
  CHECK(third.read == 17);
  CHECK(other.pieces == load_roll_corpus(dir, ro).pieces);
}

TEST_CASE("corpus cache: a file's name under its folder is what lexically_relative gives") {
  const std::pair<const char*, const char*> cases[] = {
      {"/data/a.mid", "/data"},       {"/data/sub/a.mid", "/data/"},
      {"data/sub/b.midi", "data"},    {"./x/a.mid", "."},
      {"data/./sub/a.mid", "data/."}, {"data/sub/../a.mid", "data"},
      {"other/a.mid", "data"},        {"data2/a.mid", "data"},
      {"data/./x.mid", "data"},       {"data/../data/x.mid", "data"},
      {"data//x.mid", "data"}};
  for (const auto& c : cases) {
    const std::string file = c.first, folder = c.second;
    CAPTURE(file);
    CAPTURE(folder);
    CHECK(music::detail::name_under(file, folder) ==
          fs::path(file).lexically_relative(folder).generic_string());
  }
}
