// SPDX-License-Identifier: MIT
/// What the Trainer needs of the data it trains on (a Source), and the batch type it hands out.
///
/// A Source offers next_batch(Batch&), position() -> {epoch, batch}, seek(position),
/// batches_per_epoch(), valid_batches() and valid_batch(i, Batch&). music::WindowSampler
/// (TokenBatch) and music::FrameSampler (FrameBatch, piano-roll models) are two, both on
/// data/window_sampler.hpp's schedule.
/// Invariant: its batch order depends only on (seed, epoch, batch), so seek() after a resume
/// gives the batches an uninterrupted run would have had.
#pragma once

#include <type_traits>
#include <utility>

#include "lstmidi/data/batch.hpp"

namespace lstmidi::detail {

/// The batch type a Source hands out: decltype(source.next_batch()), or TokenBatch when the
/// source only has next_batch(TokenBatch&).
template <typename Source, typename = void>
struct SourceBatch {
  using type = TokenBatch;
};
template <typename Source>
struct SourceBatch<Source, std::void_t<decltype(std::declval<Source&>().next_batch())>> {
  using type = std::decay_t<decltype(std::declval<Source&>().next_batch())>;
};

}  // namespace lstmidi::detail
