// SPDX-License-Identifier: MIT
/// File helpers for the music layer, as path-taking wrappers of lstmidi/io/binary.hpp: read a
/// whole file with a size cap, and write a file atomically (temporary file + rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"

namespace lstmidi::music {

namespace detail {
using lstmidi::detail::concat;
}  // namespace detail

inline std::vector<std::uint8_t> read_file_capped(const std::filesystem::path& path,
                                                  std::size_t max_bytes) {
  return read_file_bytes(path.string(), max_bytes);
}

inline std::filesystem::path temp_path_beside(const std::filesystem::path& target) {
  return lstmidi::temp_path_beside(target.string());
}

/// Moves `tmp` over `target`; removes `tmp` and throws IoError if that fails.
inline void commit_temp_file(const std::filesystem::path& tmp,
                             const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError(detail::concat(target.string(),
                                 ": cannot move the temporary file into place: ", ec.message()));
  }
}

inline void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  lstmidi::write_file_atomic(path.string(), content);
}

}  // namespace lstmidi::music
