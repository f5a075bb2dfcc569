// SPDX-License-Identifier: MIT
/// validation_pieces(): which pieces of a corpus are held out for validation.
///
/// Music is split by piece, never by window: windows of one piece overlap and share its themes,
/// so a window of a validation piece in a training batch would flatter the validation loss.
/// Of n pieces, round(fraction * n) are held out (at least 1 when fraction > 0 and n >= 2, and
/// never all n): the first ones of a shuffle of 0..n-1 drawn from Rng(seed, 0x5eed). The split
/// depends on (n, fraction, seed) alone, so a resumed run validates on the same pieces.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"

namespace lstmidi {

/// held[i] is true for the validation pieces. Throws std::invalid_argument unless
/// 0 <= fraction < 1.
inline std::vector<bool> validation_pieces(std::size_t n, double fraction, std::uint64_t seed) {
  require(fraction >= 0.0 && fraction < 1.0, "the validation fraction must be in [0, 1), got ",
          fraction);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  Rng split_rng(seed, 0x5eedULL);
  split_rng.shuffle(order.begin(), order.end());
  std::size_t held = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  if (fraction > 0.0 && n >= 2) held = std::max<std::size_t>(held, 1);
  held = n == 0 ? 0 : std::min(held, n - 1);
  std::vector<bool> valid(n, false);
  for (std::size_t i = 0; i < held; ++i) valid[order[i]] = true;
  return valid;
}

}  // namespace lstmidi
