// SPDX-License-Identifier: MIT
/// PitchSet: the pitches of one token, a set of MIDI pitches 0..127 (or pitch classes 0..11)
/// held as 128 bits in the token itself. It reads like a sorted std::vector<int> without
/// repeats (size, empty, front, back, ascending iteration, ==), which is what a chord is.
///
/// Invariants: bit p (word p / 32, bit p % 32) is set exactly when pitch p is in the set; the
/// set never holds a value outside 0..127 (insert checks), so it never allocates and a Token
/// holding one is trivially copyable: a piece's tokens are copied in bulk, one allocation per
/// piece, not one per chord.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi::music {

class PitchSet {
 public:
  static constexpr int kCapacity = 128;  // MIDI pitches 0..127

  PitchSet() = default;
  PitchSet(std::initializer_list<int> pitches) {
    for (int p : pitches) insert(p);
  }
  /// Any order, repeats allowed (a set keeps each pitch once). Implicit, so that code passing
  /// a std::vector<int> of pitches reads as before.
  PitchSet(const std::vector<int>& pitches) {  // NOLINT(google-explicit-constructor)
    for (int p : pitches) insert(p);
  }

  /// Adds `p`; throws std::invalid_argument when it is outside 0..127.
  void insert(int p) {
    require(p >= 0 && p < kCapacity, "PitchSet: pitch ", p, " is outside 0..", kCapacity - 1);
    insert_unchecked(p);
  }
  /// Adds `p`, which the caller has checked is in 0..127.
  void insert_unchecked(int p) { words_[p >> 5] |= std::uint32_t{1} << (p & 31); }
  void erase(int p) {
    if (p >= 0 && p < kCapacity) words_[p >> 5] &= ~(std::uint32_t{1} << (p & 31));
  }
  bool contains(int p) const {
    return p >= 0 && p < kCapacity && ((words_[p >> 5] >> (p & 31)) & 1u) != 0;
  }
  void clear() { *this = PitchSet(); }

  std::size_t size() const {
    std::size_t n = 0;
    for (std::uint32_t w : words_) n += static_cast<std::size_t>(__builtin_popcount(w));
    return n;
  }
  bool empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }

  /// Ascending iteration over the pitches (a forward iterator of int values).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    using pointer = const int*;
    using reference = int;

    const_iterator() = default;
    int operator*() const { return p_; }
    const_iterator& operator++() {
      p_ = set_->next_from(p_ + 1);
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.p_ == b.p_;
    }
    friend bool operator!=(const const_iterator& a, const const_iterator& b) { return !(a == b); }

   private:
    friend class PitchSet;
    const_iterator(const PitchSet* set, int p) : set_(set), p_(p) {}
    const PitchSet* set_ = nullptr;
    int p_ = kCapacity;  // kCapacity = end
  };
  using iterator = const_iterator;

  const_iterator begin() const { return const_iterator(this, next_from(0)); }
  const_iterator end() const { return const_iterator(this, kCapacity); }

  /// The lowest and the highest pitch; throw std::invalid_argument on an empty set.
  int front() const {
    require(!empty(), "PitchSet::front: the set is empty");
    return next_from(0);
  }
  int back() const {
    require(!empty(), "PitchSet::back: the set is empty");
    for (int w = 3;; --w)
      if (words_[w] != 0) return w * 32 + 31 - __builtin_clz(words_[w]);
  }

  std::vector<int> to_vector() const { return std::vector<int>(begin(), end()); }

  /// A hash of the set, for tables of tokens.
  std::uint64_t hash() const {
    const std::uint64_t lo = words_[0] | std::uint64_t{words_[1]} << 32;
    const std::uint64_t hi = words_[2] | std::uint64_t{words_[3]} << 32;
    return lo * 0x9E3779B97F4A7C15ull ^ (hi + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  }

  friend bool operator==(const PitchSet& a, const PitchSet& b) {
    return a.words_[0] == b.words_[0] && a.words_[1] == b.words_[1] && a.words_[2] == b.words_[2] &&
           a.words_[3] == b.words_[3];
  }
  friend bool operator!=(const PitchSet& a, const PitchSet& b) { return !(a == b); }

 private:
  /// The lowest pitch >= p in the set, or kCapacity when there is none.
  int next_from(int p) const {
    for (int w = p >> 5; w < 4; ++w) {
      std::uint32_t bits = words_[w];
      if (w == p >> 5) bits &= ~std::uint32_t{0} << (p & 31);
      if (bits != 0) return w * 32 + __builtin_ctz(bits);
    }
    return kCapacity;
  }

  std::uint32_t words_[4] = {0, 0, 0, 0};
};

}  // namespace lstmidi::music
