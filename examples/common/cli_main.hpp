// SPDX-License-Identifier: MIT
// The shared shape of every example's main(): parse flags with CLI11, run, and turn any error
// into one clear line on stderr and a non-zero exit code (never a crash or a stack trace).
#pragma once

#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <lstmidi/core/config.hpp>
#include <lstmidi/core/memory.hpp>

namespace lstmidi::cli {

/// Exit codes: 0 success, 1 runtime failure (files, data, divergence), 2 bad usage.
template <typename Body>
int run(CLI::App& app, int argc, char** argv, Body&& body) {
  // A file-size limit (ulimit -f) or a full quota must become a write error with a message,
  // not a silent death by SIGXFSZ; the atomic saves then leave the previous file intact.
  std::signal(SIGXFSZ, SIG_IGN);
  // Training and generation allocate and free the same buffers every step: keep them mapped.
  keep_freed_memory();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": error: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    std::cerr << app.get_name() << ": error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << app.get_name() << ": error: " << e.what() << '\n';
    return 1;
  }
}

/// Eigen's worker threads (OpenMP); 0 = all cores.
inline void set_threads(int n) {
  if (n > 0) Eigen::setNbThreads(n);
}

}  // namespace lstmidi::cli
