// SPDX-License-Identifier: MIT
// music::train_run: a whole training run called from the library, as lstmidi-train calls it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/model_dir.hpp"
#include "lstmidi/music/train_run.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

namespace {

// A folder of `count` short two-voice pieces: a scale in the upper voice over held bass notes.
fs::path write_pieces(const fs::path& dir, int count) {
  fs::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    Song s;
    for (int t = 0; t < 24; ++t) {
      Note n;
      n.pitch = 60 + (t + i) % 8;
      n.onset_beats = 0.5 * t;
      n.duration_beats = 0.5;
      n.velocity = 70 + 5 * (t % 4);
      s.notes.push_back(n);
      if (t % 4 == 0) {
        Note b = n;
        b.pitch = 43 + i % 3;
        b.duration_beats = 2;
        s.notes.push_back(b);
      }
    }
    std::sort(s.notes.begin(), s.notes.end(), [](const Note& a, const Note& b) {
      return a.onset_beats < b.onset_beats || (a.onset_beats == b.onset_beats && a.pitch < b.pitch);
    });
    write_song(dir / ("piece" + std::to_string(i) + ".mid"), s);
  }
  return dir;
}

TrainSettings tiny_settings(const fs::path& data, const fs::path& out) {
  TrainSettings s;
  s.data = data.string();
  s.out = out.string();
  s.layers = 1;
  s.hidden = 8;
  s.embedding = 4;
  s.seq_len = 8;
  s.stride = 4;
  s.batch = 4;
  s.epochs = 2;
  s.valid_fraction = 0.25;
  s.min_count = 1;
  s.primer_len = 5;
  return s;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Captured {
  std::ostringstream out, err;
  RunHooks hooks() {
    RunHooks h;
    h.out = &out;
    h.err = &err;
    h.name = [](const std::string& s) { return "--" + s; };
    return h;
  }
};

}  // namespace

TEST_CASE("train_run: a tokens run from the library leaves the model, its files and the report") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_run_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path data = write_pieces(dir / "data", 4);
  Captured c;
  RunHooks h = c.hooks();
  int claimed = 0;
  h.claim_folder = [&] {
    ++claimed;
    CHECK(!fs::exists(dir / "run" / kVocabFile));  // claimed before anything is written
  };
  const RunOutcome r = train_run(tiny_settings(data, dir / "run"), h);
  CHECK(claimed == 1);
  CHECK(r.result.reason == StopReason::finished);
  CHECK(r.result.history.size() == 2);
  CHECK(r.batches_per_epoch > 0);
  for (const char* f : {kModelFile, kVocabFile, kPrimersFile, "last.lstmidi", "evaluation.txt"})
    CHECK_MESSAGE(fs::is_regular_file(dir / "run" / f), f);
  CHECK(!fs::exists(dir / "run" / kSettingsFile));  // no settings_text hook: no settings file
  // The report is what was printed and saved: the LSTM against the baselines, 1 of 4 pieces.
  CHECK(r.report == read_text(dir / "run" / "evaluation.txt"));
  CHECK(r.report.find("bigram") != std::string::npos);
  CHECK(r.report.find("best epoch") != std::string::npos);
  const std::string out = c.out.str();
  CHECK(out.find("data: 4 pieces") != std::string::npos);
  CHECK(out.find("split: 1 of 4 pieces held out for validation") != std::string::npos);
  CHECK(out.find("--valid-fraction 0.25") != std::string::npos);  // named by hooks.name
  CHECK(out.find("model: 1 x LSTM(8), embedding 4") != std::string::npos);
  CHECK(out.rfind(r.report) == out.size() - r.report.size());
  // Primers: at most primer_len events per line, from the three training pieces.
  std::istringstream primers(read_text(dir / "run" / kPrimersFile));
  int lines = 0;
  for (std::string line; std::getline(primers, line); ++lines) {
    std::istringstream words(line);
    int n = 0;
    for (std::string w; words >> w;) ++n;
    CHECK(n == 5);
  }
  CHECK(lines == 3);
  // The saved model carries the run's metadata: it loads as a music model.
  const auto mm = load_music_model<float>(dir / "run");
  CHECK(mm.model->config().vocab_size == mm.vocab.size());
  CHECK(mm.pitch_classes.has_value());
  fs::remove_all(dir);
}

TEST_CASE("train_run: the same settings train the same weights, a piano-roll run scores frames") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_run2_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path data = write_pieces(dir / "data", 4);
  TrainSettings s = tiny_settings(data, dir / "a");
  s.mode = "pianoroll";
  s.embedding = TrainSettings{}.embedding;  // tokens-only settings back at their defaults
  s.min_count = TrainSettings{}.min_count;
  s.frame_beats = 0.5;
  Captured c1, c2;
  const RunOutcome a = train_run(s, c1.hooks());
  s.out = (dir / "b").string();
  const RunOutcome b = train_run(s, c2.hooks());
  CHECK(a.report.find("nats per frame") != std::string::npos);
  CHECK(a.report.find("unigram") != std::string::npos);
  const auto wa = load_checkpoint<float>((dir / "a" / kModelFile).string());
  const auto wb = load_checkpoint<float>((dir / "b" / kModelFile).string());
  CHECK(wa.params == wb.params);
  CHECK(wa.meta.at("mode") == "pianoroll");
  fs::remove_all(dir);
}

TEST_CASE("train_run: the nade output is a piano-roll setting that the model config carries") {
  TrainSettings s;
  s.output = "nade";
  s.nade_hidden = 12;
  const auto u = unread_setting(s);  // tokens mode has no frames to order
  REQUIRE(u.has_value());
  CHECK(u->setting == "output");
  CHECK(u->read_by == "mode pianoroll");
  s.mode = "pianoroll";
  CHECK_FALSE(unread_setting(s).has_value());
  const ModelConfig mc = model_config(s, 88);
  CHECK(mc.output == FrameOutput::nade);
  CHECK(mc.nade_hidden == 12);
  CHECK(Model<float>(mc).num_params() == mc.num_params());
  s.output = TrainSettings{}.output;
  s.nade_hidden = TrainSettings{}.nade_hidden;
  CHECK(model_config(s, 88).output == FrameOutput::independent);
  CHECK(model_config(s, 88).nade_hidden == 0);
}

TEST_CASE("train_run: settings the mode does not read, and runs that cannot fit, write nothing") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_run3_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path data = write_pieces(dir / "data", 2);
  TrainSettings s = tiny_settings(data, dir / "run");
  s.mode = "pianoroll";
  s.embedding = 32;
  Captured c;
  RunHooks h = c.hooks();
  CHECK_THROWS_WITH_AS(train_run(s, h),
                       "--embedding is for --mode tokens and has no effect in pianoroll mode",
                       std::invalid_argument);
  s = tiny_settings(data, dir / "run");
  s.encoding = "durations";
  s.tempo_words = true;
  CHECK_THROWS_WITH_AS(
      train_run(s, RunHooks{}),  // default names: the settings' own
      "tempo-words is for encoding events and has no effect with encoding durations",
      std::invalid_argument);
  s = tiny_settings(data, dir / "run");
  s.max_memory = "1K";
  try {
    train_run(s, h);
    FAIL("a run above its memory limit trained");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("of memory to train") != std::string::npos);
    CHECK(what.find("raise --max-memory") != std::string::npos);
  }
  CHECK(!fs::exists(dir / "run"));  // refused before the folder was claimed or written
  fs::remove_all(dir);
}
