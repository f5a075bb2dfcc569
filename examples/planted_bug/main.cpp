// SPDX-License-Identifier: MIT
// lstmidi-planted-bug: an exercise in reading a gradient check (docs/exercises.md).
//
//   lstmidi-planted-bug N      N = 1 .. 6 plants bug N in a copy of the LSTM backward pass;
//                              N = 0 runs the correct one
//
// It checks the gradient of a small LSTM (D = 3, H = 4, B = 2) against finite differences, once
// over one step and once over three, and prints the worst relative error of each block of
// parameters: the rows of W, U and b that belong to each gate, and the initial state h0, c0.
// Find the bug from the table before you read planted_bug.hpp.
#include <iomanip>
#include <iostream>
#include <string>

#include "planted_bug.hpp"

int main(int argc, char** argv) {
  const std::string arg = argc == 2 ? argv[1] : "";
  const int bug =
      arg.size() == 1 && arg[0] >= '0' && arg[0] <= '0' + planted::kBugs ? arg[0] - '0' : -1;
  if (bug < 0) {
    std::cerr << "lstmidi-planted-bug: error: give one bug number N = 0 .. " << planted::kBugs
              << " (usage: lstmidi-planted-bug N)\n";
    return 2;
  }
  bool all_ok = true;
  for (lstmidi::Index T : {1, 3}) {
    const auto report = planted::check(planted::make_problem(T), bug);
    std::cout << "T = " << T << " step" << (T > 1 ? "s" : "")
              << ": worst relative error per block\n";
    for (const auto& r : report) {
      const bool ok = r.max_rel_error < 1e-6;
      all_ok = all_ok && ok;
      std::cout << "  " << std::left << std::setw(5) << r.name << std::scientific
                << std::setprecision(1) << r.max_rel_error << (ok ? "" : "   <-- wrong") << "\n";
    }
  }
  std::cout << (all_ok ? "every gradient is right\n" : "some gradients are wrong\n");
  return 0;
}
