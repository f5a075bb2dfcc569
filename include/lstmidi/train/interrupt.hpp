// SPDX-License-Identifier: MIT
/// StopOnSignal: Ctrl-C (SIGINT) and SIGTERM as a request to stop training cleanly.
///
/// While a StopOnSignal is alive, the first SIGINT or SIGTERM only raises a flag (pass
/// `flag()` as TrainOptions::stop: the Trainer saves its resume checkpoint after the current
/// batch and returns StopReason::interrupted). The handler is one-shot (SA_RESETHAND): a second
/// signal has its default action and ends the process at once. The destructor puts the previous
/// handlers back. One StopOnSignal at a time per process.
#pragma once

#include <atomic>
#include <csignal>

#include <signal.h>

namespace lstmidi {

namespace detail {
inline std::atomic<bool> stop_requested{false};
inline std::atomic<int> stop_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the stop flag is set from a signal handler");
inline void on_stop_signal(int sig) {
  stop_signal.store(sig);
  stop_requested.store(true);
}
}  // namespace detail

class StopOnSignal {
 public:
  StopOnSignal() {
    detail::stop_requested.store(false);
    detail::stop_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = detail::on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  ~StopOnSignal() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

  const std::atomic<bool>* flag() const { return &detail::stop_requested; }
  bool requested() const { return detail::stop_requested.load(); }
  /// The signal that asked to stop (SIGINT or SIGTERM), 0 if none; 128 + it is the exit status
  /// shells expect of a program ended by that signal.
  int signal_number() const { return detail::stop_signal.load(); }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace lstmidi
