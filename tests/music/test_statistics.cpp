// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/statistics.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
Note note(int pitch, double onset, double dur, int velocity = 80) {
  Note n;
  n.pitch = pitch;
  n.onset_beats = onset;
  n.duration_beats = dur;
  n.velocity = velocity;
  return n;
}

// C4 D4 E4 F4 G4 A4 B4 C5, one beat each, back to back.
std::vector<Note> c_major_scale() {
  std::vector<Note> out;
  const int pitches[] = {60, 62, 64, 65, 67, 69, 71, 72};
  for (int i = 0; i < 8; ++i) out.push_back(note(pitches[i], i, 1));
  return out;
}

std::vector<std::vector<Note>> notes_of(const Dataset& ds) {
  std::vector<std::vector<Note>> out;
  for (const Song& s : ds.songs) out.push_back(s.notes);
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
}  // namespace

TEST_CASE("statistics: names and values() agree in order") {
  PieceFeatures f;
  f.pitch_range = 1;
  f.pitch_classes_used = 2;
  f.polyphony = 3;
  f.in_scale_rate = 4;
  f.pitch_class_entropy = 5;
  f.empty_beat_rate = 6;
  f.mean_duration = 7;
  f.mean_ioi = 8;
  f.top_voice_interval = 9;
  f.velocity_spread = 10;
  f.repetition = 11;
  const auto v = f.values();
  for (std::size_t k = 0; k < kNumPieceFeatures; ++k) CHECK(v[k] == static_cast<double>(k + 1));
  CHECK(std::string(kPieceFeatureNames[2]) == "polyphony");
  CHECK(std::string(kPieceFeatureNames[10]) == "repetition");
}

TEST_CASE("statistics: a C major scale, by hand") {
  const PieceFeatures f = piece_features(c_major_scale());
  CHECK(f.pitch_range == 12);
  CHECK(f.pitch_classes_used == 7);
  CHECK(f.polyphony == 1);
  CHECK(f.in_scale_rate == 1);
  // C twice, six classes once, of 8: -(2/8 log2 2/8 + 6/8 log2 1/8) = 0.5 + 2.25.
  CHECK(f.pitch_class_entropy == doctest::Approx(2.75));
  CHECK(f.empty_beat_rate == 0);
  CHECK(f.mean_duration == 1);
  CHECK(f.mean_ioi == 1);
  CHECK(f.top_voice_interval == doctest::Approx(12.0 / 7));  // 2 2 1 2 2 2 1
  CHECK(f.velocity_spread == 0);
  CHECK(f.repetition == 0);  // two different bars
}

TEST_CASE("statistics: a held chord under moving notes") {
  // C3 E3 G3 held for 2 beats from 0; C5 D5 E5 G5 one beat each from 0.
  std::vector<Note> p = {note(48, 0, 2), note(52, 0, 2), note(55, 0, 2)};
  for (int i = 0; i < 4; ++i) p.push_back(note(std::vector<int>{72, 74, 76, 79}[i], i, 1));
  const PieceFeatures f = piece_features(p);
  // Sounding at beat 0: 3 + 1; at 1: the held chord (struck earlier) + 1; at 2 and 3: 1.
  CHECK(f.polyphony == doctest::Approx((4 + 4 + 1 + 1) / 4.0));
  CHECK(f.pitch_range == 79 - 48);
  CHECK(f.pitch_classes_used == 4);                         // C E G D
  CHECK(f.top_voice_interval == doctest::Approx(7.0 / 3));  // 72 74 76 79
  CHECK(f.mean_duration == doctest::Approx((3 * 2 + 4) / 7.0));
  CHECK(f.mean_ioi == 1);
  CHECK(f.in_scale_rate == 1);

  // The top voice follows what sounds: a held high note stays on top while lower notes move.
  const std::vector<Note> held = {note(84, 0, 4), note(60, 0, 1), note(62, 1, 1), note(64, 2, 1),
                                  note(65, 4, 1)};
  // Tops: 84, 84, 84 (held), then 65 at beat 4.
  CHECK(piece_features(held).top_voice_interval == doctest::Approx(19.0 / 3));
}

TEST_CASE("statistics: silence, onsets and velocities") {
  // Beat 0 and beats 3..4 sound; beats 1, 2 are silent; the piece ends at beat 5.
  const std::vector<Note> p = {note(60, 0, 1, 60), note(64, 3, 2, 100)};
  const PieceFeatures f = piece_features(p);
  CHECK(f.empty_beat_rate == doctest::Approx(2.0 / 5));
  CHECK(f.mean_ioi == 3);
  CHECK(f.mean_duration == doctest::Approx(1.5));
  CHECK(f.velocity_spread == doctest::Approx(20));  // population sd of {60, 100}
  CHECK(f.polyphony == 1);
  // Silence before the first note counts: one note at beat 2..3 -> beats 0, 1 empty of 3.
  CHECK(piece_features({note(60, 2, 1)}).empty_beat_rate == doctest::Approx(2.0 / 3));
  // A note that touches a beat only partly fills it: 0.5..1.75 sounds in beats 0 and 1.
  CHECK(piece_features({note(60, 0.5, 1.25), note(60, 3, 1)}).empty_beat_rate ==
        doctest::Approx(1.0 / 4));
}

TEST_CASE("statistics: notes are snapped to the grid first") {
  std::vector<Note> jittered = c_major_scale();
  for (std::size_t i = 0; i < jittered.size(); ++i) {
    jittered[i].onset_beats += (i % 2 ? 0.04 : -0.03);
    jittered[i].duration_beats += 0.05;
  }
  const auto a = piece_features(c_major_scale()).values();
  const auto b = piece_features(jittered).values();
  for (std::size_t k = 0; k < kNumPieceFeatures; ++k) CHECK(a[k] == doctest::Approx(b[k]));
  // On a coarser grid a 16th-note pair merges into one onset.
  const std::vector<Note> pair = {note(60, 0, 0.25), note(62, 0.25, 0.25)};
  CHECK(piece_features(pair, 4).polyphony == 1);
  CHECK(piece_features(pair, 4).mean_ioi == doctest::Approx(0.25));
  CHECK(piece_features(pair, 1).polyphony == 2);  // both at step 0 on a beat grid
  CHECK_THROWS_AS((void)piece_features(pair, 0), std::invalid_argument);
}

TEST_CASE("statistics: scales and pitch classes") {
  std::vector<Note> p = c_major_scale();
  p.push_back(note(66, 8, 1));  // F#: C major and G major both hold 8 of the 9 notes
  CHECK(piece_features(p).in_scale_rate == doctest::Approx(8.0 / 9));
  std::vector<Note> chromatic;
  for (int k = 0; k < 12; ++k) chromatic.push_back(note(60 + k, k, 1));
  const PieceFeatures c = piece_features(chromatic);
  CHECK(c.in_scale_rate == doctest::Approx(7.0 / 12));
  CHECK(c.pitch_classes_used == 12);
  CHECK(c.pitch_class_entropy == doctest::Approx(std::log2(12.0)));
  // A minor melody is in the scale of A natural minor (= C major).
  std::vector<Note> a_minor;
  const int am[] = {57, 59, 60, 62, 64, 65, 67, 69};
  for (int i = 0; i < 8; ++i) a_minor.push_back(note(am[i], i, 1));
  CHECK(piece_features(a_minor).in_scale_rate == 1);
  // One pitch class in many octaves: range large, one class, entropy 0.
  const PieceFeatures o = piece_features({note(36, 0, 1), note(48, 1, 1), note(96, 2, 1)});
  CHECK(o.pitch_range == 60);
  CHECK(o.pitch_classes_used == 1);
  CHECK(o.pitch_class_entropy == 0);
}

TEST_CASE("statistics: drum notes stay out of the pitch features") {
  std::vector<Note> p = c_major_scale();
  const PieceFeatures plain = piece_features(p);
  Note kick = note(36, 0, 0.25);
  kick.drum = true;
  Note snare = note(38, 1, 0.25);
  snare.channel = kDrumChannel;  // a drum by its channel alone
  p.push_back(kick);
  p.push_back(snare);
  const PieceFeatures f = piece_features(p);
  CHECK(f.pitch_range == plain.pitch_range);
  CHECK(f.pitch_classes_used == plain.pitch_classes_used);
  CHECK(f.in_scale_rate == plain.in_scale_rate);
  CHECK(f.pitch_class_entropy == doctest::Approx(plain.pitch_class_entropy));
  CHECK(f.top_voice_interval == doctest::Approx(plain.top_voice_interval));
  // ... but they sound: two onsets now hold two notes each.
  CHECK(f.polyphony == doctest::Approx(10.0 / 8));
  CHECK(f.mean_duration == doctest::Approx((8 + 0.5) / 10));
  // Drums only: pitch features 0, the rest defined.
  const PieceFeatures d = piece_features({kick, snare});
  CHECK(d.pitch_range == 0);
  CHECK(d.pitch_classes_used == 0);
  CHECK(d.in_scale_rate == 0);
  CHECK(d.polyphony == 1);
  CHECK(d.mean_ioi == 1);
}

TEST_CASE("statistics: repetition counts bars equal to an earlier bar") {
  auto bar = [](double start, std::vector<int> pitches) {
    std::vector<Note> out;
    for (std::size_t i = 0; i < pitches.size(); ++i)
      out.push_back(note(pitches[i], start + static_cast<double>(i), 1));
    return out;
  };
  std::vector<Note> p;
  for (auto b : {bar(0, {60, 62, 64, 65}), bar(4, {60, 62, 64, 65}),  // A A
                 bar(8, {60, 62, 64, 67}),                            // B
                 bar(16, {60, 62, 64, 65}),                           // (silent bar 3) A
                 bar(20, {62, 64, 66, 67})})                          // A transposed: new
    p.insert(p.end(), b.begin(), b.end());
  const PieceFeatures f = piece_features(p);
  CHECK(f.repetition == doctest::Approx(2.0 / 5));  // bars 1 and 4 of the 5 non-empty ones
  CHECK(f.empty_beat_rate == doctest::Approx(4.0 / 24));
  // The same pitches with another length are another bar.
  std::vector<Note> q = bar(0, {60, 62, 64, 65});
  q.push_back(note(60, 4, 2));
  q.push_back(note(62, 6, 2));
  const auto r = bar(8, {60, 62, 64, 65});
  q.insert(q.end(), r.begin(), r.end());
  CHECK(piece_features(q).repetition == doctest::Approx(1.0 / 3));
}

TEST_CASE("statistics: empty and unusable pieces") {
  const auto zero = PieceFeatures{}.values();
  CHECK(piece_features({}).values() == zero);
  Note bad = note(60, 0, 1);
  bad.onset_beats = std::nan("");
  CHECK(piece_features({bad}).values() == zero);
  CHECK_FALSE(has_usable_notes({bad}));
  CHECK(has_usable_notes({bad, note(60, 0, 1)}));
  // compare_sets leaves note-less pieces out and refuses a set with none.
  const std::vector<std::vector<Note>> good = {c_major_scale(), c_major_scale()};
  const SetComparison c = compare_sets({c_major_scale(), {}}, good);
  CHECK(c.generated_pieces == 1);
  CHECK(c.reference_pieces == 2);
  CHECK_THROWS_AS((void)compare_sets({{}, {bad}}, good), std::invalid_argument);
  CHECK_THROWS_AS((void)compare_sets(good, {}), std::invalid_argument);
}

TEST_CASE("statistics: overlap_area of simple samples") {
  const std::vector<double> a = {1, 2, 2.5, 3, 4, 4.2, 5, 7};
  CHECK(overlap_area(a, a) == doctest::Approx(1).epsilon(1e-3));
  std::vector<double> far;
  for (double x : a) far.push_back(x + 100);
  CHECK(overlap_area(a, far) < 1e-3);
  const std::vector<double> b = {2, 3, 3.5, 4, 6, 8};
  const double ab = overlap_area(a, b);
  CHECK(ab == doctest::Approx(overlap_area(b, a)).epsilon(1e-12));
  CHECK(ab > 0.3);
  CHECK(ab < 1);
  // Constants: the same one on both sides, two different ones, one value against many.
  CHECK(overlap_area({3, 3, 3}, {3, 3}) == doctest::Approx(1).epsilon(1e-3));
  CHECK(overlap_area({0}, {0}) == doctest::Approx(1).epsilon(1e-3));
  CHECK(overlap_area({-1e6, -1e6}, {-1e6}) == doctest::Approx(1).epsilon(1e-3));
  CHECK(overlap_area({3, 3, 3}, {4, 4}) < 1e-6);
  CHECK(overlap_area({0.001, 0.001}, {0.002}) < 1e-6);
  // One value against a spread sample: smoothed with the spread sample's bandwidth, partly in.
  const double spike = overlap_area({3, 3, 3, 3}, a);
  CHECK(spike > 0.1);
  CHECK(spike < overlap_area(a, a) - 0.1);
  CHECK(spike == doctest::Approx(overlap_area(a, {3, 3, 3, 3})).epsilon(1e-12));
  CHECK_THROWS_AS((void)overlap_area({}, a), std::invalid_argument);
  CHECK_THROWS_AS((void)overlap_area(a, {1, std::nan("")}), std::invalid_argument);
}

TEST_CASE("statistics: overlap_area of mostly-constant samples of one distribution") {
  // Like the chorales' polyphony: 4.0 in nine pieces of ten, a few values below, and sets of
  // different sizes. One bandwidth for both keeps the two spikes at 4 equal.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> low(3.6, 4.0);
  auto sample = [&](int n) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(i % 10 == 0 ? low(rng) : 4.0);
    return v;
  };
  const auto small = sample(76), large = sample(229);
  CHECK(overlap_area(small, large) > 0.85);
  // ... and moving the big spike is noticed.
  std::vector<double> moved = large;
  for (double& x : moved)
    if (x == 4.0) x = 3.8;
  CHECK(overlap_area(small, moved) < 0.3);
}

TEST_CASE("statistics: overlap_area of two normal samples matches the true overlap") {
  // N(0, 1) against N(1, 1): the true overlapping area is 2 Phi(-1/2) = 0.6171.
  std::mt19937 rng(7);
  std::normal_distribution<double> z;
  std::vector<double> a, b, c;
  for (int i = 0; i < 3000; ++i) {
    a.push_back(z(rng));
    b.push_back(z(rng) + 1);
    c.push_back(z(rng));
  }
  CHECK(overlap_area(a, b) == doctest::Approx(0.6171).epsilon(0.05));
  CHECK(overlap_area(a, c) > 0.93);  // two samples of one distribution
  // Scale does not matter: the same samples in other units give the same overlap.
  std::vector<double> a2, b2;
  for (double x : a) a2.push_back(1000 * x + 5);
  for (double x : b) b2.push_back(1000 * x + 5);
  CHECK(overlap_area(a2, b2) == doctest::Approx(overlap_area(a, b)).epsilon(1e-6));
}

#ifdef LSTMIDI_CORPUS_DIR
TEST_CASE("statistics: chorales train vs valid look alike, random notes do not") {
  const std::filesystem::path corpus(LSTMIDI_CORPUS_DIR);
  const Dataset train = load_folder(corpus / "train");
  const Dataset valid = load_folder(corpus / "valid");
  REQUIRE(train.songs.size() == 229);
  REQUIRE(valid.songs.size() == 76);
  const auto ref = notes_of(train), gen = notes_of(valid);
  const SetComparison real = compare_sets(gen, ref);
  REQUIRE(real.features.size() == kNumPieceFeatures);
  CHECK(real.generated_pieces == 76);
  CHECK(real.reference_pieces == 229);
  MESSAGE("chorales valid vs train: mean overlap " << real.mean_overlap);
  for (const auto& f : real.features) {
    MESSAGE(f.name << ": valid " << f.generated_mean << ", train " << f.reference_mean
                   << ", overlap " << f.overlap);
    CHECK(f.overlap > 0.8);  // two halves of one corpus
  }
  CHECK(real.mean_overlap > 0.85);
  // Chorales: four voices, in a key.
  CHECK(real.features[2].reference_mean > 2.5);   // polyphony
  CHECK(real.features[3].reference_mean > 0.85);  // in_scale_rate

  // Garbage with the valid pieces' sizes: random pitches, onsets, lengths and velocities.
  std::mt19937 rng(11);
  std::vector<std::vector<Note>> garbage, repitched;
  for (const auto& piece : gen) {
    double end = 0;
    for (const Note& n : piece) end = std::max(end, n.onset_beats + n.duration_beats);
    std::uniform_int_distribution<int> pitch(21, 108), vel(1, 127), step(0, int(end * 4)),
        len(1, 16);
    std::vector<Note> g, r;
    for (const Note& n : piece) {
      g.push_back(note(pitch(rng), step(rng) / 4.0, len(rng) / 4.0, vel(rng)));
      Note m = n;  // the same rhythm, random pitches
      m.pitch = pitch(rng);
      r.push_back(m);
    }
    garbage.push_back(g);
    repitched.push_back(r);
  }
  const SetComparison junk = compare_sets(garbage, ref);
  MESSAGE("random notes vs train: mean overlap " << junk.mean_overlap);
  CHECK(junk.mean_overlap < real.mean_overlap - 0.4);
  // Random pitches on the chorales' own rhythm: the rhythm features still agree, the pitch
  // features (range, classes, scale, entropy, top voice) do not.
  const SetComparison pitches = compare_sets(repitched, ref);
  MESSAGE("random pitches vs train: mean overlap " << pitches.mean_overlap);
  CHECK(pitches.mean_overlap < real.mean_overlap - 0.2);
  // (pitch_classes_used keeps some overlap: random pitches use all 12, as do ~15% of chorales)
  for (std::size_t k : {0, 1, 3, 4, 8})
    CHECK(pitches.features[k].overlap < real.features[k].overlap - 0.5);
  for (std::size_t k : {2, 5, 6, 7, 9})
    CHECK(pitches.features[k].overlap == doctest::Approx(real.features[k].overlap));
  std::vector<double> real_pitch, random_pitch;
  for (std::size_t k : {0, 1, 3, 4, 8}) {
    real_pitch.push_back(real.features[k].overlap);
    random_pitch.push_back(pitches.features[k].overlap);
  }
  CHECK(mean_of(random_pitch) < mean_of(real_pitch) - 0.5);
}
#endif
