// SPDX-License-Identifier: MIT
/// piano_roll_svg(): a picture of notes — time (beats) across, pitch up — as an SVG document.
/// Notes before `split_beat` (the primer) are drawn grey, the rest in colour; bar lines every
/// 4 beats, a label on every C.
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

inline std::string piano_roll_svg(const std::vector<Note>& notes, double split_beat = 0.0,
                                  const std::string& title = "") {
  int lo = 127, hi = 0;
  double end = 4;
  for (const Note& n : notes) {
    lo = std::min(lo, n.pitch);
    hi = std::max(hi, n.pitch);
    end = std::max(end, n.onset_beats + n.duration_beats);
  }
  if (notes.empty()) lo = 60, hi = 72;
  lo = std::max(0, lo - 2);
  hi = std::min(127, hi + 2);
  const double px_beat = std::clamp(1600.0 / end, 6.0, 40.0), row = 6, left = 40, top = 30;
  const double width = left + end * px_beat + 10, height = top + (hi - lo + 1) * row + 10;
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" font-family=\"sans-serif\" font-size=\"10\">\n<rect width=\"100%\" height=\"100%\" "
        "fill=\"white\"/>\n";
  if (!title.empty())
    os << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\">" << title << "</text>\n";
  auto y_of = [&](int pitch) { return top + (hi - pitch) * row; };
  for (int p = lo; p <= hi; ++p) {
    const bool black = (p % 12 == 1 || p % 12 == 3 || p % 12 == 6 || p % 12 == 8 || p % 12 == 10);
    if (black)
      os << "<rect x=\"" << left << "\" y=\"" << y_of(p) << "\" width=\"" << end * px_beat
         << "\" height=\"" << row << "\" fill=\"#f2f2f2\"/>\n";
    if (p % 12 == 0)
      os << "<text x=\"2\" y=\"" << y_of(p) + row << "\">" << pitch_name(p) << "</text>\n";
  }
  for (int b = 0; b <= static_cast<int>(end); b += 4)
    os << "<line x1=\"" << left + b * px_beat << "\" x2=\"" << left + b * px_beat << "\" y1=\""
       << top << "\" y2=\"" << height - 10 << "\" stroke=\"#ccc\"/>\n";
  if (split_beat > 0)
    os << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << split_beat * px_beat
       << "\" height=\"" << height - 10 - top << "\" fill=\"#e8e8e8\" opacity=\"0.6\"/>\n"
       << "<line x1=\"" << left + split_beat * px_beat << "\" x2=\"" << left + split_beat * px_beat
       << "\" y1=\"" << top << "\" y2=\"" << height - 10
       << "\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n";
  for (const Note& n : notes) {
    const bool primer = n.onset_beats < split_beat;
    os << "<rect x=\"" << left + n.onset_beats * px_beat << "\" y=\"" << y_of(n.pitch) + 0.5
       << "\" width=\"" << std::max(1.0, n.duration_beats * px_beat - 0.5) << "\" height=\""
       << row - 1 << "\" fill=\"" << (primer ? "#8c8c8c" : "#1f77b4") << "\"/>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace lstmidi::music
