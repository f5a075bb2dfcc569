// SPDX-License-Identifier: MIT
/// A training run's folder, kept safe from a second run and from what a killed run leaves:
///
///   RunLock        an advisory lock (flock) on <dir>/run.lock, held for as long as the run owns
///                  the folder. The kernel drops it when the process ends, however it ends
///                  (kill -9 included), so a stale lock never blocks anyone. The holder writes
///                  its pid into the file; a second run is refused with that pid in the message.
///   remove_stale_temp_files   deletes the "<name>.tmp-<pid>-<n>" files of atomic writes
///                  (io/binary.hpp) whose writer is no longer alive; only call it while holding
///                  the folder's lock.
///   check_run_folder          whether a fresh or resumed run may start in a folder (a fresh
///                  run never replaces a model or a checkpoint).
///
/// Invariant: while a RunLock on a folder is alive, no other process holding a RunLock writes
/// there. Processes that do not take the lock (lstmidi-generate writing into the folder) are not
/// excluded; their temporary files are left alone as long as their pid is alive.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"

namespace lstmidi {

inline constexpr const char* kRunLockFile = "run.lock";

class RunLock {
 public:
  RunLock() = default;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  RunLock(RunLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  RunLock& operator=(RunLock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = std::exchange(o.fd_, -1);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  ~RunLock() { release(); }

  /// Locks `dir` (which must exist) for this process. Throws IoError when the lock file cannot
  /// be opened, or when another process holds the lock (naming its pid as written in the file).
  static RunLock acquire(const std::filesystem::path& dir) {
    RunLock lock;
    lock.path_ = (dir / kRunLockFile).string();
    lock.fd_ = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock.fd_ < 0)
      throw IoError(lock.path_ + ": cannot open the run's lock file (" + errno_text() + ")");
    while (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) throw IoError(lock.path_ + ": cannot lock (" + errno_text() + ")");
      char buf[32] = {};
      const ssize_t n = ::pread(lock.fd_, buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      const bool digits = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
      throw IoError(dir.string() + " is in use by another run (" +
                    (digits ? "pid " + pid : std::string("pid unknown")) + ", lock file " +
                    lock.path_ + "); wait for it to end, or choose another folder");
    }
    const std::string me = std::to_string(static_cast<long>(::getpid())) + "\n";
    if (::ftruncate(lock.fd_, 0) != 0 ||
        ::pwrite(lock.fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size()))
      throw IoError(lock.path_ + ": cannot write the run's lock file (" + errno_text() + ")");
    return lock;
  }

  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  void release() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
    fd_ = -1;
  }
  int fd_ = -1;
  std::string path_;
};

namespace detail {
/// The writer's pid of a temporary file named "<target>.tmp-<pid>-<n>", or -1.
inline long temp_file_pid(const std::string& name) {
  const auto at = name.rfind(".tmp-");
  if (at == std::string::npos) return -1;
  const std::string rest = name.substr(at + 5);
  const auto dash = rest.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == rest.size() || dash > 12) return -1;
  const std::string pid = rest.substr(0, dash), n = rest.substr(dash + 1);
  if (pid.find_first_not_of("0123456789") != std::string::npos ||
      n.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stol(pid);
}
inline bool process_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}
}  // namespace detail

/// Removes the temporary files of atomic writes in `dir` (not below it) whose writing process
/// has ended: what a run killed mid-write leaves behind. Returns the names removed.
inline std::vector<std::string> remove_stale_temp_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const long pid = detail::temp_file_pid(name);
    if (pid < 0 || detail::process_alive(pid)) continue;
    std::error_code ec2;
    if (!fs::is_regular_file(it->symlink_status(ec2)) || ec2) continue;
    if (fs::remove(it->path(), ec2) && !ec2) removed.push_back(name);
  }
  return removed;
}

/// Whether a training run may start in `dir` (fresh, or with `resume`), judged by the files a
/// Trainer writes there: last.lstmidi (the resume checkpoint) and model.lstmidi (the best
/// model). A fresh run is refused over either, since it would replace them; a resume needs
/// last.lstmidi. Throws std::invalid_argument saying what to do instead.
inline void check_run_folder(const std::filesystem::path& dir, bool resume) {
  std::error_code ec;
  const bool last = std::filesystem::exists(dir / "last.lstmidi", ec);
  const bool best = std::filesystem::exists(dir / "model.lstmidi", ec);
  const std::string d = dir.string();
  if (resume && !last)
    throw std::invalid_argument(
        d + ": nothing to resume (no last.lstmidi" +
        (best ? "; the run there has ended and its model is model.lstmidi" : "") + ")");
  if (!resume && last)
    throw std::invalid_argument(
        d + " already holds a training run: pass --resume to continue it, or choose another --out");
  if (!resume && best)
    throw std::invalid_argument(d +
                                " already holds a trained model (model.lstmidi), which a new "
                                "run would replace: choose another --out");
}

}  // namespace lstmidi
