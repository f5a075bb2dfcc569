// SPDX-License-Identifier: MIT
/// The piano-roll mode in one include: frames from MIDI and back (frames.hpp), a folder as
/// frames (roll_corpus.hpp), the frame window sampler (frame_sampler.hpp), and scoring, the
/// unigram baseline and generation with a trained model (roll_model.hpp).
#pragma once

#include "lstmidi/music/frame_sampler.hpp"
#include "lstmidi/music/frames.hpp"
#include "lstmidi/music/roll_corpus.hpp"
#include "lstmidi/music/roll_model.hpp"
