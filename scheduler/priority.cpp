#include "scheduler/priority.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace flotilla {
namespace {

double decay(double value, Seconds from, Seconds to, Seconds half_life) {
  if (to <= from || half_life.count() <= 0) return value;
  return value * std::exp2(-static_cast<double>((to - from).count()) /
                           static_cast<double>(half_life.count()));
}

}  // namespace

Result<Priority> Priority::create(PriorityOptions options, std::uint64_t fleet_gpus) {
  if (options.order != "fifo" && options.order != "multifactor") {
    return Status::error("unknown priority order '" + options.order +
                         "' (known: fifo, multifactor)");
  }
  if (options.max_age.count() <= 0) return Status::error("priority max age must be positive");
  return Priority(std::move(options), std::max<std::uint64_t>(fleet_gpus, 1));
}

double Priority::decayed_usage(std::uint32_t account, Seconds now) {
  if (account >= usage_.size()) usage_.resize(account + 1);
  Usage& u = usage_[account];
  u.gpu_seconds = decay(u.gpu_seconds, u.as_of, now, options_.decay_half_life);
  u.as_of = std::max(u.as_of, now);
  return u.gpu_seconds;
}

void Priority::charge(std::uint32_t account, double gpu_seconds, Seconds now) {
  if (fifo_) return;
  decayed_usage(account, now);
  usage_[account].gpu_seconds += gpu_seconds;
  total_usage_ = decay(total_usage_, total_as_of_, now, options_.decay_half_life) + gpu_seconds;
  total_as_of_ = std::max(total_as_of_, now);
}

double Priority::of(Seconds submit, std::uint32_t gpus, std::uint32_t account, std::uint8_t qos,
                    Seconds now) {
  if (is_fifo()) return -static_cast<double>(submit.count());
  const double age = std::min(1.0, static_cast<double>((now - submit).count()) /
                                       static_cast<double>(options_.max_age.count()));
  const double size = std::min(1.0, static_cast<double>(gpus) / static_cast<double>(fleet_gpus_));
  double fairshare = 1;
  const double total = decay(total_usage_, total_as_of_, now, options_.decay_half_life);
  if (total > 0) {
    const double accounts = static_cast<double>(std::max<std::size_t>(usage_.size(), 1));
    const double u = decayed_usage(account, now) / total;
    fairshare = std::exp2(-u * accounts);  // S = 1 / accounts
  }
  double q = 0;
  if (!options_.qos_priority.empty()) {
    const double top =
        *std::max_element(options_.qos_priority.begin(), options_.qos_priority.end());
    if (qos < options_.qos_priority.size() && top > 0) q = options_.qos_priority[qos] / top;
  }
  return options_.weight_age * age + options_.weight_size * size +
         options_.weight_fairshare * fairshare + options_.weight_qos * q;
}

}  // namespace flotilla
