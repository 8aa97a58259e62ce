// JobIndex: job id -> a small integer (a slot in a vector the owner keeps),
// an open-addressing hash table with linear probing.
//
// Why not std::unordered_map: every running job's end looks its id up once,
// and a node-based map costs an allocation per job, a division by a prime per
// lookup and a pointer chase to a node elsewhere in memory. With a million
// simulated jobs those misses were the largest single cost of ending a job.
// Here a lookup is, at a load of at most one half, usually one cache line. Erasing shifts the
// following entries of the probe run back (no tombstones), so long runs of inserts and erases keep
// lookups short.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace flotilla {

class JobIndex {
 public:
  using Key = std::uint64_t;
  // The one id the table cannot hold: it marks an empty cell.
  static constexpr Key kEmpty = std::numeric_limits<Key>::max();

  std::size_t size() const { return size_; }

  std::optional<std::uint32_t> find(Key id) const {
    if (cells_.empty()) return std::nullopt;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      if (cells_[i].id == id) return cells_[i].value;
      if (cells_[i].id == kEmpty) return std::nullopt;
    }
  }

  // Adds or replaces id's value. id must not be kEmpty.
  void insert(Key id, std::uint32_t value) {
    if ((size_ + 1) * 2 > cells_.size()) rehash(cells_.empty() ? 64 : cells_.size() * 2);
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      if (cells_[i].id == id) {
        cells_[i].value = value;
        return;
      }
      if (cells_[i].id == kEmpty) {
        cells_[i] = Cell{id, value};
        ++size_;
        return;
      }
    }
  }

  // Room for n ids in all without growing.
  void reserve(std::size_t n) {
    std::size_t capacity = cells_.empty() ? 64 : cells_.size();
    while (capacity < n * 2) capacity *= 2;
    if (capacity > cells_.size()) rehash(capacity);
  }

  // False if id was not there.
  bool erase(Key id) {
    if (cells_.empty()) return false;
    std::size_t hole = home(id);
    while (cells_[hole].id != id) {
      if (cells_[hole].id == kEmpty) return false;
      hole = (hole + 1) & mask_;
    }
    // Backward shift: move up each later entry of the run that may sit in
    // the hole (its home is not cyclically inside (hole, i]).
    for (std::size_t i = (hole + 1) & mask_; cells_[i].id != kEmpty; i = (i + 1) & mask_) {
      const std::size_t h = home(cells_[i].id);
      const bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
      if (stays) continue;
      cells_[hole] = cells_[i];
      hole = i;
    }
    cells_[hole].id = kEmpty;
    --size_;
    return true;
  }

 private:
  struct Cell {
    Key id = kEmpty;
    std::uint32_t value = 0;
  };

  // Job ids are handed out in order, and jobs start in bursts of
  // consecutive ids (a pass that starts a hundred thousand jobs on an idle
  // fleet): taken as they are, consecutive ids land in consecutive cells,
  // which collide with nothing and stay in cache. Scattering them (Fibonacci
  // hashing) made such a pass a cache miss per job. The high half is folded
  // in so that ids far apart do not all share their low bits' cells.
  std::size_t home(Key id) const { return static_cast<std::size_t>(id ^ (id >> 32)) & mask_; }

  // capacity: a power of two.
  void rehash(std::size_t capacity) {
    std::vector<Cell> old = std::move(cells_);
    cells_.assign(capacity, Cell{});
    mask_ = capacity - 1;
    size_ = 0;
    for (const Cell& c : old) {
      if (c.id != kEmpty) insert(c.id, c.value);
    }
  }

  std::vector<Cell> cells_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace flotilla
