// SPDX-License-Identifier: MIT
// Helpers for the music tests: build Standard MIDI File bytes by hand, including broken ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace testmidi {

using Bytes = std::vector<std::uint8_t>;

inline void vlq(Bytes& o, std::uint32_t v) {
  std::uint8_t buf[5];
  int n = 0;
  buf[n++] = static_cast<std::uint8_t>(v & 0x7F);
  while ((v >>= 7) != 0) buf[n++] = static_cast<std::uint8_t>(0x80 | (v & 0x7F));
  while (n > 0) o.push_back(buf[--n]);
}

inline void be32(Bytes& o, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<std::uint8_t>((v >> s) & 0xFF));
}

inline Bytes header(int format, int tracks, int division) {
  Bytes o = {'M', 'T', 'h', 'd'};
  be32(o, 6);
  for (int v : {format, tracks, division}) {
    o.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
    o.push_back(static_cast<std::uint8_t>(v & 0xFF));
  }
  return o;
}

/// A chunk; `declared` overrides the length field (to lie about it).
inline Bytes chunk(const std::string& id, const Bytes& body, long long declared = -1) {
  Bytes o(id.begin(), id.end());
  be32(o,
       static_cast<std::uint32_t>(declared >= 0 ? declared : static_cast<long long>(body.size())));
  o.insert(o.end(), body.begin(), body.end());
  return o;
}

/// Appends raw event bytes after a delta time.
inline void event(Bytes& track, std::uint32_t delta, std::initializer_list<int> bytes) {
  vlq(track, delta);
  for (int b : bytes) track.push_back(static_cast<std::uint8_t>(b));
}

inline void end_of_track(Bytes& track, std::uint32_t delta = 0) {
  event(track, delta, {0xFF, 0x2F, 0x00});
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes o;
  for (const Bytes& p : parts) o.insert(o.end(), p.begin(), p.end());
  return o;
}

/// A track playing C4 E4 G4 (one beat each at `ppqn`), then the chord C4.E4.G4 for two beats.
inline Bytes simple_track(int ppqn = 96, bool eot = true) {
  Bytes t;
  const auto q = static_cast<std::uint32_t>(ppqn);
  for (int p : {60, 64, 67}) {
    event(t, 0, {0x90, p, 100});
    event(t, q, {0x80, p, 0});
  }
  event(t, 0, {0x90, 60, 90});
  event(t, 0, {0x90, 64, 90});
  event(t, 0, {0x90, 67, 90});
  event(t, 2 * q, {0x80, 60, 0});
  event(t, 0, {0x80, 64, 0});
  event(t, 0, {0x80, 67, 0});
  if (eot) end_of_track(t);
  return t;
}

inline Bytes simple_file(int ppqn = 96) {
  return cat({header(0, 1, ppqn), chunk("MTrk", simple_track(ppqn))});
}

inline Bytes read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// A fresh empty directory under the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("lstmidi_music_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace testmidi
