// SPDX-License-Identifier: MIT
// dump_params FILE: loads a model file with lstmidi::load_checkpoint<float> and prints
// CRC-32 hashes of the parameters and of the Adam state, plus the RNG state and the data
// position. Two runs that reached the same weights print the same lines (metadata such as
// elapsed seconds is left out on purpose). Exit 1 with one line on stderr if the file does not
// load. With --values it prints every parameter instead, one per line (%.9g: the exact float),
// for comparisons with a tolerance.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "lstmidi/model/checkpoint.hpp"

namespace {
template <typename V>
std::uint32_t hash(const V& v) {
  return lstmidi::crc32(reinterpret_cast<const std::uint8_t*>(v.data()),
                        static_cast<std::size_t>(v.size()) * sizeof(v[0]));
}
}  // namespace

int main(int argc, char** argv) {
  const bool values = argc == 3 && std::string(argv[2]) == "--values";
  if (argc != 2 && !values) {
    std::cerr << "usage: dump_params MODEL_FILE [--values]\n";
    return 2;
  }
  try {
    const auto ck = lstmidi::load_checkpoint<float>(argv[1]);
    if (values) {
      for (Eigen::Index i = 0; i < ck.params.size(); ++i)
        std::printf("%.9g\n", static_cast<double>(ck.params[i]));
      return 0;
    }
    std::printf("params %lld crc %08x\n", static_cast<long long>(ck.params.size()),
                hash(ck.params));
    if (ck.has_optimizer) {
      std::printf("adam steps %lld m %08x v %08x\n", static_cast<long long>(ck.adam_steps),
                  hash(ck.adam_m), hash(ck.adam_v));
      std::printf("rng %016llx %016llx\n", static_cast<unsigned long long>(ck.rng.state),
                  static_cast<unsigned long long>(ck.rng.inc));
    }
    for (const char* key : {"epoch", "batch"}) {
      auto it = ck.meta.find(key);
      if (it != ck.meta.end()) std::printf("%s %s\n", key, it->second.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dump_params: " << e.what() << '\n';
    return 1;
  }
}
