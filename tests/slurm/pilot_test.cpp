// slurm/flotilla-pilot.sbatch on the real Slurm of the `real_slurm` fixture
// (one node, 8 GPUs on plain files), and on a two-node Slurm whose nodes are
// separate hosts in network namespaces (real_slurm.sh start DIR 2, started
// and stopped by the test): the pilot is submitted with Slurm's own
// sbatch, starts `flotilla ctld` inside its allocation with mpirun and runs a
// directory of job scripts through it. Checked from three sides: the
// accounting the pilot leaves behind (sacct.json and the `sacct -P` file,
// read with the same reader as a site's export), each inner job's own output
// (the Slurm variables it saw), and Slurm's record of the pilot. Slurm here
// has no slurmdbd, so its record is the job completion log (jobcomp/filetxt)
// that `sacct --completion` reads, and `scontrol show job`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "tests/slurm/real_slurm_client.h"
#include "traces/sacct.h"

namespace flotilla {
namespace {

using testing::run;
namespace fs = std::filesystem;

class SlurmPilotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flotilla_pilot_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "jobs");
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // An inner job script: prints the Slurm variables it sees, then `body`.
  void job(const std::string& name, const std::string& directives, const std::string& body) {
    const fs::path p = dir_ / "jobs" / name;
    std::ofstream(p) << "#!/bin/bash\n"
                     << directives << "#SBATCH --output=%x.out\n"
                     << "echo \"id=$SLURM_JOB_ID name=$SLURM_JOB_NAME "
                        "nodes=$SLURM_JOB_NODELIST gpus=$SLURM_GPUS_ON_NODE "
                        "cuda=$CUDA_VISIBLE_DEVICES job_gpus=$SLURM_JOB_GPUS "
                        "submit_dir=$SLURM_SUBMIT_DIR partition=$SLURM_JOB_PARTITION\"\n"
                     << body;
    fs::permissions(p, fs::perms::owner_all);
  }

  // Slurm's commands go to the cluster of this slurm.conf.
  void use_cluster(const std::string& slurm_conf) { slurm_ = "SLURM_CONF='" + slurm_conf + "' "; }

  // Submits the pilot with Slurm's sbatch (`nodes` nodes, all 8 GPUs of
  // each) and waits until Slurm has finished it; returns the Slurm job id (0
  // when sbatch refused it or it ran too long).
  std::uint64_t run_pilot(int seconds, int nodes = 1) {
    const std::string cmd = "cd '" + dir_.string() + "' && " + slurm_ + "FLOTILLA='" +
                            FLOTILLA_BINARY + "' FLOTILLA_PILOT_OUT='" +
                            (dir_ / "results").string() + "' sbatch --parsable -N " +
                            std::to_string(nodes) + " --gres=gpu:8 --time=5 -o pilot.out '" +
                            FLOTILLA_SOURCE_DIR + "/slurm/flotilla-pilot.sbatch' jobs";
    const std::string out = run(cmd);
    const std::uint64_t id = std::strtoull(out.c_str(), nullptr, 10);
    if (id == 0) {
      ADD_FAILURE() << "sbatch: " << out;
      return 0;
    }
    for (int i = 0; i < seconds * 2; ++i) {
      if (run(slurm_ + "squeue -h -j " + std::to_string(id) + " -o %T").empty()) return id;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    ADD_FAILURE() << "the pilot still runs after " << seconds << " s";
    run(slurm_ + "scancel " + std::to_string(id));
    return 0;
  }

  // Slurm's own record of job `id`: the completion log line ("ID|NAME|STATE|EXIT").
  std::string slurm_record(std::uint64_t id) const {
    const std::string cmd = slurm_ + "sacct --completion -a -P -n -j " + std::to_string(id) +
                            " --format=JobID,JobName,NNodes,State,ExitCode 2>&1";
    std::string out;
    // slurmctld appends to the log as the job ends; allow it a moment.
    for (int i = 0; i < 20 && out.empty(); ++i) {
      out = run(cmd);
      if (out.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return out;
  }

  std::string read(const fs::path& p) const {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  std::string slurm_;  // "SLURM_CONF='...' "; empty: $SLURM_CONF, the fixture's
};

// A second real Slurm with two nodes, each slurmd in its own network and UTS
// namespace, on ports of its own; stopped (namespaces removed) when it goes.
class TwoNodeSlurm {
 public:
  explicit TwoNodeSlurm(fs::path dir) : dir_(std::move(dir)) {
    started_ = run("FLOTILLA_SLURMCTLD_PORT=16827 FLOTILLA_SLURMD_PORT=16828 '" + script() +
                   "' start '" + dir_.string() + "' 2 2>&1");
  }
  ~TwoNodeSlurm() { run("'" + script() + "' stop '" + dir_.string() + "'"); }
  TwoNodeSlurm(const TwoNodeSlurm&) = delete;
  TwoNodeSlurm& operator=(const TwoNodeSlurm&) = delete;

  bool up() const { return started_.find("2 node(s) idle") != std::string::npos; }
  const std::string& log() const { return started_; }
  std::string slurm_conf() const { return (dir_ / "slurm.conf").string(); }

 private:
  static std::string script() { return std::string(FLOTILLA_SOURCE_DIR) + "/slurm/real_slurm.sh"; }
  fs::path dir_;
  std::string started_;
};

constexpr int kInnerJobs = 50;

TEST_F(SlurmPilotTest, FiftyInnerJobsCompleteAndSlurmAccountsThePilot) {
  // GPU counts 1, 2, 4 and 8 in turn, so jobs share the node and wait for it.
  std::map<std::string, int> gpus;
  for (int i = 1; i <= kInnerJobs; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "job%02d.sh", i);
    gpus[name] = 1 << (i % 4);
    job(name, "#SBATCH --gpus=" + std::to_string(gpus[name]) + "\n#SBATCH --time=1\n",
        "sleep 0.$((RANDOM % 5))\n");
  }
  const std::uint64_t pilot = run_pilot(110);
  ASSERT_NE(pilot, 0u);

  const std::string log = read(dir_ / "pilot.out");
  EXPECT_NE(log.find("50 of 50 jobs completed"), std::string::npos) << log;

  // Slurm's side: the pilot completed with exit 0.
  EXPECT_EQ(slurm_record(pilot), std::to_string(pilot) + "|flotilla-pilot|1|COMPLETED|0:0\n");
  EXPECT_NE(run(slurm_ + "scontrol show job " + std::to_string(pilot)).find("JobState=COMPLETED"),
            std::string::npos);

  // The pilot's accounting: flotilla sacct --json ...
  const nlohmann::json acct = nlohmann::json::parse(read(dir_ / "results" / "sacct.json"));
  ASSERT_EQ(acct.at("jobs").size(), static_cast<std::size_t>(kInnerJobs));
  for (const auto& j : acct.at("jobs")) {
    EXPECT_EQ(j.at("state"), "COMPLETED") << j.dump();
    EXPECT_EQ(j.at("gpus").get<int>(), gpus.at(j.at("name"))) << j.dump();
    EXPECT_EQ(j.at("nodelist"), "gpu01");
  }
  // ... and the sacct -P file, which a site's export reader takes as it is.
  Result<SacctLog> sacct = read_sacct((dir_ / "results" / "sacct.txt").string());
  ASSERT_TRUE(sacct) << sacct.message();
  ASSERT_EQ(sacct->jobs.size(), static_cast<std::size_t>(kInnerJobs));
  for (const SacctJob& j : sacct->jobs) {
    EXPECT_EQ(j.state, "COMPLETED") << j.job_id;
    EXPECT_EQ(j.gpus, static_cast<std::uint32_t>(gpus.at(j.name))) << j.job_id;
    EXPECT_EQ(j.gpu_type, "H100-SXM") << j.job_id;
    EXPECT_TRUE(j.start && j.end && *j.start <= *j.end) << j.job_id;
  }

  // Each inner job ran and saw flotilla's Slurm variables, not the pilot's.
  const std::string jobs_dir = fs::canonical(dir_ / "jobs").string();
  for (const auto& [name, n] : gpus) {
    const std::string out = read(dir_ / "jobs" / (name + ".out"));
    EXPECT_NE(out.find(" name=" + name + " nodes=gpu01 gpus=" + std::to_string(n) + " "),
              std::string::npos)
        << name << ": " << out;
    EXPECT_EQ(out.find("id=" + std::to_string(pilot) + " "), std::string::npos) << out;
    EXPECT_NE(out.find(" submit_dir=" + jobs_dir + " "), std::string::npos) << out;
    // CUDA_VISIBLE_DEVICES and SLURM_JOB_GPUS name the same n devices.
    const std::size_t c = out.find(" cuda="), g = out.find(" job_gpus=");
    ASSERT_NE(c, std::string::npos);
    const std::string cuda = out.substr(c + 6, out.find(' ', c + 1) - c - 6);
    EXPECT_EQ(std::count(cuda.begin(), cuda.end(), ',') + 1, n) << out;
    EXPECT_EQ(out.substr(g + 10, cuda.size()), cuda) << out;
  }
}

TEST_F(SlurmPilotTest, AFailedInnerJobFailsThePilot) {
  job("a.sh", "#SBATCH --gpus=1\n", "exit 3\n");
  job("b.sh", "#SBATCH --gpus=1\n", "true\n");
  // Not a batch script (no "#!"): not submitted.
  std::ofstream(dir_ / "jobs" / "notes.txt") << "not a job\n";
  const std::uint64_t pilot = run_pilot(60);
  ASSERT_NE(pilot, 0u);
  EXPECT_NE(read(dir_ / "pilot.out").find("1 of 2 jobs completed"), std::string::npos)
      << read(dir_ / "pilot.out");
  EXPECT_EQ(slurm_record(pilot), std::to_string(pilot) + "|flotilla-pilot|1|FAILED|1:0\n");
  Result<SacctLog> sacct = read_sacct((dir_ / "results" / "sacct.txt").string());
  ASSERT_TRUE(sacct) << sacct.message();
  ASSERT_EQ(sacct->jobs.size(), 2u);
  EXPECT_EQ(sacct->jobs[0].name, "a.sh");
  EXPECT_EQ(sacct->jobs[0].state, "FAILED");
  EXPECT_EQ(sacct->jobs[1].state, "COMPLETED");
}

// Two slurmd as separate hosts (network and UTS namespaces): one executor per
// node, started by mpirun through Slurm; jobs run on the host they were
// placed on, and a two-node job gets both.
TEST_F(SlurmPilotTest, TwoNodeAllocationRunsJobsOnBothHosts) {
  const TwoNodeSlurm slurm(dir_ / "slurm-2nodes");
  ASSERT_TRUE(slurm.up()) << slurm.log();
  use_cluster(slurm.slurm_conf());
  const std::string report = "echo \"nodes=$SLURM_JOB_NODELIST host=$(hostname)\"\n";
  for (int i = 1; i <= 6; ++i) {
    job("whole" + std::to_string(i) + ".sh", "#SBATCH --gpus=8\n", report + "sleep 1\n");
  }
  job("both.sh", "#SBATCH --nodes=2\n#SBATCH --gpus-per-node=8\n",
      report + "cat \"$FLOTILLA_HOSTFILE\"\n");
  const std::uint64_t pilot = run_pilot(90, 2);
  ASSERT_NE(pilot, 0u);
  EXPECT_NE(read(dir_ / "pilot.out").find("7 of 7 jobs completed"), std::string::npos)
      << read(dir_ / "pilot.out");
  EXPECT_EQ(slurm_record(pilot), std::to_string(pilot) + "|flotilla-pilot|2|COMPLETED|0:0\n");
  std::map<std::string, int> jobs_on;
  for (int i = 1; i <= 6; ++i) {
    const std::string out = read(dir_ / "jobs" / ("whole" + std::to_string(i) + ".sh.out"));
    const std::size_t at = out.find(" host=");
    ASSERT_NE(at, std::string::npos) << out;
    const std::string host = out.substr(at + 6, out.find('\n', at) - at - 6);
    // The job ran on the host flotilla placed it on.
    EXPECT_NE(out.find("nodes=" + host + " "), std::string::npos) << out;
    ++jobs_on[host];
  }
  EXPECT_EQ(jobs_on.size(), 2u) << "jobs ran on one host only";
  const std::string both = read(dir_ / "jobs" / "both.sh.out");
  EXPECT_NE(both.find("nodes=gpu[01-02] host=gpu01\ngpu01 slots=8\ngpu02 slots=8\n"),
            std::string::npos)
      << both;
}

}  // namespace
}  // namespace flotilla
