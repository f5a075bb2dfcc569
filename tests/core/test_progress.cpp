// SPDX-License-Identifier: MIT
// ProgressPrinter: the epoch summary line, and the progress bar on a pipe.
#include <doctest/doctest.h>

#include <cmath>
#include <lstmidi/train/progress.hpp>
#include <sstream>

using namespace lstmidi;

namespace {

EpochStats epoch_stats(double valid_loss, double perplexity) {
  EpochStats e;
  e.epoch = 3;
  e.train_loss = 1.812;
  e.train_accuracy = 0.441;
  e.valid_loss = valid_loss;
  e.valid_perplexity = perplexity;
  e.valid_accuracy = 0.41;
  e.seconds = 63.2;
  return e;
}

}  // namespace

TEST_CASE("progress: the epoch line shows perplexity only where it is finite") {
  std::ostringstream bar, out;
  ProgressPrinter p(bar, out, /*interactive=*/false);
  p.on_epoch(epoch_stats(1.9033, std::exp(1.9033)), true);
  CHECK(out.str() ==
        "epoch 3  train 1.8120 (acc 44.1%)  valid 1.9033  ppl 6.71  acc 41.0%  63.2 s  *best*\n");

  // A piano-roll model: the trainer leaves the perplexity NaN.
  out.str("");
  p.on_epoch(epoch_stats(57.5157, NAN), false);
  CHECK(out.str() == "epoch 3  train 1.8120 (acc 44.1%)  valid 57.5157  acc 41.0%  63.2 s\n");

  // No validation set: training figures only.
  out.str("");
  p.on_epoch(epoch_stats(NAN, NAN), true);
  CHECK(out.str() == "epoch 3  train 1.8120 (acc 44.1%)  63.2 s\n");
  CHECK(bar.str().empty());
}

TEST_CASE("progress: on a pipe the bar prints one line per epoch, at its end, none when off") {
  std::ostringstream bar, out;
  ProgressPrinter p(bar, out, /*interactive=*/false);
  BatchProgress b;
  b.epoch = 1;
  b.epochs = 2;
  b.batches = 100;
  b.loss = 2.5;
  for (b.batch = 1; b.batch <= 100; ++b.batch) p.on_batch(b);
  std::istringstream lines(bar.str());
  std::string line, last;
  int n = 0;
  while (std::getline(lines, line)) {
    CHECK(line.rfind("epoch 1/2 [", 0) == 0);
    last = line;
    ++n;
  }
  CHECK(n == 1);  // the epoch's end (a line a minute only within longer epochs)
  CHECK(last.find("100%") != std::string::npos);
  CHECK(last.find("loss 2.5000") != std::string::npos);
  CHECK(last.find(" tok/s") != std::string::npos);
  CHECK(out.str().empty());

  // The ETA is the whole run's (the trainer counts the later epochs and the time budget).
  std::ostringstream bar4, out4;
  ProgressPrinter eta(bar4, out4, false);
  b.batch = b.batches;
  b.epoch_seconds_left = 5;
  b.run_seconds_left = 754;
  eta.on_batch(b);
  CHECK(bar4.str().find("ETA 12:34") != std::string::npos);

  // Piano-roll runs count frames (the trainer names the unit).
  std::ostringstream bar3, out3;
  ProgressPrinter frames(bar3, out3, false);
  b.batch = b.batches;
  b.unit = "frames";
  frames.on_batch(b);
  CHECK(bar3.str().find(" frames/s") != std::string::npos);
  CHECK(bar3.str().find("tok/s") == std::string::npos);

  std::ostringstream bar2, out2;
  ProgressPrinter quiet(bar2, out2, false, /*bars=*/false);
  for (b.batch = 1; b.batch <= 100; ++b.batch) quiet.on_batch(b);
  CHECK(bar2.str().empty());
}
