// SPDX-License-Identifier: MIT
// The shared shape of every example's main(): parse flags with CLI11, run, and turn any error
// into one clear line on stderr and a non-zero exit code (never a crash or a stack trace).
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <exception>
#include <iostream>
#include <lstmidi/core/config.hpp>
#include <lstmidi/core/memory.hpp>
#include <lstmidi/core/quote.hpp>
#include <lstmidi/version.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

namespace lstmidi::cli {

/// CLI::Range for flag values, refusing nan and inf for floating-point flags too (CLI::Range
/// lets NaN through: every comparison with it is false).
template <typename T>
CLI::Validator Range(T lo, T hi) {
  if constexpr (std::is_floating_point_v<T>) {
    return CLI::Validator(
        [lo, hi](std::string& text) -> std::string {
          double v = 0;
          if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
          if (!std::isfinite(v) || v < lo || v > hi)
            return "Value " + text + " not in range [" + CLI::detail::to_string(lo) + " - " +
                   CLI::detail::to_string(hi) + "]";
          return {};
        },
        "FLOAT in [" + CLI::detail::to_string(lo) + " - " + CLI::detail::to_string(hi) + "]");
  } else {
    return CLI::Range(lo, hi);
  }
}

/// A seed: decimal digits, 0 .. 2^64-1 (CLI11 alone would wrap -1 around and saturate
/// larger numbers).
inline CLI::Validator Seed() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string max = "18446744073709551615";
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        std::string t = text.substr(std::min(text.find_first_not_of('0'), text.size()));
        if (!digits || t.size() > max.size() || (t.size() == max.size() && t > max))
          return "seed '" + text + "' is not a whole number from 0 to " + max;
        return {};
      },
      "0 .. 2^64-1");
}

/// --version on every program: the library version it was built with.
inline void add_version(CLI::App& app) {
  app.set_version_flag("--version", std::string(app.get_name()) + " " + LSTMIDI_VERSION_STRING,
                       "Print the version and exit");
}

/// The value given to `flag` on the command line ("--flag VALUE" or "--flag=VALUE"), if any;
/// for the few decisions taken before CLI11 parses (which settings file to read).
inline std::optional<std::string> flag_value(int argc, char** argv, const std::string& flag) {
  std::optional<std::string> value;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == flag && i + 1 < argc)
      value = argv[++i];
    else if (a.rfind(flag + "=", 0) == 0)
      value = a.substr(flag.size() + 1);
  }
  return value;
}

inline bool has_flag(int argc, char** argv, const std::string& flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == flag) return true;
  }
  return false;
}

/// The names a settings file may use: every long flag of `app` without its "--", less --help,
/// --version and --config.
inline std::set<std::string> setting_names(const CLI::App& app) {
  std::set<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const std::string& n : o->get_lnames())
      if (n != "help" && n != "config" && n != "version") names.insert(n);
  return names;
}

/// Exit codes, one rule for every program: 0 success; 1 bad data, files or disks (a model or
/// MIDI file that cannot be read, a full disk, a run folder in use, divergence); 2 bad usage
/// (an unknown or out-of-range flag, flags that do not go together, a settings file with an
/// unknown name). A std::invalid_argument is a usage error, any other exception a failure,
/// whether it comes from the body or from a callback while parsing (app.preparse_callback).
template <typename Body>
int run(CLI::App& app, int argc, char** argv, Body&& body) {
  // A file-size limit (ulimit -f) or a full quota must become a write error with a message,
  // not a silent death by SIGXFSZ; the atomic saves then leave the previous file intact.
  std::signal(SIGXFSZ, SIG_IGN);
  // Training and generation allocate and free the same buffers every step: keep them mapped.
  keep_freed_memory();
  // One error line, then the exit status of the rule above.
  auto fail = [&app](const std::exception& e, int status) {
    std::cerr << app.get_name() << ": error: " << printable_message(e.what()) << '\n';
    return status;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": error: " << printable_message(e.what()) << " (see --help)\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    return fail(e, 2);
  } catch (const std::exception& e) {
    return fail(e, 1);
  }
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    return fail(e, 2);
  } catch (const std::exception& e) {
    return fail(e, 1);
  }
}

/// Eigen's worker threads (OpenMP); 0 = all cores.
inline void set_threads(int n) {
  if (n > 0) Eigen::setNbThreads(n);
}

}  // namespace lstmidi::cli
