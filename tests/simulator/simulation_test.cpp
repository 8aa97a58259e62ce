#include "simulator/simulation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "simulator/metrics.h"
#include "tests/scheduler/test_fleets.h"
#include "traces/swf.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::eight_gpus;
using testing::node_of;
using testing::type_id;

Seconds s(std::int64_t v) {
  return Seconds{v};
}

// Inference jobs measured on the fleet's own GPU: the model leaves their
// runtimes exactly as given (no speed-up, no gradient traffic).
TraceJob job(std::uint64_t id, std::int64_t submit, unsigned nodes, unsigned per_node,
             std::int64_t runtime) {
  TraceJob j;
  j.id = id;
  j.submit = s(submit);
  j.shape =
      PlacementRequest{.nodes = nodes, .gpus_per_node = per_node, .total_gpus = nodes * per_node};
  j.workload = WorkloadClass::kInference;
  j.work.reference_runtime = s(runtime);
  j.work.reference_gpu = type_id("RTX4090");
  return j;
}

Trace three_jobs() {
  Trace t;
  t.origin = "three";
  t.jobs = {job(0, 0, 1, 4, 100), job(1, 0, 2, 4, 50), job(2, 10, 1, 1, 20)};
  return t;
}

SimResult run(const Fleet& fleet, const Trace& trace, const std::string& queue,
              std::vector<NodeOutage> outages = {}) {
  SimOptions o;
  o.scheduler.queue = queue;
  o.outages = std::move(outages);
  Result<SimResult> r = simulate(fleet, trace, PerfModel::builtin(), o);
  EXPECT_TRUE(r.is_ok()) << r.message();
  return std::move(r).value();
}

// Slurm's backfill plans running jobs to their time limits; the simulator can
// do the same, or plan by the true run times the model knows.
TEST(Simulation, PlanningByTimeLimitsBackfillsWhatTrueRunTimesWouldNot) {
  Fleet fleet = eight_gpus();
  Trace trace;
  trace.origin = "limits";
  trace.jobs = {job(0, 0, 1, 4, 100), job(1, 1, 2, 4, 100), job(2, 2, 1, 4, 300)};
  trace.jobs[0].time_limit = s(1000);  // ends long before its limit
  trace.jobs[1].time_limit = s(100);
  trace.jobs[2].time_limit = s(300);
  SimOptions o;
  o.scheduler.queue = "easy";
  const SimResult by_runtime = simulate(fleet, trace, PerfModel::builtin(), o).value();
  EXPECT_EQ(by_runtime.jobs[1].start, s(100)) << "reserved for when job 0 really ends";
  EXPECT_EQ(by_runtime.jobs[2].start, s(200)) << "would delay job 1's reservation";

  o.plan_by_time_limit = true;
  const SimResult by_limit = simulate(fleet, trace, PerfModel::builtin(), o).value();
  EXPECT_EQ(by_limit.jobs[0].end, s(100)) << "planned to 1000, it ends when its work is done";
  EXPECT_EQ(by_limit.jobs[2].start, s(2)) << "ends before job 1's reservation at job 0's limit";
  EXPECT_EQ(by_limit.jobs[2].end, s(302));
  EXPECT_EQ(by_limit.jobs[1].start, s(302));
}

TEST(Simulation, EasyBackfillsTheShortJobFcfsMakesItWait) {
  Fleet fleet = eight_gpus();
  const Trace trace = three_jobs();
  const SimResult easy = run(fleet, trace, "easy");
  ASSERT_EQ(easy.jobs.size(), 3u);
  EXPECT_EQ(easy.jobs[0].start, s(0));
  EXPECT_EQ(easy.jobs[0].end, s(100));
  EXPECT_EQ(easy.jobs[2].start, s(10)) << "backfilled: it ends before job 1's reservation";
  EXPECT_EQ(easy.jobs[2].end, s(30));
  EXPECT_EQ(easy.jobs[1].start, s(100));
  EXPECT_EQ(easy.jobs[1].end, s(150));
  EXPECT_EQ(easy.jobs[1].level, Level::kSwitch);

  const SimResult fcfs = run(fleet, trace, "fcfs");
  EXPECT_EQ(fcfs.jobs[2].start, s(150)) << "waits behind job 1";

  const Summary sum = summarize(easy);
  EXPECT_EQ(sum.completed, 3u);
  EXPECT_DOUBLE_EQ(sum.makespan_s, 150);
  EXPECT_DOUBLE_EQ(sum.mean_wait_s, 100.0 / 3);  // job 1 waited 100 s
  EXPECT_DOUBLE_EQ(sum.mean_jct_s, (100 + 150 + 20) / 3.0);
  // 4x100 + 8x50 + 1x20 GPU-seconds over 8 GPUs x 150 s.
  EXPECT_DOUBLE_EQ(sum.utilization, 820.0 / 1200);
  // RTX 4090 at $0.29 per GPU-hour, 450 W per card.
  EXPECT_NEAR(sum.cost_usd, 820 * 0.29 / 3600, 1e-6);
  EXPECT_NEAR(sum.energy_kwh, 820 * 450 / 3.6e6, 1e-9);
}

TEST(Simulation, IsDeterministic) {
  Fleet fleet = eight_gpus();
  Trace trace;
  for (std::uint64_t i = 0; i < 200; ++i) {
    trace.jobs.push_back(job(i, static_cast<std::int64_t>(i * 7 % 50), 1, 1 + i % 4,
                             static_cast<std::int64_t>(10 + i * 13 % 90)));
  }
  std::stable_sort(trace.jobs.begin(), trace.jobs.end(),
                   [](const TraceJob& a, const TraceJob& b) { return a.submit < b.submit; });
  const SimResult a = run(fleet, trace, "conservative");
  const SimResult b = run(fleet, trace, "conservative");
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    EXPECT_EQ(a.jobs[i].start, b.jobs[i].start);
    EXPECT_EQ(a.jobs[i].end, b.jobs[i].end);
  }
  EXPECT_EQ(summarize(a).completed, 200u);
}

TEST(Simulation, FailedNodeRequeuesItsJob) {
  Fleet fleet = eight_gpus();
  Trace trace;
  trace.jobs = {job(0, 0, 1, 4, 100)};
  // Both nodes go down in turn, so wherever job 0 runs it is hit once.
  const SimResult r = run(fleet, trace, "easy", {{0, s(50), s(60)}, {1, s(50), s(60)}});
  const JobRecord& j = r.jobs[0];
  EXPECT_EQ(j.outcome, JobOutcome::kCompleted);
  EXPECT_EQ(j.requeues, 1u);
  EXPECT_EQ(j.start, s(60));
  EXPECT_EQ(j.end, s(160));
}

// Slurm holds a batch job requeued more than MaxBatchRequeue times; the
// simulator fails it on the failure past its limit.
TEST(Simulation, AJobHitMoreOftenThanItsRequeueLimitFails) {
  Fleet fleet = eight_gpus();
  Trace trace;
  trace.jobs = {job(0, 0, 1, 4, 100)};
  SimOptions o;
  o.scheduler.queue = "easy";
  o.max_requeues = 2;
  // Both nodes go down together three times, each time before the job is done.
  for (std::int64_t down : {50, 80, 120}) {
    o.outages.push_back({0, s(down), s(down + 10)});
    o.outages.push_back({1, s(down), s(down + 10)});
  }
  Result<SimResult> r = simulate(fleet, trace, PerfModel::builtin(), o);
  ASSERT_TRUE(r.is_ok()) << r.message();
  const JobRecord& j = r->jobs[0];
  EXPECT_EQ(j.outcome, JobOutcome::kFailed);
  EXPECT_EQ(j.requeues, 2u);
  EXPECT_EQ(j.start, s(90));  // the third run
  EXPECT_EQ(j.end, s(120));
  EXPECT_EQ(summarize(*r).failed, 1u);
}

// A job on more GPUs, for longer, than their failure rate lets finish (8 GPUs
// for 1,000 hours at 10 hours MTBF each: a failure every 75 minutes) used to
// be requeued for ever; the limit ends the simulation.
TEST(Simulation, FailuresFasterThanAJobCanFinishEndInFailureNotInALoop) {
  Fleet fleet = eight_gpus();
  Trace trace;
  trace.jobs = {job(0, 0, 2, 4, 1000 * 3600), job(1, 0, 1, 1, 60)};
  SimOptions o;
  o.scheduler.queue = "easy";
  o.gpu_mtbf_hours = 10;
  Result<SimResult> r = simulate(fleet, trace, PerfModel::builtin(), o);
  ASSERT_TRUE(r.is_ok()) << r.message();
  EXPECT_EQ(r->jobs[0].outcome, JobOutcome::kFailed);
  EXPECT_EQ(r->jobs[0].requeues, o.max_requeues);
  EXPECT_EQ(r->jobs[1].outcome, JobOutcome::kCompleted);
}

// Failure rates per GPU type: with only the RTX 4090s given an MTBF, jobs
// there are hit and requeued, and the H100 beside them never fails.
TEST(Simulation, FailureRatesArePerGpuType) {
  FleetBuilder b("mixed");
  b.add_region("r", Link{100, 1});
  b.add_site("s", Link{100, 1});
  b.add_switch("w", Link{100, 1});
  testing::add_nodes(b, "home", 4, node_of("RTX4090", 1));
  testing::add_nodes(b, "dc", 4, node_of("H100-SXM", 1));
  const Fleet fleet = testing::built(b);
  Trace trace;
  for (std::uint64_t i = 0; i < 40; ++i) {
    trace.jobs.push_back(job(i, static_cast<std::int64_t>(i) * 3600, 1, 1, 4 * 3600));
    trace.jobs.back().shape.types.set(type_id(i % 2 == 0 ? "RTX4090" : "H100-SXM"));
  }
  SimOptions o;
  o.scheduler.queue = "easy";
  o.gpu_mtbf_hours_by_type[type_id("RTX4090")] = 5;  // one GPU a node: a failure every 5 h
  Result<SimResult> r = simulate(fleet, trace, PerfModel::builtin(), o);
  ASSERT_TRUE(r.is_ok()) << r.message();
  std::uint32_t home_requeues = 0;
  for (const JobRecord& j : r->jobs) {
    if (j.gpu_type == type_id("H100-SXM")) {
      EXPECT_EQ(j.requeues, 0u) << "job " << j.id;
      EXPECT_EQ(j.outcome, JobOutcome::kCompleted) << "job " << j.id;
    } else {
      home_requeues += j.requeues;
    }
  }
  EXPECT_GT(home_requeues, 0u);
}

TEST(Simulation, RejectsWhatTheFleetCanNeverHoldWithAReason) {
  Fleet fleet = eight_gpus();
  Trace trace;
  trace.jobs = {job(0, 0, 4, 4, 10), job(1, 0, 1, 1, 10)};
  trace.jobs[1].shape.types.set(type_id("H100-SXM"));
  const Summary sum = summarize(run(fleet, trace, "easy"));
  EXPECT_EQ(sum.rejected, 2u);
  EXPECT_EQ(sum.rejections.at("wants more GPUs of one acceptable type than the fleet has"), 1u);
  EXPECT_EQ(sum.rejections.at("no GPU of an acceptable type in this fleet"), 1u);
}

// The NASA iPSC/860 log on its own machine: 128 nodes, one "GPU" each.
TEST(Simulation, NasaIpscNeverOvercommitsAndEasyWaitsNoLongerThanFcfs) {
  const std::string path =
      std::string(FLOTILLA_SHARED_DIR) + "/data/traces/NASA-iPSC-1993-3.1-cln.swf.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  Result<Trace> trace = read_swf(path);
  ASSERT_TRUE(trace.is_ok()) << trace.message();
  FleetBuilder b("ipsc860");
  b.add_region("nasa", Link{1, 1});
  b.add_site("ames", Link{1, 1});
  b.add_switch("hypercube", Link{1, 1});
  Node n = node_of("H100-SXM", 1);  // the type the SWF reader takes as reference
  for (int i = 0; i < 128; ++i)
    ASSERT_TRUE(b.add_node("ipsc" + std::to_string(i), n, "nasa").is_ok());
  Fleet fleet = built(b);
  double waits[2] = {0, 0};
  int k = 0;
  for (const char* queue : {"fcfs", "easy"}) {
    const SimResult r = run(fleet, *trace, queue);
    std::map<Seconds, std::int64_t> change;
    for (const JobRecord& j : r.jobs) {
      if (j.outcome != JobOutcome::kCompleted) continue;
      ASSERT_GE(j.start, j.submit);
      change[j.start] += j.gpus;
      change[j.end] -= j.gpus;
    }
    std::int64_t busy = 0;
    for (const auto& [at, d] : change) {
      busy += d;
      ASSERT_LE(busy, 128) << queue << " overcommits at " << at.count();
    }
    const Summary sum = summarize(r);
    EXPECT_EQ(sum.jobs, trace->jobs.size());
    EXPECT_EQ(sum.completed + sum.rejected, sum.jobs);
    waits[k++] = sum.mean_wait_s;
  }
  EXPECT_LE(waits[1], waits[0]) << "EASY mean wait " << waits[1] << " s, FCFS " << waits[0] << " s";
  std::printf("NASA iPSC mean wait: FCFS %.0f s, EASY %.0f s\n", waits[0], waits[1]);
}

}  // namespace
}  // namespace flotilla
