// SPDX-License-Identifier: MIT
// The one doctest main shared by every test executable.
//
// CTest runs each test case on its own, as `<suite> --test-case=<name>` (doctest_discover_tests).
// A filter that matches no test case makes doctest run nothing and exit 0, and CTest would
// report that as passed: a name the discovery splits (CMake cuts list items at ';') would then
// never run. So a run whose filters select no test case fails here, with the filter's text.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

namespace {

// Test cases that passed the command line's filters in the last run; -1 before any run
// (queries such as --list-test-cases do not run the tests).
int g_selected = -1;

struct SelectedCount : doctest::IReporter {
  explicit SelectedCount(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_selected = static_cast<int>(stats.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("selected-count", 1, SelectedCount);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (result == 0 && g_selected == 0) {
    std::fprintf(stderr,
                 "error: no test case matches the filters of this run; nothing was tested:");
    for (int i = 1; i < argc; ++i) std::fprintf(stderr, " %s", argv[i]);
    std::fprintf(stderr, "\n");
    return 1;
  }
  return result;
}
