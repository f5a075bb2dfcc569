// SPDX-License-Identifier: MIT
/// Piano-roll frames: notes on a fixed time grid as multi-hot 88-key vectors, the data of the
/// polyphonic benchmarks (Boulanger-Lewandowski et al. 2012: JSB Chorales, Nottingham...).
///
/// Grid: frame t covers beats [t F, (t+1) F), F = RollOptions::frame_beats (JSB benchmark files:
/// F = 1 beat = 480 ticks at PPQ 480; Nottingham: F = 0.5 beat = 240 ticks). Key k (MIDI pitch
/// low_pitch + k, 21..108 for the 88 piano keys) is on in frame t when a note of that pitch
///   - starts inside the frame:            t F <= onset < (t+1) F, or
///   - sounds at the frame's midpoint:     onset <= (t + 1/2) F < onset + duration.
/// The number of frames is ceil(max(Song::length_beats, end of the last note) / F), so trailing
/// rests up to the End-of-Track count (the benchmark files put it at n_frames * F). Notes outside
/// the key range are dropped and counted. Comparisons use a tolerance of 1e-9 frames, so grid
/// times computed as tick / PPQ land in the right frame.
///
/// Frames back to notes (frames_to_notes): a key on in consecutive frames becomes one held note,
/// or one note per frame with `reattack`.
///
/// Next-frame prediction: each piece is preceded by an all-zero frame, so with frames
/// f_0 .. f_{n-1} the inputs are 0, f_0 .. f_{n-2} and the targets f_0 .. f_{n-1}: every frame
/// of the piece is predicted, the first one from the zero frame.
///
/// FrameSampler mirrors WindowSampler (windows.hpp): windows of T steps over the sequence
/// 0, f_0, .., f_{n-1} with stride S (plus one window ending at the piece's end, so every target
/// is trained on), validation split BY PIECE (core/piece_split.hpp, or a separate list of
/// validation pieces), optional transposition of training windows by +-N semitones (a shift is
/// used only when the whole piece stays in the key range), epoch order from a Fisher-Yates
/// shuffle drawn from Rng(seed, epoch + 1), and a resumable {epoch, batch} position. Validation
/// windows do not overlap (stride T), so each validation frame is scored exactly once per pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/epoch_order.hpp"
#include "lstmidi/core/frame_batch.hpp"
#include "lstmidi/core/piece_split.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/windows.hpp"

namespace lstmidi::music {

struct RollOptions {
  double frame_beats = 1.0;  // F: frame length in beats (quarter notes)
  int low_pitch = 21;        // MIDI pitch of key 0 (A0)
  int keys = 88;             // K

  void validate() const {
    require(std::isfinite(frame_beats) && frame_beats >= 1.0 / 64 && frame_beats <= 64,
            "piano roll: frame length must be in [1/64, 64] beats, got ", frame_beats);
    require(keys >= 1 && keys <= 128 && low_pitch >= 0 && low_pitch + keys <= 128,
            "piano roll: keys ", low_pitch, " + ", keys, " must stay within MIDI pitches 0..127");
  }
};

/// The keys on in one frame: sorted, distinct key indices 0..K-1 (pitch - low_pitch).
using Frame = std::vector<std::uint8_t>;

namespace detail {
inline constexpr double kGridTolerance = 1e-9;  // in frames
}  // namespace detail

/// Notes -> frames (see the header comment). `length_beats` extends the roll with trailing rests;
/// `dropped`, when given, receives the number of notes outside the key range.
inline std::vector<Frame> notes_to_frames(const std::vector<Note>& notes, double length_beats,
                                          const RollOptions& opt, std::size_t* dropped = nullptr) {
  opt.validate();
  const double F = opt.frame_beats, eps = detail::kGridTolerance;
  double end = std::max(0.0, length_beats);
  for (const Note& n : notes) end = std::max(end, n.onset_beats + n.duration_beats);
  const auto n_frames = static_cast<std::size_t>(std::max(0.0, std::ceil(end / F - eps)));
  std::vector<std::vector<bool>> on(n_frames,
                                    std::vector<bool>(static_cast<size_t>(opt.keys), false));
  std::size_t out = 0;
  for (const Note& n : notes) {
    const int k = n.pitch - opt.low_pitch;
    if (k < 0 || k >= opt.keys) {
      ++out;
      continue;
    }
    const double a = n.onset_beats / F, b = (n.onset_beats + n.duration_beats) / F;
    const auto start = static_cast<std::int64_t>(std::floor(a + eps));
    if (start >= 0 && static_cast<std::size_t>(start) < n_frames)
      on[static_cast<size_t>(start)][static_cast<size_t>(k)] = true;
    // midpoints (t + 1/2) in [a, b):  t >= a - 1/2  and  t < b - 1/2
    const auto lo = static_cast<std::int64_t>(std::ceil(a - 0.5 - eps));
    const auto hi = static_cast<std::int64_t>(std::ceil(b - 0.5 - eps));
    for (std::int64_t t = std::max<std::int64_t>(lo, 0);
         t < hi && static_cast<std::size_t>(t) < n_frames; ++t)
      on[static_cast<size_t>(t)][static_cast<size_t>(k)] = true;
  }
  if (dropped) *dropped = out;
  std::vector<Frame> frames(n_frames);
  for (std::size_t t = 0; t < n_frames; ++t)
    for (int k = 0; k < opt.keys; ++k)
      if (on[t][static_cast<size_t>(k)]) frames[t].push_back(static_cast<std::uint8_t>(k));
  return frames;
}

inline std::vector<Frame> song_to_frames(const Song& song, const RollOptions& opt,
                                         std::size_t* dropped = nullptr) {
  return notes_to_frames(song.notes, song.length_beats, opt, dropped);
}

/// Frames -> notes starting at `start_beats`: consecutive frames with the same key on become one
/// held note, or one note per frame when `reattack`.
inline std::vector<Note> frames_to_notes(const std::vector<Frame>& frames, const RollOptions& opt,
                                         bool reattack = false, int velocity = 80,
                                         double start_beats = 0.0) {
  opt.validate();
  const double F = opt.frame_beats;
  std::vector<Note> notes;
  std::vector<std::int64_t> since(static_cast<size_t>(opt.keys),
                                  -1);  // first frame of the held run
  auto emit = [&](int k, std::int64_t from, std::int64_t to) {
    Note n;
    n.pitch = opt.low_pitch + k;
    n.velocity = velocity;
    n.onset_beats = start_beats + static_cast<double>(from) * F;
    n.duration_beats = static_cast<double>(to - from) * F;
    notes.push_back(n);
  };
  const auto n_frames = static_cast<std::int64_t>(frames.size());
  for (std::int64_t t = 0; t <= n_frames; ++t) {
    std::vector<bool> now(static_cast<size_t>(opt.keys), false);
    if (t < n_frames)
      for (std::uint8_t k : frames[static_cast<size_t>(t)]) {
        require(k < opt.keys, "frames_to_notes: key ", int(k), " outside 0..", opt.keys - 1);
        now[k] = true;
      }
    for (int k = 0; k < opt.keys; ++k) {
      auto& s = since[static_cast<size_t>(k)];
      if (s >= 0 && (!now[static_cast<size_t>(k)] || reattack)) {
        emit(k, s, t);
        s = -1;
      }
      if (now[static_cast<size_t>(k)] && s < 0) s = t;
    }
  }
  std::sort(notes.begin(), notes.end(), [](const Note& x, const Note& y) {
    return x.onset_beats != y.onset_beats ? x.onset_beats < y.onset_beats : x.pitch < y.pitch;
  });
  return notes;
}

/// "C4.E4.G4" for a frame, "rest" for an empty one.
inline std::string frame_to_string(const Frame& f, const RollOptions& opt) {
  if (f.empty()) return "rest";
  std::string s;
  for (std::uint8_t k : f) s += (s.empty() ? "" : ".") + pitch_name(opt.low_pitch + k);
  return s;
}

/// Parses frame_to_string's format; throws std::invalid_argument naming the bad part.
inline Frame parse_frame(const std::string& text, const RollOptions& opt) {
  Frame f;
  if (text == "rest") return f;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, '.');) {
    const int p = parse_pitch_name(part);
    require(p >= 0, "piano-roll frame '", text, "': '", part, "' is not a pitch name");
    require(p >= opt.low_pitch && p < opt.low_pitch + opt.keys, "piano-roll frame '", text,
            "': ", part, " is outside the model's keys");
    f.push_back(static_cast<std::uint8_t>(p - opt.low_pitch));
  }
  std::sort(f.begin(), f.end());
  f.erase(std::unique(f.begin(), f.end()), f.end());
  return f;
}

/// Frames as one line, space-separated (the primers.txt format of a pianoroll model).
inline std::string frames_to_line(const std::vector<Frame>& frames, const RollOptions& opt) {
  std::string line;
  for (const Frame& f : frames) line += (line.empty() ? "" : " ") + frame_to_string(f, opt);
  return line;
}

inline std::vector<Frame> parse_frame_line(const std::string& line, const RollOptions& opt) {
  std::vector<Frame> frames;
  std::istringstream ss(line);
  for (std::string w; ss >> w;) frames.push_back(parse_frame(w, opt));
  return frames;
}

/// A folder of MIDI files as frame sequences, one per file.
struct RollCorpus {
  std::vector<std::string> files;
  std::vector<std::vector<Frame>> pieces;
  std::vector<std::string> warnings;
  std::size_t skipped = 0;        // unreadable files
  std::size_t frames = 0;         // total frames
  std::size_t dropped_notes = 0;  // notes outside the key range
};

/// Loads every MIDI file under `path` (recursive, sorted) as frames. Files with no frames are
/// left out with a warning; an empty result throws std::invalid_argument.
inline RollCorpus load_roll_corpus(const std::filesystem::path& path, const RollOptions& opt,
                                   const ReadOptions& read = {}) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(path.string() + ": no such file or directory");
  Dataset ds = load_folder(path, read);
  RollCorpus c;
  c.warnings = std::move(ds.warnings);
  c.skipped = ds.skipped;
  for (const Song& s : ds.songs) {
    std::size_t dropped = 0;
    std::vector<Frame> frames = song_to_frames(s, opt, &dropped);
    c.dropped_notes += dropped;
    if (dropped)
      c.warnings.push_back(
          detail::concat(s.source, ": ", dropped, " note(s) outside the keys dropped"));
    if (frames.empty()) {
      c.warnings.push_back(s.source + ": no frames, not used");
      continue;
    }
    c.frames += frames.size();
    c.files.push_back(s.source);
    c.pieces.push_back(std::move(frames));
  }
  require(!c.pieces.empty(), path.string(), ": no usable MIDI files (", c.skipped,
          " skipped as unreadable)");
  return c;
}

/// The unigram baseline's key probabilities: p_k = (count_k + 1) / (n + 2), the add-one
/// smoothed share of the n training frames in which key k is on.
inline std::vector<double> unigram_key_probabilities(const std::vector<std::vector<Frame>>& train,
                                                     int keys) {
  std::vector<double> count(static_cast<size_t>(keys), 0.0);
  double n = 0;
  for (const auto& p : train)
    for (const Frame& f : p) {
      n += 1;
      for (std::uint8_t k : f) count[k] += 1;
    }
  for (double& c : count) c = (c + 1) / (n + 2);
  return count;
}

/// The frame NLL of the unigram baseline: every key independently on with probability p_k,
/// -log p(frame) = -sum_k [y_k log p_k + (1 - y_k) log(1 - p_k)], over every frame of `test`.
inline LossTotals unigram_frame_nll(const std::vector<double>& p_on,
                                    const std::vector<std::vector<Frame>>& test) {
  std::vector<double> log_on(p_on.size()), log_off(p_on.size());
  double all_off = 0;
  for (size_t k = 0; k < p_on.size(); ++k) {
    require(p_on[k] > 0 && p_on[k] < 1, "unigram_frame_nll: probability ", p_on[k], " of key ", k,
            " is not in (0, 1)");
    log_on[k] = std::log(p_on[k]);
    log_off[k] = std::log1p(-p_on[k]);
    all_off += log_off[k];
  }
  LossTotals tot;
  for (const auto& p : test)
    for (const Frame& f : p) {
      double lp = all_off;
      for (std::uint8_t k : f) {
        require(k < p_on.size(), "unigram_frame_nll: key ", int(k), " outside the model's keys");
        lp += log_on[k] - log_off[k];
      }
      tot.nll_sum -= lp;
      ++tot.count;
    }
  return tot;
}

inline LossTotals unigram_frame_nll(const std::vector<std::vector<Frame>>& train,
                                    const std::vector<std::vector<Frame>>& test, int keys) {
  return unigram_frame_nll(unigram_key_probabilities(train, keys), test);
}

/// Scores every frame of every piece with the model run over the whole piece from its start
/// (state carried, chunks of `chunk` steps), the first frame predicted from the zero frame.
template <typename T>
LossTotals score_frames(Model<T>& model, const std::vector<std::vector<Frame>>& pieces,
                        Index chunk = 256) {
  const Index K = model.config().vocab_size;
  LossTotals tot;
  for (const auto& piece : pieces) {
    auto state = model.zero_state(1);
    const auto n = static_cast<Index>(piece.size());
    for (Index start = 0; start < n; start += chunk) {
      const Index len = std::min(chunk, n - start);
      FrameBatch b(len, 1, K);
      for (Index t = 0; t < len; ++t) {
        const Index i = start + t;  // target frame index
        if (i > 0)
          for (std::uint8_t k : piece[static_cast<size_t>(i - 1)]) b.inputs(k, t) = 1;
        for (std::uint8_t k : piece[static_cast<size_t>(i)]) b.targets(k, t) = 1;
        b.mask[static_cast<size_t>(t)] = 1;
      }
      tot += model.evaluate(b, state);
    }
  }
  return tot;
}

/// Generates `length` frames after `primer`, one step of work per frame:
///
///   feed the zero frame, then the primer f_1..f_k through Model::step_frame (the state carries
///   everything seen); then repeat `length` times: z = the last step's 88 logits;
///   key k is on with probability sigmoid(z_k / temperature), each key drawn on its own
///   (temperature 0: on exactly when sigmoid(z_k) > 1/2); feed the new frame.
///
/// Returns the generated frames (without the primer). The primer may be empty: the first frame
/// is then drawn from the model's prediction after the zero frame. `weights` as in
/// GenerateOptions.
template <typename T>
std::vector<Frame> generate_frames(Model<T>& model, const std::vector<Frame>& primer, Index length,
                                   double temperature, Rng& rng,
                                   GenerationWeights weights = GenerationWeights::float32) {
  const Index K = model.config().vocab_size;
  require(model.config().mode == ModelMode::pianoroll,
          "generate_frames: the model does not predict frames (it is a token model)");
  require(length >= 0 && length <= 1000000, "generate_frames: length must be in [0, 1000000], got ",
          length);
  require(std::isfinite(temperature) && temperature >= 0,
          "generate_frames: temperature must be finite and >= 0, got ", temperature);
  for (const Frame& f : primer)
    for (std::uint8_t k : f)
      require(k < K, "generate_frames: primer key ", int(k), " outside 0..", K - 1);
  const GenerationPack<T> packed(model, weights);  // read many times, packed once
  auto state = model.zero_state(1);
  Matrix<T> x = Matrix<T>::Zero(K, 1);  // the zero frame first
  const Matrix<T>* z = &model.step_frame(x, state);
  auto feed = [&](const Frame& f) {
    x.setZero();
    for (std::uint8_t k : f) x(k, 0) = T(1);
    z = &model.step_frame(x, state);
  };
  for (const Frame& f : primer) feed(f);
  std::vector<Frame> out;
  out.reserve(static_cast<size_t>(length));
  for (Index i = 0; i < length; ++i) {
    Frame f;
    for (Index k = 0; k < K; ++k) {
      const double zk = static_cast<double>((*z)(k, 0));
      const bool on = temperature == 0 ? zk > 0 : rng.uniform() < stable_sigmoid(zk / temperature);
      if (on) f.push_back(static_cast<std::uint8_t>(k));
    }
    out.push_back(f);
    if (i + 1 < length) feed(out.back());
  }
  return out;
}

struct FrameWindowOptions {
  Index steps = 64;             // T: frames per window
  Index stride = 16;            // S: distance between training window starts
  Index batch_size = 32;        // B: windows per batch
  Index keys = 88;              // K
  double valid_fraction = 0.1;  // share of pieces held out, when no validation pieces are given
  int max_transpose = 0;        // N: also train shifted by every k in [-N, N]
  std::uint64_t seed = 1;
};

class FrameSampler {
 public:
  /// Splits `pieces` into training and validation by valid_fraction, or, when `valid_pieces` is
  /// not empty, trains on all of `pieces` and validates on `valid_pieces`.
  explicit FrameSampler(std::vector<std::vector<Frame>> pieces,
                        const FrameWindowOptions& options = {},
                        std::vector<std::vector<Frame>> valid_pieces = {})
      : opt_(options), order_(options.seed) {
    require(opt_.steps >= 1, "FrameWindowOptions::steps must be >= 1, got ", opt_.steps);
    require(opt_.stride >= 1, "FrameWindowOptions::stride must be >= 1, got ", opt_.stride);
    require(opt_.batch_size >= 1, "FrameWindowOptions::batch_size must be >= 1, got ",
            opt_.batch_size);
    require(opt_.keys >= 1 && opt_.keys <= 256, "FrameWindowOptions::keys must be 1..256");
    require(opt_.valid_fraction >= 0.0 && opt_.valid_fraction < 1.0,
            "FrameWindowOptions::valid_fraction must be in [0, 1), got ", opt_.valid_fraction);
    require(opt_.max_transpose >= 0 && opt_.max_transpose <= 24,
            "FrameWindowOptions::max_transpose must be 0..24, got ", opt_.max_transpose);
    require(!pieces.empty(), "FrameSampler: no pieces (the dataset is empty)");
    for (const auto* set : {&pieces, &valid_pieces})
      for (const auto& p : *set)
        for (const Frame& f : p)
          for (std::uint8_t k : f)
            require(k < opt_.keys, "FrameSampler: key ", int(k), " outside 0..", opt_.keys - 1);

    const std::size_t n = pieces.size();
    is_valid_ = valid_pieces.empty() ? validation_pieces(n, opt_.valid_fraction, opt_.seed)
                                     : std::vector<bool>(n, false);
    pieces_ = std::move(pieces);
    for (auto& p : valid_pieces) {
      is_valid_.push_back(true);
      pieces_.push_back(std::move(p));
    }
    n_given_ = n;
    for (std::size_t p = 0; p < pieces_.size(); ++p) {
      int lo = opt_.keys, hi = -1;
      for (const Frame& f : pieces_[p])
        for (std::uint8_t k : f) lo = std::min<int>(lo, k), hi = std::max<int>(hi, k);
      if (is_valid_[p]) {
        add_windows(p, 0, opt_.steps, true, valid_);
        continue;
      }
      for (int s = -opt_.max_transpose; s <= opt_.max_transpose; ++s)
        if (hi < 0 || (lo + s >= 0 && hi + s < opt_.keys))
          add_windows(p, s, opt_.stride, false, train_);
    }
    require(!train_.empty(), "FrameSampler: no training windows");
  }

  const FrameWindowOptions& options() const { return opt_; }
  /// Whether piece i of the pieces given first is held out (always false with separate
  /// validation pieces).
  bool is_validation_piece(std::size_t piece) const {
    require(piece < n_given_, "FrameSampler: piece ", piece, " out of range");
    return is_valid_[piece];
  }
  std::size_t train_windows() const { return train_.size(); }
  std::size_t valid_windows() const { return valid_.size(); }
  std::size_t batches_per_epoch() const { return batch_count(train_.size(), opt_.batch_size); }
  /// Changes the windows per batch (e.g. to cap it at train_windows()); only before the first
  /// batch, since the batch order depends on it.
  void set_batch_size(Index b) {
    require(b >= 1, "batch size must be >= 1, got ", b);
    require(order_.position().epoch == 0 && order_.position().batch == 0,
            "the batch size is fixed once batches have been drawn");
    opt_.batch_size = b;
  }
  std::size_t valid_batches() const { return batch_count(valid_.size(), opt_.batch_size); }
  /// The training pieces and the validation pieces (whole, unshifted).
  std::vector<std::vector<Frame>> pieces(bool validation) const {
    std::vector<std::vector<Frame>> out;
    for (std::size_t p = 0; p < pieces_.size(); ++p)
      if (is_valid_[p] == validation) out.push_back(pieces_[p]);
    return out;
  }

  /// CRC-32 of the pieces, the split and the window settings: a resumed run checks it.
  std::uint32_t checksum() const {
    std::vector<std::uint8_t> bytes;
    auto put = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    put(static_cast<std::uint64_t>(opt_.steps));
    put(static_cast<std::uint64_t>(opt_.stride));
    put(static_cast<std::uint64_t>(opt_.batch_size));
    put(static_cast<std::uint64_t>(opt_.max_transpose));
    for (std::size_t p = 0; p < pieces_.size(); ++p) {
      put(is_valid_[p] ? 1 : 0);
      put(pieces_[p].size());
      for (const Frame& f : pieces_[p]) {
        bytes.insert(bytes.end(), f.begin(), f.end());
        bytes.push_back(0xFF);
      }
    }
    return crc32(bytes.data(), bytes.size());
  }

  SamplerPosition position() const { return order_.position(); }
  void seek(const SamplerPosition& p) { order_.seek(p, batches_per_epoch(), "FrameSampler"); }

  /// The next training batch (T x B, time-major); moves to the next epoch after the last one.
  void next_batch(FrameBatch& out) {
    const auto next = order_.next(train_.size(), batches_per_epoch());
    fill(out, train_, &next.order, next.index);
  }
  FrameBatch next_batch() {
    FrameBatch b;
    next_batch(b);
    return b;
  }

  /// Validation batch i (fixed order: piece, then start), 0 <= i < valid_batches().
  void valid_batch(std::size_t i, FrameBatch& out) const {
    require(i < valid_batches(), "FrameSampler::valid_batch: index ", i, " is beyond ",
            valid_batches());
    fill(out, valid_, nullptr, i);
  }

 private:
  struct WindowRef {
    std::uint32_t piece;
    std::int32_t shift;
    std::uint32_t start;  // first input position in 0, f_0, .., f_{n-1}
  };

  // The sequence 0, f_0 .. f_{n-1} has n+1 entries; a window at s has targets f_s .. f_{s+T-1}.
  // The tail (targets after the last full window) gets a window ending at the piece's end, or,
  // with pad_tail (validation), a padded window right after the last one.
  void add_windows(std::size_t piece, int shift, Index stride, bool pad_tail,
                   std::vector<WindowRef>& out) {
    const auto n = static_cast<std::int64_t>(pieces_[piece].size());
    if (n < 1) return;
    const std::int64_t T = opt_.steps;
    auto push = [&](std::int64_t s) {
      out.push_back({static_cast<std::uint32_t>(piece), shift, static_cast<std::uint32_t>(s)});
    };
    std::int64_t s = 0;
    for (; s + T <= n; s += stride) push(s);
    const std::int64_t last = s - stride;  // last start pushed (or -stride)
    if (n < T) {
      push(0);
    } else if (last + T < n) {
      push(pad_tail ? s : n - T);
    }
  }

  void fill(FrameBatch& out, const std::vector<WindowRef>& windows,
            const std::vector<std::size_t>* perm, std::size_t batch) const {
    const Index T = opt_.steps, B = opt_.batch_size;
    if (out.T != T || out.B != B || out.keys() != opt_.keys) {
      out = FrameBatch(T, B, opt_.keys);
    } else {
      out.inputs.setZero();
      out.targets.setZero();
      std::fill(out.mask.begin(), out.mask.end(), std::uint8_t{0});
    }
    for (Index b = 0; b < B; ++b) {
      const std::size_t k = batch * static_cast<std::size_t>(B) + static_cast<std::size_t>(b);
      if (k >= windows.size()) continue;
      const WindowRef& w = windows[perm ? (*perm)[k] : k];
      const std::vector<Frame>& frames = pieces_[w.piece];
      const auto n = static_cast<Index>(frames.size());
      for (Index t = 0; t < T; ++t) {
        const Index i = static_cast<Index>(w.start) + t;  // target frame
        if (i >= n) break;
        const Index col = t * B + b;
        if (i > 0)
          for (std::uint8_t key : frames[static_cast<size_t>(i - 1)])
            out.inputs(key + w.shift, col) = 1;
        for (std::uint8_t key : frames[static_cast<size_t>(i)]) out.targets(key + w.shift, col) = 1;
        out.mask[static_cast<size_t>(col)] = 1;
      }
    }
  }

  FrameWindowOptions opt_;
  std::vector<std::vector<Frame>> pieces_;
  std::vector<bool> is_valid_;
  std::size_t n_given_ = 0;
  std::vector<WindowRef> train_, valid_;
  EpochOrder order_;  // epoch order and position
};

}  // namespace lstmidi::music
