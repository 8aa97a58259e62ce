// Philly (Sia) and Saturn readers: inline files, every error, the real files.
#include "traces/sia_csv.h"

#include <gtest/gtest.h>

#include <cmath>

#include "scheduler/gpu_catalog.h"
#include "tests/traces/trace_test_util.h"

namespace flotilla {
namespace {

using testing::TempDir;

std::string philly_error(const std::string& body, bool with_header = true) {
  TempDir dir;
  const std::string path =
      dir.write("p.csv", (with_header ? std::string(kPhillyHeader) + "\n" : "") + body);
  Result<Trace> t = read_philly(path);
  EXPECT_FALSE(t);
  const std::string m = t.message();
  return m.substr(0, path.size()) == path ? m.substr(path.size()) : "WRONG FILE: " + m;
}

TEST(PhillyReader, SubmitFromEarliestRuntimeOnP100ClusterAsAccount) {
  TempDir dir;
  const std::string path = dir.write("p.csv", std::string(kPhillyHeader) +
                                                  "\n2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                                                  "2017-10-08 07:01:50,2951.4,8,23611.2,6214e9\n"
                                                  "2017-10-09 07:01:55,10,2,20,11cb48\n\n");
  Result<Trace> t = read_philly(path);
  ASSERT_TRUE(t) << t.message();
  ASSERT_EQ(t->jobs.size(), 3u);
  EXPECT_EQ(t->skipped_records, 0u);
  const TraceJob& a = t->jobs[0];  // earliest: second line
  EXPECT_EQ(a.id, 1u);
  EXPECT_EQ(a.submit, Seconds{0});
  EXPECT_EQ(a.work.reference_runtime, Seconds{2951});
  EXPECT_EQ(a.shape.total_gpus, 8u);
  EXPECT_EQ(a.work.reference_gpu, GpuCatalog::builtin().find("P100"));
  EXPECT_EQ(t->accounts[a.account], "6214e9");
  EXPECT_EQ(a.source_line, 3u);
  EXPECT_EQ(t->jobs[1].id, 0u);
  EXPECT_EQ(t->jobs[1].submit, Seconds{86405});
  EXPECT_EQ(t->jobs[2].id, 2u);
  EXPECT_EQ(t->jobs[2].submit, Seconds{86405});
  EXPECT_EQ(t->accounts.size(), 3u);  // "-", 11cb48, 6214e9
}

TEST(PhillyReader, Errors) {
  EXPECT_EQ(philly_error("", false),
            ":1: empty file, expected header 'timestamp,duration,num_gpus,gpu_time,cluster'");
  EXPECT_EQ(philly_error("a,b\n", false),
            ":1: expected header 'timestamp,duration,num_gpus,gpu_time,cluster', got 'a,b'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,66.0,1,66.0\n"), ":2: expected 5 fields, got 4");
  EXPECT_EQ(philly_error("2017-10-09T07:01:55,66.0,1,66.0,x\n"),
            ":2: timestamp: expected 'YYYY-MM-DD HH:MM:SS', got '2017-10-09T07:01:55'");
  EXPECT_EQ(philly_error("2017-13-09 07:01:55,66.0,1,66.0,x\n"),
            ":2: timestamp: expected 'YYYY-MM-DD HH:MM:SS', got '2017-13-09 07:01:55'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,-1,1,66.0,x\n"),
            ":2: duration: expected seconds >= 0, got '-1'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,66,0,66.0,x\n"),
            ":2: num_gpus: expected an integer >= 1, got '0'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,66,1.5,66.0,x\n"),
            ":2: num_gpus: expected an integer >= 1, got '1.5'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,66,1,lots,x\n"),
            ":2: gpu_time: expected seconds >= 0, got 'lots'");
  EXPECT_EQ(philly_error("2017-10-09 07:01:55,66,1,66,\n"),
            ":2: cluster: expected a cluster id, got ''");
}

TEST(PhillyReader, RealFile) {
  const std::string path = testing::shared_trace("philly-sia.csv");
  SKIP_UNLESS_EXISTS(path);
  Result<Trace> t = read_philly(path);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->jobs.size(), 82'247u);       // the Sia artifact's count
  EXPECT_EQ(t->accounts.size(), 1u + 15u);  // 15 virtual clusters
  double sum = 0;
  std::uint64_t single = 0;
  for (const TraceJob& j : t->jobs) {
    sum += static_cast<double>(j.work.reference_runtime.count());
    single += j.shape.total_gpus == 1 ? 1 : 0;
  }
  // Published: mean duration 13,136 s; median 1 GPU (76,627 single-GPU jobs).
  EXPECT_NEAR(sum / static_cast<double>(t->jobs.size()), 13'136, 1);
  EXPECT_EQ(single, 76'627u);
  EXPECT_EQ(t->jobs.front().submit, Seconds{0});
  // 2017-09-04 10:30:41 .. 2017-12-22 08:02:11
  EXPECT_EQ(t->jobs.back().submit, Seconds{9'408'690});
}

std::string saturn_error(const std::string& body) {
  TempDir dir;
  const std::string path = dir.write("s.csv", std::string(kSaturnHeader) + "\n" + body);
  Result<Trace> t = read_saturn(path);
  EXPECT_FALSE(t);
  const std::string m = t.message();
  return m.substr(0, path.size()) == path ? m.substr(path.size()) : "WRONG FILE: " + m;
}

TEST(SaturnReader, ApplicationsBecomeSmallTrainingWithAssumedRuntimes) {
  TempDir dir;
  const std::string path = dir.write("s.csv", std::string(kSaturnHeader) +
                                                  "\ncifar10-0,401.0,cifar10,12,4096\n"
                                                  "imagenet-1,10.4,imagenet,8,1024\n"
                                                  "bert-2,20,bert,1,12\n");
  Result<Trace> t = read_saturn(path);
  ASSERT_TRUE(t) << t.message();
  ASSERT_EQ(t->jobs.size(), 3u);
  const TraceJob& imagenet = t->jobs[0];
  EXPECT_EQ(imagenet.submit, Seconds{10});
  EXPECT_EQ(imagenet.shape.total_gpus, 8u);
  EXPECT_EQ(imagenet.workload, WorkloadClass::kSmallTraining);
  EXPECT_EQ(imagenet.work.reference_runtime, Seconds{316 * 3600 / 8});
  EXPECT_EQ(imagenet.work.reference_gpu, GpuCatalog::builtin().find("T4"));
  EXPECT_EQ(t->jobs[1].work.reference_runtime, Seconds{std::llround(3.16 * 3600)});  // bert
  EXPECT_EQ(t->jobs[2].work.reference_runtime, Seconds{150});  // cifar10: 0.5 GPU-h / 12
  EXPECT_EQ(t->jobs[2].submit, Seconds{401});
}

TEST(SaturnReader, Errors) {
  EXPECT_EQ(saturn_error("x,1,cifar10,1\n"), ":2: expected 5 fields, got 4");
  EXPECT_EQ(saturn_error(",1,cifar10,1,2\n"), ":2: name: expected a job name, got ''");
  EXPECT_EQ(saturn_error("x,soon,cifar10,1,2\n"), ":2: time: expected seconds >= 0, got 'soon'");
  EXPECT_EQ(saturn_error("x,1,gpt4,1,2\n"),
            ":2: application: expected one of cifar10, ncf, bert, deepspeech2, yolov3, "
            "imagenet, got 'gpt4'");
  EXPECT_EQ(saturn_error("x,1,bert,0,2\n"), ":2: num_replicas: expected an integer >= 1, got '0'");
  EXPECT_EQ(saturn_error("x,1,bert,1,-2\n"), ":2: batch_size: expected an integer >= 1, got '-2'");
}

TEST(SaturnReader, RealWorkloads) {
  for (int w = 1; w <= 10; ++w) {
    const std::string path = testing::shared_trace("saturn/workload-" + std::to_string(w) + ".csv");
    SKIP_UNLESS_EXISTS(path);
    Result<Trace> t = read_saturn(path);
    ASSERT_TRUE(t) << t.message();
    EXPECT_EQ(t->jobs.size(), 160u) << path;  // the artifact samples 160 jobs per workload
    for (const TraceJob& j : t->jobs) {
      EXPECT_GE(j.shape.total_gpus, 4u);
      EXPECT_LE(j.shape.total_gpus, 16u);
      EXPECT_GT(j.work.reference_runtime.count(), 0);
    }
  }
}

}  // namespace
}  // namespace flotilla
