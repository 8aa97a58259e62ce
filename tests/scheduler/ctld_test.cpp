// flotilla ctld end to end: real mpirun with a controller and three executors
// declaring different GPU types (examples/fleets/local-test.toml), real
// SQLite, the real socket, the real client commands.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "executor/probe_report.h"
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

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
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

// Meter export of everything so far, read back as the reward model reads it.
// What a Slurm user types, against a live controller: the socket's mode,
// squeue's default columns and its -t, -u, -j and --json selections, scontrol
// show job, the singleton and afterany dependencies, the %A %a %u %N %x output
// patterns, scancel by name and by user, sacct's columns, -s and --json.
TEST(CtldTest, ClientCommandsSelectShowAndCancelAsSlurmDoes) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string d = c.dir().string();
  struct stat st {};
  ASSERT_EQ(::stat(c.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u) << "the socket is for the controller's user and group";
  const std::string user = ::getpwuid(::getuid())->pw_name;

  // alpha holds one of n1's four H100s; beta needs all four and waits.
  const std::string sleeper = c.script("sleeper.sh", "#!/bin/sh\nsleep 30\n");
  const std::string quiet = " --output=/dev/null '";
  const std::uint64_t alpha = submitted_id(
      run_flotilla("sbatch" + c.sock() + " -J alpha --gpus=h100:1" + quiet + sleeper + "'"));
  ASSERT_NE(alpha, 0u);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(alpha) == "RUNNING"; }));
  const std::uint64_t beta = submitted_id(
      run_flotilla("sbatch" + c.sock() + " -J beta --gpus=h100:4" + quiet + sleeper + "'"));
  ASSERT_NE(beta, 0u);
  ASSERT_TRUE(CtldCluster::wait_for(10, [&] { return c.state_of(beta) == "PENDING"; }));

  const std::string a = std::to_string(alpha), b = std::to_string(beta);
  const std::string header =
      "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)";
  const std::vector<std::string> queue = split_lines(run_flotilla("squeue" + c.sock()).out);
  ASSERT_EQ(queue.size(), 3u) << ::testing::PrintToString(queue);
  EXPECT_EQ(queue[0], header);
  EXPECT_EQ(queue[1].substr(0, 18), std::string(18 - a.size(), ' ') + a);
  EXPECT_NE(queue[1].find("    alpha "), std::string::npos) << queue[1];
  EXPECT_NE(queue[1].find("  R "), std::string::npos) << queue[1];
  EXPECT_EQ(queue[1].substr(queue[1].size() - 3), " n1") << queue[1];
  EXPECT_NE(queue[2].find("     beta "), std::string::npos) << queue[2];
  EXPECT_NE(queue[2].find(" PD "), std::string::npos) << queue[2];
  EXPECT_EQ(queue[2].back(), ')') << "a pending job shows its reason: " << queue[2];

  const auto ids_of = [&](const std::string& options) {  // the JOBID column
    std::vector<std::string> ids;
    for (const std::string& l :
         split_lines(run_flotilla("squeue --noheader" + options + c.sock()).out)) {
      std::istringstream(l) >> ids.emplace_back();
    }
    return ids;
  };
  EXPECT_EQ(ids_of(" -t PD"), std::vector<std::string>{b});
  EXPECT_EQ(ids_of(" -t r"), std::vector<std::string>{a});
  EXPECT_EQ(ids_of(" -u " + user + " -j " + b), std::vector<std::string>{b});
  EXPECT_TRUE(ids_of(" -u nosuchuser").empty());
  const Json selected = Json::parse(run_flotilla("squeue --json -j " + a + c.sock()).out);
  ASSERT_EQ(selected.at("jobs").size(), 1u);
  EXPECT_EQ(selected.at("jobs")[0].at("name"), "alpha");
  EXPECT_EQ(run_flotilla("squeue -t BOGUS" + c.sock()).exit_code, 2);

  const CommandOutcome shown = run_flotilla("scontrol show job " + a + c.sock());
  EXPECT_EQ(shown.exit_code, 0);
  for (const std::string& field :
       std::vector<std::string>{"JobId=" + a + " JobName=alpha", "JobState=RUNNING", "NodeList=n1",
                                "TRES=gres/gpu=1", "UserId=" + user, "WorkDir="}) {
    EXPECT_NE(shown.out.find(field), std::string::npos) << field << " in\n" << shown.out;
  }
  const CommandOutcome unknown = run_flotilla("scontrol show job 999999" + c.sock());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(std::count(unknown.err.begin(), unknown.err.end(), '\n'), 1) << unknown.err;

  // Two jobs named solo with --dependency=singleton never overlap; afterany
  // runs after a job that failed; the output patterns name files as Slurm does.
  const std::string stamp =
      c.script("stamp.sh", "#!/bin/sh\necho \"start $(date +%s%N)\" >> '" + d +
                               "/solo.log'\nsleep 0.4\necho \"end $(date +%s%N)\" >> '" + d +
                               "/solo.log'\n");
  std::vector<std::uint64_t> solos;
  for (int i = 0; i < 2; ++i) {
    solos.push_back(submitted_id(run_flotilla("sbatch" + c.sock() +
                                              " -J solo --dependency=singleton --gpus=a100:1" +
                                              quiet + stamp + "'")));
    ASSERT_NE(solos.back(), 0u);
  }
  const std::uint64_t failing =
      submitted_id(run_flotilla("sbatch" + c.sock() + " --gpus=rtx4090:1" + quiet +
                                c.script("fail.sh", "#!/bin/sh\nsleep 0.3\nexit 3\n") + "'"));
  const std::uint64_t after_any = submitted_id(
      run_flotilla("sbatch" + c.sock() + " --dependency=afterany:" + std::to_string(failing) +
                   " --gpus=rtx4090:1" + quiet + c.script("ok.sh", "#!/bin/sh\ntrue\n") + "'"));
  const std::uint64_t array = submitted_id(
      run_flotilla("sbatch" + c.sock() + " -J pat --array=0-1 --gpus=rtx4090:1 --output='" + d +
                   "/%A_%a-%u-%N-%x.out' " + c.script("hello.sh", "#!/bin/sh\necho hello\n")));
  ASSERT_NE(failing, 0u);
  ASSERT_NE(after_any, 0u);
  ASSERT_NE(array, 0u);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] {
    return c.state_of(solos[1]) == "COMPLETED" && c.state_of(after_any) == "COMPLETED" &&
           c.state_of(array) != "PENDING" && c.state_of(array) != "RUNNING";
  })) << c.jobs().dump();
  const std::vector<std::string> solo_log = lines_of(c.dir() / "solo.log");
  ASSERT_EQ(solo_log.size(), 4u);
  EXPECT_EQ(solo_log[0].substr(0, 6), "start ");
  EXPECT_EQ(solo_log[1].substr(0, 4), "end ") << "the second solo started before the first ended";
  EXPECT_EQ(c.state_of(failing), "FAILED");
  for (int task = 0; task < 2; ++task) {
    const std::filesystem::path out =
        c.dir() / (std::to_string(array) + "_" + std::to_string(task) + "-" + user + "-n2-pat.out");
    EXPECT_EQ(lines_of(out), std::vector<std::string>{"hello"}) << out;
  }

  // scancel -n ends alpha, which lets beta start; scancel -u ends beta.
  ASSERT_EQ(run_flotilla("scancel -n alpha" + c.sock()).exit_code, 0);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(beta) == "RUNNING"; }))
      << c.job(beta).dump();
  EXPECT_EQ(c.state_of(alpha), "CANCELLED");
  ASSERT_EQ(run_flotilla("scancel -u " + user + c.sock()).exit_code, 0);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(beta) == "CANCELLED"; }));

  const std::vector<std::string> acct = split_lines(run_flotilla("sacct" + c.sock()).out);
  ASSERT_GE(acct.size(), 2u);
  for (const char* column : {"JobID", "State", "Elapsed", "GPUs", "GPUSeconds", "ExitCode"})
    EXPECT_NE(acct[0].find(column), std::string::npos) << column << " in " << acct[0];
  const auto line_of = [&](std::uint64_t id) {
    for (const std::string& l : acct) {
      if (l.rfind(std::to_string(id) + " ", 0) == 0) return l;
    }
    return std::string();
  };
  EXPECT_NE(line_of(failing).find(" FAILED "), std::string::npos) << line_of(failing);
  EXPECT_NE(line_of(failing).find(" 3:0 "), std::string::npos) << line_of(failing);
  const Json cancelled = Json::parse(run_flotilla("sacct --json -s CA" + c.sock()).out);
  std::set<std::uint64_t> cancelled_ids;
  for (const Json& j : cancelled.at("jobs")) cancelled_ids.insert(j.at("id").get<std::uint64_t>());
  EXPECT_EQ(cancelled_ids, (std::set<std::uint64_t>{alpha, beta}));
  const Json done = c.job(after_any);
  EXPECT_EQ(done.at("state"), "COMPLETED");
  EXPECT_EQ(done.at("exit_code"), "0:0");
  EXPECT_EQ(done.at("gpus"), 1);
  EXPECT_EQ(done.at("gpu_seconds"), done.at("elapsed_s"));
}

std::vector<MeterRecord> meter_records(const CtldCluster& c, const std::string& name) {
  const std::string file = (c.dir() / name).string();
  const CommandOutcome m =
      run_flotilla("meter export --from 0 --to 99999999999 -o '" + file + "'" + c.sock());
  EXPECT_EQ(m.exit_code, 0) << m.err;
  Result<std::vector<MeterRecord>> records = read_meter_file(file);
  EXPECT_TRUE(records) << records.message();
  return records ? *records : std::vector<MeterRecord>{};
}

std::vector<MeterRecord> records_of(const std::vector<MeterRecord>& all, std::uint64_t id) {
  std::vector<MeterRecord> out;
  for (const MeterRecord& r : all) {
    if (r.job_id == std::to_string(id)) out.push_back(r);
  }
  return out;
}

// examples/fleets/local-multinode.toml: m1 and m2 have four RTX 4090s each,
// m3 two A100s. A job of two nodes with two GPUs each runs its script on m1
// with both nodes named, and `mpirun --hostfile` starts one rank on each
// (through a stand-in for ssh that runs the command here, since m1 and m2
// are not real hosts). Single-GPU jobs fill the other GPUs meanwhile without
// touching the two-node job's. Each node's record carries its GPUs' energy.
TEST(CtldTest, TwoNodeJobRunsOnTheFirstNodeWithAHostfileMpirunAccepts) {
  CtldCluster c("local-multinode.toml", 3);
  c.set_env("LD_LIBRARY_PATH", FLOTILLA_FAKE_NVML_DIR);  // energy counters (see below)
  ASSERT_TRUE(c.start());
  const std::string d = c.dir().string();
  // ssh HOST COMMAND as Open MPI's rsh launcher calls it: note the host, run the command here.
  const std::string agent = c.script("fake-ssh.sh",
                                     "#!/bin/sh\n"
                                     "while [ $# -gt 0 ]; do case \"$1\" in -*) shift;; *) break;; "
                                     "esac; done\n"
                                     "echo \"$1\" >> '" +
                                         d +
                                         "/ssh.log'\n"
                                         "shift\n"
                                         "exec /bin/sh -c \"$*\"\n");
  const std::string multi =
      c.script("multi.sh",
               "#!/bin/sh\n"
               "echo \"$SLURMD_NODENAME|$SLURM_JOB_NODELIST|$SLURM_JOB_NUM_NODES|$SLURM_NNODES|"
               "$CUDA_VISIBLE_DEVICES\" > '" +
                   d +
                   "/multi.env'\n"
                   "cp \"$FLOTILLA_HOSTFILE\" '" +
                   d +
                   "/multi.hosts'\n"
                   "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " FLOTILLA_MPIEXEC
                   " --hostfile \"$FLOTILLA_HOSTFILE\" --mca plm_rsh_agent '" +
                   agent + "' -np 2 --map-by node sh -c 'echo rank $OMPI_COMM_WORLD_RANK' > '" + d +
                   "/multi.mpi' 2>&1\n"
                   "echo \"mpirun $?\" >> '" +
                   d +
                   "/multi.mpi'\n"
                   "sleep 1.5\n");
  const std::uint64_t m =
      submitted_id(run_flotilla("sbatch" + c.sock() + " -N 2 --gpus-per-node=2 --output='" + d +
                                "/multi.out' '" + multi + "'"));
  ASSERT_NE(m, 0u);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(m) == "RUNNING"; }));
  const std::string single = c.script(
      "single.sh", "#!/bin/sh\necho \"$SLURMD_NODENAME|$CUDA_VISIBLE_DEVICES\"\nsleep 0.4\n");
  std::vector<std::uint64_t> singles;
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t id =
        submitted_id(run_flotilla("sbatch" + c.sock() + " --gpus=rtx4090:1 --output='" + d +
                                  "/out/%j.out' '" + single + "'"));
    ASSERT_NE(id, 0u);
    singles.push_back(id);
  }
  ASSERT_TRUE(c.wait_all_final(90));

  // The controller's view: one job on both nodes, two GPUs on each.
  const Json job = c.job(m);
  ASSERT_EQ(job.at("state"), "COMPLETED") << job.dump();
  EXPECT_EQ(job.at("nodes"), 2);
  EXPECT_EQ(job.at("nodelist"), "m[1-2]");
  EXPECT_EQ(job.at("gpus"), 4);
  std::map<std::string, std::set<std::string>> held;  // node -> the two-node job's GPUs
  for (const Json& a : job.at("allocation")) {
    held[a.at("node")] = split_set(a.at("cuda_visible_devices"));
    EXPECT_EQ(held[a.at("node")].size(), 2u) << job.dump();
  }
  ASSERT_EQ(held.size(), 2u) << job.dump();
  ASSERT_TRUE(held.count("m1") && held.count("m2")) << job.dump();

  // What the script saw on the first node.
  const auto env = lines_of(c.dir() / "multi.env");
  ASSERT_EQ(env.size(), 1u);
  const std::string devices = job.at("allocation").at(0).at("cuda_visible_devices");
  EXPECT_EQ(env[0], "m1|m[1-2]|2|2|" + devices);
  EXPECT_EQ(lines_of(c.dir() / "multi.hosts"),
            (std::vector<std::string>{"m1 slots=2", "m2 slots=2"}));
  const auto mpi = lines_of(c.dir() / "multi.mpi");
  const std::set<std::string> mpi_lines(mpi.begin(), mpi.end());
  EXPECT_TRUE(mpi_lines.count("rank 0") && mpi_lines.count("rank 1") && mpi_lines.count("mpirun 0"))
      << ::testing::PrintToString(mpi);
  const auto ssh = lines_of(c.dir() / "ssh.log");
  EXPECT_EQ(std::set<std::string>(ssh.begin(), ssh.end()), (std::set<std::string>{"m1", "m2"}))
      << "mpirun starts its daemons on both hosts of the hostfile";

  // No GPU of the two-node job went to another job while it ran.
  const std::int64_t m_start = job.at("start_ms"), m_end = job.at("end_ms");
  int overlapping = 0;
  for (std::uint64_t id : singles) {
    const Json s1 = c.job(id);
    ASSERT_EQ(s1.at("state"), "COMPLETED") << s1.dump();
    const auto out = lines_of(c.dir() / "out" / (std::to_string(id) + ".out"));
    ASSERT_EQ(out.size(), 1u);
    const std::string node = out[0].substr(0, out[0].find('|'));
    const std::string gpu = out[0].substr(out[0].find('|') + 1);
    if (s1.at("end_ms").get<std::int64_t>() <= m_start ||
        s1.at("start_ms").get<std::int64_t>() >= m_end) {
      continue;
    }
    ++overlapping;
    ASSERT_TRUE(held.count(node)) << out[0];
    EXPECT_FALSE(held.at(node).count(gpu)) << "job " << id << " got GPU " << gpu << " of " << node;
  }
  EXPECT_GE(overlapping, 4) << "four GPUs were free beside the two-node job";

  // Metering: one record per node, each with that node's two GPUs.
  const std::vector<MeterRecord> recs = records_of(meter_records(c, "meter.jsonl"), m);
  ASSERT_EQ(recs.size(), 2u);
  std::set<std::string> nodes;
  for (const MeterRecord& r : recs) {
    nodes.insert(r.node);
    EXPECT_EQ(r.gpus, 2u);
    EXPECT_EQ(r.gpu_type, "RTX4090");
    EXPECT_EQ(r.provider, "lab-dc");
    EXPECT_EQ(r.outcome, JobEndState::kCompleted);
    EXPECT_EQ(r.start, recs[0].start);
    EXPECT_EQ(r.end, recs[0].end);
    EXPECT_EQ(r.gpu_seconds, recs[0].gpu_seconds);
    EXPECT_GT(r.gpu_seconds, 0u);
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"m1", "m2"}));

  // Energy on both nodes, each what the stand-in NVML's counters of that
  // node's two GPUs rose by: m1's executor read them at the script's launch
  // and exit, m2's when told the run started and ended. m2's figure comes a
  // moment after the run's record (the controller asks for it at the end).
  std::map<std::string, std::uint64_t> expected;
  for (const auto& [node, gpus] : held) {
    std::uint64_t mj = 0;
    for (const std::string& g : gpus) mj += (10'000ull << std::stoi(g)) + 300;
    expected[node] = (mj + 500) / 1000;
  }
  std::map<std::string, std::optional<std::uint64_t>> energy;
  ASSERT_TRUE(CtldCluster::wait_for(10,
                                    [&] {
                                      energy.clear();
                                      for (const MeterRecord& r :
                                           records_of(meter_records(c, "energy.jsonl"), m)) {
                                        energy[r.node] = r.energy_j;
                                      }
                                      return energy.size() == 2 && energy["m1"] && energy["m2"];
                                    }))
      << "m1 " << energy["m1"].value_or(0) << " J, m2 " << energy["m2"].value_or(0) << " J";
  EXPECT_EQ(energy["m1"], expected["m1"]);
  EXPECT_EQ(energy["m2"], expected["m2"]);
}

// An executor that stops heartbeating (SIGSTOP) is marked down; its jobs end
// as NODE_FAIL, the provider's fault, and the one that asked for --requeue
// waits for the node's A100s. Continued, the executor is back, the stale
// copies are ended, and the requeued job runs to completion there.
TEST(CtldTest, SilentExecutorIsMarkedDownAndComesBack) {
  CtldCluster c("local-multinode.toml", 3);
  ASSERT_TRUE(c.start(/*heartbeat_timeout_s=*/2, /*heartbeat_interval_ms=*/200));
  const std::string d = c.dir().string();
  // The script's parent is the executor of its node; the first run waits, a rerun ends at once.
  const std::string script = c.script("a100.sh",
                                      "#!/bin/sh\n"
                                      "echo \"$SLURM_RESTART_COUNT\" >> '" +
                                          d +
                                          "/runs.'\"$SLURM_JOB_ID\"\n"
                                          "echo $PPID > '" +
                                          d +
                                          "/executor.pid'\n"
                                          "echo $$ > '" +
                                          d +
                                          "/pid.'\"$SLURM_JOB_ID.$SLURM_RESTART_COUNT\"\n"
                                          "[ \"$SLURM_RESTART_COUNT\" = 0 ] && exec sleep 60\n"
                                          "exit 0\n");
  const std::string opts = " --gpus=a100:1 --output=/dev/null '" + script + "'";
  const std::uint64_t requeued =
      submitted_id(run_flotilla("sbatch" + c.sock() + " --requeue" + opts));
  const std::uint64_t failed = submitted_id(run_flotilla("sbatch" + c.sock() + opts));
  ASSERT_NE(requeued, 0u);
  ASSERT_NE(failed, 0u);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] {
    return c.state_of(requeued) == "RUNNING" && c.state_of(failed) == "RUNNING" &&
           lines_of(c.dir() / ("runs." + std::to_string(failed))).size() == 1 &&
           lines_of(c.dir() / ("runs." + std::to_string(requeued))).size() == 1;
  })) << c.jobs().dump();
  const auto pid_line = lines_of(c.dir() / "executor.pid");
  ASSERT_EQ(pid_line.size(), 1u);
  const pid_t executor = std::stoi(pid_line[0]);
  ASSERT_EQ(c.node("m3").at("state"), "alloc");
  // Registration carried the host's inventory (hwloc); without NVML the
  // fleet file's GPUs stand.
  const Json m3 = c.node("m3");
  EXPECT_GT(m3.at("cores").get<int>(), 0) << m3.dump();
  EXPECT_EQ(m3.at("cpus").get<long>(), ::sysconf(_SC_NPROCESSORS_ONLN)) << m3.dump();
  EXPECT_GT(m3.at("memory_mb").get<long>(), 0) << m3.dump();
  EXPECT_LE(m3.at("memory_mb").get<long>(),
            ::sysconf(_SC_PHYS_PAGES) * ::sysconf(_SC_PAGESIZE) >> 20)
      << m3.dump();
  if (m3.at("gpus_found").empty()) {
    EXPECT_EQ(m3.at("gpu_source").get<std::string>().rfind("declared", 0), 0u) << m3.dump();
  }

  ASSERT_EQ(::kill(executor, SIGSTOP), 0);
  const bool down = CtldCluster::wait_for(20, [&] { return c.node("m3").at("state") == "down"; });
  const Json job_requeued = c.job(requeued), job_failed = c.job(failed);
  const CommandOutcome sinfo = run_flotilla("sinfo" + c.sock());
  const std::vector<MeterRecord> at_down = meter_records(c, "down.jsonl");
  ::kill(executor, SIGCONT);
  ASSERT_TRUE(down) << c.node("m3").dump();
  EXPECT_EQ(c.node("m1").at("state"), "idle") << "the other executors kept heartbeating";
  EXPECT_NE(sinfo.out.find("down"), std::string::npos) << sinfo.out;
  EXPECT_EQ(job_failed.at("state"), "NODE_FAIL") << job_failed.dump();
  EXPECT_EQ(job_requeued.at("state"), "PENDING") << job_requeued.dump();
  EXPECT_EQ(job_requeued.at("restarts"), 1) << job_requeued.dump();
  for (std::uint64_t id : {requeued, failed}) {
    const std::vector<MeterRecord> recs = records_of(at_down, id);
    ASSERT_EQ(recs.size(), 1u) << "job " << id;
    EXPECT_EQ(recs[0].node, "m3");
    EXPECT_EQ(recs[0].provider, "bob-home");
    EXPECT_EQ(recs[0].outcome, JobEndState::kNodeFail);
    EXPECT_EQ(recs[0].fault, Fault::kProvider);
  }

  // Back: the node takes jobs again and the requeued job runs there once more.
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(requeued) == "COMPLETED"; }))
      << c.job(requeued).dump();
  EXPECT_EQ(c.job(requeued).at("nodelist"), "m3");
  EXPECT_EQ(lines_of(c.dir() / ("runs." + std::to_string(requeued))),
            (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(lines_of(c.dir() / ("runs." + std::to_string(failed))), std::vector<std::string>{"0"});
  EXPECT_EQ(c.state_of(failed), "NODE_FAIL");
  ASSERT_TRUE(CtldCluster::wait_for(10, [&] { return c.node("m3").at("state") == "idle"; }))
      << c.node("m3").dump() << " (the stale copy of the failed job still holds it?)";
  const std::vector<MeterRecord> after = meter_records(c, "after.jsonl");
  // Both runs on m3 are metered: the lost one keeps the provider's fault.
  std::vector<MeterRecord> runs = records_of(after, requeued);
  std::sort(runs.begin(), runs.end(),
            [](const MeterRecord& a, const MeterRecord& b) { return a.run < b.run; });
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run, 0u);
  EXPECT_EQ(runs[0].outcome, JobEndState::kNodeFail);
  EXPECT_EQ(runs[0].fault, Fault::kProvider);
  EXPECT_EQ(runs[1].run, 1u);
  EXPECT_EQ(runs[1].node, "m3");
  EXPECT_EQ(runs[1].outcome, JobEndState::kCompleted);
  EXPECT_EQ(runs[1].fault, Fault::kNone);
  ASSERT_EQ(records_of(after, failed).size(), 1u);
  EXPECT_EQ(records_of(after, failed)[0].fault, Fault::kProvider);
  // The first run of each job, left running while its executor was stopped,
  // was ended when the executor came back.
  for (std::uint64_t id : {requeued, failed}) {
    const auto pid = lines_of(c.dir() / ("pid." + std::to_string(id) + ".0"));
    ASSERT_EQ(pid.size(), 1u);
    EXPECT_TRUE(CtldCluster::wait_for(10,
                                      [&] {
                                        std::ifstream status("/proc/" + pid[0] + "/status");
                                        std::string text((std::istreambuf_iterator<char>(status)),
                                                         std::istreambuf_iterator<char>());
                                        return text.empty() ||
                                               text.find("State:\tZ") != std::string::npos;
                                      }))
        << "the stale run of job " << id << " still runs";
  }
}

// scancel of a pending job takes it out of the Scheduler's queue at once: it
// no longer holds EASY's reservation, so a job it kept waiting starts now.
TEST(CtldTest, CancelledPendingJobStopsHoldingItsReservation) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string sleeper = c.script("sleeper.sh", "#!/bin/sh\nsleep 30\n");
  const auto submit = [&](const std::string& opts) {
    return submitted_id(
        run_flotilla("sbatch" + c.sock() + " --output=/dev/null " + opts + " '" + sleeper + "'"));
  };
  // n1 has four H100s: 3 held for 10 (compressed) minutes; all 4 wanted next;
  // then one for 20 minutes, which would run into the reservation.
  const std::uint64_t running = submit("--gpus=h100:3 --time=10");
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(running) == "RUNNING"; }));
  const std::uint64_t head = submit("--gpus=h100:4 --time=1");
  const std::uint64_t behind = submit("--gpus=h100:1 --time=20");
  ASSERT_NE(head, 0u);
  ASSERT_NE(behind, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(c.state_of(behind), "PENDING") << "it would delay the first job in the queue";
  ASSERT_EQ(run_flotilla("scancel" + c.sock() + " " + std::to_string(head)).exit_code, 0);
  EXPECT_TRUE(CtldCluster::wait_for(3, [&] { return c.state_of(behind) == "RUNNING"; }))
      << c.job(behind).dump();
  EXPECT_EQ(c.state_of(running), "RUNNING") << "started beside it, not after it";
  EXPECT_EQ(c.state_of(head), "CANCELLED");
}

TEST(CtldTest, Kill9OfTheControllerLosesNoJobAndRunsNoneTwice) {
  CtldCluster c;
  ASSERT_TRUE(c.start());
  const std::string runs = (c.dir() / "runs.log").string();
  const std::string script =
      c.script("job.sh", "#!/bin/sh\necho $SLURM_JOB_ID >> '" + runs + "'\nsleep 0.3\n");
  // Two jobs surely running at the kill: their first run waits, a rerun ends at once.
  const std::string long_script =
      c.script("long.sh", "#!/bin/sh\necho $SLURM_JOB_ID >> '" + runs +
                              "'\n[ \"$SLURM_RESTART_COUNT\" = 0 ] && exec sleep 60\nexit 0\n");
  const auto submit_long = [&](const char* opts) {
    return submitted_id(run_flotilla("sbatch" + c.sock() + opts +
                                     " --gpus=h100:1 --output=/dev/null '" + long_script + "'"));
  };
  const std::uint64_t long_requeue = submit_long(" --requeue"), long_fail = submit_long("");
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] {
    return c.state_of(long_requeue) == "RUNNING" && c.state_of(long_fail) == "RUNNING";
  }));
  std::set<std::uint64_t> requeue{long_requeue};
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
  ASSERT_EQ(jobs.size(), 302u);
  // Reconciled: vanished with the executors, so NODE_FAIL (the provider's
  // fault), or run again for --requeue.
  EXPECT_EQ(c.state_of(long_fail), "NODE_FAIL");
  EXPECT_EQ(c.job(long_requeue).at("restarts"), 1);
  const std::vector<MeterRecord> failed = records_of(meter_records(c, "meter.jsonl"), long_fail);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].outcome, JobEndState::kNodeFail);
  EXPECT_EQ(failed[0].fault, Fault::kProvider);
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

// The controller's answer to `request` within `seconds`, or why none came: a
// controller stuck in a blocking MPI send answers nothing at all.
Result<Json> call_within(const CtldCluster& c, const Json& request, int seconds) {
  Result<int> fd = protocol::connect_socket(c.socket());
  if (!fd) return fd.status();
  const timeval limit{.tv_sec = seconds, .tv_usec = 0};
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  protocol::FrameReader reader;
  Result<Json> answer = Status::error("cannot send");
  if (protocol::write_all(*fd, protocol::encode_frame(request)))
    answer = protocol::read_frame(*fd, reader);
  ::close(*fd);
  return answer;
}

// Resumes a stopped process when the test ends, however it ends.
struct Continue {
  pid_t pid = 0;
  ~Continue() {
    if (pid > 0) ::kill(pid, SIGCONT);
  }
};

// The pid of the executor that runs n3's jobs (local-test.toml's A100 node):
// a job there writes its parent's pid. 0, after a test failure, if it did not.
pid_t a100_executor(const CtldCluster& c) {
  const std::string parent =
      c.script("parent.sh", "#!/bin/sh\necho $PPID > '" + c.dir().string() + "/executor.pid'\n");
  const std::uint64_t id = submitted_id(
      run_flotilla("sbatch" + c.sock() + " --gpus=a100:1 --output=/dev/null '" + parent + "'"));
  if (!CtldCluster::wait_for(30, [&] { return c.state_of(id) == "COMPLETED"; })) {
    ADD_FAILURE() << c.job(id).dump();
    return 0;
  }
  const auto pid_line = lines_of(c.dir() / "executor.pid");
  if (pid_line.size() != 1) {
    ADD_FAILURE() << "no executor pid from job " << id;
    return 0;
  }
  return std::stoi(pid_line[0]);
}

// n3's executor is stopped (SIGSTOP) but not yet marked down (the heartbeat
// timeout is a minute) when the controller launches a job of a megabyte on
// it, far above any MPI eager limit: a blocking send would wait for the
// executor and stall the controller. It goes on answering and running jobs
// on n1 meanwhile; continued, the executor takes the launch intact.
TEST(CtldTest, ALaunchToAStoppedExecutorStallsNothingElse) {
  CtldCluster c;
  ASSERT_TRUE(c.start(/*heartbeat_timeout_s=*/60));
  const std::string d = c.dir().string();
  Continue executor{a100_executor(c)};
  ASSERT_GT(executor.pid, 0);
  ASSERT_EQ(::kill(executor.pid, SIGSTOP), 0);

  std::string big = "#!/bin/sh\n";
  while (big.size() < (1u << 20)) big += "# " + std::string(78, 'x') + "\n";
  big += "echo \"$SLURM_JOB_ID $(wc -c < \"$0\")\" > '" + d + "/big.done'\n";
  JobRequest request;
  request.gpus = 1;
  request.gpu_types = {"a100"};
  request.output = "/dev/null";
  const Result<Json> submitted = call_within(c,
                                             {{"op", "submit"},
                                              {"request", protocol::request_to_json(request)},
                                              {"script", big},
                                              {"work_dir", d},
                                              {"env", {"PATH=/usr/bin:/bin"}}},
                                             10);
  ASSERT_TRUE(submitted) << "the controller stopped answering: " << submitted.message();
  const std::uint64_t big_id = submitted->at("job_id");
  ASSERT_TRUE(CtldCluster::wait_for(10, [&] { return c.state_of(big_id) == "RUNNING"; }))
      << c.job(big_id).dump();

  std::vector<std::uint64_t> others;
  const std::string quick = c.script("quick.sh", "#!/bin/sh\ntrue\n");
  for (int i = 0; i < 6; ++i) {
    others.push_back(submitted_id(
        run_flotilla("sbatch" + c.sock() + " --gpus=h100:1 --output=/dev/null '" + quick + "'")));
    ASSERT_NE(others.back(), 0u);
  }
  EXPECT_TRUE(CtldCluster::wait_for(30, [&] {
    return std::all_of(others.begin(), others.end(),
                       [&](std::uint64_t id) { return c.state_of(id) == "COMPLETED"; });
  })) << c.jobs().dump();
  EXPECT_TRUE(call_within(c, {{"op", "ping"}}, 5));
  EXPECT_EQ(c.state_of(big_id), "RUNNING");
  EXPECT_EQ(c.node("n3").at("state"), "mix") << "stopped, not yet silent for a minute";

  ::kill(executor.pid, SIGCONT);
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(big_id) == "COMPLETED"; }))
      << c.job(big_id).dump();
  EXPECT_EQ(lines_of(c.dir() / "big.done"),
            std::vector<std::string>{std::to_string(big_id) + " " + std::to_string(big.size())});
}

// n3's executor is stopped while a job is launched to it and marked down
// before it reads the launch, so the job ends as NODE_FAIL. Continued, the
// executor reports its stall and holds what it reads until the controller
// answers, and the answer comes after the cancel of the lost job: the stale
// launch never starts. A job launched there afterwards runs.
TEST(CtldTest, ALaunchReadAfterItsNodeWasMarkedDownNeverStarts) {
  CtldCluster c;
  ASSERT_TRUE(c.start(/*heartbeat_timeout_s=*/2, /*heartbeat_interval_ms=*/200));
  const std::string d = c.dir().string();
  Continue executor{a100_executor(c)};
  ASSERT_GT(executor.pid, 0);
  ASSERT_EQ(::kill(executor.pid, SIGSTOP), 0);

  // The executor creates a job's output file as it launches it, before the
  // script runs: the file shows that a launch started, however soon a
  // cancel came after.
  const std::string opts = " --gpus=a100:1 --output='" + d + "/out.%j' '" +
                           c.script("quick.sh", "#!/bin/sh\ntrue\n") + "'";
  const std::uint64_t stale = submitted_id(run_flotilla("sbatch" + c.sock() + opts));
  ASSERT_NE(stale, 0u);
  const bool lost = CtldCluster::wait_for(20, [&] { return c.state_of(stale) == "NODE_FAIL"; });
  ::kill(executor.pid, SIGCONT);
  ASSERT_TRUE(lost) << c.job(stale).dump();
  ASSERT_TRUE(CtldCluster::wait_for(20, [&] { return c.node("n3").at("state") == "idle"; }))
      << c.node("n3").dump();

  const std::uint64_t later = submitted_id(run_flotilla("sbatch" + c.sock() + opts));
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(later) == "COMPLETED"; }))
      << c.job(later).dump();
  EXPECT_TRUE(std::filesystem::exists(c.dir() / ("out." + std::to_string(later))));
  EXPECT_FALSE(std::filesystem::exists(c.dir() / ("out." + std::to_string(stale))))
      << "the launch read after the node was marked down started";
  EXPECT_EQ(c.state_of(stale), "NODE_FAIL");
}

// NVML's energy counters, through the stand-in library that takes the
// driver's place (tests/executor/fake_nvml.cpp; CI machines have no NVIDIA
// driver), found first on LD_LIBRARY_PATH by every executor. GPU g's counter
// rises by 2^g * 10 J + 0.3 J between a job's two readings, so the record
// shows which GPUs were read. A shared GPU also counts its other jobs: none.
TEST(CtldTest, EnergyOfARunIsWhatNvmlCountedOnItsGpus) {
  CtldCluster c;
  c.set_env("LD_LIBRARY_PATH", FLOTILLA_FAKE_NVML_DIR);
  ASSERT_TRUE(c.start());
  const Json n1 = c.node("n1");
  EXPECT_EQ(n1.at("gpu_source"), "nvml") << n1.dump();
  EXPECT_EQ(n1.at("gpus_found").size(), 4u) << n1.dump();

  const std::string quick = c.script("quick.sh", "#!/bin/sh\ntrue\n");
  const std::uint64_t whole = submitted_id(
      run_flotilla("sbatch" + c.sock() + " --gpus=h100:2 --output=/dev/null '" + quick + "'"));
  ASSERT_NE(whole, 0u);
  JobRequest half;
  half.gpus = 1;
  half.gpu_types = {"h100"};
  half.gpu_milli = 500;
  half.output = "/dev/null";
  const Result<Json> shared =
      protocol::call(c.socket(), {{"op", "submit"},
                                  {"request", protocol::request_to_json(half)},
                                  {"script", "#!/bin/sh\ntrue\n"},
                                  {"work_dir", c.dir().string()},
                                  {"env", Json::array()}});
  ASSERT_TRUE(shared) << shared.message();
  const std::uint64_t share = shared->at("job_id");
  ASSERT_TRUE(CtldCluster::wait_for(30, [&] {
    return c.state_of(whole) == "COMPLETED" && c.state_of(share) == "COMPLETED";
  })) << c.jobs().dump();

  const std::string devices = c.job(whole).at("allocation")[0].at("cuda_visible_devices");
  std::uint64_t mj = 0;
  for (const std::string& g : split_set(devices)) mj += (10'000ull << std::stoi(g)) + 300;
  const std::vector<MeterRecord> all = meter_records(c, "meter.jsonl");
  const std::vector<MeterRecord> whole_recs = records_of(all, whole);
  ASSERT_EQ(whole_recs.size(), 1u);
  EXPECT_EQ(whole_recs[0].energy_j, (mj + 500) / 1000) << "GPUs " << devices;
  const std::vector<MeterRecord> share_recs = records_of(all, share);
  ASSERT_EQ(share_recs.size(), 1u);
  EXPECT_EQ(share_recs[0].energy_j, std::nullopt);
}

// --probe-report: each executor summarizes its own probe report at
// registration and sinfo shows it as claimed. No GPU here: n1's report is a
// fixture with an H100 SXM's figures; n2 has no file and n3 a broken one, and
// both still register and run jobs. All three executors share this host, so
// the pattern tells them apart by MPI rank (%r) as well as hostname (%h).
TEST(CtldTest, ExecutorsReportTheirProbeFilesAndSinfoShowsThemAsClaims) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  CtldCluster c;
  const std::string prefix = (c.dir() / "probe-").string() + host + "-";
  ProbeReport report;
  report.host = host;
  ProbeGpu gpu;
  gpu.name = "NVIDIA H100 80GB HBM3";
  report.gpus = {gpu};
  ProbeMeasurement m;
  // 2 x 8192^3 FLOPs in 1.377 ms: 798.5 TFLOP/s; 2 GiB in 716 us: 2999 GB/s.
  m.gemm = {
      ProbeGemm{8192, ProbeTiming{2ULL * 8192 * 8192 * 8192, std::chrono::nanoseconds(1'377'000)}}};
  m.device_copy = ProbeTiming{2ULL << 30, std::chrono::nanoseconds(716'000)};
  report.measurements = {m};
  std::ofstream(prefix + "1.json") << to_json(report).dump(2);
  std::ofstream(prefix + "3.json") << "{\"host\": ";
  c.add_arg("--probe-report");
  c.add_arg((c.dir() / "probe-%h-%r.json").string());
  ASSERT_TRUE(c.start());

  const Json n1 = c.node("n1");
  ASSERT_TRUE(n1.contains("probe")) << n1.dump();
  const Json& probe = n1.at("probe");
  EXPECT_EQ(probe.at("claimed"), true);
  EXPECT_EQ(probe.at("source"), prefix + "1.json");
  ASSERT_EQ(probe.at("gpus").size(), 1u) << probe.dump();
  const Json& g = probe.at("gpus")[0];
  EXPECT_EQ(g.at("name"), "NVIDIA H100 80GB HBM3");
  EXPECT_NEAR(g.at("bf16_tflops").get<double>(), 798.5, 0.1);
  EXPECT_NEAR(g.at("device_copy_gbps").get<double>(), 2999.3, 0.1);
  EXPECT_EQ(g.at("class"), "H100-SXM");

  const Json n2 = c.node("n2");
  EXPECT_EQ(n2.at("state"), "idle") << n2.dump();
  ASSERT_TRUE(n2.contains("probe")) << n2.dump();
  EXPECT_EQ(n2.at("probe").at("error"), prefix + "2.json: No such file or directory");
  EXPECT_FALSE(n2.at("probe").contains("gpus"));
  const Json n3 = c.node("n3");
  EXPECT_EQ(n3.at("state"), "idle") << n3.dump();
  ASSERT_TRUE(n3.contains("probe")) << n3.dump();
  EXPECT_EQ(n3.at("probe").at("error").get<std::string>().rfind(prefix + "3.json", 0), 0u)
      << n3.dump();

  const std::string quick = c.script("quick.sh", "#!/bin/sh\ntrue\n");
  const std::uint64_t id = submitted_id(
      run_flotilla("sbatch" + c.sock() + " --gpus=rtx4090:1 --output=/dev/null '" + quick + "'"));
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(CtldCluster::wait_for(30, [&] { return c.state_of(id) == "COMPLETED"; }))
      << c.jobs().dump();
}

}  // namespace
}  // namespace flotilla
