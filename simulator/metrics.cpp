#include "simulator/metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace flotilla {
namespace {

constexpr double kSlowdownFloor = 10;  // seconds; keeps tiny jobs from dominating

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the values at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  const std::size_t k = std::min(v.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

template <class Keep>
Summary summarize_if(const SimResult& r, Keep keep) {
  Summary s;
  std::vector<double> jct;
  double wait = 0, slowdown = 0, gpu_seconds = 0;
  std::uint64_t cost = 0;
  std::optional<Seconds> first, last;
  for (const JobRecord& j : r.jobs) {
    if (!keep(j)) continue;
    ++s.jobs;
    if (!first || j.submit < *first) first = j.submit;
    if (j.outcome == JobOutcome::kRejected) {
      ++s.rejected;
      ++s.rejections[r.rejection_reasons.at(j.rejection)];
      continue;
    }
    cost += j.cost_micro_usd;
    s.energy_kwh += j.energy_joules / 3.6e6;
    if (!last || j.end > *last) last = j.end;
    if (j.outcome == JobOutcome::kFailed) {
      ++s.failed;
      continue;
    }
    ++s.completed;
    const double run = static_cast<double>((j.end - j.start).count());
    const double w = static_cast<double>((j.start - j.submit).count());
    jct.push_back(w + run);
    wait += w;
    slowdown += std::max(1.0, (w + run) / std::max(run, kSlowdownFloor));
    gpu_seconds += (j.gpu_milli < 1000 ? j.gpu_milli / 1000.0 : j.gpus) * run;
  }
  if (first && last) s.makespan_s = static_cast<double>((*last - *first).count());
  if (s.completed > 0) {
    const auto n = static_cast<double>(s.completed);
    double sum = 0;
    for (double v : jct) sum += v;
    s.mean_jct_s = sum / n;
    s.mean_wait_s = wait / n;
    s.bounded_slowdown = slowdown / n;
    s.p50_jct_s = percentile(jct, 0.50);
    s.p99_jct_s = percentile(jct, 0.99);
  }
  if (s.makespan_s > 0 && r.fleet_gpus > 0) {
    s.utilization = gpu_seconds / (static_cast<double>(r.fleet_gpus) * s.makespan_s);
  }
  s.cost_usd = static_cast<double>(cost) / 1e6;
  return s;
}

}  // namespace

Summary summarize(const SimResult& result) {
  return summarize_if(result, [](const JobRecord&) { return true; });
}

nlohmann::json summary_json(const Summary& summary) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, field] : kSummaryCounts) j[name] = summary.*field;
  for (const auto& [name, field] : kSummaryFigures) j[name] = summary.*field;
  j["rejections"] = summary.rejections;
  return j;
}

std::array<Summary, kWorkloadClasses> summarize_by_class(const SimResult& result) {
  std::array<Summary, kWorkloadClasses> out;
  for (int c = 0; c < kWorkloadClasses; ++c) {
    out[c] =
        summarize_if(result, [c](const JobRecord& j) { return static_cast<int>(j.workload) == c; });
  }
  return out;
}

}  // namespace flotilla
