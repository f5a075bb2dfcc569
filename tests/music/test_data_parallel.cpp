// SPDX-License-Identifier: MIT
// Data-parallel training through the trainer's ProcessGroup hook, with threads standing in for
// processes (ThreadGroup below), so it runs without MPI; tests/programs runs the same over MPI.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "lstmidi/data/batch_share.hpp"
#include "lstmidi/music/windows.hpp"
#include "lstmidi/train/process_group.hpp"
#include "lstmidi/train/trainer.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

namespace {

// N threads as a ProcessGroup: every sum adds the processes' buffers in rank order, so every
// thread gets the same bits (as an MPI all-reduce gives every process the same sums).
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n), slots_(static_cast<std::size_t>(n)) {}

  class Member final : public ProcessGroup {
   public:
    Member(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return g_.n_; }
    void sum(float* d, std::size_t n) override { g_.sum(rank_, d, n); }
    void sum(double* d, std::size_t n) override { g_.sum(rank_, d, n); }
    bool same_everywhere(std::uint64_t v) override {
      double x = static_cast<double>(v & 0xFFFFFFFFu);
      std::vector<double> all(static_cast<std::size_t>(g_.n_), 0.0);
      all[static_cast<std::size_t>(rank_)] = x;
      g_.sum(rank_, all.data(), all.size());
      return std::all_of(all.begin(), all.end(), [&](double y) { return y == all[0]; });
    }

   private:
    ThreadGroup& g_;
    int rank_;
  };

  template <typename V>
  void sum(int rank, V* d, std::size_t n) {
    slots_[static_cast<std::size_t>(rank)].assign(d, d + n);
    wait();
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;  // in rank order, the same on every thread
      for (const auto& slot : slots_) s += slot[i];
      d[i] = static_cast<V>(s);
    }
    wait();  // nobody overwrites a slot before every thread has read it
  }

 private:
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const unsigned gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }
  int n_;
  std::vector<std::vector<double>> slots_;
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  unsigned generation_ = 0;
};

std::vector<std::vector<Token>> scales(int count, int len) {
  std::vector<std::vector<Token>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<Token> p;
    for (int k = 0; k < len; ++k) p.push_back(Token::notes({48 + (i * 5 + k * k) % 24}, 1 + k % 3));
    out.push_back(p);
  }
  return out;
}

struct Run {
  Vector<float> weights;
  TrainResult result;
};

// Trains the same model alone (group null) or as one member of a group.
WindowSampler sampler(const std::vector<std::vector<Token>>& data, const Vocabulary& vocab) {
  WindowOptions wo;
  wo.steps = 12;
  wo.stride = 6;
  wo.batch_size = 6;
  wo.valid_fraction = 0.2;
  wo.seed = 3;
  return WindowSampler(data, vocab, wo);
}

Run train(const std::vector<std::vector<Token>>& data, const Vocabulary& vocab, double dropout,
          ProcessGroup* group, const std::string& out = "", int epochs = 3, bool resume = false,
          std::size_t check_every = 100) {
  WindowSampler s = sampler(data, vocab);
  ModelConfig mc;
  mc.vocab_size = vocab.size();
  mc.embedding_size = 6;
  mc.hidden_sizes = {10};
  mc.dropout = dropout;
  Model<float> m(mc);
  Rng rng(11);
  m.init(rng);
  TrainOptions to;
  to.epochs = epochs;
  to.adam.lr = 0.01;
  to.out_dir = out;
  Trainer<float, WindowSampler> tr(m, s, to, rng);
  tr.set_process_group(group, check_every);
  if (resume) tr.resume();
  Run r;
  r.result = tr.run();
  r.weights = m.params().values;
  return r;
}

// Every member of an N-thread group trains; returns their runs in rank order.
template <typename F>
std::vector<Run> in_group(int n, F&& f) {
  ThreadGroup g(n);
  std::vector<ThreadGroup::Member> members;
  members.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) members.emplace_back(g, r);
  std::vector<Run> runs(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back(
        [&, r] { runs[static_cast<std::size_t>(r)] = f(members[static_cast<std::size_t>(r)]); });
  for (auto& t : threads) t.join();
  return runs;
}

}  // namespace

TEST_CASE("batch share: the shares of N processes are disjoint, cover the batch, keep T") {
  TokenBatch b(3, 7);
  for (Index t = 0; t < 3; ++t)
    for (Index j = 0; j < 7; ++j) {
      b.input(t, j) = static_cast<TokenId>(10 * t + j);
      b.target(t, j) = static_cast<TokenId>(100 + 10 * t + j);
    }
  for (int n : {1, 2, 3, 7}) {
    Index covered = 0;
    for (int r = 0; r < n; ++r) {
      const auto [b0, b1] = batch_share(r, n, b.B);
      CHECK(b0 == covered);
      CHECK(b1 - b0 >= b.B / n);
      CHECK(b1 - b0 <= b.B / n + 1);
      TokenBatch part;
      take_windows(b, b0, b1, part);
      CHECK(part.T == 3);
      CHECK(part.B == b1 - b0);
      for (Index t = 0; t < 3; ++t)
        for (Index j = 0; j < part.B; ++j) {
          CHECK(part.input(t, j) == b.input(t, b0 + j));
          CHECK(part.target(t, j) == b.target(t, b0 + j));
        }
      covered = b1;
    }
    CHECK(covered == b.B);
  }
  FrameBatch f(2, 5, 4);
  for (Index c = 0; c < 10; ++c) {
    f.inputs(c % 4, c) = 1;
    f.mask[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c % 3 != 0);
  }
  FrameBatch part;
  take_windows(f, 2, 4, part);
  REQUIRE(part.B == 2);
  for (Index t = 0; t < 2; ++t)
    for (Index j = 0; j < 2; ++j) {
      CHECK(part.inputs.col(t * 2 + j) == f.inputs.col(t * 5 + 2 + j));
      CHECK(part.mask[static_cast<std::size_t>(t * 2 + j)] ==
            f.mask[static_cast<std::size_t>(t * 5 + 2 + j)]);
    }
  TokenBatch too_far;
  CHECK_THROWS_AS(take_windows(b, 3, 8, too_far), std::invalid_argument);
}

TEST_CASE("data parallel: 2 and 3 processes train the weights one process trains") {
  const auto data = scales(8, 40);
  const Vocabulary vocab = Vocabulary::build(data);
  const Run alone = train(data, vocab, 0.0, nullptr);
  const double S = 3.0 * static_cast<double>(sampler(data, vocab).batches_per_epoch());  // steps
  for (int n : {2, 3}) {
    CAPTURE(n);
    const auto runs = in_group(n, [&](ProcessGroup& g) { return train(data, vocab, 0.0, &g); });
    for (const Run& r : runs) CHECK(r.weights == runs[0].weights);  // every process alike
    // Summation order only (tests/programs/program_tests.py, case_mpi_equivalence, derives
    // the bounds): the median element within S * 3.16 * lr * 1.2e-4, every one within
    // 2 * 3.16 * lr * S.
    const Vector<float> d = (runs[0].weights - alone.weights).cwiseAbs();
    std::vector<float> sorted(d.data(), d.data() + d.size());
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted[sorted.size() / 2] <= S * 3.16 * 0.01 * 1.2e-4);
    CHECK(sorted.back() <= 2 * 3.16 * 0.01 * S);
    REQUIRE(runs[0].result.history.size() == alone.result.history.size());
    for (std::size_t e = 0; e < alone.result.history.size(); ++e) {
      const EpochStats &a = alone.result.history[e], &b = runs[0].result.history[e];
      CHECK(b.train_loss == doctest::Approx(a.train_loss).epsilon(1e-4));
      CHECK(b.grad_norm == doctest::Approx(a.grad_norm).epsilon(1e-4));
      CHECK(b.valid_loss == doctest::Approx(a.valid_loss).epsilon(1e-4));
    }
  }
}

TEST_CASE("data parallel: with dropout every process keeps the same weights, and it learns") {
  const auto data = scales(8, 40);
  const Vocabulary vocab = Vocabulary::build(data);
  const auto runs =
      in_group(2, [&](ProcessGroup& g) { return train(data, vocab, 0.3, &g, "", 3, false, 1); });
  CHECK(runs[0].weights == runs[1].weights);
  const auto& h = runs[0].result.history;
  CHECK(h.back().train_loss < h.front().train_loss);
}

TEST_CASE("data parallel: processes whose weights drift apart stop with a clear error") {
  const auto data = scales(8, 40);
  const Vocabulary vocab = Vocabulary::build(data);
  // Process 1 sees another gradient sum than process 0: its weights differ after step 1.
  struct Skewed final : ProcessGroup {
    ProcessGroup& inner;
    explicit Skewed(ProcessGroup& g) : inner(g) {}
    int rank() const override { return inner.rank(); }
    int size() const override { return inner.size(); }
    void sum(float* d, std::size_t n) override {
      inner.sum(d, n);
      if (rank() == 1) d[0] += 1.0f;  // process 1 sees another gradient
    }
    void sum(double* d, std::size_t n) override { inner.sum(d, n); }
    bool same_everywhere(std::uint64_t v) override { return inner.same_everywhere(v); }
  };
  ThreadGroup g2(2);
  ThreadGroup::Member c(g2, 0), e(g2, 1);
  Skewed sc(c), se(e);
  std::string errs[2];
  std::thread u0([&] {
    try {
      train(data, vocab, 0.0, &sc, "", 1, false, 1);
    } catch (const ProcessesDiverged& x) {
      errs[0] = x.what();
    }
  });
  std::thread u1([&] {
    try {
      train(data, vocab, 0.0, &se, "", 1, false, 1);
    } catch (const ProcessesDiverged& x) {
      errs[1] = x.what();
    }
  });
  u0.join();
  u1.join();
  for (const std::string& m : errs) {
    CHECK(m.find("hold different weights after step 1") != std::string::npos);
  }
}

TEST_CASE("data parallel: a group resumes exactly, only process 0 writes files") {
  const auto data = scales(8, 40);
  const Vocabulary vocab = Vocabulary::build(data);
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_dp_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto whole = in_group(
      2, [&](ProcessGroup& g) { return train(data, vocab, 0.3, &g, (dir / "a").string(), 3); });
  CHECK(fs::exists(dir / "a" / "last.lstmidi"));
  in_group(2,
           [&](ProcessGroup& g) { return train(data, vocab, 0.3, &g, (dir / "b").string(), 1); });
  const auto resumed = in_group(2, [&](ProcessGroup& g) {
    return train(data, vocab, 0.3, &g, (dir / "b").string(), 3, true);
  });
  CHECK(resumed[0].weights == whole[0].weights);
  CHECK(resumed[1].weights == whole[1].weights);
  // Another number of processes continues the same model (other bits).
  in_group(2,
           [&](ProcessGroup& g) { return train(data, vocab, 0.3, &g, (dir / "c").string(), 1); });
  const auto three = in_group(3, [&](ProcessGroup& g) {
    return train(data, vocab, 0.3, &g, (dir / "c").string(), 3, true);
  });
  CHECK(three[0].result.history.size() == 3);
  CHECK(three[0].weights == three[2].weights);
  std::size_t temps = 0;
  for (const auto& f : fs::directory_iterator(dir / "a"))
    temps += f.path().filename().string().find(".tmp-") != std::string::npos;
  CHECK(temps == 0);
  fs::remove_all(dir);
}
