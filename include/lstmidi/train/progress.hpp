// SPDX-License-Identifier: MIT
/// ProgressPrinter: a TrainObserver that draws a progress bar per epoch and one summary line per
/// epoch on a stream (the example programs pass std::cerr / std::cout).
///
///   epoch 3/20 [##########----------]  50%  loss 1.8342  5120 tok/s  ETA 12:42
///
/// (ETA: the rest of the run, or of its time budget when that ends it sooner.)
///   epoch 3/20  train 1.8120 (acc 44.1%)  valid 1.9033  ppl 6.71  acc 41.0%  63.2 s  *best*
///
/// (ppl only where the perplexity is finite: token models, not piano-roll ones).
///
/// On a terminal the bar redraws in place (carriage return) at most 10 times a second; on a pipe
/// or file it prints one line per epoch, at its end (and one a minute within an epoch longer
/// than that), so logs stay short.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "lstmidi/train/trainer.hpp"

namespace lstmidi {

inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

class ProgressPrinter : public TrainObserver {
 public:
  /// interactive: redraw the bar in place; bars = false prints only the epoch lines and notes.
  ProgressPrinter(std::ostream& bar_out, std::ostream& line_out, bool interactive, bool bars = true)
      : bar_(bar_out), out_(line_out), tty_(interactive), bars_(bars) {}

  void on_batch(const BatchProgress& p) override {
    if (!bars_) return;
    const double frac =
        p.batches ? static_cast<double>(p.batch) / static_cast<double>(p.batches) : 1;
    const auto now = std::chrono::steady_clock::now();
    if (p.batch == 1 && !tty_) last_draw_ = now;  // an epoch's minute counts from its start
    if (tty_) {
      if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    } else {
      if (p.batch != p.batches && now - last_draw_ < std::chrono::seconds(60)) return;
    }
    last_draw_ = now;
    const int width = 24, filled = static_cast<int>(frac * width);
    char line[200];
    std::snprintf(line, sizeof line, "epoch %d/%d [%s%s] %3d%%  loss %.4f  %6.0f %s/s  ETA %s",
                  p.epoch, p.epochs, std::string(static_cast<size_t>(filled), '#').c_str(),
                  std::string(static_cast<size_t>(width - filled), '-').c_str(),
                  static_cast<int>(frac * 100), p.loss, p.tokens_per_second, p.unit,
                  format_duration(p.run_seconds_left).c_str());
    if (tty_) {
      bar_ << '\r' << line << "\033[K" << std::flush;
      drawn_ = true;
    } else {
      bar_ << line << '\n' << std::flush;
    }
  }

  void on_epoch(const EpochStats& e, bool improved) override {
    clear_bar();
    char line[256];
    char ppl[48] = "";
    if (std::isfinite(e.valid_perplexity))
      std::snprintf(ppl, sizeof ppl, "  ppl %.2f", e.valid_perplexity);
    if (std::isfinite(e.valid_loss))
      std::snprintf(line, sizeof line,
                    "epoch %d  train %.4f (acc %.1f%%)  valid %.4f%s  acc %.1f%%  %.1f s%s",
                    e.epoch, e.train_loss, 100 * e.train_accuracy, e.valid_loss, ppl,
                    100 * e.valid_accuracy, e.seconds, improved ? "  *best*" : "");
    else
      std::snprintf(line, sizeof line, "epoch %d  train %.4f (acc %.1f%%)  %.1f s", e.epoch,
                    e.train_loss, 100 * e.train_accuracy, e.seconds);
    out_ << line << '\n' << std::flush;
  }

  void on_note(const std::string& note) override {
    clear_bar();
    out_ << note << '\n' << std::flush;
  }

 private:
  void clear_bar() {
    if (tty_ && drawn_) bar_ << "\r\033[K" << std::flush;
    drawn_ = false;
  }

  std::ostream& bar_;
  std::ostream& out_;
  bool tty_;
  bool bars_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace lstmidi
