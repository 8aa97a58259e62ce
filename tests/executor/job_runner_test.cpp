// JobRunner: real clone/exec of batch scripts, their environment and output
// files, time limits and cancels with real signals, launch failures, and the
// energy of a job's GPUs from NVML (the stand-in of fake_nvml.cpp: CI machines
// have no NVIDIA driver).
#include "executor/job_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/executor/fake_nvml.h"

namespace flotilla::executor {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("flotilla_runner_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  protocol::Launch spec(std::uint64_t id, const std::string& script) const {
    protocol::Launch l;
    l.job_id = id;
    l.script = script;
    l.spool_dir = (dir_ / "spool").string();
    l.work_dir = dir_.string();
    l.env = {"PATH=/usr/bin:/bin", "CUDA_VISIBLE_DEVICES=1,3",
             "SLURM_JOB_ID=" + std::to_string(id)};
    l.stdout_path = (dir_ / ("job" + std::to_string(id) + ".out")).string();
    l.stderr_path = l.stdout_path;
    l.kill_wait_ms = 200;
    return l;
  }
  // Ticks and reaps until the job ends (at most 10 s).
  protocol::JobExit wait(JobRunner& r) {
    for (int i = 0; i < 2000; ++i) {
      r.tick(now_ms());
      auto done = r.reap();
      if (!done.empty()) return done.front();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "job did not end";
    return {};
  }
  std::string read(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::filesystem::path dir_;
};

TEST_F(JobRunnerTest, RunsTheScriptInTheSubmitDirectoryWithItsEnvironmentAndArgs) {
  JobRunner r;
  protocol::Launch l = spec(
      7,
      "#!/bin/sh\necho \"$SLURM_JOB_ID $CUDA_VISIBLE_DEVICES $1 $(pwd)\"\necho oops >&2\nexit 3\n");
  l.args = {"hello"};
  ASSERT_TRUE(r.launch(l, now_ms()));
  const protocol::JobExit e = wait(r);
  EXPECT_EQ(e.job_id, 7u);
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.signal, 0);
  EXPECT_FALSE(e.timed_out);
  EXPECT_EQ(read(l.stdout_path), "7 1,3 hello " + dir_.string() + "\noops\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "spool" / "job7.sh")) << "spool copy removed";
}

TEST_F(JobRunnerTest, TimeLimitSendsTermThenKill) {
  JobRunner r;
  protocol::Launch l =
      spec(8, "#!/bin/sh\ntrap 'echo term' TERM\nwhile true; do sleep 0.05; done\n");
  l.time_limit_ms = 300;
  ASSERT_TRUE(r.launch(l, now_ms()));
  const protocol::JobExit e = wait(r);
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.signal, SIGKILL)
      << "the script ignored SIGTERM, so the grace period ended with SIGKILL";
  EXPECT_NE(read(l.stdout_path).find("term"), std::string::npos);
}

TEST_F(JobRunnerTest, SignalOptionWarnsBeforeTheLimit) {
  JobRunner r;
  protocol::Launch l =
      spec(9, "#!/bin/sh\ntrap 'echo usr1; exit 0' USR1\nwhile true; do sleep 0.05; done\n");
  l.time_limit_ms = 5000;
  l.warn_signal = SIGUSR1;
  l.warn_before_ms = 4800;
  ASSERT_TRUE(r.launch(l, now_ms()));
  const protocol::JobExit e = wait(r);
  EXPECT_FALSE(e.timed_out);
  EXPECT_EQ(e.exit_code, 0);
  // The shell may also report that its `sleep` got the signal (the whole group gets it).
  EXPECT_NE(read(l.stdout_path).find("usr1\n"), std::string::npos);
}

TEST_F(JobRunnerTest, CancelEndsTheWholeProcessGroup) {
  JobRunner r;
  protocol::Launch l = spec(10, "#!/bin/sh\nsleep 30 &\necho $! > child.pid\nwait\n");
  ASSERT_TRUE(r.launch(l, now_ms()));
  for (int i = 0; i < 200 && !std::filesystem::exists(dir_ / "child.pid"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const pid_t child = std::stoi(read((dir_ / "child.pid").string()));
  r.cancel(10, now_ms());
  const protocol::JobExit e = wait(r);
  EXPECT_TRUE(e.cancelled);
  EXPECT_EQ(e.signal, SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Gone, or a zombie waiting for whoever inherited it.
  const std::string status = read("/proc/" + std::to_string(child) + "/status");
  EXPECT_TRUE(status.empty() || status.find("State:\tZ") != std::string::npos)
      << "the script's child was left running";
}

// After a node comes back from being marked down, the controller may launch
// a requeued job on it again while the old copy still runs: the new run
// replaces the old one, and only the new one's end is reported.
TEST_F(JobRunnerTest, ASecondLaunchOfAJobReplacesItsStaleCopy) {
  JobRunner r;
  ASSERT_TRUE(r.launch(spec(13, "#!/bin/sh\necho $$ > stale.pid\nexec sleep 30\n"), now_ms()));
  for (int i = 0; i < 200 && !std::filesystem::exists(dir_ / "stale.pid"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string stale = read((dir_ / "stale.pid").string());
  ASSERT_FALSE(stale.empty());
  protocol::Launch rerun = spec(13, "#!/bin/sh\nexit 4\n");
  rerun.run = 1;
  ASSERT_TRUE(r.launch(rerun, now_ms()));
  const protocol::JobExit e = wait(r);
  EXPECT_EQ(e.job_id, 13u);
  EXPECT_EQ(e.run, 1u) << "the report names its run";
  EXPECT_EQ(e.exit_code, 4) << "the report is the new run's";
  EXPECT_EQ(e.signal, 0);
  EXPECT_TRUE(r.reap().empty()) << "the stale copy is not reported";
  EXPECT_TRUE(r.running().empty());
  const std::string status = read("/proc/" + std::to_string(std::stoi(stale)) + "/status");
  EXPECT_TRUE(status.empty()) << "the stale copy still runs";
}

TEST_F(JobRunnerTest, ALaunchThatCannotRunSaysWhy) {
  JobRunner r;
  Status s = r.launch(spec(11, "#!/no/such/interpreter\ntrue\n"), now_ms());
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("#! line"), std::string::npos) << s.message();
  protocol::Launch l = spec(12, "#!/bin/sh\ntrue\n");
  l.work_dir = (dir_ / "gone").string();
  s = r.launch(l, now_ms());
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("submit directory"), std::string::npos) << s.message();
  EXPECT_TRUE(r.running().empty());
}

// One rise of GPU 1's and GPU 3's counters (20.3 J and 80.3 J), none of
// the GPUs the job was not given, rounded once to the nearest joule.
TEST_F(JobRunnerTest, EnergyIsWhatTheCountersOfItsGpusRoseBy) {
  testing::script_fake_nvml(0, true);
  const Result<std::unique_ptr<Nvml>> nvml = Nvml::open(testing::kFakeNvml);
  ASSERT_TRUE(nvml) << nvml.message();
  JobRunner r(nvml->get());
  protocol::Launch l = spec(8, "#!/bin/sh\nexit 0\n");
  l.gpus = {1, 3};
  ASSERT_TRUE(r.launch(l, now_ms()));
  const protocol::JobExit e = wait(r);
  EXPECT_EQ(testing::fake_nvml_rise_mj(1) + testing::fake_nvml_rise_mj(3), 100'600u);
  EXPECT_EQ(e.energy_j, 101u);
}

// Absent, never zero: without NVML, on boards without the counter (before
// Volta), when the counter could not be read at the end, for a GPU NVML does
// not know.
TEST_F(JobRunnerTest, WithoutEveryCounterNoEnergyIsReported) {
  const auto energy = [&](const Nvml* nvml, std::vector<std::uint32_t> gpus, bool lost_at_end) {
    JobRunner r(nvml);
    protocol::Launch l = spec(9, "#!/bin/sh\nexit 0\n");
    l.gpus = std::move(gpus);
    EXPECT_TRUE(r.launch(l, now_ms()));
    if (lost_at_end) testing::script_fake_nvml(0, false);
    const std::optional<std::uint64_t> j = wait(r).energy_j;
    testing::script_fake_nvml(0, true);
    return j;
  };
  testing::script_fake_nvml(0, true);
  const Result<std::unique_ptr<Nvml>> nvml = Nvml::open(testing::kFakeNvml);
  ASSERT_TRUE(nvml) << nvml.message();
  ASSERT_EQ(energy(nvml->get(), {0}, false), 10u) << "the stand-in counts";
  EXPECT_EQ(energy(nullptr, {0}, false), std::nullopt);
  EXPECT_EQ(energy(nvml->get(), {0}, true), std::nullopt);
  EXPECT_EQ(energy(nvml->get(), {0, 7}, false), std::nullopt);
  EXPECT_EQ(energy(nvml->get(), {}, false), std::nullopt);
  testing::script_fake_nvml(0, false);
  EXPECT_EQ(energy(nvml->get(), {0}, false), std::nullopt);
}

// Another node of a multi-node job runs no script: its GPUs are counted from
// meter_start to meter_end of the run, one rise of the stand-in's counters
// for GPUs 0 and 2 here. The end of another run reports nothing and leaves
// the count alone; a later meter_start of the job replaces an earlier one
// whose end never came (the node was down then), and so does a cancel.
TEST_F(JobRunnerTest, AMeteredJobIsCountedFromItsStartToItsEndWithoutAScript) {
  testing::script_fake_nvml(0, true);
  const Result<std::unique_ptr<Nvml>> nvml = Nvml::open(testing::kFakeNvml);
  ASSERT_TRUE(nvml) << nvml.message();
  JobRunner r(nvml->get());
  const std::uint64_t rise =
      (testing::fake_nvml_rise_mj(0) + testing::fake_nvml_rise_mj(2) + 500) / 1000;

  r.meter_start({.job_id = 21, .run = 0, .gpus = {0, 2}});
  EXPECT_TRUE(r.running().empty()) << "no script runs for it here";
  EXPECT_EQ(r.meter_end({.job_id = 21, .run = 1}), std::nullopt) << "not the run counted";
  EXPECT_EQ(r.meter_end({.job_id = 21, .run = 0}), rise);
  EXPECT_EQ(r.meter_end({.job_id = 21, .run = 0}), std::nullopt) << "reported once";

  r.meter_start({.job_id = 22, .run = 0, .gpus = {0}});
  r.meter_start({.job_id = 22, .run = 1, .gpus = {0, 2}});
  EXPECT_EQ(r.meter_end({.job_id = 22, .run = 0}), std::nullopt);
  EXPECT_EQ(r.meter_end({.job_id = 22, .run = 1}), rise);

  EXPECT_EQ(r.meter_end({.job_id = 23, .run = 0}), std::nullopt) << "never started";
  r.meter_start({.job_id = 25, .run = 0, .gpus = {0}});
  r.cancel(25, now_ms());
  EXPECT_EQ(r.meter_end({.job_id = 25, .run = 0}), std::nullopt) << "cancelled";
  JobRunner without(nullptr);
  without.meter_start({.job_id = 24, .run = 0, .gpus = {0}});
  EXPECT_EQ(without.meter_end({.job_id = 24, .run = 0}), std::nullopt) << "no NVML";
}

}  // namespace
}  // namespace flotilla::executor
