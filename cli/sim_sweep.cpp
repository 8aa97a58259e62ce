// `flotilla sim --sweep`: the sweep on TBB threads and, under mpirun, MPI
// ranks. MPI stays in this file; the cells themselves are simulator/sweep.
#include "cli/sim_sweep.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "simulator/sweep.h"

namespace flotilla::cli {
namespace {

// MPI for the life of one sweep, only when mpirun started this process.
// Only the thread that built it calls MPI (MPI_THREAD_FUNNELED); TBB workers
// never do. Not copyable.
class MpiSession {
 public:
  MpiSession() {
    if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) return;
    int provided = 0;
    // The default error handler aborts the job on any MPI failure.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    active_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    funneled_ = provided >= MPI_THREAD_FUNNELED;
  }
  ~MpiSession() {
    if (active_) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  bool funneled() const { return !active_ || funneled_; }

  // Collective: true on every rank when `status` is ok on every rank. A
  // failure is printed once: by rank 0 if it failed (every rank reads the
  // same files, so theirs is most likely the same error), else by each
  // failing rank, prefixed with its number.
  bool all_ok(const Status& status) const {
    int ok = status.is_ok() ? 1 : 0, all = ok, root_ok = ok;
    if (active_) {
      MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
      MPI_Bcast(&root_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    if (!ok && (root() || root_ok)) {
      std::cerr << (root() ? "" : "rank " + std::to_string(rank_) + ": ") << status.message()
                << '\n';
    }
    return all != 0;
  }

  // Collective: rank 0 gets every rank's summaries concatenated in rank
  // order; the others get theirs back untouched.
  Result<PackedSummaries> gather(PackedSummaries mine) const {
    if (!active_) return mine;
    const std::uint64_t sizes[3] = {mine.counts.size(), mine.figures.size(), mine.text.size()};
    std::vector<std::uint64_t> all(root() ? 3 * static_cast<std::size_t>(size_) : 0);
    MPI_Gather(sizes, 3, MPI_UINT64_T, all.data(), 3, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    PackedSummaries out;
    std::vector<int> counts[3], displs[3];
    bool fits = true;
    if (root()) {
      for (int part = 0; part < 3; ++part) {
        std::uint64_t total = 0;
        for (int r = 0; r < size_; ++r) {
          const std::uint64_t n = all[3 * static_cast<std::size_t>(r) + part];
          fits = fits && total + n <= INT_MAX;
          counts[part].push_back(static_cast<int>(std::min<std::uint64_t>(n, INT_MAX)));
          displs[part].push_back(static_cast<int>(std::min<std::uint64_t>(total, INT_MAX)));
          total += n;
        }
        if (part == 0) out.counts.resize(fits ? total : 0);
        if (part == 1) out.figures.resize(fits ? total : 0);
        if (part == 2) out.text.resize(fits ? total : 0);
      }
    }
    // Every rank must learn whether rank 0 can take it all before sending.
    int go = fits ? 1 : 0;
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!go) return Status::error("sweep: results too large for one MPI gather");
    MPI_Gatherv(mine.counts.data(), static_cast<int>(mine.counts.size()), MPI_UINT64_T,
                out.counts.data(), counts[0].data(), displs[0].data(), MPI_UINT64_T, 0,
                MPI_COMM_WORLD);
    MPI_Gatherv(mine.figures.data(), static_cast<int>(mine.figures.size()), MPI_DOUBLE,
                out.figures.data(), counts[1].data(), displs[1].data(), MPI_DOUBLE, 0,
                MPI_COMM_WORLD);
    MPI_Gatherv(mine.text.data(), static_cast<int>(mine.text.size()), MPI_CHAR, out.text.data(),
                counts[2].data(), displs[2].data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    if (!root()) return mine;
    return out;
  }

 private:
  bool active_ = false, funneled_ = false;
  int rank_ = 0, size_ = 1;
};

// Puts every gathered summary at its cell's place; each cell exactly once.
Result<std::vector<Summary>> by_cell(const PackedSummaries& packed, std::size_t cells) {
  std::vector<std::size_t> index;
  std::vector<Summary> summaries;
  if (Status s = unpack_summaries(packed, index, summaries); !s) return s;
  std::vector<std::optional<Summary>> slots(cells);
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] >= cells || slots[index[i]]) {
      return Status::error("sweep: cell " + std::to_string(index[i]) + " came back twice");
    }
    slots[index[i]] = std::move(summaries[i]);
  }
  std::vector<Summary> out;
  for (std::size_t i = 0; i < cells; ++i) {
    if (!slots[i]) return Status::error("sweep: cell " + std::to_string(i) + " never came back");
    out.push_back(std::move(*slots[i]));
  }
  return out;
}

void print_json(const SweepSpec& spec, const std::vector<std::string>& fleets,
                const std::vector<Summary>& summaries) {
  nlohmann::json out{
      {"sweep", spec.origin}, {"trace", spec.trace}, {"cells", nlohmann::json::array()}};
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const SweepCell c = sweep_cell(spec, i);
    nlohmann::json cell = summary_json(summaries[i]);
    cell["fleet"] = fleets[c.fleet];
    cell["policy"] = spec.policies[c.policy];
    cell["placement"] = spec.placements[c.placement];
    cell["load_factor"] = spec.load_factors[c.load];
    cell["seed"] = spec.seeds[c.seed];
    out["cells"].push_back(std::move(cell));
  }
  std::cout << out.dump(2) << '\n';
}

void print_table(const SweepSpec& spec, const std::vector<std::string>& fleets,
                 const std::vector<Summary>& summaries) {
  int width = 5;
  for (const std::string& f : fleets) width = std::max(width, static_cast<int>(f.size()));
  std::printf("sweep %s: trace %s, %zu cells\n\n", spec.origin.c_str(), spec.trace.c_str(),
              summaries.size());
  std::printf("%-*s %-12s %-10s %5s %6s %13s %10s %10s %10s %10s %10s %6s %11s %10s\n", width,
              "fleet", "policy", "placement", "load", "seed", "done/jobs", "makespan h",
              "JCT mean h", "JCT p99 h", "wait h", "slowdown", "util%", "cost $", "energy kWh");
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const SweepCell c = sweep_cell(spec, i);
    const Summary& s = summaries[i];
    const std::string done = std::to_string(s.completed) + "/" + std::to_string(s.jobs);
    std::printf(
        "%-*s %-12s %-10s %5.2f %6llu %13s %10.1f %10.1f %10.1f %10.1f %10.2f %6.1f %11.2f "
        "%10.1f\n",
        width, fleets[c.fleet].c_str(), spec.policies[c.policy].c_str(),
        spec.placements[c.placement].c_str(), spec.load_factors[c.load],
        static_cast<unsigned long long>(spec.seeds[c.seed]), done.c_str(), s.makespan_s / 3600,
        s.mean_jct_s / 3600, s.p99_jct_s / 3600, s.mean_wait_s / 3600, s.bounded_slowdown,
        100 * s.utilization, s.cost_usd, s.energy_kwh);
  }
}

}  // namespace

int run_sweep(const std::string& sweep_path, bool json) {
  const MpiSession mpi;
  if (!mpi.all_ok(mpi.funneled()
                      ? Status::ok()
                      : Status::error("sweep: MPI does not offer MPI_THREAD_FUNNELED"))) {
    return 1;
  }
  Result<SweepSpec> spec = load_sweep_file(sweep_path);
  Result<SweepInputs> inputs = spec ? load_sweep_inputs(*spec) : Result<SweepInputs>(spec.status());
  if (!mpi.all_ok(inputs.status())) return 1;

  // Rank r of K takes every K-th cell from r; alone, all of them.
  std::vector<std::size_t> mine;
  const std::size_t cells = sweep_cell_count(*spec);
  for (std::size_t i = static_cast<std::size_t>(mpi.rank()); i < cells;
       i += static_cast<std::size_t>(mpi.size())) {
    mine.push_back(i);
  }
  Result<std::vector<Summary>> ran = run_sweep_cells(*spec, *inputs, mine);
  if (!mpi.all_ok(ran.status())) return 1;

  Result<PackedSummaries> gathered = mpi.gather(pack_summaries(mine, *ran));
  if (!mpi.all_ok(gathered.status())) return 1;
  if (!mpi.root()) return 0;
  Result<std::vector<Summary>> summaries = by_cell(*gathered, cells);
  if (!summaries) {
    std::cerr << summaries.message() << '\n';
    return 1;
  }
  std::vector<std::string> fleets;
  for (const Fleet& f : inputs->fleets) fleets.push_back(f.name());
  if (spec->out) {
    if (Status s = write_sweep_h5(*spec, fleets, *summaries, *spec->out); !s) {
      std::cerr << s.message() << '\n';
      return 1;
    }
  }
  if (json) {
    print_json(*spec, fleets, *summaries);
  } else {
    print_table(*spec, fleets, *summaries);
  }
  return 0;
}

}  // namespace flotilla::cli
