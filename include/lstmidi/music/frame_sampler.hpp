// SPDX-License-Identifier: MIT
/// FrameSampler: training windows and shuffled mini-batches of piano-roll frames
/// (music/frames.hpp), the piano-roll counterpart of WindowSampler (music/windows.hpp).
///
/// Next-frame prediction: each piece is preceded by an all-zero frame, so with frames
/// f_0 .. f_{n-1} the inputs are 0, f_0 .. f_{n-2} and the targets f_0 .. f_{n-1}.
///
/// Windows of T steps over the sequence 0, f_0, .., f_{n-1} with stride S (plus one window
/// ending at the piece's end, so every target is trained on), validation split BY PIECE
/// (data/piece_split.hpp, or a separate list of validation pieces), optional transposition of
/// training windows by +-N semitones (a shift is used only when the whole piece stays in the key
/// range), epoch order from a Fisher-Yates shuffle drawn from Rng(seed, epoch + 1), and a resumable
/// {epoch, batch} position. Validation windows do not overlap (stride T), so each validation frame
/// is scored exactly once per pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/data/piece_split.hpp"
#include "lstmidi/data/window_sampler.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/frames.hpp"

namespace lstmidi::music {

struct FrameWindowOptions {
  Index steps = 64;             // T: frames per window
  Index stride = 16;            // S: distance between training window starts
  Index batch_size = 32;        // B: windows per batch
  Index keys = 88;              // K
  double valid_fraction = 0.1;  // share of pieces held out, when no validation pieces are given
  int max_transpose = 0;        // N: also train shifted by every k in [-N, N]
  std::uint64_t seed = 1;
};

class FrameSampler : public ScheduledSampler<FrameWindowOptions> {
 public:
  /// Splits `pieces` into training and validation by valid_fraction, or, when `valid_pieces` is
  /// not empty, trains on all of `pieces` and validates on `valid_pieces`.
  explicit FrameSampler(std::vector<std::vector<Frame>> pieces,
                        const FrameWindowOptions& options = {},
                        std::vector<std::vector<Frame>> valid_pieces = {})
      : ScheduledSampler<FrameWindowOptions>(options, "FrameSampler") {
    require(opt_.steps >= 1, "FrameWindowOptions::steps must be >= 1, got ", opt_.steps);
    require(opt_.stride >= 1, "FrameWindowOptions::stride must be >= 1, got ", opt_.stride);
    require(opt_.batch_size >= 1, "FrameWindowOptions::batch_size must be >= 1, got ",
            opt_.batch_size);
    require(opt_.keys >= 1 && opt_.keys <= 256, "FrameWindowOptions::keys must be 1..256");
    require(opt_.valid_fraction >= 0.0 && opt_.valid_fraction < 1.0,
            "FrameWindowOptions::valid_fraction must be in [0, 1), got ", opt_.valid_fraction);
    require(opt_.max_transpose >= 0 && opt_.max_transpose <= 24,
            "FrameWindowOptions::max_transpose must be 0..24, got ", opt_.max_transpose);
    require(!pieces.empty(), "FrameSampler: no pieces (the dataset is empty)");
    for (const auto* set : {&pieces, &valid_pieces})
      for (const auto& p : *set)
        for (const Frame& f : p)
          for (std::uint8_t k : f)
            require(k < opt_.keys, "FrameSampler: key ", int(k), " outside 0..", opt_.keys - 1);

    const std::size_t n = pieces.size();
    is_valid_ = valid_pieces.empty() ? validation_pieces(n, opt_.valid_fraction, opt_.seed)
                                     : std::vector<bool>(n, false);
    pieces_ = std::move(pieces);
    for (auto& p : valid_pieces) {
      is_valid_.push_back(true);
      pieces_.push_back(std::move(p));
    }
    n_given_ = n;
    for (std::size_t p = 0; p < pieces_.size(); ++p) {
      int lo = opt_.keys, hi = -1;
      for (const Frame& f : pieces_[p])
        for (std::uint8_t k : f) lo = std::min<int>(lo, k), hi = std::max<int>(hi, k);
      if (is_valid_[p]) {
        add_windows(p, 0, opt_.steps, WindowTail::padded, schedule_.valid());
        continue;
      }
      for (int s = -opt_.max_transpose; s <= opt_.max_transpose; ++s)
        if (hi < 0 || (lo + s >= 0 && hi + s < opt_.keys))
          add_windows(p, s, opt_.stride, WindowTail::end_aligned, schedule_.train());
    }
    require(!schedule_.train().empty(), "FrameSampler: no training windows");
  }

  /// Whether piece i of the pieces given first is held out (always false with separate
  /// validation pieces).
  bool is_validation_piece(std::size_t piece) const {
    require(piece < n_given_, "FrameSampler: piece ", piece, " out of range");
    return is_valid_[piece];
  }
  /// The training pieces and the validation pieces (whole, unshifted).
  std::vector<std::vector<Frame>> pieces(bool validation) const {
    std::vector<std::vector<Frame>> out;
    for (std::size_t p = 0; p < pieces_.size(); ++p)
      if (is_valid_[p] == validation) out.push_back(pieces_[p]);
    return out;
  }

  /// CRC-32 of the pieces, the split and the window settings: a resumed run checks it.
  std::uint32_t checksum() const {
    std::vector<std::uint8_t> bytes;
    auto put = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    put(static_cast<std::uint64_t>(opt_.steps));
    put(static_cast<std::uint64_t>(opt_.stride));
    put(static_cast<std::uint64_t>(opt_.batch_size));
    put(static_cast<std::uint64_t>(opt_.max_transpose));
    for (std::size_t p = 0; p < pieces_.size(); ++p) {
      put(is_valid_[p] ? 1 : 0);
      put(pieces_[p].size());
      for (const Frame& f : pieces_[p]) {
        bytes.insert(bytes.end(), f.begin(), f.end());
        bytes.push_back(0xFF);
      }
    }
    return crc32(bytes.data(), bytes.size());
  }

  /// The next training batch (T x B, time-major); moves to the next epoch after the last one.
  void next_batch(FrameBatch& out) {
    clear(out);
    schedule_.next_batch([&](Index b, const Window& w) { fill(out, b, w); });
  }
  FrameBatch next_batch() {
    FrameBatch b;
    next_batch(b);
    return b;
  }

  /// Validation batch i (fixed order: piece, then start), 0 <= i < valid_batches().
  void valid_batch(std::size_t i, FrameBatch& out) const {
    clear(out);
    schedule_.valid_batch(i, "FrameSampler", [&](Index b, const Window& w) { fill(out, b, w); });
  }

 private:
  // The windows of a piece over the sequence 0, f_0 .. f_{n-1} (n targets): a window at s has
  // targets f_s .. f_{s+T-1}.
  void add_windows(std::size_t piece, int shift, Index stride, WindowTail tail,
                   std::vector<Window>& out) const {
    const auto n = static_cast<std::int64_t>(pieces_[piece].size());
    for (const std::int64_t s : window_starts(n, opt_.steps, stride, tail))
      out.push_back({static_cast<std::uint32_t>(piece), shift, static_cast<std::uint32_t>(s)});
  }

  void clear(FrameBatch& out) const {
    const Index T = opt_.steps, B = opt_.batch_size;
    if (out.T != T || out.B != B || out.keys() != opt_.keys) {
      out = FrameBatch(T, B, opt_.keys);
    } else {
      out.inputs.setZero();
      out.targets.setZero();
      std::fill(out.mask.begin(), out.mask.end(), std::uint8_t{0});
    }
  }

  // Column b of the batch from window w: inputs f_{s-1} (the zero frame for s = 0), targets
  // f_s, shifted by w.shift keys.
  void fill(FrameBatch& out, Index b, const Window& w) const {
    const Index T = opt_.steps, B = opt_.batch_size;
    const std::vector<Frame>& frames = pieces_[w.seq];
    const auto n = static_cast<Index>(frames.size());
    for (Index t = 0; t < T; ++t) {
      const Index i = static_cast<Index>(w.start) + t;  // target frame
      if (i >= n) break;
      const Index col = t * B + b;
      if (i > 0)
        for (std::uint8_t key : frames[static_cast<size_t>(i - 1)])
          out.inputs(key + w.shift, col) = 1;
      for (std::uint8_t key : frames[static_cast<size_t>(i)]) out.targets(key + w.shift, col) = 1;
      out.mask[static_cast<size_t>(col)] = 1;
    }
  }

  std::vector<std::vector<Frame>> pieces_;
  std::vector<bool> is_valid_;
  std::size_t n_given_ = 0;
};

}  // namespace lstmidi::music
