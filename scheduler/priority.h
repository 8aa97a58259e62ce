// Job priority. "fifo" orders by submit time; "multifactor" follows Slurm's
// priority/multifactor plugin: a weighted sum of factors, each in [0, 1]:
//   age       = min(wait / max_age, 1)
//   size      = job GPUs / fleet GPUs (favour big jobs, Slurm's default)
//   fairshare = 2^(-U/S): U the account's share of decayed GPU-seconds used,
//               S its share of the fleet (equal shares); usage decays with a
//               half-life, as PriorityDecayHalfLife does
//   qos       = the QoS's priority / the highest QoS priority
// Not thread-safe; owned by one Scheduler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/request.h"
#include "scheduler/status.h"

namespace flotilla {

struct PriorityOptions {
  std::string order = "fifo";  // "fifo" or "multifactor"
  // Slurm's PriorityWeight* defaults are 0; these are the weights many sites
  // start from (fairshare first, then age).
  double weight_age = 1000, weight_size = 500, weight_fairshare = 2000, weight_qos = 1000;
  Seconds max_age{7 * 24 * 3600};          // PriorityMaxAge default: 7 days
  Seconds decay_half_life{7 * 24 * 3600};  // PriorityDecayHalfLife default: 7 days
  std::vector<double> qos_priority;        // per QoS index; empty: all equal
};

class Priority {
 public:
  static Result<Priority> create(PriorityOptions options, std::uint64_t fleet_gpus);

  bool is_fifo() const { return fifo_; }
  // Higher runs first. For "fifo": minus the submit time.
  double of(Seconds submit, std::uint32_t gpus, std::uint32_t account, std::uint8_t qos,
            Seconds now);
  // The account used `gpu_seconds` ending at `now` (kept for fairshare only:
  // fifo never reads it).
  void charge(std::uint32_t account, double gpu_seconds, Seconds now);

 private:
  Priority(PriorityOptions options, std::uint64_t fleet_gpus)
      : options_(std::move(options)), fifo_(options_.order == "fifo"), fleet_gpus_(fleet_gpus) {}
  double decayed_usage(std::uint32_t account, Seconds now);

  PriorityOptions options_;
  bool fifo_;
  std::uint64_t fleet_gpus_;
  struct Usage {
    double gpu_seconds = 0;
    Seconds as_of{0};
  };
  std::vector<Usage> usage_;  // per account
  double total_usage_ = 0;
  Seconds total_as_of_{0};
};

}  // namespace flotilla
