// flotilla ctld end to end: real mpirun with a controller and three executors
// declaring different GPU types (examples/fleets/local-test.toml), real
// SQLite, the real socket, the real client commands.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "scheduler/metering.h"
#include "tests/scheduler/ctld_cluster.h"

namespace flotilla {
namespace {

using testing::CommandOutcome;
using testing::CtldCluster;
using testing::run_flotilla;
using Json = nlohmann::json;

std::uint64_t submitted_id(const CommandOutcome& r) {
  const std::string prefix = "Submitted batch job ";
  if (r.exit_code != 0 || r.out.rfind(prefix, 0) != 0) return 0;
  return std::stoull(r.out.substr(prefix.size()));
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::set<std::string> split_set(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, ',');) out.insert(p);
  return out;
}

TEST(CtldTest, TwoHundredMixedJobsNeverOvercommitAndNeverShareAGpu) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string script =
      c.script("job.sh",
               "#!/bin/sh\n"
               "echo \"$SLURMD_NODENAME|$CUDA_VISIBLE_DEVICES|$(date +%s%N)\"\n"
               "sleep $1\n"
               "date +%s%N\n");
  struct Shape {
    const char* option;
    std::size_t gpus;
    const char* node;  // "" any
  };
  const Shape shapes[] = {{"--gpus=1", 1, ""},
                          {"--gres=gpu:2", 2, ""},
                          {"--gpus=rtx4090:1", 1, "n2"},
                          {"--gpus-per-node=h100:4", 4, "n1"},
                          {"-G 3", 3, ""},
                          {"--gpus=a100:2", 2, "n3"}};
  std::map<std::uint64_t, const Shape*> shape_of;
  for (int i = 0; i < 200; ++i) {
    const Shape& s = shapes[i % 6];
    const char* sleeps[] = {"0.05", "0.1", "0.15", "0.2"};
    const std::string sleep = sleeps[i % 4];
    const CommandOutcome r =
        run_flotilla("sbatch" + c.sock() + " " + s.option + " --output='" +
                     (c.dir() / "out/%j.out").string() + "' '" + script + "' " + sleep);
    const std::uint64_t id = submitted_id(r);
    ASSERT_NE(id, 0u) << r.err;
    shape_of[id] = &s;
  }
  ASSERT_TRUE(c.wait_all_final(150));
  const Json jobs = c.jobs();
  ASSERT_EQ(jobs.size(), 200u);

  // The controller's own accounting: at no instant more GPUs held on a node than it has.
  const std::map<std::string, int> capacity{{"n1", 4}, {"n2", 2}, {"n3", 4}};
  std::map<std::string, std::vector<std::pair<std::int64_t, int>>> events;
  struct Run {
    std::string node;
    std::set<std::string> devices;
    std::int64_t start, end;
  };
  std::vector<Run> runs;
  for (const Json& j : jobs) {
    ASSERT_EQ(j.at("state"), "COMPLETED") << j.dump();
    const Shape& s = *shape_of.at(j.at("id").get<std::uint64_t>());
    const std::string node = j.at("nodelist");
    if (*s.node) {
      EXPECT_EQ(node, s.node) << j.dump();
    }
    EXPECT_EQ(j.at("gpus").get<std::size_t>(), s.gpus);
    events[node].push_back({j.at("start_ms").get<std::int64_t>(), static_cast<int>(s.gpus)});
    events[node].push_back({j.at("end_ms").get<std::int64_t>(), -static_cast<int>(s.gpus)});
    // What the job itself saw.
    const auto out =
        lines_of(c.dir() / "out" / (std::to_string(j.at("id").get<std::uint64_t>()) + ".out"));
    ASSERT_EQ(out.size(), 2u) << j.dump();
    const std::string& first = out[0];
    const std::size_t a = first.find('|'), b = first.rfind('|');
    EXPECT_EQ(first.substr(0, a), node);
    Run run{node, split_set(first.substr(a + 1, b - a - 1)), std::stoll(first.substr(b + 1)),
            std::stoll(out[1])};
    EXPECT_EQ(run.devices.size(), s.gpus) << first;
    runs.push_back(std::move(run));
  }
  for (auto& [node, ev] : events) {
    std::sort(ev.begin(), ev.end());  // at equal times the release (negative) comes first
    int held = 0;
    for (const auto& [t, d] : ev) {
      held += d;
      EXPECT_LE(held, capacity.at(node)) << node << " at " << t;
    }
  }
  // Jobs that ran at the same time on one node saw disjoint CUDA_VISIBLE_DEVICES.
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = i + 1; k < runs.size(); ++k) {
      const Run &x = runs[i], &y = runs[k];
      if (x.node != y.node || x.end <= y.start || y.end <= x.start) continue;
      for (const std::string& d : x.devices)
        EXPECT_FALSE(y.devices.count(d)) << x.node << " GPU " << d;
    }
  }
  // Metering: one record per job, in the format the reward model reads.
  const std::string meter = (c.dir() / "meter.jsonl").string();
  const CommandOutcome m =
      run_flotilla("meter export --from 0 --to 99999999999 -o '" + meter + "'" + c.sock());
  ASSERT_EQ(m.exit_code, 0) << m.err;
  Result<std::vector<MeterRecord>> records = read_meter_file(meter);
  ASSERT_TRUE(records) << records.message();
  EXPECT_EQ(records->size(), 200u);
  for (const MeterRecord& r : *records) {
    EXPECT_EQ(r.outcome, JobEndState::kCompleted);
    EXPECT_EQ(r.fault, Fault::kNone);
    EXPECT_EQ(r.provider, r.node == "n2" ? "alice-home" : "lab-dc");
  }
}

TEST(CtldTest, TimeLimitsCancelArraysDependenciesAndBadInput) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string out = " -G 1 --output='" + (c.dir() / "out/%x-%j.out").string() + "'";
  const std::string sleeper = c.script("sleeper.sh", "#!/bin/sh\nsleep 30\n");
  // --time=1 is one minute, which this controller compresses to one second.
  const std::uint64_t limited = submitted_id(
      run_flotilla("sbatch" + c.sock() + out + " --time=1 -J limited '" + sleeper + "'"));
  const std::uint64_t cancelled =
      submitted_id(run_flotilla("sbatch" + c.sock() + out + " -J cancelme '" + sleeper + "'"));
  ASSERT_NE(limited, 0u);
  ASSERT_NE(cancelled, 0u);
  for (int i = 0; i < 100 && c.state_of(cancelled) != "RUNNING"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(run_flotilla("scancel" + c.sock() + " " + std::to_string(cancelled)).exit_code, 0);

  // An array of six, two at a time, then a job that waits for all of it.
  const std::string stamp =
      c.script("stamp.sh",
               "#!/bin/sh\n"
               "echo \"${SLURM_ARRAY_TASK_ID:-x} $(date +%s%N)\" >> \"$1\"\n"
               "sleep 0.3\n"
               "echo \"${SLURM_ARRAY_TASK_ID:-x} $(date +%s%N)\" >> \"$1\"\n");
  const std::string log = (c.dir() / "array.log").string(),
                    after_log = (c.dir() / "after.log").string();
  const std::uint64_t array = submitted_id(
      run_flotilla("sbatch" + c.sock() + out + " --array=0-5%2 '" + stamp + "' '" + log + "'"));
  ASSERT_NE(array, 0u);
  const std::uint64_t after = submitted_id(
      run_flotilla("sbatch" + c.sock() + out + " --dependency=afterok:" + std::to_string(array) +
                   " '" + stamp + "' '" + after_log + "'"));
  ASSERT_NE(after, 0u);
  const std::uint64_t never = submitted_id(
      run_flotilla("sbatch" + c.sock() + out + " --dependency=afternotok:" + std::to_string(array) +
                   " '" + stamp + "' '" + after_log + "'"));
  ASSERT_NE(never, 0u);
  // A job's GPUs are of one type, and no two nodes of this fleet share one:
  // two nodes can never be had.
  const std::string multi = c.script("multi.sh", "#!/bin/sh\ntrue\n");
  CommandOutcome two =
      run_flotilla("sbatch" + c.sock() + " -N 2 --gpus-per-node=2 '" + multi + "'");
  EXPECT_EQ(two.exit_code, 1);
  EXPECT_NE(two.err.find("could ever run"), std::string::npos) << two.err;

  // Bad input: each refused with one line, and the controller keeps running.
  const std::string unknown = c.script("unknown.sh", "#!/bin/sh\n#SBATCH --no-such-option\ntrue\n");
  CommandOutcome r = run_flotilla("sbatch" + c.sock() + " '" + unknown + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown.sh:2:"), std::string::npos) << r.err;
  r = run_flotilla("sbatch" + c.sock() + " --gpus-per-node=8 '" + sleeper + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("could ever run"), std::string::npos) << r.err;
  r = run_flotilla("sbatch" + c.sock() + " --gpus=h200:1 '" + sleeper + "'");
  EXPECT_EQ(r.exit_code, 1) << "no H200 in this fleet";
  r = run_flotilla("sbatch" + c.sock() + " '" + (c.dir() / "missing.sh").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.sh"), std::string::npos);
  const std::string plain = (c.dir() / "plain.sh").string();
  std::ofstream(plain) << "#!/bin/sh\ntrue\n";
  r = run_flotilla("sbatch" + c.sock() + " '" + plain + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not executable"), std::string::npos) << r.err;
  {
    Result<int> fd = protocol::connect_socket(c.socket());
    ASSERT_TRUE(fd);
    const std::string garbage = std::string("\0\0\0\x05", 4) + "nope!";
    ASSERT_TRUE(protocol::write_all(*fd, garbage));
    protocol::FrameReader reader;
    Result<Json> answer = protocol::read_frame(*fd, reader);
    ::close(*fd);
    ASSERT_TRUE(answer) << answer.message();
    EXPECT_FALSE(answer->at("ok").get<bool>());
    EXPECT_NE(answer->at("error").get<std::string>().find("malformed"), std::string::npos);
  }
  EXPECT_TRUE(protocol::call(c.socket(), {{"op", "ping"}}));

  // Everything but `never` ends; `never` waits for a failure that cannot come.
  for (int i = 0; i < 300; ++i) {
    const Json jobs = c.jobs();
    const bool done = std::all_of(jobs.begin(), jobs.end(), [&](const Json& j) {
      return j.at("id").get<std::uint64_t>() == never ||
             (j.at("state") != "PENDING" && j.at("state") != "RUNNING");
    });
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(c.state_of(limited), "TIMEOUT");
  EXPECT_EQ(c.state_of(cancelled), "CANCELLED");
  EXPECT_EQ(c.state_of(after), "COMPLETED");
  EXPECT_EQ(c.state_of(never), "PENDING");
  r = run_flotilla("squeue --json -j " + std::to_string(never) + c.sock());
  EXPECT_NE(r.out.find("DependencyNeverSatisfied"), std::string::npos) << r.out;
  r = run_flotilla("squeue" + c.sock());
  EXPECT_NE(
      r.out.find(
          "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"),
      std::string::npos)
      << r.out;

  // Array order: never more than two tasks at once, all six ran, the dependent ran after them all.
  std::vector<std::pair<std::int64_t, int>> ev;
  std::int64_t last_end = 0;
  std::set<std::string> seen;
  std::map<std::string, int> marks;
  for (const std::string& l : lines_of(log)) {
    const std::string task = l.substr(0, l.find(' '));
    const std::int64_t t = std::stoll(l.substr(l.find(' ') + 1));
    const bool start = marks[task]++ == 0;
    ev.push_back({t, start ? 1 : -1});
    if (!start) last_end = std::max(last_end, t);
    seen.insert(task);
  }
  EXPECT_EQ(seen.size(), 6u);
  std::sort(ev.begin(), ev.end());
  int running = 0;
  for (const auto& [t, d] : ev) {
    running += d;
    EXPECT_LE(running, 2);
  }
  const auto after_lines = lines_of(after_log);
  ASSERT_EQ(after_lines.size(), 2u);
  EXPECT_GT(std::stoll(after_lines[0].substr(2)), last_end);
}

TEST(CtldTest, Kill9OfTheControllerLosesNoJobAndRunsNoneTwice) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string runs = (c.dir() / "runs.log").string();
  const std::string script =
      c.script("job.sh", "#!/bin/sh\necho $SLURM_JOB_ID >> '" + runs + "'\nsleep 0.3\n");
  std::set<std::uint64_t> requeue;
  for (int i = 0; i < 300; ++i) {
    const bool rq = i % 2 == 0;
    const std::uint64_t id =
        submitted_id(run_flotilla("sbatch" + c.sock() + (rq ? " --requeue" : "") +
                                  " --gpus=1 --output=/dev/null '" + script + "'"));
    ASSERT_NE(id, 0u);
    if (rq) requeue.insert(id);
  }
  c.kill_controller();
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.wait_all_final(150));
  const Json jobs = c.jobs();
  ASSERT_EQ(jobs.size(), 300u);
  std::map<std::uint64_t, int> started;
  for (const std::string& l : lines_of(runs)) ++started[std::stoull(l)];
  int node_fail = 0;
  for (const Json& j : jobs) {
    const std::uint64_t id = j.at("id");
    const std::string state = j.at("state");
    if (requeue.count(id)) {
      EXPECT_EQ(state, "COMPLETED") << j.dump();
      EXPECT_LE(started[id], 1 + j.at("restarts").get<int>()) << j.dump();
      EXPECT_GE(started[id], 1) << j.dump();
    } else {
      EXPECT_TRUE(state == "COMPLETED" || state == "NODE_FAIL") << j.dump();
      EXPECT_LE(started[id], 1) << j.dump();
      if (state == "COMPLETED") {
        EXPECT_EQ(started[id], 1) << j.dump();
      }
      node_fail += state == "NODE_FAIL";
    }
  }
  // Some jobs were running when the controller died (10 GPUs, 300 jobs).
  int restarted = 0;
  for (const Json& j : jobs) restarted += j.at("restarts").get<int>();
  EXPECT_GT(node_fail + restarted, 0);
}

}  // namespace
}  // namespace flotilla
