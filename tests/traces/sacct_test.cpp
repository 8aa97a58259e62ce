// traces/sacct.h: `sacct -P` exports into jobs, a Trace and metering records.
// The sample is shaped like `sacct -a -X -P --format=...` of Slurm 22.05 with
// slurmdbd (sacct(1): parsable2 layout, ISO times, [D-]HH:MM:SS durations,
// AllocTRES with typed and untyped gres/gpu), plus the step rows sacct prints
// without -X.
#include "traces/sacct.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace flotilla {
namespace {

constexpr const char* kHeader =
    "JobID|JobIDRaw|JobName|User|Account|Partition|QOS|Submit|Start|End|Elapsed|Timelimit|State|"
    "ExitCode|NNodes|NodeList|AllocTRES\n";

// Line numbers matter below: the header is line 1.
constexpr const char* kRows =
    // 2: a two-node H100 job
    "4242|4242|train|alice|ml|gpu|normal|2026-11-01T10:00:00|2026-11-01T10:00:05|"
    "2026-11-01T11:00:05|01:00:00|02:00:00|COMPLETED|0:0|2|hgx[001-002]|"
    "billing=16,cpu=16,gres/gpu:h100=16,gres/gpu=16,mem=64G,node=2\n"
    // 3: its batch step (skipped)
    "4242.batch|4242.batch|batch||ml|||2026-11-01T10:00:05|2026-11-01T10:00:05|"
    "2026-11-01T11:00:05|01:00:00||COMPLETED|0:0|1|hgx001|cpu=8,gres/gpu=8,mem=32G,node=1\n"
    // 4-5: two array tasks
    "4243_1|4244|sweep|bob|ml|gpu|normal|2026-11-01T10:01:00|2026-11-01T10:02:00|"
    "2026-11-01T10:12:00|00:10:00|30|FAILED|1:0|1|a100-01|cpu=2,gres/gpu:a100=1,gres/gpu=1,node=1\n"
    "4243_2|4245|sweep|bob|ml|gpu|normal|2026-11-01T10:01:00|2026-11-01T10:02:00|"
    "2026-11-01T10:05:00|00:03:00|00:30:00|CANCELLED by 1001|0:15|1|a100-02|"
    "cpu=2,gres/gpu:a100=1,gres/gpu=1,node=1\n"
    // 6: the node died
    "4246|4246|infer|carol|web|gpu|high|2026-11-01T10:03:00|2026-11-01T10:03:01|"
    "2026-11-01T12:03:01|02:00:00|UNLIMITED|NODE_FAIL|0:0|3|hgx[003-005]|"
    "cpu=3,gres/gpu:h100=4,gres/gpu=4,node=3\n"
    // 7: still pending
    "4247|4247|wait|alice|ml|gpu|normal|2026-11-01T10:04:00|Unknown|Unknown|00:00:00|01:00:00|"
    "PENDING|0:0|1|None assigned|\n"
    // 8: CPU only
    "4248|4248|prep|alice|ml|cpu|normal|2026-11-01T10:05:00|2026-11-01T10:05:00|"
    "2026-11-01T10:06:00|00:01:00|00:10:00|COMPLETED|0:0|1|login01|cpu=4,mem=4G,node=1\n"
    // 9: ran out of time after a day
    "4249|4249|long|bob|ml|gpu|normal|2026-11-01T10:06:00|2026-11-01T10:10:00|"
    "2026-11-02T10:10:00|1-00:00:00|1-00:00:00|TIMEOUT|0:0|1|hgx006|"
    "cpu=8,gres/gpu:h100=8,gres/gpu=8,node=1\n"
    // 10: cancelled while pending
    "4250|4250|oops|bob|ml|gpu|normal|2026-11-01T10:07:00|None|2026-11-01T10:08:00|00:00:00|"
    "00:10:00|CANCELLED by 1001|0:0|1|None assigned|\n"
    // 11: untyped GPUs, out of memory
    "4251|4251|oom|dave|ml|gpu|normal|2026-11-01T10:08:00|2026-11-01T10:08:00|"
    "2026-11-01T10:09:00|00:01:00|00:05:00|OUT_OF_MEMORY|0:125|1|hgx007|cpu=1,gres/gpu=2,node=1\n";

class SacctTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sacct_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    const std::string path = (dir_ / "sacct.txt").string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(SacctTest, ReadsJobsArraysStatesAndSkipsSteps) {
  Result<SacctLog> log = read_sacct(write(std::string(kHeader) + kRows));
  ASSERT_TRUE(log) << log.message();
  EXPECT_EQ(log->steps_skipped, 1u);
  ASSERT_EQ(log->jobs.size(), 9u);
  const SacctJob& j = log->jobs[0];
  EXPECT_EQ(j.job_id, "4242");
  EXPECT_EQ(j.id_raw, 4242u);
  EXPECT_EQ(*j.submit, 1793527200);  // 2026-11-01T10:00:00Z (date -u -d ... +%s)
  EXPECT_EQ(*j.start - *j.submit, 5);
  EXPECT_EQ(j.elapsed, Seconds(3600));
  EXPECT_EQ(*j.time_limit, Seconds(7200));
  EXPECT_EQ(j.gpus, 16u);
  EXPECT_EQ(j.gpu_type, "h100");
  EXPECT_EQ(j.nodes, 2u);
  EXPECT_EQ(log->jobs[1].job_id, "4243_1");
  EXPECT_EQ(log->jobs[1].id_raw, 4244u);
  EXPECT_EQ(*log->jobs[1].time_limit, Seconds(30 * 60));  // bare minutes
  EXPECT_EQ(log->jobs[2].state, "CANCELLED");
  EXPECT_FALSE(log->jobs[3].time_limit);  // UNLIMITED
  EXPECT_FALSE(log->jobs[4].start);       // PENDING: Unknown
  EXPECT_EQ(log->jobs[6].elapsed, Seconds(86400));
  EXPECT_EQ(log->jobs[8].gpu_type, "");
  EXPECT_EQ(log->jobs[8].gpus, 2u);
}

TEST_F(SacctTest, TraceKeepsEndedGpuJobsThatRan) {
  Result<SacctLog> log = read_sacct(write(std::string(kHeader) + kRows));
  ASSERT_TRUE(log) << log.message();
  Result<Trace> t = sacct_trace(*log);
  ASSERT_TRUE(t) << t.message();
  // Kept: 4242, 4244, 4245, 4246, 4249, 4251. Skipped: the step, pending,
  // CPU-only, cancelled while pending.
  ASSERT_EQ(t->jobs.size(), 6u);
  EXPECT_EQ(t->skipped_records, 4u);
  const TraceJob& j = t->jobs[0];
  EXPECT_EQ(j.id, 4242u);
  EXPECT_EQ(j.submit, Seconds(0));
  EXPECT_EQ(j.shape.total_gpus, 16u);
  EXPECT_EQ(j.shape.nodes, 2u);
  EXPECT_EQ(j.shape.gpus_per_node, 8u);
  EXPECT_EQ(j.work.reference_runtime, Seconds(3600));
  EXPECT_EQ(GpuCatalog::builtin().at(j.work.reference_gpu).name, "H100-SXM");
  EXPECT_EQ(t->users[j.user], "alice");
  EXPECT_EQ(j.source_line, 2u);
  EXPECT_EQ(t->jobs[1].id, 4244u);
  EXPECT_EQ(t->jobs[1].submit, Seconds(60));
  EXPECT_EQ(t->jobs[3].shape.gpus_per_node, 0u);  // 4 GPUs over 3 nodes
  EXPECT_EQ(t->qos[t->jobs[3].qos], "high");
}

TEST_F(SacctTest, MeteringMapsStatesAndSplitsGpusOverNodes) {
  Result<SacctLog> log = read_sacct(write(std::string(kHeader) + kRows));
  ASSERT_TRUE(log) << log.message();
  Result<SacctMetering> m = sacct_meter_records(*log, "gpufarm", "h100");
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->not_ended, 1u);
  EXPECT_EQ(m->never_started, 1u);
  EXPECT_EQ(m->cpu_only, 1u);
  // 4242 on 2 nodes, 4243_1, 4243_2, 4246 on 3 nodes, 4249, 4251.
  ASSERT_EQ(m->records.size(), 9u);
  const MeterRecord& a = m->records[0];
  EXPECT_EQ(a.job_id, "4242");
  EXPECT_EQ(a.node, "hgx001");
  EXPECT_EQ(a.provider, "gpufarm");
  EXPECT_EQ(a.gpu_type, "H100-SXM");
  EXPECT_EQ(a.gpus, 8u);
  EXPECT_EQ(a.end - a.start, 3600);
  EXPECT_EQ(a.gpu_seconds, 8u * 3600);
  EXPECT_EQ(a.outcome, JobEndState::kCompleted);
  EXPECT_EQ(a.fault, Fault::kNone);
  EXPECT_EQ(m->records[1].node, "hgx002");
  EXPECT_EQ(m->records[2].job_id, "4243_1");  // Slurm's array spelling kept
  EXPECT_EQ(m->records[2].outcome, JobEndState::kFailed);
  EXPECT_EQ(m->records[2].fault, Fault::kUser);
  EXPECT_EQ(m->records[3].outcome, JobEndState::kCancelled);
  // NODE_FAIL is the provider's fault; 4 GPUs over 3 nodes: 2, 1, 1.
  for (int i = 4; i < 7; ++i) {
    EXPECT_EQ(m->records[i].outcome, JobEndState::kNodeFail);
    EXPECT_EQ(m->records[i].fault, Fault::kProvider);
  }
  EXPECT_EQ(m->records[4].gpus, 2u);
  EXPECT_EQ(m->records[6].gpus, 1u);
  EXPECT_EQ(m->records[6].node, "hgx005");
  EXPECT_EQ(m->records[7].outcome, JobEndState::kTimeout);
  EXPECT_EQ(m->records[7].fault, Fault::kUser);
  EXPECT_EQ(m->records[8].outcome, JobEndState::kOutOfMemory);
  EXPECT_EQ(m->records[8].gpu_type, "H100-SXM");  // the default type
  // Every record passes the metering format's own checks.
  for (const MeterRecord& r : m->records) {
    Result<MeterRecord> back = parse_meter_record(to_json_line(r));
    ASSERT_TRUE(back) << back.message();
    EXPECT_EQ(*back, r);
  }
}

TEST_F(SacctTest, MeteringWithoutAGpuTypeIsAnErrorWithTheLine) {
  Result<SacctLog> log = read_sacct(write(std::string(kHeader) + kRows));
  ASSERT_TRUE(log);
  Result<SacctMetering> m = sacct_meter_records(*log, "gpufarm");
  ASSERT_FALSE(m);
  EXPECT_NE(m.message().find("sacct.txt:11: AllocTRES: no GPU type"), std::string::npos)
      << m.message();
}

TEST_F(SacctTest, TrailingBarOfParsableIsAccepted) {
  Result<SacctLog> log =
      read_sacct(write("JobID|Submit|Start|End|Elapsed|State|NNodes|NodeList|AllocTRES|\n"
                       "7|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:00:03|00:00:02|"
                       "COMPLETED|1|n1|gres/gpu:l40s=2|\n"));
  ASSERT_TRUE(log) << log.message();
  ASSERT_EQ(log->jobs.size(), 1u);
  EXPECT_EQ(log->jobs[0].gpus, 2u);
  EXPECT_EQ(log->jobs[0].gpu_type, "l40s");
}

TEST_F(SacctTest, BadInputIsReportedWithFileLineAndColumn) {
  const std::string row_head = "JobID|Submit|Start|End|Elapsed|State|NNodes|NodeList|AllocTRES\n";
  const std::string ok_tail = "|COMPLETED|1|n1|gres/gpu=1\n";
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases = {
      {"", "expected a `sacct -P` header"},
      {"JobID|Submit\n", ":1: missing column Start"},
      {row_head + "1|2026-01-01T00:00:00\n", ":2: expected 9 '|'-separated fields, got 2"},
      {row_head + "1|yesterday|2026-01-01T00:00:00|2026-01-01T00:00:00|00:00:00" + ok_tail,
       ":2: Submit: expected YYYY-MM-DDTHH:MM:SS, got 'yesterday'"},
      {row_head + "1|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:00|1h" + ok_tail,
       ":2: Elapsed: expected [D-]HH:MM:SS, got '1h'"},
      {row_head +
           "1|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:00|00:00:00|EXPLODED|1|n1|"
           "gres/gpu=1\n",
       ":2: State: unknown job state, got 'EXPLODED'"},
      {row_head + "9_3|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:00|00:00:00" +
           ok_tail,
       ":2: JobID: expected a job number (array and heterogeneous jobs need JobIDRaw)"},
      {row_head +
           "1|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:00|00:00:00|COMPLETED|1|n1|"
           "gres/gpu=two\n",
       ":2: AllocTRES: expected NAME=COUNT,..."},
  };
  for (const Case& k : cases) {
    Result<SacctLog> log = read_sacct(write(k.text));
    ASSERT_FALSE(log) << k.text;
    EXPECT_NE(log.message().find(k.want), std::string::npos) << log.message();
  }
  // Errors found after reading: an unknown GPU type, a NodeList that is not NNodes hosts.
  Result<SacctLog> log = read_sacct(
      write(row_head +
            "1|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:09|00:00:09|COMPLETED|2|n1|"
            "gres/gpu:k80=1\n"));
  ASSERT_TRUE(log) << log.message();
  EXPECT_NE(sacct_trace(*log).message().find(":2: AllocTRES: GPU type 'k80' is not in the GPU"),
            std::string::npos);
  EXPECT_NE(sacct_meter_records(*log, "p", "").message().find(":2: GPU type 'k80'"),
            std::string::npos);
  log = read_sacct(
      write(row_head +
            "1|2026-01-01T00:00:00|2026-01-01T00:00:00|2026-01-01T00:00:09|00:00:09|COMPLETED|2|n1|"
            "gres/gpu=1\n"));
  ASSERT_TRUE(log) << log.message();
  EXPECT_NE(sacct_meter_records(*log, "p", "h100")
                .message()
                .find(":2: NodeList 'n1' has 1 hosts, NNodes says 2"),
            std::string::npos);
}

}  // namespace
}  // namespace flotilla
