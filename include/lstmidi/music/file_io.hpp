// SPDX-License-Identifier: MIT
/// Small file helpers for the music layer: read a whole file with a size cap, and write a file
/// atomically (write a temporary file in the same directory, then rename it over the target, so
/// a crash never leaves a half-written vocabulary or MIDI file behind).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "lstmidi/core/config.hpp"

namespace lstmidi::music {

namespace detail {
using lstmidi::detail::concat;
}  // namespace detail

/// Reads the whole file. Throws IoError when it cannot be opened or read, FormatError when it
/// is larger than `max_bytes` (checked before reading, so a huge file costs nothing).
inline std::vector<std::uint8_t> read_file_capped(const std::filesystem::path& path,
                                                  std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw IoError(detail::concat(path.string(), ": cannot open: file does not exist"));
  if (!std::filesystem::is_regular_file(status))
    throw IoError(detail::concat(path.string(), ": cannot open: not a regular file"));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(detail::concat(path.string(), ": cannot stat: ", ec.message()));
  if (size > max_bytes)
    throw FormatError(detail::concat(path.string(), ": file is ", size,
                                     " bytes, above the limit of ", max_bytes, " bytes"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::concat(path.string(), ": cannot open: ", std::strerror(errno)));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size || in.peek() != std::char_traits<char>::eof())
    throw IoError(detail::concat(path.string(), ": file changed size while being read"));
  return bytes;
}

/// A fresh name for a temporary file next to `target` (same directory, so rename is atomic).
inline std::filesystem::path temp_path_beside(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = target;
  tmp += detail::concat(".tmp-", static_cast<long>(::getpid()), "-", counter.fetch_add(1));
  return tmp;
}

/// Moves `tmp` over `target`; removes `tmp` and throws IoError if that fails.
inline void commit_temp_file(const std::filesystem::path& tmp, const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError(detail::concat(target.string(), ": cannot move the temporary file into place: ",
                                 ec.message()));
  }
}

/// Writes `content` to `path` atomically (temporary file + rename). Throws IoError.
inline void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  const auto tmp = temp_path_beside(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(detail::concat(path.string(), ": cannot write: ", std::strerror(errno)));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw IoError(detail::concat(path.string(), ": write failed"));
    }
  }
  commit_temp_file(tmp, path);
}

}  // namespace lstmidi::music
