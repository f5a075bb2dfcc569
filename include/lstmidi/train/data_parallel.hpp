// SPDX-License-Identifier: MIT
/// Data-parallel training over MPI: MpiGroup is the ProcessGroup (train/process_group.hpp) of
/// the processes `mpirun -np N` starts, and MpiSession starts and ends MPI for a program.
/// Needs an MPI library (Debian: libopenmpi-dev, openmpi-bin) and the lstmidi::mpi target; the
/// rest of the library never includes this header.
///
/// One step of N processes (P parameters, global batch of B windows):
///   process r: forward and backward over its windows [rB/N, (r+1)B/N)
///   MPI_Allreduce(SUM) over one buffer of P + 5 values (train/process_group.hpp)
///   every process: divide by the positions, clip, Adam: the same weights everywhere
/// A ring all-reduce sends and receives 2 (N-1)/N of the buffer per process
/// (docs/performance.md has the measured step and the scaling model).
///
/// Faults: MPI errors are returned, not fatal, and become IoError here. A process that fails
/// with an error calls MpiSession::abort after printing it, so no process waits forever in a
/// sum. A process that dies (a signal, out of memory) returns no error to the others: over
/// shared memory their sum just never completes. MpiGroup::local_peers names the processes on
/// this machine, for a PeerWatch (train/peer_watch.hpp) to notice the death; across machines
/// the transport reports a lost connection as an error, and mpirun ends the rest of the job in
/// either case (OpenMPI: SIGTERM, then SIGKILL one second later).
#pragma once

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/train/peer_watch.hpp"
#include "lstmidi/train/process_group.hpp"

namespace lstmidi {

namespace detail {
inline void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw IoError(std::string("MPI ") + what +
                " failed: " + std::string(text, static_cast<std::size_t>(len)));
}
}  // namespace detail

/// MPI for the lifetime of a program: MPI_Init (unless already done) and MPI_Finalize, with
/// errors on MPI_COMM_WORLD returned as codes.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int done = 0;
    MPI_Initialized(&done);
    if (!done) {
      detail::check_mpi(MPI_Init(&argc, &argv), "init");
      owned_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  /// Ends every process of the job with `status`: for an error on one process, after it has
  /// been printed.
  [[noreturn]] static void abort(int status) {
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);
  }

 private:
  bool owned_ = false;
};

/// The processes of an MPI communicator as a ProcessGroup.
class MpiGroup final : public ProcessGroup {
 public:
  explicit MpiGroup(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "rank");
    detail::check_mpi(MPI_Comm_size(comm_, &size_), "size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(float* data, std::size_t n) override { all_reduce(data, n, MPI_FLOAT); }
  void sum(double* data, std::size_t n) override { all_reduce(data, n, MPI_DOUBLE); }
  bool same_everywhere(std::uint64_t value) override {
    // max(v) and max(~v) = ~min(v) in one reduction: equal everywhere iff max == min.
    std::uint64_t v[2] = {value, ~value};
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, comm_),
                      "weight check");
    return v[0] == ~v[1];
  }
  /// Waits until every process has come here.
  void barrier() { detail::check_mpi(MPI_Barrier(comm_), "barrier"); }

  /// The other processes of the group that run on this machine, with their process ids: same
  /// MPI processor name and same kernel boot id (two machines can share a host name), and the
  /// process id found here at the time of the call. Collective: every process must call it.
  std::vector<Peer> local_peers() {
    struct Entry {
      long pid;
      char host[MPI_MAX_PROCESSOR_NAME + 1];
      char boot[40];  // /proc/sys/kernel/random/boot_id; empty without /proc
    };
    Entry me{};
    me.pid = static_cast<long>(::getpid());
    int len = 0;
    detail::check_mpi(MPI_Get_processor_name(me.host, &len), "processor name");
    if (std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
      if (!std::fgets(me.boot, sizeof(me.boot), f)) me.boot[0] = '\0';
      std::fclose(f);
    }
    std::vector<Entry> all(static_cast<std::size_t>(size_));
    detail::check_mpi(
        MPI_Allgather(&me, sizeof(Entry), MPI_BYTE, all.data(), sizeof(Entry), MPI_BYTE, comm_),
        "process list");
    std::vector<Peer> peers;
    for (int r = 0; r < size_; ++r) {
      const Entry& e = all[static_cast<std::size_t>(r)];
      if (r == rank_ || std::string(e.host) != std::string(me.host) ||
          std::string(e.boot) != std::string(me.boot))
        continue;
      Peer p = PeerWatch::describe(r, e.pid);
      if (PeerWatch::alive(p)) peers.push_back(p);  // not found here: not on this machine
    }
    return peers;
  }

 private:
  template <typename V>
  void all_reduce(V* data, std::size_t n, MPI_Datatype type) {
    // MPI counts are ints: a buffer over 2^31 values goes in pieces.
    for (std::size_t done = 0; done < n;) {
      const std::size_t k = std::min<std::size_t>(n - done, INT_MAX);
      detail::check_mpi(
          MPI_Allreduce(MPI_IN_PLACE, data + done, static_cast<int>(k), type, MPI_SUM, comm_),
          "all-reduce");
      done += k;
    }
  }

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace lstmidi
