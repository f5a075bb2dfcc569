// SPDX-License-Identifier: MIT
/// SMF guard: checks untrusted Standard MIDI File bytes against a strict whitelist and rewrites
/// them into a small sanitised file that libsmf 1.3 is known to load safely.
///
/// libsmf 1.3 aborts, reads out of bounds or takes quadratic time on many malformed or merely
/// unusual files (docs/encoding.md#limits lists them). So no byte from disk reaches libsmf
/// unchecked: `sanitize_smf` parses the file itself and emits a new file that contains only
///   - an MThd with length 6, the original format (0 or 1), track count and PPQN;
///   - one MTrk per input MTrk, holding only note-on / note-off messages, program changes and
///     sustain-pedal controller messages (CC 64) (running status expanded), tempo meta events
///     (length 3, value > 0), time signatures (length 4, numerator 1..64, denominator 2^0..2^6),
///     key signatures (length 2, -7..7 sharps, major 0 or minor 1) and a final End-of-Track.
/// Everything else is dropped: SysEx (F0) and escape/continuation packets (F7), other meta
/// events of any length, other controllers and channel messages, time or key signatures with
/// values out of range (counted in dropped_events), unknown chunk types. A missing End-of-Track
/// is added at the tick of the track's last event.
///
/// Rejected with lstmidi::FormatError("<name>: <reason>"):
///   - size below 14 bytes (no header), above `max_file_bytes` (default 4 MiB);
///   - no "MThd" magic, MThd length != 6, format other than 0/1, 0 or more than 64 tracks,
///     format 0 with more than one track, SMPTE division or PPQN 0;
///   - a chunk whose length runs past the end of the file (truncated or lying length), a chunk
///     id that is not four printable ASCII characters, fewer or more MTrk chunks than declared;
///   - inside a track: a delta time (VLQ) longer than 4 bytes or running past the chunk, an event
///     cut off by the chunk end, a data byte >= 0x80, running status with no channel message
///     before it, a status byte F1..FE other than FF, a tempo event whose length is not 3 or
///     whose value is 0;
///   - limits: more than 2^28 ticks in a track, a kept event past beat 16,384 (a few bytes of
///     delta time must not turn into hours of silence for the encoders to spell out; a later
///     End-of-Track is moved back to that beat), more than 50,000 kept events in one track or
///     100,000 in the file, more than 512 tempo changes, more than 512 time and key signatures,
///     more than 4,096 program changes.
/// Running status survives meta and SysEx events (many real files rely on that).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi::music {

namespace detail {
using lstmidi::detail::concat;
}  // namespace detail

/// Caps enforced by the guard. Defaults keep libsmf's quadratic load/delete under ~0.5 s.
struct GuardLimits {
  std::size_t max_file_bytes = std::size_t{4} << 20;  // 4 MiB
  int max_tracks = 64;
  std::size_t max_events_per_track = 50000;        // kept events (notes + tempo), per track
  std::size_t max_events_total = 100000;           // kept events in the whole file
  std::size_t max_tempo_events = 512;              // tempo changes in the whole file
  std::size_t max_signature_events = 512;          // time + key signatures in the whole file
  std::size_t max_program_changes = 4096;          // program changes in the whole file
  std::int64_t max_ticks = std::int64_t{1} << 28;  // largest absolute tick in a track
  std::int64_t max_beats = std::int64_t{1} << 14;  // latest kept event, in quarter notes
};

/// The sanitised file plus what was changed on the way.
struct SanitizedSmf {
  std::vector<std::uint8_t> bytes;  // a well-formed SMF, safe for smf_load_from_memory
  int format = 0;
  int tracks = 0;
  int ppqn = 0;
  std::size_t kept_events = 0;         // note on/off + tempo events written
  std::size_t dropped_events = 0;      // SysEx, other meta events, other channel messages
  std::size_t dropped_chunks = 0;      // unknown chunk types skipped
  std::size_t added_end_of_track = 0;  // tracks that had no End-of-Track
};

namespace detail {

class SmfScanner {
 public:
  SmfScanner(const std::uint8_t* data, std::size_t size, const std::string& name,
             const GuardLimits& limits)
      : d_(data), n_(size), name_(name), lim_(limits) {}

  SanitizedSmf run() {
    if (n_ == 0) fail("empty file");
    if (n_ > lim_.max_file_bytes)
      fail(concat("file is ", n_, " bytes, above the limit of ", lim_.max_file_bytes, " bytes"));
    if (n_ < 14) fail(concat("file is only ", n_, " bytes, too short for a MIDI header"));
    if (!(d_[0] == 'M' && d_[1] == 'T' && d_[2] == 'h' && d_[3] == 'd'))
      fail("not a Standard MIDI File (no MThd header)");
    const std::uint32_t header_len = be32(4);
    if (header_len != 6) fail(concat("MThd length is ", header_len, ", expected 6"));
    const int format = be16(8);
    const int declared_tracks = be16(10);
    const int division = be16(12);
    if (format != 0 && format != 1)
      fail(concat("SMF format ", format, " is not supported (only formats 0 and 1)"));
    if (declared_tracks < 1 || declared_tracks > lim_.max_tracks)
      fail(concat("header declares ", declared_tracks, " tracks (allowed 1..", lim_.max_tracks,
                  ")"));
    if (format == 0 && declared_tracks != 1)
      fail(concat("format 0 file declares ", declared_tracks, " tracks (must be 1)"));
    if (division & 0x8000)
      fail("SMPTE time division is not supported (only ticks per quarter note)");
    if (division == 0) fail("PPQN (ticks per quarter note) is 0");

    SanitizedSmf out;
    out.format = format;
    out.ppqn = division;
    std::vector<std::uint8_t>& o = out.bytes;
    o.reserve(64);
    put_bytes(o, "MThd");
    put32(o, 6);
    put16(o, static_cast<std::uint32_t>(format));
    put16(o, static_cast<std::uint32_t>(declared_tracks));
    put16(o, static_cast<std::uint32_t>(division));

    std::size_t pos = 14;
    int tracks = 0;
    while (pos < n_) {
      const std::size_t left = n_ - pos;
      if (left < 8) {
        bool zeros = true;
        for (std::size_t i = pos; i < n_; ++i) zeros = zeros && d_[i] == 0;
        if (zeros) break;  // padding at the end of the file is harmless
        fail(concat("truncated chunk header at offset ", pos));
      }
      for (std::size_t i = 0; i < 4; ++i)
        if (d_[pos + i] < 0x20 || d_[pos + i] > 0x7E)
          fail(concat("invalid chunk id at offset ", pos, " (not a MIDI chunk)"));
      const std::string id(reinterpret_cast<const char*>(d_ + pos), 4);
      const std::uint32_t len = be32(pos + 4);
      if (len > left - 8)
        fail(concat("chunk '", id, "' at offset ", pos, " claims ", len, " bytes but only ",
                    left - 8, " remain (truncated file or lying chunk length)"));
      if (id == "MTrk") {
        if (tracks == declared_tracks)
          fail(concat("file has more MTrk chunks than the ", declared_tracks,
                      " declared in the header"));
        scan_track(pos + 8, pos + 8 + len, tracks, out);
        ++tracks;
      } else {
        ++out.dropped_chunks;
      }
      pos += 8 + static_cast<std::size_t>(len);
    }
    if (tracks != declared_tracks)
      fail(concat("header declares ", declared_tracks, " tracks but the file has ", tracks,
                  " MTrk chunks"));
    out.tracks = tracks;
    out.kept_events = total_kept_;
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw FormatError(concat(name_, ": ", reason));
  }
  std::uint32_t be32(std::size_t p) const {
    return (std::uint32_t{d_[p]} << 24) | (std::uint32_t{d_[p + 1]} << 16) |
           (std::uint32_t{d_[p + 2]} << 8) | std::uint32_t{d_[p + 3]};
  }
  int be16(std::size_t p) const { return (int{d_[p]} << 8) | int{d_[p + 1]}; }
  static void put_bytes(std::vector<std::uint8_t>& o, const char* s) {
    while (*s) o.push_back(static_cast<std::uint8_t>(*s++));
  }
  static void put32(std::vector<std::uint8_t>& o, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<std::uint8_t>((v >> s) & 0xFF));
  }
  static void put16(std::vector<std::uint8_t>& o, std::uint32_t v) {
    o.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
    o.push_back(static_cast<std::uint8_t>(v & 0xFF));
  }
  static void put_vlq(std::vector<std::uint8_t>& o, std::uint32_t v) {
    std::uint8_t buf[5];
    int n = 0;
    buf[n++] = static_cast<std::uint8_t>(v & 0x7F);
    while ((v >>= 7) != 0) buf[n++] = static_cast<std::uint8_t>(0x80 | (v & 0x7F));
    while (n > 0) o.push_back(buf[--n]);
  }

  // Reads a variable-length quantity of at most 4 bytes that must end before `end`.
  std::uint32_t read_vlq(std::size_t& p, std::size_t end, const char* what) const {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p >= end) fail(concat("truncated ", what, " at offset ", p));
      const std::uint8_t b = d_[p++];
      v = (v << 7) | (b & 0x7Fu);
      if (!(b & 0x80)) return v;
    }
    fail(concat(what, " longer than 4 bytes at offset ", p - 4));
  }

  void need(std::size_t p, std::size_t count, std::size_t end, const char* what) const {
    if (count > end - p)
      fail(concat("truncated ", what, " at offset ", p, " (runs past the end of its track)"));
  }

  void scan_track(std::size_t begin, std::size_t end, int track, SanitizedSmf& out) {
    std::vector<std::uint8_t>& o = out.bytes;
    const std::size_t len_at = o.size() + 4;
    put_bytes(o, "MTrk");
    put32(o, 0);  // patched below
    std::int64_t tick = 0, last_written = 0;
    std::size_t kept = 0;
    std::uint8_t running = 0;
    bool eot = false;
    std::size_t p = begin;
    const std::int64_t last_tick = lim_.max_beats * out.ppqn;
    auto emit = [&](const std::uint8_t* bytes, std::size_t count) {
      if (tick > last_tick)
        fail(concat("track ", track, " has an event at beat ", tick / out.ppqn,
                    ", past the limit of ", lim_.max_beats, " beats"));
      if (++kept > lim_.max_events_per_track)
        fail(concat("track ", track, " has more than ", lim_.max_events_per_track,
                    " note/tempo events"));
      if (++total_kept_ > lim_.max_events_total)
        fail(concat("file has more than ", lim_.max_events_total, " note/tempo events"));
      put_vlq(o, static_cast<std::uint32_t>(tick - last_written));
      last_written = tick;
      o.insert(o.end(), bytes, bytes + count);
    };
    while (p < end) {
      tick += read_vlq(p, end, "delta time");
      if (tick > lim_.max_ticks)
        fail(concat("track ", track, " runs past ", lim_.max_ticks, " ticks"));
      if (p >= end) fail(concat("truncated event at offset ", p));
      std::uint8_t status = d_[p];
      if (status < 0x80) {
        if (running == 0)
          fail(concat("running status without a preceding channel message at offset ", p));
        status = running;
      } else {
        ++p;
      }
      if (status < 0xF0) {
        running = status;
        const std::uint8_t kind = status & 0xF0;
        const std::size_t count = (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
        need(p, count, end, "channel message");
        for (std::size_t i = 0; i < count; ++i)
          if (d_[p + i] >= 0x80)
            fail(concat("data byte 0x", hex(d_[p + i]), " >= 0x80 at offset ", p + i));
        if (kind == 0x80 || kind == 0x90 || (kind == 0xB0 && d_[p] == 64)) {
          const std::uint8_t ev[3] = {status, d_[p], d_[p + 1]};
          emit(ev, 3);
        } else if (kind == 0xC0) {
          if (++program_changes_ > lim_.max_program_changes)
            fail(concat("more than ", lim_.max_program_changes, " program changes"));
          const std::uint8_t ev[2] = {status, d_[p]};
          emit(ev, 2);
        } else {
          ++out.dropped_events;
        }
        p += count;
      } else if (status == 0xFF) {
        need(p, 1, end, "meta event");
        const std::uint8_t type = d_[p++];
        const std::uint32_t mlen = read_vlq(p, end, "meta event length");
        need(p, mlen, end, "meta event");
        if (type == 0x2F) {
          eot = true;
          break;  // anything after End-of-Track is ignored
        }
        if (type == 0x51) {
          if (mlen != 3) fail(concat("tempo event of length ", mlen, " (must be 3) at offset ", p));
          const std::uint32_t us =
              (std::uint32_t{d_[p]} << 16) | (std::uint32_t{d_[p + 1]} << 8) | d_[p + 2];
          if (us == 0) fail(concat("tempo of 0 microseconds per quarter note at offset ", p));
          if (++tempo_events_ > lim_.max_tempo_events)
            fail(concat("more than ", lim_.max_tempo_events, " tempo changes"));
          const std::uint8_t ev[6] = {0xFF, 0x51, 0x03, d_[p], d_[p + 1], d_[p + 2]};
          emit(ev, 6);
        } else if ((type == 0x58 && mlen == 4 && d_[p] >= 1 && d_[p] <= 64 && d_[p + 1] <= 6) ||
                   (type == 0x59 && mlen == 2 && (d_[p] <= 7 || d_[p] >= 0xF9) && d_[p + 1] <= 1)) {
          if (++signature_events_ > lim_.max_signature_events)
            fail(concat("more than ", lim_.max_signature_events, " time and key signatures"));
          std::uint8_t ev[7] = {0xFF, type, static_cast<std::uint8_t>(mlen)};
          for (std::uint32_t i = 0; i < mlen; ++i) ev[3 + i] = d_[p + i];
          emit(ev, 3 + mlen);
        } else {
          ++out.dropped_events;
        }
        p += mlen;
      } else if (status == 0xF0 || status == 0xF7) {
        const std::uint32_t slen = read_vlq(p, end, "SysEx length");
        need(p, slen, end, "SysEx event");
        p += slen;
        ++out.dropped_events;
      } else {
        fail(concat("undefined status byte 0x", hex(status), " at offset ", p - 1));
      }
    }
    if (!eot) ++out.added_end_of_track;
    // An End-of-Track past the last allowed beat comes back to it: notes still sounding there
    // end at it, and the piece's length stays within the limit.
    put_vlq(o, static_cast<std::uint32_t>(std::min(tick, last_tick) - last_written));
    o.push_back(0xFF);
    o.push_back(0x2F);
    o.push_back(0x00);
    const auto track_len = static_cast<std::uint32_t>(o.size() - len_at - 4);
    for (int i = 0; i < 4; ++i)
      o[len_at + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>((track_len >> (24 - 8 * i)) & 0xFF);
  }

  static std::string hex(std::uint8_t b) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    return std::string{kDigits[b >> 4], kDigits[b & 15]};
  }

  const std::uint8_t* d_;
  std::size_t n_;
  const std::string& name_;
  const GuardLimits& lim_;
  std::size_t total_kept_ = 0;
  std::size_t tempo_events_ = 0;
  std::size_t signature_events_ = 0;
  std::size_t program_changes_ = 0;
};

}  // namespace detail

/// Checks `size` bytes at `data` and returns the sanitised file (see the top of this header).
/// Throws lstmidi::FormatError("<name>: <reason>") on anything outside the whitelist.
inline SanitizedSmf sanitize_smf(const std::uint8_t* data, std::size_t size,
                                 const std::string& name, const GuardLimits& limits = {}) {
  require(data != nullptr || size == 0, "sanitize_smf: data is null but size is ", size);
  return detail::SmfScanner(data, size, name, limits).run();
}

inline SanitizedSmf sanitize_smf(const std::vector<std::uint8_t>& bytes, const std::string& name,
                                 const GuardLimits& limits = {}) {
  return sanitize_smf(bytes.data(), bytes.size(), name, limits);
}

}  // namespace lstmidi::music
