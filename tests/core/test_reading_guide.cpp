// SPDX-License-Identifier: MIT
// The reading guide of docs/math.md#reading-guide links each equation to lines of
// include/lstmidi/nn/lstm.hpp and quotes the code on them. This test reads the guide's tables
// and requires every quoted piece of code on the lines its link names, so a change to the
// header that moves or rewrites those lines fails here until the guide is updated.
#include <doctest/doctest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("reading guide: every linked line of lstm.hpp holds the code the guide quotes") {
  const std::string root = LSTMIDI_SOURCE_DIR;
  const std::vector<std::string> doc = read_lines(root + "/docs/math.md");
  const std::vector<std::string> header = read_lines(root + "/include/lstmidi/nn/lstm.hpp");

  // The guide: from its anchor to the next section's anchor.
  size_t begin = 0;
  while (begin < doc.size() && doc[begin] != "<a id=\"reading-guide\"></a>") ++begin;
  REQUIRE_MESSAGE(begin < doc.size(), "docs/math.md has no reading guide");
  size_t end = begin + 1;
  while (end < doc.size() && doc[end].rfind("<a id=", 0) != 0) ++end;

  // A row: | what | [a–b](../include/lstmidi/nn/lstm.hpp#La-Lb) | `code` `code` |
  // (Parsed by hand: std::regex draws a false -Wmaybe-uninitialized from GCC 12's libstdc++
  // in the sanitizer build.)
  const std::string target = "](../include/lstmidi/nn/lstm.hpp#L";
  const std::string dash = "\xE2\x80\x93";              // the en dash of "a–b"
  auto number = [](const std::string& s, size_t& at) {  // digits at `at`; -1 when none
    const size_t from = at;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
    return at > from ? std::stoi(s.substr(from, at - from)) : -1;
  };
  int rows = 0;
  for (size_t k = begin; k < end; ++k) {
    const std::string& row = doc[k];
    const size_t t = row.find(target);
    if (row.rfind("|", 0) != 0 || t == std::string::npos) continue;
    const size_t open = row.rfind('[', t);
    REQUIRE(open != std::string::npos);
    ++rows;
    CAPTURE(row);
    // The link's text "a" or "a–b" and its target "#La" or "#La-Lb" name the same lines.
    size_t at = open + 1;
    const int text_first = number(row, at);
    int text_last = -1;
    if (row.compare(at, dash.size(), dash) == 0) {
      at += dash.size();
      text_last = number(row, at);
    }
    CHECK(at == t);
    at = t + target.size();
    const int first = number(row, at);
    int last = -1;
    if (row.compare(at, 2, "-L") == 0) {
      at += 2;
      last = number(row, at);
    }
    REQUIRE(at < row.size());
    CHECK(row[at] == ')');
    CHECK(text_first == first);
    CHECK(text_last == last);
    if (last < 0) last = first;
    REQUIRE(first >= 1);
    REQUIRE(last >= first);
    REQUIRE(static_cast<size_t>(last) <= header.size());
    std::string lines;
    for (int n = first; n <= last; ++n) lines += header[static_cast<size_t>(n - 1)] + "\n";
    // Every quoted piece of code after the link, each on the linked lines.
    const std::string quotes = row.substr(at + 1);
    int quoted = 0;
    for (size_t q = quotes.find('`'); q != std::string::npos; q = quotes.find('`', q + 1)) {
      const size_t close = quotes.find('`', q + 1);
      if (close == std::string::npos) break;
      ++quoted;
      const std::string snippet = quotes.substr(q + 1, close - q - 1);
      q = close;
      INFO("lines " << first << "-" << last << " of lstm.hpp:\n" << lines);
      CHECK_MESSAGE(lines.find(snippet) != std::string::npos,
                    "not on the linked lines: " << snippet);
    }
    CHECK(quoted > 0);
  }
  // The forward and backward equations and the list of what to skip: not a handful of rows.
  CHECK(rows >= 25);
}
