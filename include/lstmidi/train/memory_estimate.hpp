// SPDX-License-Identifier: MIT
/// Memory a training run needs, known before anything is allocated, and how much it may take.
///
///   training_memory_bytes(config, steps, batch)   an upper estimate of the run's peak: the
///       activations one training step keeps for backpropagation through time, and the weights
///       with their gradients, Adam moments, moving average and one checkpoint's bytes.
///   memory_limit_default()   80% of the physical memory, or of the address-space limit
///       (ulimit -v) when that is lower.
///   parse_byte_size("512M")  sizes as people write them (K, M, G, T: powers of 1024).
///
/// The estimate, with N = steps * batch positions, in floats (sizeof(T) bytes each):
///   per LSTM layer of input D and width H: gates 4HN, h and c 2H(N + B), dropout mask and
///   output 2HN, the input's gradient DN (so 8HN + DN + 4HB);
///   input: EN (embedding, or the frames / one-hot rows), the logits and their gradient VN,
///   the top layer's gradients 2HN; the nade frame output (N_h hidden units, nn/nade.hpp) adds
///   its per-key hidden units N_h K m and sum S N_h N, with m = min(N, its chunk of frames), and
///   (2 N_h + 3V) m of working blocks;
///   weights: P values + P gradients + 2P Adam moments + P average + 3P checkpoint bytes.
/// It counts what the model allocates (model/model.hpp, nn/lstm.hpp); the allocator's slack
/// and Eigen's GEMM packing buffers are covered by the 25% added on top.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include "lstmidi/model/model.hpp"

namespace lstmidi {

template <typename T = float>
std::uint64_t training_memory_bytes(const ModelConfig& c, Index steps, Index batch) {
  const double N = static_cast<double>(steps) * static_cast<double>(batch);
  const double B = static_cast<double>(batch), V = static_cast<double>(c.vocab_size);
  double D = c.embedding_size > 0 ? static_cast<double>(c.embedding_size) : V;
  double floats = D * N + 2 * V * N;  // input, logits and their gradient
  double top = 0;
  for (Index h : c.hidden_sizes) {
    const double H = static_cast<double>(h);
    floats += 8 * H * N + D * N + 4 * H * B;
    D = H;
    top = H;
  }
  floats += 2 * top * N;
  if (c.output == FrameOutput::nade) {
    const double Nh = static_cast<double>(c.nade_hidden);
    const double m = std::min(N, static_cast<double>(Nade<T>::kChunk));
    floats += Nh * V * m + Nh * N + (2 * Nh + 3 * V) * m;
  }
  floats += 9 * static_cast<double>(c.num_params());
  const double bytes = 1.25 * floats * sizeof(T);
  return bytes >= 1.8e19 ? std::uint64_t{18000000000000000000u} : static_cast<std::uint64_t>(bytes);
}

/// "1.2 GB", "350 MB", "12 KB" (powers of 1024, one decimal below 10).
inline std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

/// 80% of the physical memory, or of the address-space limit (RLIMIT_AS) when lower; 0 when
/// neither is known (no limit).
inline std::uint64_t memory_limit_default() {
  double limit = 0;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) limit = static_cast<double>(pages) * static_cast<double>(page);
  rlimit rl{};
  if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (limit == 0 || static_cast<double>(rl.rlim_cur) < limit))
    limit = static_cast<double>(rl.rlim_cur);
  return static_cast<std::uint64_t>(0.8 * limit);
}

/// "123", "512K", "1.5G", "2GB", "auto" (-> 0). Throws std::invalid_argument naming the text.
inline std::uint64_t parse_byte_size(const std::string& text) {
  if (text == "auto") return 0;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (!unit.empty() && unit.back() == 'I') unit.pop_back();  // "GiB"
  const std::string units = "KMGT";
  double scale = 1;
  if (unit.size() == 1 && units.find(unit[0]) != std::string::npos)
    for (std::size_t i = 0; i <= units.find(unit[0]); ++i) scale *= 1024;
  else if (!unit.empty())
    used = 0;
  if (used == 0 || !(v > 0) || v * scale > 1.8e19)
    throw std::invalid_argument("'" + text + "' is not a memory size (e.g. 512M, 8G, or auto)");
  return static_cast<std::uint64_t>(v * scale);
}

}  // namespace lstmidi
