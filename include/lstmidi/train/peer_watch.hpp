// SPDX-License-Identifier: MIT
/// PeerWatch: notices, from a thread of its own, that another process of the same job on this
/// machine has ended, so that the process watching can say so itself instead of waiting in a
/// sum that will never complete (or being ended by the launcher without a word).
///
/// A peer is a process id and the start time the kernel gave it (/proc/PID/stat, field 22).
/// It counts as alive while that process exists, is not a zombie (ended, not yet reaped) and
/// has the same start time (a reused process id is another process). Without /proc only the
/// existence is checked (kill(pid, 0)).
///
/// Every `every` (50 ms unless told) the thread looks at each peer in turn; the first peer found
/// gone is passed to `on_gone`, once, on the watching thread, and the watch ends. on_gone runs
/// concurrently with the rest of the program: it may print with write(2)/stdio and end the process
/// (_exit), and should touch nothing else. stop() (and the destructor) end the watch and wait for
/// the thread; after stop() returns, on_gone is not called any more. Peers on other machines cannot
/// be watched this way (a lost connection is reported by the transport instead).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lstmidi {

/// Another process of the job, on this machine.
struct Peer {
  int rank = 0;
  long pid = 0;
  std::uint64_t start_time = 0;  // /proc/PID/stat field 22; 0 when unknown
};

namespace detail {
/// The state letter and start time of process `pid` from /proc, or false when it has none.
/// Plain system calls, no streams: the watch reads this for every peer several times a second.
inline bool proc_stat(long pid, char& state, std::uint64_t& start_time) {
  char path[48];
  std::snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[1024];
  const ssize_t n = ::read(fd, text, sizeof(text) - 1);
  ::close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  // "pid (comm) S ppid ...": the command may hold spaces and parentheses; it ends at the last ')'.
  const char* p = std::strrchr(text, ')');
  if (!p || p[1] != ' ' || p[2] == '\0') return false;
  state = p[2];
  p += 3;
  for (int field = 4; field <= 22; ++field) {  // skip to field 22, the start time
    while (*p == ' ') ++p;
    if (*p == '\0') return false;
    if (field == 22) {
      char* end = nullptr;
      start_time = std::strtoull(p, &end, 10);
      return end != p;
    }
    while (*p != ' ' && *p != '\0') ++p;
  }
  return false;
}
}  // namespace detail

class PeerWatch {
 public:
  /// A peer as it is now: its start time read, for alive() to compare with later.
  static Peer describe(int rank, long pid) {
    Peer p;
    p.rank = rank;
    p.pid = pid;
    char state = 0;
    if (!detail::proc_stat(pid, state, p.start_time)) p.start_time = 0;
    return p;
  }

  /// Whether the process `p` describes still runs.
  static bool alive(const Peer& p) {
    if (::kill(static_cast<pid_t>(p.pid), 0) != 0 && errno == ESRCH) return false;
    char state = 0;
    std::uint64_t start = 0;
    if (!detail::proc_stat(p.pid, state, start)) return p.start_time == 0;  // no /proc: exists
    if (state == 'Z' || state == 'X' || state == 'x') return false;
    return p.start_time == 0 || start == p.start_time;
  }

  PeerWatch(std::vector<Peer> peers, std::function<void(const Peer&)> on_gone,
            std::chrono::milliseconds every = std::chrono::milliseconds(50))
      : peers_(std::move(peers)), on_gone_(std::move(on_gone)), every_(every) {
    if (!peers_.empty()) thread_ = std::thread([this] { run(); });
  }
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;
  ~PeerWatch() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, every_, [this] { return stopped_; })) {
      for (const Peer& p : peers_) {
        if (alive(p)) continue;
        // Held lock: stop() waits for on_gone, so it never runs after stop() returns.
        on_gone_(p);
        return;
      }
    }
  }

  std::vector<Peer> peers_;
  std::function<void(const Peer&)> on_gone_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace lstmidi
