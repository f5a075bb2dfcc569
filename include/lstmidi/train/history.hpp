// SPDX-License-Identifier: MIT
/// Training history: one row per epoch, written as CSV and drawn as an SVG line chart
/// (training and validation loss against epoch) next to the model.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

struct EpochStats {
  int epoch = 0;                  // 1-based
  double train_loss = 0;          // mean cross-entropy over the epoch's training positions (nats)
  double train_accuracy = 0;      // share of positions whose most likely token was the target
  double valid_loss = NAN;        // NaN when there is no validation set
  double valid_perplexity = NAN;  // exp(valid_loss); NaN also for piano-roll models
  double valid_accuracy = NAN;
  double seconds = 0;  // wall time of the epoch
  double tokens_per_second = 0;
  double grad_norm = 0;  // mean pre-clipping gradient norm
};

namespace detail {
inline std::string fmt_double(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}
}  // namespace detail

inline constexpr const char* kHistoryHeader =
    "epoch,train_loss,train_accuracy,valid_loss,valid_perplexity,valid_accuracy,seconds,"
    "tokens_per_second,grad_norm";

inline std::string history_csv(const std::vector<EpochStats>& rows) {
  std::ostringstream os;
  os << kHistoryHeader << '\n';
  for (const EpochStats& r : rows) {
    os << r.epoch;
    for (double x : {r.train_loss, r.train_accuracy, r.valid_loss, r.valid_perplexity,
                     r.valid_accuracy, r.seconds, r.tokens_per_second, r.grad_norm})
      os << ',' << detail::fmt_double(x);
    os << '\n';
  }
  return os.str();
}

/// Parses what history_csv wrote (used when a run resumes). Throws FormatError on bad text.
inline std::vector<EpochStats> parse_history_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::vector<EpochStats> rows;
  if (!std::getline(in, line) || line != kHistoryHeader)
    throw FormatError("training history: unexpected header");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> v;
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) {
      char* end = nullptr;
      v.push_back(std::strtod(cell.c_str(), &end));
      if (end == cell.c_str()) throw FormatError("training history: bad number '" + cell + "'");
    }
    if (v.size() != 9)
      throw FormatError("training history: a row has " + std::to_string(v.size()) +
                        " fields, expected 9");
    EpochStats r;
    r.epoch = static_cast<int>(v[0]);
    r.train_loss = v[1];
    r.train_accuracy = v[2];
    r.valid_loss = v[3];
    r.valid_perplexity = v[4];
    r.valid_accuracy = v[5];
    r.seconds = v[6];
    r.tokens_per_second = v[7];
    r.grad_norm = v[8];
    rows.push_back(r);
  }
  return rows;
}

/// An SVG chart of training (blue) and validation (orange) loss per epoch.
/// A "nice" tick step for a range of `span`: 1, 2 or 5 times a power of ten, giving 3 to 8
/// ticks.
inline double nice_tick_step(double span) {
  if (!(span > 0) || !std::isfinite(span)) return 1;
  const double raw = span / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

/// Training and validation loss per epoch as an SVG picture: round tick values on the loss
/// axis, and the best epoch (lowest validation loss, else lowest training loss; the epoch whose
/// model is model.lstmidi) marked with a dashed line and its number.
inline std::string loss_curve_svg(const std::vector<EpochStats>& rows,
                                  const std::string& title = "") {
  const double W = 640, H = 400, left = 60, right = 20, top = 40, bottom = 50;
  double lo = INFINITY, hi = -INFINITY;
  for (const EpochStats& r : rows)
    for (double x : {r.train_loss, r.valid_loss})
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  const double step = nice_tick_step(hi - lo);
  lo = std::floor(lo / step) * step;  // the axis runs from tick to tick
  hi = std::ceil(hi / step) * step;
  if (hi - lo < step / 2) hi = lo + step;
  const int n = std::max<int>(2, static_cast<int>(rows.size()));
  auto X = [&](double e) { return left + (e - 1) / (n - 1) * (W - left - right); };
  auto Y = [&](double v) { return top + (hi - v) / (hi - lo) * (H - top - bottom); };
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
     << (title.empty() ? "Loss per epoch" : title) << "</text>\n";
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  const int ticks = static_cast<int>(std::lround((hi - lo) / step));
  for (int k = 0; k <= ticks; ++k) {  // horizontal grid with round loss labels
    const double v = lo + step * k;
    os << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << Y(v) << "\" y2=\""
       << Y(v) << "\" stroke=\"#ddd\"/>\n<text class=\"tick\" x=\"" << left - 6 << "\" y=\""
       << Y(v) + 4 << "\" text-anchor=\"end\">" << std::setprecision(decimals) << v
       << std::setprecision(1) << "</text>\n";
  }
  // The best epoch: the model saved as model.lstmidi.
  const EpochStats* best = nullptr;
  for (const EpochStats& r : rows) {
    const bool valid = std::isfinite(r.valid_loss);
    const double score = valid ? r.valid_loss : r.train_loss;
    const double best_score = best ? (valid ? best->valid_loss : best->train_loss) : INFINITY;
    if (std::isfinite(score) && score < best_score) best = &r;
  }
  if (best)
    os << "<line class=\"best\" x1=\"" << X(best->epoch) << "\" x2=\"" << X(best->epoch)
       << "\" y1=\"" << top << "\" y2=\"" << H - bottom
       << "\" stroke=\"#2ca02c\" stroke-dasharray=\"4 3\"/>\n"
       << "<text x=\"" << X(best->epoch) + 4 << "\" y=\"" << top + 46
       << "\" fill=\"#2ca02c\">best epoch " << best->epoch << "</text>\n";
  os << "<text x=\"" << (W + left - right) / 2 << "\" y=\"" << H - 12
     << "\" text-anchor=\"middle\">epoch</text>\n"
     << "<text x=\"16\" y=\"" << (H - bottom + top) / 2 << "\" transform=\"rotate(-90 16 "
     << (H - bottom + top) / 2 << ")\" text-anchor=\"middle\">cross-entropy (nats)</text>\n";
  for (const EpochStats& r : rows)
    if (rows.size() <= 20 || r.epoch % ((static_cast<int>(rows.size()) + 9) / 10) == 0)
      os << "<text x=\"" << X(r.epoch) << "\" y=\"" << H - bottom + 16
         << "\" text-anchor=\"middle\">" << r.epoch << "</text>\n";
  auto series = [&](double EpochStats::*field, const char* color, const char* name, double ly) {
    std::ostringstream pts;
    pts.setf(std::ios::fixed);
    pts.precision(1);
    int count = 0;
    for (const EpochStats& r : rows)
      if (std::isfinite(r.*field)) {
        pts << X(r.epoch) << ',' << Y(r.*field) << ' ';
        ++count;
      }
    if (count == 0) return;
    os << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\""
       << pts.str() << "\"/>\n";
    for (const EpochStats& r : rows)
      if (std::isfinite(r.*field))
        os << "<circle cx=\"" << X(r.epoch) << "\" cy=\"" << Y(r.*field) << "\" r=\"3\" fill=\""
           << color << "\"/>\n";
    os << "<line x1=\"" << W - 150 << "\" x2=\"" << W - 130 << "\" y1=\"" << ly << "\" y2=\"" << ly
       << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><text x=\"" << W - 125 << "\" y=\""
       << ly + 4 << "\">" << name << "</text>\n";
  };
  series(&EpochStats::train_loss, "#1f77b4", "training", top + 10);
  series(&EpochStats::valid_loss, "#ff7f0e", "validation", top + 28);
  os << "</svg>\n";
  return os.str();
}

}  // namespace lstmidi
