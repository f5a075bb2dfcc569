// SPDX-License-Identifier: MIT
// The studio's generation jobs: a bounded queue served by one worker thread that owns the
// model while it generates.
//
//   submit(job)  -> false when `max_queued` jobs already wait (the caller answers 429)
//   find(id)     -> the job, while it is one of the `max_kept` most recent
//   worker       -> for each variation k: maker.make(seed + k), the MIDI file's bytes (through
//                   write_piece, the writer lstmidi-generate uses), the notes for the page
//
// Memory is bounded by the two limits: a job holds at most kMaxVariations pieces of at most
// 4000 events after the primer, and finished jobs beyond `max_kept` are forgotten, oldest
// first. stop() ends the running job at its next event and wakes the worker to leave.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <lstmidi/music/generate_piece.hpp>

namespace lstmidi::studio {

inline constexpr int kMaxVariations = 8;

/// One finished variation: the piece and its MIDI file's bytes.
struct Variation {
  std::uint64_t seed = 0;
  music::Piece piece;
  std::string midi;
};

struct Job {
  enum class State { queued, running, done, failed };
  std::uint64_t id = 0;
  std::unique_ptr<music::PieceMaker<float>> maker;
  std::uint64_t seed = 1;
  int variations = 1;
  std::atomic<long long> events_done{0};  // over all variations
  long long events_total = 0;
  // Guarded by the queue's mutex:
  State state = State::queued;
  std::string error;
  std::vector<Variation> results;
};

/// Thrown from the progress callback to end a job when the studio stops.
struct Stopped {};

class JobQueue {
 public:
  JobQueue(std::size_t max_queued, std::size_t max_kept, std::filesystem::path scratch)
      : max_queued_(max_queued), max_kept_(max_kept), scratch_(std::move(scratch)) {
    worker_ = std::thread([this] { work(); });
  }
  ~JobQueue() { stop(); }
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  /// Queues the job and gives it its id; false (and no id) when the queue is full.
  bool submit(const std::shared_ptr<Job>& job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || pending_.size() >= max_queued_) return false;
    job->id = ++last_id_;
    job->events_total = static_cast<long long>(job->variations) * job->maker->settings().length;
    pending_.push_back(job);
    jobs_[job->id] = job;
    forget_old();
    cv_.notify_one();
    return true;
  }

  std::shared_ptr<Job> find(std::uint64_t id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
  }

  /// Jobs waiting before this one (0 when it runs or is finished).
  std::size_t position(const Job& job) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < pending_.size(); ++i)
      if (pending_[i].get() == &job) return i + 1;
    return 0;
  }

  /// Runs `read` on the job's guarded fields under the lock.
  template <typename F>
  void read(const Job& job, F&& f) const {
    std::lock_guard<std::mutex> lock(mu_);
    f(job);
  }

  std::size_t waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

 private:
  const std::size_t max_queued_, max_kept_;
  const std::filesystem::path scratch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> pending_;
  std::map<std::uint64_t, std::shared_ptr<Job>> jobs_;  // by id, so oldest first
  std::uint64_t last_id_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread worker_;

  // Keeps the newest max_kept jobs, never one that waits or runs.
  void forget_old() {
    for (auto it = jobs_.begin(); jobs_.size() > max_kept_ && it != jobs_.end();) {
      const Job::State s = it->second->state;
      if (s == Job::State::done || s == Job::State::failed)
        it = jobs_.erase(it);
      else
        ++it;
    }
  }

  void work() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        job = pending_.front();
        pending_.pop_front();
        job->state = Job::State::running;
      }
      std::vector<Variation> results;
      std::string error;
      try {
        run(*job, results);
      } catch (const Stopped&) {
        error = "the studio is stopping";
      } catch (const std::exception& e) {
        error = printable_message(e.what());
      }
      std::lock_guard<std::mutex> lock(mu_);
      job->results = std::move(results);
      job->error = error;
      job->state = error.empty() ? Job::State::done : Job::State::failed;
      job->maker.reset();  // the primer and settings are no longer needed
      forget_old();
    }
  }

  void run(Job& job, std::vector<Variation>& results) {
    music::PieceMaker<float>& maker = *job.maker;
    const long long length = maker.settings().length;
    for (int k = 0; k < job.variations; ++k) {
      const long long before = static_cast<long long>(k) * length;
      maker.set_progress([&job, before, this](Index done, Index) {
        if (stopping_) throw Stopped{};
        job.events_done = before + done;
      });
      Variation v;
      v.seed = job.seed + static_cast<std::uint64_t>(k);
      v.piece = maker.make(v.seed);
      v.midi = midi_bytes(v.piece, job.id, k);
      job.events_done = before + length;
      results.push_back(std::move(v));
    }
  }

  // The MIDI file lstmidi-generate would write, through the same writer, as bytes.
  std::string midi_bytes(const music::Piece& piece, std::uint64_t id, int k) const {
    const std::filesystem::path file =
        scratch_ / ("piece-" + std::to_string(id) + "-" + std::to_string(k) + ".mid");
    music::write_piece(file, piece);
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::error_code ec;
    std::filesystem::remove(file, ec);
    if (!in.good() && !in.eof()) throw IoError(file.string() + ": cannot read back the MIDI file");
    return bytes;
  }
};

}  // namespace lstmidi::studio
