// SPDX-License-Identifier: MIT
// PeerWatch: a process that ends is noticed (also as an unreaped zombie), a live one never is,
// a reused process id is not taken for the peer, and stop() ends the watch.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <doctest/doctest.h>
#include "lstmidi/train/peer_watch.hpp"

using namespace lstmidi;

namespace {
pid_t sleeping_child() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::pause();  // until killed
    ::_exit(0);
  }
  return pid;
}

template <typename F>
bool within(std::chrono::milliseconds limit, F&& done) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}
}  // namespace

TEST_CASE("PeerWatch: alive() follows a process until it ends, zombie or reaped") {
  const pid_t child = sleeping_child();
  const Peer p = PeerWatch::describe(1, child);
  CHECK(PeerWatch::alive(p));
  ::kill(child, SIGKILL);
  // Not reaped yet: a zombie, which is no longer alive.
  CHECK(within(std::chrono::milliseconds(5000), [&] { return !PeerWatch::alive(p); }));
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(PeerWatch::alive(p));
}

TEST_CASE("PeerWatch: another process under the same id is not the peer") {
  Peer me = PeerWatch::describe(0, static_cast<long>(::getpid()));
  CHECK(PeerWatch::alive(me));
  if (me.start_time != 0) {  // /proc present: the start time tells processes apart
    me.start_time += 1;
    CHECK_FALSE(PeerWatch::alive(me));
  }
}

TEST_CASE("PeerWatch: the first peer that ends is reported once, live peers never are") {
  const pid_t a = sleeping_child();
  const pid_t b = sleeping_child();
  std::atomic<int> calls{0};
  std::atomic<int> gone_rank{-1};
  {
    PeerWatch watch(
        {PeerWatch::describe(1, a), PeerWatch::describe(2, b)},
        [&](const Peer& p) {
          gone_rank = p.rank;
          ++calls;
        },
        std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(calls.load() == 0);  // both alive
    ::kill(b, SIGKILL);
    CHECK(within(std::chrono::milliseconds(5000), [&] { return calls.load() > 0; }));
    ::kill(a, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    watch.stop();
  }
  CHECK(calls.load() == 1);
  CHECK(gone_rank.load() == 2);
  int status = 0;
  ::waitpid(a, &status, 0);
  ::waitpid(b, &status, 0);
}

TEST_CASE("PeerWatch: stop() ends a watch of live peers without a report") {
  const pid_t child = sleeping_child();
  std::atomic<int> calls{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    PeerWatch watch(
        {PeerWatch::describe(1, child)}, [&](const Peer&) { ++calls; }, std::chrono::seconds(10));
  }  // the destructor stops it at once, not after the 10 s period
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(calls.load() == 0);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
}
