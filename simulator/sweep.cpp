// Sweep files, cell enumeration, running cells on TBB, packing summaries for
// MPI and the HDF5 cells table. The format is documented in sweep.h.
#include "simulator/sweep.h"

#include <hdf5.h>
#include <tbb/parallel_for.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scheduler/fleet_file.h"
#include "scheduler/placer.h"
#include "simulator/perf_model.h"
#include "simulator/simulation.h"
#include "traces/h5_file.h"
#include "traces/read_trace.h"
#include "traces/synthetic.h"

namespace flotilla {
namespace {

// Jobs of a bare "synthetic" trace, as in `flotilla sim`.
constexpr std::uint64_t kDefaultSyntheticJobs = 3000;

std::size_t line_of(const toml::source_region& r) {
  return r.begin.line == 0 ? 1 : r.begin.line;
}

// Reads the top-level keys of a sweep file; errors are "origin:line: what".
class SweepReader {
 public:
  SweepReader(const std::string& origin, const toml::table& root) : origin_(origin), root_(root) {}

  Status at(const toml::node& n, const std::string& what) const {
    return Status::at(origin_, line_of(n.source()), what);
  }

  Status check_keys() const {
    static constexpr std::string_view kKeys[] = {"fleets",       "trace", "policies", "placements",
                                                 "load_factors", "seeds", "out"};
    for (auto&& [key, value] : root_) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
        return Status::at(origin_, line_of(key.source()),
                          "unknown key '" + std::string(key.str()) + "'");
      }
    }
    return Status::ok();
  }

  // A non-empty string; nullopt when absent.
  Result<std::optional<std::string>> string(std::string_view key) const {
    const toml::node* n = root_.get(key);
    if (!n) return std::optional<std::string>();
    const std::optional<std::string_view> v = n->value<std::string_view>();
    if (!n->is_string() || !v) return at(*n, "'" + std::string(key) + "' must be a string");
    if (v->empty()) return at(*n, "'" + std::string(key) + "' must not be empty");
    return std::optional<std::string>(std::string(*v));
  }

  // A non-empty list without repeats whose items `item` converts; nullopt
  // when absent.
  template <class T, class Item>
  Result<std::optional<std::vector<T>>> list(std::string_view key, const char* what,
                                             Item item) const {
    const toml::node* n = root_.get(key);
    if (!n) return std::optional<std::vector<T>>();
    const toml::array* a = n->as_array();
    if (!a) return at(*n, "'" + std::string(key) + "' must be a list of " + what);
    if (a->empty()) return at(*n, "'" + std::string(key) + "' must not be empty");
    std::vector<T> out;
    for (const toml::node& e : *a) {
      Result<T> v = item(e);
      if (!v) return v.status();
      if (std::find(out.begin(), out.end(), *v) != out.end()) {
        return at(e, "'" + std::string(key) + "' lists the same value twice");
      }
      out.push_back(std::move(v).value());
    }
    return std::optional<std::vector<T>>(std::move(out));
  }

  Result<std::string> string_item(const toml::node& e, std::string_view key) const {
    const std::optional<std::string_view> v = e.value<std::string_view>();
    if (!e.is_string() || !v || v->empty()) {
      return at(e, "'" + std::string(key) + "' items must be non-empty strings");
    }
    return std::string(*v);
  }

 private:
  const std::string& origin_;
  const toml::table& root_;
};

std::string resolve(const std::filesystem::path& folder, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute() || folder.empty()) return path;
  return (folder / p).lexically_normal().string();
}

// "synthetic" or "synthetic:JOBS" -> JOBS; nullopt with `error` set otherwise.
std::optional<std::uint64_t> synthetic_jobs(std::string_view spec, std::string& error) {
  if (spec == "synthetic") return kDefaultSyntheticJobs;
  const std::string_view prefix = "synthetic:";
  if (spec.substr(0, prefix.size()) == prefix) {
    const std::string_view rest = spec.substr(prefix.size());
    std::uint64_t jobs = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), jobs);
    if (ec == std::errc() && end == rest.data() + rest.size() && jobs > 0) return jobs;
    if (ec == std::errc() && end != rest.data() + rest.size() && *end == ':') {
      error = "a sweep's synthetic trace takes its seed from 'seeds': use synthetic:JOBS";
      return std::nullopt;
    }
  }
  error = "bad trace '" + std::string(spec) + "' (synthetic[:JOBS] or a trace file)";
  return std::nullopt;
}

}  // namespace

Result<SweepSpec> parse_sweep(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    std::replace(what.begin(), what.end(), '\n', ' ');
    return Status::at(origin, line_of(e.source()), what);
  }
  const SweepReader r(origin, root);
  if (Status s = r.check_keys(); !s) return s;
  const std::filesystem::path folder = std::filesystem::path(origin).parent_path();
  SweepSpec spec;
  spec.origin = origin;

  auto fleets = r.list<std::string>(
      "fleets", "fleet files", [&](const toml::node& e) { return r.string_item(e, "fleets"); });
  if (!fleets) return fleets.status();
  if (!*fleets) return Status::at(origin, 1, "missing required key 'fleets'");
  for (const std::string& f : **fleets) spec.fleets.push_back(resolve(folder, f));

  Result<std::optional<std::string>> trace = r.string("trace");
  if (!trace) return trace.status();
  if (!*trace) return Status::at(origin, 1, "missing required key 'trace'");
  spec.trace = **trace;
  if (spec.trace.rfind("synthetic", 0) == 0) {
    std::string error;
    const std::optional<std::uint64_t> jobs = synthetic_jobs(spec.trace, error);
    if (!jobs) return r.at(*root.get("trace"), error);
    spec.synthetic_jobs = *jobs;
  } else {
    spec.trace_path = resolve(folder, spec.trace);
  }

  auto policies = r.list<std::string>("policies", "queue policies", [&](const toml::node& e) {
    Result<std::string> p = r.string_item(e, "policies");
    if (p && *p != "fcfs" && *p != "easy" && *p != "conservative") {
      return Result<std::string>(
          r.at(e, "unknown queue policy '" + *p + "' (known: fcfs, easy, conservative)"));
    }
    return p;
  });
  if (!policies) return policies.status();
  if (*policies) spec.policies = std::move(**policies);

  auto placements =
      r.list<std::string>("placements", "placement policies", [&](const toml::node& e) {
        Result<std::string> p = r.string_item(e, "placements");
        if (!p) return p;
        const std::span<const std::string_view> known = placer_names();
        if (std::find(known.begin(), known.end(), *p) == known.end()) {
          std::string names;
          for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
          return Result<std::string>(
              r.at(e, "unknown placement policy '" + *p + "' (known: " + names + ")"));
        }
        return p;
      });
  if (!placements) return placements.status();
  if (*placements) spec.placements = std::move(**placements);

  auto loads = r.list<double>("load_factors", "numbers", [&](const toml::node& e) {
    const std::optional<double> v = e.value<double>();  // integers convert too
    if (!v || !(e.is_floating_point() || e.is_integer()) || !std::isfinite(*v) || *v <= 0) {
      return Result<double>(r.at(e, "'load_factors' items must be numbers > 0"));
    }
    return Result<double>(*v);
  });
  if (!loads) return loads.status();
  if (*loads) spec.load_factors = std::move(**loads);

  auto seeds = r.list<std::uint64_t>("seeds", "integers", [&](const toml::node& e) {
    const std::optional<std::int64_t> v = e.value_exact<std::int64_t>();
    if (!e.is_integer() || !v || *v < 0) {
      return Result<std::uint64_t>(r.at(e, "'seeds' items must be integers >= 0"));
    }
    return Result<std::uint64_t>(static_cast<std::uint64_t>(*v));
  });
  if (!seeds) return seeds.status();
  if (*seeds) spec.seeds = std::move(**seeds);

  Result<std::optional<std::string>> out = r.string("out");
  if (!out) return out.status();
  if (*out) spec.out = resolve(folder, **out);
  return spec;
}

Result<SweepSpec> load_sweep_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep(text.str(), path);
}

std::size_t sweep_cell_count(const SweepSpec& spec) {
  return spec.fleets.size() * spec.policies.size() * spec.placements.size() *
         spec.load_factors.size() * spec.seeds.size();
}

SweepCell sweep_cell(const SweepSpec& spec, std::size_t index) {
  SweepCell c;
  // Mixed radix, seed the fastest digit.
  c.seed = index % spec.seeds.size();
  index /= spec.seeds.size();
  c.load = index % spec.load_factors.size();
  index /= spec.load_factors.size();
  c.placement = index % spec.placements.size();
  index /= spec.placements.size();
  c.policy = index % spec.policies.size();
  c.fleet = index / spec.policies.size();
  return c;
}

std::vector<SweepCell> sweep_cells(const SweepSpec& spec) {
  std::vector<SweepCell> cells;
  const std::size_t n = sweep_cell_count(spec);
  cells.reserve(n);
  for (std::size_t i = 0; i < n; ++i) cells.push_back(sweep_cell(spec, i));
  return cells;
}

Result<SweepInputs> load_sweep_inputs(const SweepSpec& spec) {
  SweepInputs inputs;
  for (const std::string& path : spec.fleets) {
    Result<Fleet> f = load_fleet_file(path);
    if (!f) return f.status();
    inputs.fleets.push_back(std::move(f).value());
  }
  if (!spec.synthetic()) {
    Result<Trace> t = read_trace(spec.trace_path);
    if (!t) return t.status();
    inputs.trace = std::move(t).value();
  }
  return inputs;
}

Trace sweep_trace(const SweepSpec& spec, const SweepInputs& inputs, const SweepCell& cell) {
  Trace trace;
  if (inputs.trace) {
    trace = *inputs.trace;
  } else {
    SyntheticOptions o;
    o.jobs = spec.synthetic_jobs;
    o.seed = spec.seeds[cell.seed];
    trace = synthetic_workload(o);
  }
  const double factor = spec.load_factors[cell.load];
  if (factor != 1.0) {
    // Dividing by a positive factor keeps the submit order.
    for (TraceJob& j : trace.jobs) {
      j.submit = Seconds{std::llround(static_cast<double>(j.submit.count()) / factor)};
    }
  }
  return trace;
}

Result<std::vector<Summary>> run_sweep_cells(const SweepSpec& spec, const SweepInputs& inputs,
                                             std::span<const std::size_t> indexes) {
  std::vector<Result<Summary>> results(indexes.size(), Status::error("not run"));
  tbb::parallel_for(std::size_t{0}, indexes.size(), [&](std::size_t i) {
    const SweepCell cell = sweep_cell(spec, indexes[i]);
    SimOptions o;
    o.scheduler.queue = spec.policies[cell.policy];
    o.scheduler.placement = spec.placements[cell.placement];
    o.seed = spec.seeds[cell.seed];
    o.scheduler.placer.seed = o.seed;
    const Trace trace = sweep_trace(spec, inputs, cell);
    Result<SimResult> r = simulate(inputs.fleets[cell.fleet], trace, PerfModel::builtin(), o);
    if (!r) {
      results[i] = r.status();
      return;
    }
    results[i] = summarize(*r);
  });
  std::vector<Summary> out;
  out.reserve(results.size());
  for (Result<Summary>& r : results) {
    if (!r) return r.status();
    out.push_back(std::move(r).value());
  }
  return out;
}

std::string rejections_json(const Summary& summary) {
  return nlohmann::json(summary.rejections).dump();
}

namespace {

// The wire and table order of the Summary fields.
constexpr const auto& kFigureFields = kSummaryFigures;
constexpr const auto& kCountFields = kSummaryCounts;
static_assert(kFigureFields.size() == PackedSummaries::kFigures);

}  // namespace

PackedSummaries pack_summaries(std::span<const std::size_t> cells,
                               std::span<const Summary> summaries) {
  PackedSummaries p;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const Summary& s = summaries[i];
    const std::string text = rejections_json(s);
    p.counts.push_back(cells[i]);
    for (const auto& [name, field] : kCountFields) p.counts.push_back(s.*field);
    p.counts.push_back(text.size());
    for (const auto& [name, field] : kFigureFields) p.figures.push_back(s.*field);
    p.text += text;
  }
  return p;
}

Status unpack_summaries(const PackedSummaries& packed, std::vector<std::size_t>& cells,
                        std::vector<Summary>& summaries) {
  const std::size_t n = packed.counts.size() / PackedSummaries::kCounts;
  if (packed.counts.size() % PackedSummaries::kCounts != 0 ||
      packed.figures.size() != n * PackedSummaries::kFigures) {
    return Status::error("packed summaries: counts and figures disagree");
  }
  std::size_t text_at = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t* c = &packed.counts[i * PackedSummaries::kCounts];
    const double* f = &packed.figures[i * PackedSummaries::kFigures];
    Summary s;
    for (std::size_t k = 0; k < kCountFields.size(); ++k) s.*kCountFields[k].second = c[1 + k];
    for (std::size_t k = 0; k < kFigureFields.size(); ++k) s.*kFigureFields[k].second = f[k];
    const std::uint64_t bytes = c[PackedSummaries::kCounts - 1];
    if (bytes > packed.text.size() - text_at) {
      return Status::error("packed summaries: text runs past its end");
    }
    try {
      s.rejections = nlohmann::json::parse(packed.text.substr(text_at, bytes))
                         .get<std::map<std::string, std::uint64_t>>();
    } catch (const nlohmann::json::exception& e) {
      return Status::error(std::string("packed summaries: bad rejection map: ") + e.what());
    }
    text_at += bytes;
    cells.push_back(c[0]);
    summaries.push_back(std::move(s));
  }
  if (text_at != packed.text.size()) return Status::error("packed summaries: text left over");
  return Status::ok();
}

namespace {

Status write_cells(const SweepSpec& spec, std::span<const std::string> fleet_names,
                   std::span<const Summary> summaries, const std::string& path, hid_t file) {
  const h5::Writer w(path);
  h5::Handle group(H5Gcreate2(file, "cells", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.ok()) return w.fail("cannot create /cells");
  const hid_t g = group.get();
  if (Status s = w.string_attribute(file, "sweep", spec.origin); !s) return s;
  if (Status s = w.string_attribute(file, "trace", spec.trace); !s) return s;

  std::vector<std::string> fleet, policy, placement, rejections;
  std::vector<double> load;
  std::vector<std::uint64_t> seed;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const SweepCell c = sweep_cell(spec, i);
    fleet.push_back(fleet_names[c.fleet]);
    policy.push_back(spec.policies[c.policy]);
    placement.push_back(spec.placements[c.placement]);
    load.push_back(spec.load_factors[c.load]);
    seed.push_back(spec.seeds[c.seed]);
    rejections.push_back(rejections_json(summaries[i]));
  }
  Status s = w.strings(g, "fleet", fleet, "/cells/fleet");
  if (s) s = w.strings(g, "policy", policy, "/cells/policy");
  if (s) s = w.strings(g, "placement", placement, "/cells/placement");
  if (s) s = w.column(g, "load_factor", load, "/cells/load_factor");
  if (s) s = w.column(g, "seed", seed, "/cells/seed");
  for (const auto& [name, field] : kCountFields) {
    std::vector<std::uint64_t> v;
    for (const Summary& x : summaries) v.push_back(x.*field);
    if (s) s = w.column(g, name, v, std::string("/cells/") + name);
  }
  for (const auto& [name, field] : kFigureFields) {
    std::vector<double> v;
    for (const Summary& x : summaries) v.push_back(x.*field);
    if (s) s = w.column(g, name, v, std::string("/cells/") + name);
  }
  if (s) s = w.strings(g, "rejections", rejections, "/cells/rejections");
  return s;
}

}  // namespace

Status write_sweep_h5(const SweepSpec& spec, std::span<const std::string> fleet_names,
                      std::span<const Summary> summaries, const std::string& path) {
  if (summaries.size() != sweep_cell_count(spec) || fleet_names.size() != spec.fleets.size()) {
    return Status::error(path + ": sweep results do not match the sweep");
  }
  return h5::write_atomically(
      path, [&](hid_t file) { return write_cells(spec, fleet_names, summaries, path, file); });
}

}  // namespace flotilla
