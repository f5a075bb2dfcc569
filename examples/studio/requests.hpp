// SPDX-License-Identifier: MIT
// What the studio reads from requests and files: the generation settings of a form (checked
// as lstmidi-generate checks its flags), the model's facts and the run folders' loss curves,
// as JSON.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <lstmidi/music/generate_piece.hpp>
#include <lstmidi/train/history.hpp>

// After Eigen (see main.cpp).
#include <httplib.h>

#include "json_writer.hpp"

namespace lstmidi::studio {

/// Largest text file the studio reads and shows (history.csv, evaluation.txt).
inline constexpr std::uintmax_t kMaxTextFileBytes = std::uintmax_t{4} << 20;

/// A form field: a multipart part without a file name, or a URL-encoded parameter; empty or
/// absent is "not given".
inline std::optional<std::string> form_field(const httplib::Request& req, const std::string& name) {
  auto it = req.files.find(name);
  if (it != req.files.end()) {
    if (!it->second.filename.empty())
      throw std::invalid_argument(name + ": expected a value, got a file");
    if (it->second.content.empty()) return std::nullopt;
    return it->second.content;
  }
  if (req.has_param(name.c_str())) {
    std::string v = req.get_param_value(name.c_str());
    if (v.empty()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

inline double parse_real(const std::string& name, const std::string& text, double lo, double hi) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw std::invalid_argument(name + ": " + quote_input(text) + " is not a number");
  if (v < lo || v > hi)
    throw std::invalid_argument(name + ": " + quote_input(text) + " is outside " + json_number(lo) +
                                " to " + json_number(hi));
  return v;
}

inline std::uint64_t parse_whole(const std::string& name, const std::string& text, std::uint64_t lo,
                                 std::uint64_t hi) {
  const bool digits = !text.empty() && text.size() <= 20 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE)
    throw std::invalid_argument(name + ": " + quote_input(text) + " is not a whole number from " +
                                std::to_string(lo) + " to " + std::to_string(hi));
  if (v < lo || v > hi)
    throw std::invalid_argument(name + ": " + quote_input(text) + " is outside " +
                                std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

/// A yes/no field: "0" or "1".
inline bool parse_switch(const std::string& name, const std::string& text) {
  if (text != "0" && text != "1") throw std::invalid_argument(name + ": expected 0 or 1");
  return text == "1";
}

/// One generation request: the settings, the first seed and the number of variations.
struct GenerateRequest {
  music::PieceSettings settings;
  std::uint64_t seed = 1;
  int variations = 1;
};

/// Reads a generate form. Fields (all optional): length, temperature, top_k, top_p, seed,
/// tempo, time_signature, program, instruments, reattack, stop_at_end, voices, end_at_bar,
/// length_temperature, variations, weights, primer
/// ("saved", "saved:<index>", "notes", "midi"), primer_notes, primer_length, and the file part
/// primer_midi. Throws std::invalid_argument with a message for the page; never names a file
/// on disk (an uploaded primer is read from memory through the guarded reader).
inline GenerateRequest parse_generate_form(const httplib::Request& req, bool half_supported,
                                           std::size_t max_upload_bytes) {
  GenerateRequest r;
  music::PieceSettings& s = r.settings;
  auto field = [&](const char* name) { return form_field(req, name); };
  if (auto v = field("length")) s.length = static_cast<int>(parse_whole("length", *v, 1, 4000));
  if (auto v = field("temperature")) s.temperature = parse_real("temperature", *v, 0, 100);
  if (auto v = field("top_k")) s.top_k = static_cast<int>(parse_whole("top_k", *v, 0, 1000000));
  if (auto v = field("top_p")) s.top_p = parse_real("top_p", *v, 0.001, 1);
  if (auto v = field("seed")) r.seed = parse_whole("seed", *v, 0, UINT64_MAX);
  if (auto v = field("tempo")) s.tempo = parse_real("tempo", *v, 10, 400);
  if (auto v = field("time_signature")) {
    try {
      music::parse_time_signature(*v);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("time_signature: ") + e.what());
    }
    s.time_signature = *v;
  }
  if (auto v = field("program")) s.program = static_cast<int>(parse_whole("program", *v, 0, 127));
  if (auto v = field("instruments")) {
    if (v->size() > 1000) throw std::invalid_argument("instruments: the list is too long");
    s.instruments = *v;
  }
  if (auto v = field("reattack")) s.reattack = parse_switch("reattack", *v);
  if (auto v = field("stop_at_end")) s.stop_at_end = parse_switch("stop_at_end", *v);
  if (auto v = field("voices")) s.voices = parse_switch("voices", *v);
  if (auto v = field("end_at_bar")) s.end_at_bar = parse_switch("end_at_bar", *v);
  if (auto v = field("length_temperature"))
    s.length_temperature = parse_real("length_temperature", *v, 0.01, 100);
  if (auto v = field("variations"))
    r.variations = static_cast<int>(parse_whole("variations", *v, 1, kMaxVariations));
  const std::string weights = field("weights").value_or("auto");
  if (weights == "float16" && !half_supported)
    throw std::invalid_argument(
        "weights: this build cannot step with 16-bit weights (it needs AVX2, FMA and F16C); "
        "choose float32");
  if (weights != "auto" && weights != "float16" && weights != "float32")
    throw std::invalid_argument("weights: expected auto, float16 or float32");
  s.weights = weights == "float16" || (weights == "auto" && half_supported)
                  ? GenerationWeights::float16
                  : GenerationWeights::float32;
  if (auto v = field("primer_length"))
    s.primer.length = static_cast<int>(parse_whole("primer_length", *v, 1, 4096));

  const std::string primer = field("primer").value_or("saved");
  if (primer == "saved") {
    s.primer.kind = music::PrimerSource::Kind::saved;
  } else if (primer.rfind("saved:", 0) == 0) {
    s.primer.kind = music::PrimerSource::Kind::saved;
    s.primer.saved_index = parse_whole("primer", primer.substr(6), 0, 1000000);
  } else if (primer == "notes") {
    s.primer.kind = music::PrimerSource::Kind::notes;
    const auto notes = field("primer_notes");
    if (!notes) throw std::invalid_argument("primer_notes: type the notes to start from");
    if (notes->size() > 100000)
      throw std::invalid_argument("primer_notes: above 100000 characters");
    s.primer.notes = *notes;
  } else if (primer == "midi") {
    auto it = req.files.find("primer_midi");
    if (it == req.files.end() || it->second.content.empty())
      throw std::invalid_argument("primer_midi: choose a MIDI file to start from");
    if (it->second.content.size() > max_upload_bytes)
      throw std::invalid_argument("primer_midi: the file is " +
                                  std::to_string(it->second.content.size()) +
                                  " bytes, above the limit of " + std::to_string(max_upload_bytes));
    s.primer.kind = music::PrimerSource::Kind::midi;
    s.primer.midi.assign(it->second.content.begin(), it->second.content.end());
    // The name is only for messages: what the page sent, made printable and short.
    s.primer.midi_name =
        "uploaded " + quote_input(it->second.filename.empty() ? "file" : it->second.filename, 60);
  } else {
    throw std::invalid_argument("primer: expected saved, saved:<index>, notes or midi, got " +
                                quote_input(primer));
  }
  return r;
}

/// A text file's contents when it is a regular file of at most kMaxTextFileBytes, else none.
inline std::optional<std::string> read_small_text(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxTextFileBytes) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

/// A history.csv as {"epochs":[...], "train":[...], "valid":[...], "accuracy":[...]}; an
/// unreadable file (a run being written, a broken line) gives empty lists and its error.
inline void write_history(JsonWriter& j, const std::filesystem::path& csv) {
  std::vector<EpochStats> rows;
  std::string error;
  if (auto text = read_small_text(csv)) {
    try {
      rows = parse_history_csv(*text);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  j.begin_object();
  auto column = [&](const char* name, auto get) {
    j.key(name).begin_array();
    for (const EpochStats& r : rows) j.value(get(r));
    j.end_array();
  };
  column("epochs", [](const EpochStats& r) { return r.epoch; });
  column("train", [](const EpochStats& r) { return r.train_loss; });
  column("valid", [](const EpochStats& r) { return r.valid_loss; });
  column("accuracy", [](const EpochStats& r) { return r.valid_accuracy; });
  column("seconds", [](const EpochStats& r) { return r.seconds; });
  if (!error.empty()) j.key("error").value(error);
  j.end_object();
}

/// The run folders below `dir`: its direct subfolders that hold a history.csv or a
/// settings.ini (a run that has just started), sorted by name.
inline std::vector<std::filesystem::path> list_runs(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> runs;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (std::size_t seen = 0; !ec && it != end && seen < 10000; it.increment(ec), ++seen) {
    std::error_code e2;
    const std::filesystem::path p = it->path();
    if (!std::filesystem::is_directory(p, e2)) continue;
    if (std::filesystem::exists(p / "history.csv", e2) ||
        std::filesystem::exists(p / "settings.ini", e2))
      runs.push_back(p);
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

/// A piece as the page draws and plays it: notes [onset, length, pitch, velocity, program,
/// part, drum] in beats, the tempo map [beat, bpm], where the primer ends.
inline void write_piece_json(JsonWriter& j, const music::Piece& p, std::uint64_t seed,
                             std::size_t midi_bytes) {
  j.begin_object();
  j.key("seed").value(std::to_string(seed));
  j.key("notes").begin_array();
  for (const music::Note& n : p.song.notes) {
    j.begin_array();
    j.value(n.onset_beats).value(n.duration_beats).value(n.pitch).value(n.velocity);
    j.value(n.program).value(n.part).value(n.drum ? 1 : 0);
    j.end_array();
  }
  j.end_array();
  j.key("tempos").begin_array();
  for (const music::TempoChange& t : p.song.tempos)
    j.begin_array().value(t.beat).value(t.bpm).end_array();
  j.end_array();
  if (!p.song.time_signatures.empty())
    j.key("time_signature")
        .value(std::to_string(p.song.time_signatures.front().numerator) + "/" +
               std::to_string(p.song.time_signatures.front().denominator));
  if (!p.song.key_signatures.empty())
    j.key("key").value(music::key_signature_name(p.song.key_signatures.front()));
  j.key("single_track").value(p.single_track);
  j.key("program").value(p.program);
  j.key("primer_beats").value(p.primer_beats);
  j.key("end_beats").value(music::piece_end_beats(p));
  j.key("primer_size").value(static_cast<unsigned long>(p.primer_size));
  j.key("generated").value(static_cast<unsigned long>(p.generated));
  j.key("primer_from").value(p.primer_from);
  j.key("approximated").value(static_cast<unsigned long>(p.approximated));
  j.key("key_shift").value(p.key_shift);
  j.key("dropped").value(static_cast<unsigned long>(p.dropped));
  if (p.pitch_class_distance) j.key("pitch_class_distance").value(*p.pitch_class_distance);
  j.key("midi_bytes").value(static_cast<unsigned long>(midi_bytes));
  j.end_object();
}

}  // namespace lstmidi::studio
