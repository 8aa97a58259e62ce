// End to end through the binary: `flotilla fleet import-slurm`, `flotilla
// trace import-sacct` and `flotilla meter import-sacct`, on the realistic
// cluster in data/cluster/ and a small sacct export.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scheduler/fleet_file.h"
#include "scheduler/metering.h"
#include "tests/run_flotilla.h"
#include "traces/trace_h5.h"

namespace flotilla {
namespace {

using testing::run_flotilla;

const std::string kData = std::string(FLOTILLA_SOURCE_DIR) + "/tests/slurm/data/cluster/";

class ImportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("import_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  std::filesystem::path dir_;
};

constexpr const char* kSacct =
    "JobID|JobIDRaw|JobName|User|Account|Partition|QOS|Submit|Start|End|Elapsed|Timelimit|State|"
    "ExitCode|NNodes|NodeList|AllocTRES\n"
    "11|11|a|u1|ml|gpu|normal|2026-11-01T10:00:00|2026-11-01T10:00:00|2026-11-01T10:10:00|"
    "00:10:00|01:00:00|COMPLETED|0:0|1|hgx001|cpu=8,gres/gpu:h100=8,gres/gpu=8,node=1\n"
    "12_0|13|b|u2|ml|gpu|normal|2026-11-01T10:01:00|2026-11-01T10:02:00|2026-11-01T10:03:00|"
    "00:01:00|00:05:00|NODE_FAIL|0:0|2|hgx[002-003]|cpu=2,gres/gpu:h100=2,gres/gpu=2,node=2\n"
    "14|14|c|u1|ml|gpu|normal|2026-11-01T10:05:00|Unknown|Unknown|00:00:00|00:05:00|PENDING|"
    "0:0|1|None assigned|\n";

TEST_F(ImportCliTest, FleetImportSlurmWritesALoadableFleet) {
  const testing::CommandOutcome r = run_flotilla(
      "fleet import-slurm --conf '" + kData + "slurm.conf' --gres '" + kData +
      "gres.conf' --topology '" + kData + "topology.conf' -o '" + path("f.toml") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("login01 has no GPUs, left out of the fleet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrote " + path("f.toml") + " (12 GPU nodes;"), std::string::npos) << r.err;
  Result<Fleet> f = load_fleet_file(path("f.toml"));
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->total_gpus(), 80u);
  // `fleet show` reads it like any other fleet.
  const testing::CommandOutcome show = run_flotilla("fleet show '" + path("f.toml") + "' --json");
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"switches\":3"), std::string::npos) << show.out;
}

TEST_F(ImportCliTest, FleetImportSlurmBadInputAndUsage) {
  const std::string conf = write("slurm.conf", "ClusterName=x\nNodeName=n1 Gres=gpu:tesla_k80:4\n");
  const testing::CommandOutcome bad =
      run_flotilla("fleet import-slurm --conf '" + conf + "' -o '" + path("f.toml") + "'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, conf +
                         ":2: n1: GPU type 'tesla_k80' is not in the GPU catalog "
                         "(scheduler/gpu_catalog.toml)\n");
  EXPECT_FALSE(std::filesystem::exists(path("f.toml")));  // nothing half-written
  EXPECT_EQ(run_flotilla("fleet import-slurm -o x.toml").exit_code, 2);
}

TEST_F(ImportCliTest, TraceImportSacctWritesTheHdf5Trace) {
  const std::string in = write("sacct.txt", kSacct);
  const testing::CommandOutcome r =
      run_flotilla("trace import-sacct '" + in + "' -o '" + path("t.h5") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<Trace> t = read_trace_h5(path("t.h5"));
  ASSERT_TRUE(t) << t.message();
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->skipped_records, 1u);
  EXPECT_EQ(t->jobs[1].id, 13u);
  EXPECT_EQ(t->jobs[1].submit, Seconds(60));
  EXPECT_EQ(t->jobs[1].shape.nodes, 2u);
  const std::string broken = write("bad.txt", std::string(kSacct) + "15|15|d\n");
  const testing::CommandOutcome bad =
      run_flotilla("trace import-sacct '" + broken + "' -o '" + path("b.h5") + "'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, broken + ":5: expected 17 '|'-separated fields, got 3\n");
}

TEST_F(ImportCliTest, MeterImportSacctWritesMeteringRecords) {
  const std::string in = write("sacct.txt", kSacct);
  const testing::CommandOutcome r = run_flotilla(
      "meter import-sacct '" + in + "' --provider gpufarm -o '" + path("m.jsonl") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<std::vector<MeterRecord>> m = read_meter_file(path("m.jsonl"));
  ASSERT_TRUE(m) << m.message();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].gpu_seconds, 8u * 600);
  EXPECT_EQ((*m)[1].job_id, "12_0");
  EXPECT_EQ((*m)[1].node, "hgx002");
  EXPECT_EQ((*m)[1].gpus, 1u);
  EXPECT_EQ((*m)[2].fault, Fault::kProvider);
  EXPECT_EQ(run_flotilla("meter import-sacct '" + in + "' -o x.jsonl").exit_code, 2);
}

}  // namespace
}  // namespace flotilla
