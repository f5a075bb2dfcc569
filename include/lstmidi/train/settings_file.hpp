// SPDX-License-Identifier: MIT
/// settings.ini: the settings of a training run, one `name=value` line per setting (the long
/// flag names without "--"), as lstmidi-train writes it and reads it back with --config.
///
/// check_settings_file() holds such a file to the rules the command line follows, before any
/// of it is used: every line is blank, a comment (starting with # or ;), the section header
/// [default], or `name=value` with a known name, and no name appears twice. Anything else is
/// refused with std::invalid_argument naming the file and the line: a misspelt setting is an
/// error, as a misspelt flag is, never silently ignored.
#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/quote.hpp"

namespace lstmidi {

inline constexpr const char* kSettingsFile = "settings.ini";
/// The longest settings file read (a run's own is about 1 KB).
inline constexpr std::size_t kMaxSettingsBytes = 1 << 20;

namespace detail {
inline std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}
}  // namespace detail

/// Throws IoError when `path` cannot be read, std::invalid_argument "<path>:<line>: ..." at the
/// first line that breaks the rules above. `known` holds the setting names.
inline void check_settings_file(const std::string& path, const std::set<std::string>& known) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw IoError(path + ": cannot open the settings file (" +
                  (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file") +
                  ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open the settings file");
  std::set<std::string> seen;
  std::size_t bytes = 0, number = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++number;
    bytes += raw.size() + 1;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (bytes > kMaxSettingsBytes)
      throw std::invalid_argument(where + "the file is longer than " +
                                  std::to_string(kMaxSettingsBytes) +
                                  " bytes; not a settings file");
    const std::string line = detail::trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line == "[default]" || line == "[DEFAULT]") continue;
      throw std::invalid_argument(where + "sections such as " + quote_input(line) +
                                  " are not settings of lstmidi-train; write name=value lines "
                                  "only");
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument(where + "expected name=value, found " + quote_input(line));
    const std::string name = detail::trim(line.substr(0, eq));
    if (!known.count(name))
      throw std::invalid_argument(where + "unknown setting " + quote_input(name) +
                                  " (the names are the long flags without --, see --help)");
    if (!seen.insert(name).second)
      throw std::invalid_argument(where + "setting " + quote_input(name) + " appears twice");
  }
}

}  // namespace lstmidi
