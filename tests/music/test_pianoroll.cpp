// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <tuple>

#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/pianoroll.hpp"
#include "lstmidi/train/trainer.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

namespace {
Note note(int pitch, double onset, double dur) {
  Note n;
  n.pitch = pitch;
  n.onset_beats = onset;
  n.duration_beats = dur;
  return n;
}

// Piece i: n frames, frame t holds keys {(t + i) % 40 + 20, 60}; every 7th frame a rest.
std::vector<std::vector<Frame>> roll_pieces(int count, int n) {
  std::vector<std::vector<Frame>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<Frame> p;
    for (int t = 0; t < n + i; ++t) {
      if (t % 7 == 6) {
        p.push_back({});
        continue;
      }
      Frame f{static_cast<std::uint8_t>((t + i) % 40 + 20), 60};
      std::sort(f.begin(), f.end());
      f.erase(std::unique(f.begin(), f.end()), f.end());
      p.push_back(f);
    }
    out.push_back(p);
  }
  return out;
}

bool same(const FrameBatch& a, const FrameBatch& b) {
  return a.T == b.T && a.B == b.B && a.inputs == b.inputs && a.targets == b.targets &&
         a.mask == b.mask;
}

fs::path shared_data() {
  for (const char* d : {"/work/shared/data", "../shared/data", "../../shared/data"})
    if (fs::is_directory(d)) return d;
  return {};
}
}  // namespace

TEST_CASE("pianoroll: onsets and midpoints on the grid, trailing rests from the length") {
  RollOptions o;  // 1 beat per frame, keys 21..108
  const std::vector<Note> notes{note(60, 0, 1), note(64, 0.25, 0.5),  // starts in frame 0
                                note(67, 1.6, 1.0),  // starts in frame 1, sounds at 2.5
                                note(72, 2.9, 0.1),  // starts in frame 2 only
                                note(10, 0, 1)};     // below the keys: dropped
  std::size_t dropped = 0;
  const auto frames = notes_to_frames(notes, 6.0, o, &dropped);
  CHECK(dropped == 1);
  REQUIRE(frames.size() == 6);  // End-of-Track at beat 6: frames 3..5 are rests
  CHECK(frames[0] == Frame{39, 43});
  CHECK(frames[1] == Frame{46});
  CHECK(frames[2] == Frame{46, 51});
  CHECK(frames[3].empty());
  CHECK(frames[5].empty());
  // A note that ends on a frame boundary does not reach the next frame.
  CHECK(notes_to_frames({note(60, 0, 2)}, 0, o).size() == 2);
  // Half-beat frames (Nottingham grid).
  RollOptions half;
  half.frame_beats = 0.5;
  const auto f2 = notes_to_frames({note(60, 0.5, 1.0)}, 2.0, half);
  REQUIRE(f2.size() == 4);
  CHECK(f2[0].empty());
  CHECK(f2[1] == Frame{39});
  CHECK(f2[2] == Frame{39});
  CHECK(f2[3].empty());
}

TEST_CASE("pianoroll: frames back to notes, held or re-attacked, text round trip") {
  RollOptions o;
  const std::vector<Frame> frames{{39}, {39, 43}, {43}, {}, {39}};
  const auto held = frames_to_notes(frames, o);
  REQUIRE(held.size() == 3);
  CHECK(held[0] == note(60, 0, 2));
  CHECK(held[1] == note(64, 1, 2));
  CHECK(held[2] == note(60, 4, 1));
  const auto re = frames_to_notes(frames, o, /*reattack=*/true);
  CHECK(re.size() == 5);
  // held notes read back to the same frames
  CHECK(notes_to_frames(held, 5, o) == frames);
  CHECK(notes_to_frames(re, 5, o) == frames);
  const std::string line = frames_to_line(frames, o);
  CHECK(line == "C4 C4.E4 E4 rest C4");
  CHECK(parse_frame_line(line, o) == frames);
  CHECK_THROWS_AS(parse_frame("C4.X9", o), std::invalid_argument);
  CHECK_THROWS_AS(parse_frame("C0", o), std::invalid_argument);  // below A0
}

TEST_CASE("pianoroll: a written file reads back with its trailing rest") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_roll_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RollOptions o;
  const std::vector<Frame> frames{{39, 43}, {39, 43}, {46}};
  write_midi(dir / "a.mid", frames_to_notes(frames, o, true));
  const Song s = read_midi(dir / "a.mid");
  CHECK(s.length_beats == doctest::Approx(3.0));
  CHECK(song_to_frames(s, o) == frames);
  fs::remove_all(dir);
}

TEST_CASE("frame sampler: targets are the next frame, the first predicted from zeros") {
  FrameWindowOptions o;
  o.steps = 4;
  o.stride = 4;
  o.batch_size = 1;
  o.valid_fraction = 0;
  const auto data = roll_pieces(1, 10);  // 10 frames -> starts 0, 4, and the tail window at 6
  FrameSampler s(data, o);
  CHECK(s.train_windows() == 3);
  std::set<Index> starts;
  std::vector<int> seen(10, 0);
  for (int i = 0; i < 3; ++i) {
    const FrameBatch b = s.next_batch();
    // find the window's start from its first target
    Index start = -1;
    for (Index t0 = 0; t0 < 10; ++t0) {
      bool match = true;
      for (Index k = 0; k < 88; ++k)
        match = match && ((b.targets(k, 0) == 1) ==
                          (std::count(data[0][t0].begin(), data[0][t0].end(), k) > 0));
      if (match) {
        start = t0;
        break;
      }
    }
    REQUIRE(start >= 0);
    starts.insert(start);
    for (Index t = 0; t < 4; ++t) {
      CHECK(b.mask[static_cast<size_t>(t)] == 1);
      ++seen[static_cast<size_t>(start + t)];
      if (start + t == 0)
        CHECK(b.inputs.col(0).sum() == 0);
      else
        for (std::uint8_t k : data[0][static_cast<size_t>(start + t - 1)])
          CHECK(b.inputs(k, t) == 1);
    }
  }
  CHECK(starts == std::set<Index>{0, 4, 6});
  for (int c : seen) CHECK(c >= 1);
  CHECK(s.position().epoch == 1);
}

TEST_CASE("frame sampler: piece split, separate validation pieces count every frame once") {
  FrameWindowOptions o;
  o.steps = 8;
  o.stride = 2;
  o.batch_size = 3;
  o.valid_fraction = 0.25;
  const auto data = roll_pieces(8, 30);
  FrameSampler s(data, o);
  int n_valid = 0;
  std::size_t valid_frames = 0;
  for (std::size_t i = 0; i < data.size(); ++i)
    if (s.is_validation_piece(i)) ++n_valid, valid_frames += data[i].size();
  CHECK(n_valid == 2);
  Index counted = 0;
  FrameBatch b;
  for (std::size_t i = 0; i < s.valid_batches(); ++i) {
    s.valid_batch(i, b);
    for (auto m : b.mask) counted += m;
  }
  CHECK(counted == static_cast<Index>(valid_frames));
  // Separate validation pieces: all given pieces train.
  const auto extra = roll_pieces(3, 17);
  FrameSampler sep(data, o, extra);
  for (std::size_t i = 0; i < data.size(); ++i) CHECK_FALSE(sep.is_validation_piece(i));
  counted = 0;
  for (std::size_t i = 0; i < sep.valid_batches(); ++i) {
    sep.valid_batch(i, b);
    for (auto m : b.mask) counted += m;
  }
  CHECK(counted == 17 + 18 + 19);
  CHECK(sep.pieces(true).size() == 3);
  CHECK(sep.checksum() != s.checksum());
}

TEST_CASE("frame sampler: same seed same batches, resumes exactly, transposition stays in range") {
  FrameWindowOptions o;
  o.steps = 6;
  o.stride = 3;
  o.batch_size = 4;
  o.max_transpose = 3;
  o.seed = 9;
  const auto data = roll_pieces(6, 25);
  FrameSampler a(data, o), b(data, o);
  std::vector<FrameBatch> run;
  const std::size_t total = 2 * a.batches_per_epoch() + 3;
  for (std::size_t i = 0; i < total; ++i) {
    run.push_back(a.next_batch());
    CHECK(same(run.back(), b.next_batch()));
  }
  FrameSampler c(data, o);
  CHECK(c.train_windows() > FrameSampler(data,
                                         [&] {
                                           auto p = o;
                                           p.max_transpose = 0;
                                           return p;
                                         }())
                                .train_windows());
  const std::size_t k = a.batches_per_epoch() + 1;
  FrameSampler resumed(data, o);
  resumed.seek({k / resumed.batches_per_epoch(), k % resumed.batches_per_epoch()});
  for (std::size_t i = k; i < total; ++i) CHECK(same(run[i], resumed.next_batch()));
  CHECK_THROWS_AS(resumed.seek({0, 100000}), std::invalid_argument);
  // The epoch order differs between epochs.
  bool differs = false;
  for (std::size_t i = 0; i < a.batches_per_epoch(); ++i)
    differs = differs || !same(run[i], run[i + a.batches_per_epoch()]);
  CHECK(differs);
}

// A small pianoroll training set-up for the trainer tests: windows of 8 frames, 12 units.
static FrameWindowOptions tiny_windows() {
  FrameWindowOptions wo;
  wo.steps = 8;
  wo.stride = 4;
  wo.batch_size = 4;
  wo.keys = 88;
  return wo;
}

static ModelConfig tiny_roll_model() {
  ModelConfig mc;
  mc.mode = ModelMode::pianoroll;
  mc.vocab_size = 88;
  mc.embedding_size = 0;
  mc.hidden_sizes = {12};
  mc.dropout = 0.2;
  return mc;
}

TEST_CASE("frame sampler: the trainer resumes a pianoroll run exactly") {
  const fs::path dir =
      fs::temp_directory_path() / ("lstmidi_rolltrain_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const FrameWindowOptions wo = tiny_windows();
  const auto data = roll_pieces(6, 30);
  const ModelConfig mc = tiny_roll_model();
  TrainOptions to;
  to.epochs = 3;
  to.adam.lr = 0.01;
  struct UnitSeen : TrainObserver {
    std::string unit;
    void on_batch(const BatchProgress& p) override { unit = p.unit; }
  } seen;
  auto train = [&](const fs::path& out, int epochs, bool resume) {
    FrameSampler s(data, wo);
    Model<float> m(mc);
    Rng rng(4);
    m.init(rng);
    TrainOptions t = to;
    t.epochs = epochs;
    t.out_dir = out.string();
    Trainer<float, FrameSampler> tr(m, s, t, rng);
    static_assert(std::is_same_v<Trainer<float, FrameSampler>::Batch, FrameBatch>);
    if (resume) tr.resume();
    const TrainResult r = tr.run(&seen);
    return std::make_pair(Vector<float>(m.params().values), r);
  };
  const auto straight = train(dir / "a", 3, false);
  CHECK(seen.unit == "frames");  // progress counts frames, not tokens
  CHECK(straight.second.history.size() == 3);
  CHECK(straight.second.history.back().valid_loss < straight.second.history.front().valid_loss);
  // exp(nats per frame) is no perplexity: a piano-roll run leaves it NaN.
  for (const EpochStats& e : straight.second.history) CHECK(std::isnan(e.valid_perplexity));
  train(dir / "b", 1, false);
  const auto resumed = train(dir / "b", 3, true);
  CHECK(resumed.first == straight.first);
  fs::remove_all(dir);
}

TEST_CASE("trainer: without an output folder it trains in memory, writes nothing, keeps the best") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_mem_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const FrameWindowOptions wo = tiny_windows();
  const auto data = roll_pieces(6, 30);
  auto train = [&](const std::string& out) {
    FrameSampler s(data, wo);
    Model<float> m(tiny_roll_model());
    Rng rng(4);
    m.init(rng);
    TrainOptions t;
    t.epochs = 3;
    t.adam.lr = 0.01;
    t.out_dir = out;
    Trainer<float, FrameSampler> tr(m, s, t, rng);
    const TrainResult r = tr.run();
    return std::make_tuple(Vector<float>(m.params().values), r, Vector<float>(tr.best_weights()));
  };
  const auto [on_disk, r_disk, best_disk] = train((dir / "run").string());
  const auto cwd = fs::current_path();
  fs::create_directories(dir / "empty");
  fs::current_path(dir / "empty");
  const auto [in_memory, r_mem, best_mem] = train("");
  fs::current_path(cwd);
  CHECK(in_memory == on_disk);  // the same training, files or not
  CHECK(r_mem.best_epoch == r_disk.best_epoch);
  CHECK(fs::is_empty(dir / "empty"));  // nothing written where it ran
  CHECK(best_disk.size() == 0);        // with a folder the best weights are in model.lstmidi
  REQUIRE(best_mem.size() == in_memory.size());
  const Checkpoint<float> saved = load_checkpoint<float>((dir / "run" / "model.lstmidi").string());
  CHECK(saved.params == best_mem);  // the best epoch's weights, as the folder run saved them
  fs::remove_all(dir);
}

TEST_CASE("trainer: weight averaging validates and saves the average, and resumes exactly") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_avg_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const FrameWindowOptions wo = tiny_windows();
  const auto data = roll_pieces(6, 30);
  const ModelConfig mc = tiny_roll_model();
  auto train = [&](const fs::path& out, int epochs, bool resume, double decay) {
    FrameSampler s(data, wo);
    Model<float> m(mc);
    Rng rng(4);
    m.init(rng);
    TrainOptions t;
    t.epochs = epochs;
    t.adam.lr = 0.01;
    t.weight_average = decay;
    t.out_dir = out.string();
    Trainer<float, FrameSampler> tr(m, s, t, rng);
    if (resume) tr.resume();
    const TrainResult r = tr.run();
    return std::make_tuple(Vector<float>(m.params().values), r,
                           Vector<float>(tr.weight_average().value()));
  };
  const auto [w, result, avg] = train(dir / "a", 3, false, 0.9);
  REQUIRE(result.history.size() == 3);
  REQUIRE(avg.size() == w.size());
  CHECK(avg != w);
  // Same path of weights as without averaging: the average is only read, never trained.
  const auto [w_plain, result_plain, avg_plain] = train(dir / "plain", 3, false, 0.0);
  CHECK(w_plain == w);
  CHECK(avg_plain.size() == 0);
  CHECK(result.history[0].train_loss == result_plain.history[0].train_loss);
  // model.lstmidi holds the average of its epoch: its validation loss is the one recorded.
  const Checkpoint<float> best = load_checkpoint<float>((dir / "a" / "model.lstmidi").string());
  CHECK(best.params != w);
  auto model = model_from_checkpoint(best);
  FrameSampler s(data, wo);
  FrameBatch vb;
  LossTotals v;
  for (std::size_t i = 0; i < s.valid_batches(); ++i) {
    s.valid_batch(i, vb);
    auto st = model->zero_state(vb.B);
    v += model->evaluate(vb, st);
  }
  CHECK(v.mean() == doctest::Approx(result.best_valid_loss).epsilon(1e-12));
  if (result.best_epoch == 3) CHECK(best.params == avg);
  // last.lstmidi carries the trained weights and the average, so a resumed run is exact.
  const Checkpoint<float> last = load_checkpoint<float>((dir / "a" / "last.lstmidi").string());
  CHECK(last.params == w);
  CHECK(last.has_average);
  CHECK(last.average == avg);
  train(dir / "b", 1, false, 0.9);
  const auto [w2, result2, avg2] = train(dir / "b", 3, true, 0.9);
  CHECK(w2 == w);
  CHECK(avg2 == avg);
  CHECK(result2.best_valid_loss == result.best_valid_loss);
  // Resuming with another averaging setting is refused with the reason.
  CHECK_THROWS_WITH(train(dir / "b", 4, true, 0.0), doctest::Contains("weight-average setting"));
  CHECK_THROWS_WITH(train(dir / "plain", 4, true, 0.9),
                    doctest::Contains("weight-average setting"));
  fs::remove_all(dir);
}

TEST_CASE(
    "trainer: lr_decay lowers the rate after each epoch without improvement, resume keeps it") {
  const fs::path dir =
      fs::temp_directory_path() / ("lstmidi_lrdecay_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const FrameWindowOptions wo = tiny_windows();
  const auto data = roll_pieces(6, 30);
  const ModelConfig mc = tiny_roll_model();
  auto train = [&](const fs::path& out, int epochs, bool resume) {
    FrameSampler s(data, wo);
    Model<float> m(mc);
    Rng rng(4);
    m.init(rng);
    TrainOptions t;
    t.epochs = epochs;
    t.adam.lr = 3.0;  // far too large on purpose: the validation loss goes up now and then
    t.lr_decay = 0.5;
    t.out_dir = out.string();
    Trainer<float, FrameSampler> tr(m, s, t, rng);
    if (resume) tr.resume();
    const TrainResult r = tr.run();
    return std::make_tuple(Vector<float>(m.params().values), r, tr.optimizer().config().lr);
  };
  const auto [w, result, lr] = train(dir / "a", 8, false);
  REQUIRE(result.history.size() == 8);
  int plateaus = 0;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& e : result.history) {
    if (e.valid_loss < best)
      best = e.valid_loss;
    else
      ++plateaus;
  }
  CHECK(plateaus > 0);
  CHECK(lr == doctest::Approx(3.0 * std::pow(0.5, plateaus)).epsilon(1e-12));
  train(dir / "b", 4, false);
  const auto [w2, result2, lr2] = train(dir / "b", 8, true);
  CHECK(lr2 == lr);
  CHECK(w2 == w);
  fs::remove_all(dir);
}

TEST_CASE("generate_frames: zero frame, then the primer, then one draw per key and frame") {
  Model<float> m(tiny_roll_model());
  Rng init(9);
  m.init(init);
  const std::vector<Frame> primer = {{39, 43, 46}, {}, {41, 44}};
  const double temperature = 0.8;

  // The same computation written out with step_frame.
  Rng rng_manual(5);
  auto state = m.zero_state(1);
  Matrix<float> x = Matrix<float>::Zero(88, 1);
  Matrix<float> z = m.step_frame(x, state);
  auto feed = [&](const Frame& f) {
    x.setZero();
    for (std::uint8_t k : f) x(k, 0) = 1;
    z = m.step_frame(x, state);
  };
  for (const Frame& f : primer) feed(f);
  std::vector<Frame> expect;
  for (int i = 0; i < 12; ++i) {
    Frame f;
    for (int k = 0; k < 88; ++k)
      if (rng_manual.uniform() < stable_sigmoid(static_cast<double>(z(k, 0)) / temperature))
        f.push_back(static_cast<std::uint8_t>(k));
    expect.push_back(f);
    feed(f);
  }
  Rng rng(5);
  const std::vector<Frame> got = generate_frames(m, primer, 12, temperature, rng);
  CHECK(got == expect);
  std::size_t on = 0;
  for (const Frame& f : got) on += f.size();
  CHECK(on > 0);        // an untrained model turns keys on about half the time: not all empty...
  CHECK(on < 12 * 88);  // ...and not all full

  // Temperature 0 thresholds at p = 1/2 and draws nothing; a tiny temperature agrees with it.
  Rng a(1), b(2), c(3);
  const auto t0a = generate_frames(m, primer, 20, 0.0, a);
  CHECK(t0a == generate_frames(m, primer, 20, 0.0, b));
  CHECK(t0a == generate_frames(m, primer, 20, 1e-12, c));
  CHECK(generate_frames(m, {}, 0, 1.0, a).empty());
  CHECK(generate_frames(m, {}, 3, 1.0, a).size() == 3);  // no primer: starts from the zero frame

  CHECK_THROWS_AS(generate_frames(m, {{88}}, 3, 1.0, a), std::invalid_argument);
  CHECK_THROWS_AS(generate_frames(m, primer, 3, -1.0, a), std::invalid_argument);
  CHECK_THROWS_AS(generate_frames(m, primer, -1, 1.0, a), std::invalid_argument);
  ModelConfig tokens;
  tokens.vocab_size = 10;
  tokens.hidden_sizes = {4};
  Model<float> token_model(tokens);
  CHECK_THROWS_WITH_AS(generate_frames(token_model, primer, 3, 1.0, a),
                       doctest::Contains("token model"), std::invalid_argument);
}

TEST_CASE("pianoroll: benchmark frame counts match the published tables") {
  const fs::path root = shared_data();
  if (root.empty()) {
    MESSAGE("skipped: the benchmark folders (shared/data) are not present");
    return;
  }
  struct Case {
    const char* dir;
    double frame_beats;
    std::size_t files, frames;
  };
  for (const Case& c :
       {Case{"jsb_chorales/train", 1.0, 229, 13807}, Case{"jsb_chorales/valid", 1.0, 76, 4602},
        Case{"nottingham/train", 0.5, 694, 176561}, Case{"nottingham/valid", 0.5, 173, 45513}}) {
    if (!fs::is_directory(root / c.dir)) continue;
    RollOptions o;
    o.frame_beats = c.frame_beats;
    const RollCorpus rc = load_roll_corpus(root / c.dir, o);
    INFO(c.dir);
    CHECK(rc.skipped == 0);
    CHECK(rc.dropped_notes == 0);
    CHECK(rc.pieces.size() == c.files);
    CHECK(rc.frames == c.frames);
    // Repeated frames are re-attacks, so one chord per non-empty frame: frames with notes ==
    // distinct onset frames.
    std::size_t empty = 0;
    for (const auto& p : rc.pieces)
      for (const Frame& f : p) empty += f.empty();
    if (std::string(c.dir) == "jsb_chorales/train") CHECK(empty == 18);
    if (std::string(c.dir) == "nottingham/train") CHECK(empty == 487);
  }
}
