// SPDX-License-Identifier: MIT
/// quote_input: a piece of user input made safe to show in a one-line message.
/// printable_message: a whole message made safe the same way (the last line of defence of the
/// programs: whatever an exception says, what reaches the terminal is one short line).
///
/// The result is 'text' in single quotes: bytes below 0x20, 0x7F and bytes >= 0x80 that are not
/// part of well-formed UTF-8 are written as \xNN (\n, \r, \t by name), and input longer than
/// `max_bytes` is cut there with "... (N bytes)" after the closing quote. So a message built
/// with it is one line, holds no terminal control sequence, and stays short whatever was read.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace lstmidi {

namespace detail {
/// Length of the well-formed UTF-8 sequence starting at s[i] (2..4), or 0.
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const std::size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n == 0 || b >= 0xF5 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}
}  // namespace detail

namespace detail {
/// s[0, n) with control bytes and broken UTF-8 escaped, appended to out.
inline void append_escaped(std::string& out, std::string_view s, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(s, i);
      if (len > 0 && i + len <= n) {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
    }
    if (b == '\n') {
      out += "\\n";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b < 0x20 || b >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
    } else {
      out += static_cast<char>(b);
    }
    ++i;
  }
}
}  // namespace detail

inline std::string quote_input(std::string_view s, std::size_t max_bytes = 80) {
  std::string out = "'";
  const std::size_t n = s.size() > max_bytes ? max_bytes : s.size();
  detail::append_escaped(out, s, n);
  out += "'";
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

/// `s` escaped as by quote_input (no quotes added); longer than `max_bytes`, its middle is
/// cut out and replaced by "[... N bytes cut ...]", so the start and the end (where messages
/// say what is wrong and what to do) stay.
inline std::string printable_message(std::string_view s, std::size_t max_bytes = 1000) {
  std::string out;
  if (s.size() <= max_bytes) {
    detail::append_escaped(out, s, s.size());
    return out;
  }
  const std::size_t head = max_bytes * 3 / 4, tail = max_bytes - head;
  detail::append_escaped(out, s, head);
  out += " [... " + std::to_string(s.size() - head - tail) + " bytes cut ...] ";
  const std::string_view end = s.substr(s.size() - tail);
  // Start the tail on a character boundary.
  std::size_t skip = 0;
  while (skip < end.size() && (static_cast<unsigned char>(end[skip]) & 0xC0) == 0x80) ++skip;
  detail::append_escaped(out, end.substr(skip), end.size() - skip);
  return out;
}

}  // namespace lstmidi
