// SPDX-License-Identifier: MIT
/// A character model directory: what lstmidi-chars train writes and lstmidi-chars sample reads.
///
///   model.lstmidi   best weights (lowest validation loss); metadata kind=chars and the
///                   vocabulary's checksum
///   last.lstmidi    resume checkpoint (weights + Adam state + RNG + data position)
///   vocab.txt       the CharVocabulary in its text form
///   history.csv, loss.svg   loss curves (written by Trainer)
///
/// load_char_model() checks that the model and the vocabulary belong together.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/text/char_corpus.hpp"

namespace lstmidi::text {

inline constexpr const char* kCharModelFile = "model.lstmidi";
inline constexpr const char* kCharVocabFile = "vocab.txt";

/// Metadata stored in every model file of a character run.
inline std::map<std::string, std::string> char_metadata(const CharVocabulary& v) {
  return {{"kind", "chars"}, {"vocab_size", std::to_string(v.size())}, {"vocab_crc", v.checksum()}};
}

template <typename T>
struct CharModel {
  std::unique_ptr<Model<T>> model;
  CharVocabulary vocab;
  std::map<std::string, std::string> meta;
};

/// Loads model.lstmidi and vocab.txt from `dir`.
template <typename T>
CharModel<T> load_char_model(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError(dir.string() + ": not a model directory (train one with lstmidi-chars train)");
  const fs::path mfile = dir / kCharModelFile, vfile = dir / kCharVocabFile;
  if (!fs::exists(mfile, ec))
    throw IoError(mfile.string() + ": missing (has training saved a model yet?)");
  if (!fs::exists(vfile, ec))
    throw IoError(vfile.string() + ": missing; the model cannot be used without its vocabulary");
  Checkpoint<T> ck = load_checkpoint<T>(mfile.string());
  CharModel<T> cm;
  cm.vocab = CharVocabulary::load(vfile.string());
  const std::string file = mfile.string();
  auto kind = ck.meta.find("kind");
  if (kind == ck.meta.end() || kind->second != "chars")
    throw FormatError(file + ": not a character model (a music model? use lstmidi-generate)");
  auto crc = ck.meta.find("vocab_crc");
  if (crc == ck.meta.end() || cm.vocab.size() != ck.config.vocab_size ||
      crc->second != cm.vocab.checksum())
    throw FormatError(vfile.string() + ": does not match " + file + " (vocabulary of " +
                      std::to_string(cm.vocab.size()) + " characters, model trained on " +
                      std::to_string(ck.config.vocab_size) + "); was it replaced or edited?");
  cm.model = model_from_checkpoint(ck);
  cm.meta = std::move(ck.meta);
  return cm;
}

}  // namespace lstmidi::text
