// SPDX-License-Identifier: MIT
// A small JSON writer for the studio's answers: objects, arrays, strings (escaped), numbers
// (finite; NaN and infinity become null) and booleans, appended to one string.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace lstmidi::studio {

/// The JSON text of `s` in quotes; bytes that are not valid UTF-8 become U+FFFD.
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    // Length of a well-formed UTF-8 sequence at i, or 0.
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n > 1) {
      if (i + n > s.size()) n = 0;
      for (std::size_t k = 1; n && k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) n = 0;
    }
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

inline std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

/// Builds one JSON value. Keys and values alternate inside objects: key("a").value(1).
class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view k) {
    comma();
    out_ += json_string(k) + ":";
    after_key_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view s) { return raw(json_string(s)); }
  JsonWriter& value(const char* s) { return raw(json_string(s)); }
  JsonWriter& value(const std::string& s) { return raw(json_string(s)); }
  JsonWriter& value(double x) { return raw(json_number(x)); }
  JsonWriter& value(int x) { return raw(std::to_string(x)); }
  JsonWriter& value(long x) { return raw(std::to_string(x)); }
  JsonWriter& value(long long x) { return raw(std::to_string(x)); }
  JsonWriter& value(unsigned long x) { return raw(std::to_string(x)); }
  JsonWriter& value(unsigned long long x) { return raw(std::to_string(x)); }
  JsonWriter& value(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  /// A value already in JSON.
  JsonWriter& raw(const std::string& json) {
    comma();
    out_ += json;
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
  bool first_ = true;       // no value yet in the innermost object or array
  bool after_key_ = false;  // the next value belongs to the key just written

  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }
  JsonWriter& open(char c) {
    comma();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
};

}  // namespace lstmidi::studio
