// SPDX-License-Identifier: MIT
// The reading guide of docs/math.md#reading-guide links each equation to lines of
// include/lstmidi/nn/lstm.hpp and quotes the code on them. This test reads the guide's tables
// and requires every quoted piece of code on the lines its link names, so a change to the
// header that moves or rewrites those lines fails here until the guide is updated.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
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
  const std::regex link(
      R"(\[(\d+)(?:–(\d+))?\]\(\.\./include/lstmidi/nn/lstm\.hpp#L(\d+)(?:-L(\d+))?\))");
  const std::regex code("`([^`]+)`");
  int rows = 0;
  for (size_t k = begin; k < end; ++k) {
    const std::string& row = doc[k];
    std::smatch m;
    if (row.rfind("|", 0) != 0 || !std::regex_search(row, m, link)) continue;
    ++rows;
    CAPTURE(row);
    // The link's text and its target name the same lines.
    CHECK(m[1].str() == m[3].str());
    CHECK(m[2].str() == m[4].str());
    const int first = std::stoi(m[3].str());
    const int last = m[4].matched ? std::stoi(m[4].str()) : first;
    REQUIRE(first >= 1);
    REQUIRE(last >= first);
    REQUIRE(static_cast<size_t>(last) <= header.size());
    std::string lines;
    for (int n = first; n <= last; ++n) lines += header[static_cast<size_t>(n - 1)] + "\n";
    // Every quoted piece of code after the link, each on the linked lines.
    const std::string quotes = m.suffix().str();
    int quoted = 0;
    for (std::sregex_iterator q(quotes.begin(), quotes.end(), code), none; q != none; ++q) {
      ++quoted;
      const std::string snippet = (*q)[1].str();
      INFO("lines " << first << "-" << last << " of lstm.hpp:\n" << lines);
      CHECK_MESSAGE(lines.find(snippet) != std::string::npos,
                    "not on the linked lines: " << snippet);
    }
    CHECK(quoted > 0);
  }
  // The forward and backward equations and the list of what to skip: not a handful of rows.
  CHECK(rows >= 25);
}
