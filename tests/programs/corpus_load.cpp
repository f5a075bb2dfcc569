// SPDX-License-Identifier: MIT
// corpus_load FOLDER CACHE_DIR|none [THREADS]: loads a folder of MIDI files as the token
// corpus of lstmidi-train's defaults (events encoding), through the corpus cache in CACHE_DIR
// (or reading every file), and prints how long it took, what the cache did, and the corpus's
// size with a hash of its tokens (equal hashes: the same corpus). The resident memory after the
// load is printed too (VmRSS, VmHWM). Used to measure loading (docs/performance.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>

#include "lstmidi/music/corpus.hpp"

namespace {
std::string proc_status(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return line;
  return std::string(key) + " ?";
}
}  // namespace

int main(int argc, char** argv) {
  using namespace lstmidi;
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: corpus_load FOLDER CACHE_DIR|none [THREADS]\n";
    return 2;
  }
  try {
    music::EncoderOptions eo;
    eo.encoding = music::Encoding::Events;
    const music::Encoder encoder(eo);
    music::ReadOptions ro;
    ro.keep_drums = true;
    music::CorpusCacheOptions co = music::cache_setting(argv[2]);
    if (argc == 4) co.threads = static_cast<unsigned>(std::atoi(argv[3]));
    music::CacheReport rep;
    const auto t0 = std::chrono::steady_clock::now();
    const music::Corpus c = music::load_corpus(argv[1], encoder, ro, false, co, &rep);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t tokens = 0;
    std::uint32_t h = 0;
    for (const auto& p : c.pieces) {
      tokens += p.size();
      for (const music::Token& t : p) {
        const std::string text = music::to_string(t);
        h = crc32(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), h);
      }
    }
    std::printf("load %.3f s\npieces %zu tokens %zu skipped %zu hash %08x\n", s, c.pieces.size(),
                tokens, c.skipped, h);
    std::printf("cache reused %zu read %zu written %d%s%s\n", rep.reused, rep.read,
                rep.written ? 1 : 0, rep.note.empty() ? "" : " note: ", rep.note.c_str());
    std::printf("%s\n%s\n", proc_status("VmRSS").c_str(), proc_status("VmHWM").c_str());
  } catch (const std::exception& e) {
    std::cerr << "corpus_load: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
