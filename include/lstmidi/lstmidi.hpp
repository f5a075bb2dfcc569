// SPDX-License-Identifier: MIT
/// lstmidi: a header-only LSTM library on Eigen. This umbrella header includes the whole math
/// library (Eigen only). The MIDI layer, which needs libsmf, is in lstmidi/music/music.hpp.
/// Not included: core/memory.hpp, which retunes the C allocator for the whole process; a
/// program that wants it includes it and calls keep_freed_memory() itself.
#pragma once

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/gemm.hpp"
#include "lstmidi/core/gemm_nt.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/parallel.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/epoch_order.hpp"
#include "lstmidi/data/piece_split.hpp"
#include "lstmidi/debug/grad_check.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/model/generation_pack.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/nn/dense.hpp"
#include "lstmidi/nn/dropout.hpp"
#include "lstmidi/nn/embedding.hpp"
#include "lstmidi/nn/lstm.hpp"
#include "lstmidi/nn/lstm_step.hpp"
#include "lstmidi/nn/nade.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/optim/clip.hpp"
#include "lstmidi/optim/weight_average.hpp"
#include "lstmidi/sample/sampling.hpp"
#include "lstmidi/version.hpp"
