// SWF reader: inline logs (plain and gzip), every error, and the real NASA
// iPSC/860 log from the Parallel Workloads Archive.
#include "traces/swf.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "scheduler/gpu_catalog.h"
#include "tests/traces/trace_test_util.h"

namespace flotilla {
namespace {

using testing::TempDir;

constexpr const char* kLog =
    "; Version: 2.2\n"
    "; Computer: Test machine\n"
    "; UnixStartTime: 749458803\n"
    "; MaxNodes: 128\n"
    "; MaxProcs: 256\n"
    "; Queue: 0  interactive\n"
    "; Queue: 1  batch\n"
    "; Note: free text: with colons\n"
    "\n"
    //  1    2   3    4   5    6   7   8    9  10 11 12 13 14 15 16 17 18
    "   2  100  -1  50  -1  -1 -1   8  600 -1  5  7  2 -1  1 -1 -1 -1\n"
    "   1    0   5 3600  16 12.5 -1 16 7200 -1  1  3  1 -1  0 -1 -1 -1\n"
    "   3  100  -1  -1   4  -1 -1  -1  900 -1  0 -1 -1 -1 -1 -1 -1 -1\n"
    "   4  200  -1  10   2  -1 -1  -1   -1 -1  2  3  1 -1  1 -1 -1 -1\n"
    "   5  300  -1  20   2  -1 -1  -1   -1 -1  3  3  1 -1  1 -1 -1 -1\n"
    "   6  400   0  30   0  -1 -1   2   -1 -1  1  3  1 -1  7 -1 -1 -1\n";

TEST(SwfReader, MapsAllFieldsAndKeepsTheHeader) {
  TempDir dir;
  Result<SwfLog> log = read_swf_log(dir.write("t.swf", kLog));
  ASSERT_TRUE(log) << log.message();
  const SwfHeader& h = log->header;
  EXPECT_EQ(h.version, "2.2");
  EXPECT_EQ(h.computer, "Test machine");
  EXPECT_EQ(h.unix_start_time, 749458803);
  EXPECT_EQ(h.max_nodes, 128);
  EXPECT_EQ(h.max_procs, 256);
  EXPECT_EQ(h.max_jobs, std::nullopt);
  EXPECT_EQ(h.queues.at(0), "interactive");
  EXPECT_EQ(h.queues.at(1), "batch");
  EXPECT_EQ(h.fields.at("Note"), "free text: with colons");

  const Trace& t = log->trace;
  EXPECT_EQ(t.skipped_records, 2u);  // status 2 and 3 partial lines
  ASSERT_EQ(t.jobs.size(), 4u);
  // Sorted by submit, then id.
  EXPECT_EQ(t.jobs[0].id, 1u);
  EXPECT_EQ(t.jobs[1].id, 2u);
  EXPECT_EQ(t.jobs[2].id, 3u);
  EXPECT_EQ(t.jobs[3].id, 6u);

  const TraceJob& j1 = t.jobs[0];
  EXPECT_EQ(j1.submit, Seconds{0});
  EXPECT_EQ(j1.work.reference_runtime, Seconds{3600});
  EXPECT_EQ(j1.shape.total_gpus, 16u);
  EXPECT_EQ(j1.shape.gpus_per_node, 0u);
  EXPECT_EQ(j1.time_limit, Seconds{7200});
  EXPECT_EQ(t.users[j1.user], "3");
  EXPECT_EQ(t.accounts[j1.account], "1");
  EXPECT_EQ(t.qos[j1.qos], "interactive");
  EXPECT_EQ(j1.source_line, 11u);
  EXPECT_EQ(j1.workload, WorkloadClass::kUnknown);

  // Cancelled (5) job kept with what it ran; allocated -1 -> requested 8.
  const TraceJob& j2 = t.jobs[1];
  EXPECT_EQ(j2.work.reference_runtime, Seconds{50});
  EXPECT_EQ(j2.shape.total_gpus, 8u);
  EXPECT_EQ(t.users[j2.user], "7");
  EXPECT_EQ(t.qos[j2.qos], "batch");

  // Failed (0) job with unknown run time: the requested time stands in;
  // unknown user, group and queue keep the defaults.
  const TraceJob& j3 = t.jobs[2];
  EXPECT_EQ(j3.work.reference_runtime, Seconds{900});
  EXPECT_EQ(j3.shape.total_gpus, 4u);
  EXPECT_EQ(j3.user, 0u);
  EXPECT_EQ(t.users[0], "-");
  EXPECT_EQ(t.qos[j3.qos], "normal");

  // Allocated 0 -> requested 2; queue 7 has no header name; no time limit.
  const TraceJob& j6 = t.jobs[3];
  EXPECT_EQ(j6.shape.total_gpus, 2u);
  EXPECT_EQ(t.qos[j6.qos], "queue-7");
  EXPECT_EQ(j6.time_limit, std::nullopt);
}

TEST(SwfReader, ReadsGzip) {
  TempDir dir;
  const std::string path = dir.path("t.swf.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  const std::string text = kLog;
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(gz);
  Result<Trace> t = read_swf(path);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->jobs.size(), 4u);
  EXPECT_EQ(t->jobs[0].work.reference_runtime, Seconds{3600});
}

std::string error_of(const std::string& text) {
  TempDir dir;
  const std::string path = dir.write("bad.swf", text);
  Result<Trace> t = read_swf(path);
  EXPECT_FALSE(t);
  const std::string m = t.message();
  return m.substr(0, path.size()) == path ? m.substr(path.size()) : "WRONG FILE: " + m;
}

TEST(SwfReader, Errors) {
  const std::string ok = "1 0 -1 10 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n";
  EXPECT_EQ(error_of(ok + "2 0 -1 10 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1\n"),
            ":2: expected 18 fields, got 17");
  EXPECT_EQ(error_of("1 0 -1 ten 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            ":1: field 4 (run time): expected a number, got 'ten'");
  EXPECT_EQ(error_of("1 0 -1 10 1.5 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            ":1: field 5 (allocated processors): expected an integer, got '1.5'");
  EXPECT_EQ(error_of("1 0 -1 10 1 -1 -1 1 -1 -1 1 -2 1 -1 -1 -1 -1 -1\n"),
            ":1: field 12 (user id): must be -1 (unknown) or more, got -2");
  EXPECT_EQ(error_of("1 -1 -1 10 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            ":1: field 2 (submit time): unknown (-1)");
  EXPECT_EQ(error_of("1 0 -1 10 -1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            ":1: field 5 (allocated processors): unknown, and field 8 (requested processors) "
            "too");
  EXPECT_EQ(error_of("1 0 -1 -1 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            ":1: field 4 (run time): unknown (-1) and no requested time either");
  EXPECT_EQ(error_of("; MaxProcs: many\n" + ok),
            ":1: header MaxProcs: expected an integer, got 'many'");
  EXPECT_EQ(error_of("; Queue: batch\n" + ok),
            ":1: header Queue: expected 'NUMBER NAME', got 'batch'");
  // Averages may be fractional and are not used.
  TempDir dir;
  EXPECT_TRUE(read_swf(dir.write("f.swf", "1 0 -1 10 1 2.75 3.5 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n")));
}

TEST(SwfReader, MissingFile) {
  Result<Trace> t = read_swf("/nonexistent/x.swf");
  EXPECT_EQ(t.message(), "/nonexistent/x.swf: cannot open");
}

TEST(SwfReader, RealNasaIpscLog) {
  const std::string path = testing::shared_trace("NASA-iPSC-1993-3.1-cln.swf.gz");
  SKIP_UNLESS_EXISTS(path);
  Result<SwfLog> log = read_swf_log(path);
  ASSERT_TRUE(log) << log.message();
  EXPECT_EQ(log->trace.jobs.size(), 18'239u);  // Parallel Workloads Archive: 18,239 jobs
  EXPECT_EQ(log->trace.skipped_records, 0u);
  EXPECT_EQ(log->header.max_nodes, 128);
  EXPECT_EQ(log->header.max_procs, 128);
  EXPECT_EQ(log->header.unix_start_time, 749458803);
  EXPECT_EQ(log->header.computer, "Intel iPSC/860");
  EXPECT_EQ(log->header.queues.at(1), "batch");
  const TraceJob& first = log->trace.jobs.front();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.submit, Seconds{0});
  EXPECT_EQ(first.work.reference_runtime, Seconds{1451});
  EXPECT_EQ(first.shape.total_gpus, 128u);
  std::uint32_t widest = 0;
  for (const TraceJob& j : log->trace.jobs) widest = std::max(widest, j.shape.total_gpus);
  EXPECT_EQ(widest, 128u);
}

}  // namespace
}  // namespace flotilla
