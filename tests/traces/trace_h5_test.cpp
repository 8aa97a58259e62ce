// The HDF5 trace store: exact round trip, temp-file-and-rename, bad files.
#include "traces/trace_h5.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scheduler/gpu_catalog.h"
#include "tests/traces/trace_test_util.h"
#include "traces/synthetic.h"

namespace flotilla {
namespace {

using testing::TempDir;

void expect_same(const Trace& a, const Trace& b) {
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.accounts, b.accounts);
  EXPECT_EQ(a.qos, b.qos);
  EXPECT_EQ(a.skipped_records, b.skipped_records);
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    const TraceJob& x = a.jobs[i];
    const TraceJob& y = b.jobs[i];
    SCOPED_TRACE("job " + std::to_string(i));
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.submit, y.submit);
    EXPECT_EQ(x.time_limit, y.time_limit);
    EXPECT_EQ(x.user, y.user);
    EXPECT_EQ(x.account, y.account);
    EXPECT_EQ(x.qos, y.qos);
    EXPECT_EQ(x.shape.nodes, y.shape.nodes);
    EXPECT_EQ(x.shape.gpus_per_node, y.shape.gpus_per_node);
    EXPECT_EQ(x.shape.total_gpus, y.shape.total_gpus);
    EXPECT_EQ(x.shape.gpu_milli, y.shape.gpu_milli);
    EXPECT_EQ(x.shape.types, y.shape.types);
    EXPECT_EQ(x.shape.min_gpu_mem_gb, y.shape.min_gpu_mem_gb);
    EXPECT_EQ(x.shape.exclusive, y.shape.exclusive);
    EXPECT_EQ(x.shape.max_switches, y.shape.max_switches);
    EXPECT_EQ(x.workload, y.workload);
    EXPECT_EQ(x.work.reference_runtime, y.work.reference_runtime);
    EXPECT_EQ(x.work.reference_gpu, y.work.reference_gpu);
    ASSERT_EQ(x.work.model.has_value(), y.work.model.has_value());
    if (x.work.model) {
      EXPECT_EQ(x.work.model->params, y.work.model->params);
      EXPECT_EQ(x.work.model->tokens, y.work.model->tokens);
      EXPECT_EQ(x.work.model->seq_len, y.work.model->seq_len);
      EXPECT_EQ(x.work.model->global_batch, y.work.model->global_batch);
      EXPECT_EQ(x.work.model->training, y.work.model->training);
      EXPECT_EQ(x.work.model->shardable, y.work.model->shardable);
    }
    EXPECT_EQ(x.requeue, y.requeue);
    EXPECT_EQ(x.source_line, y.source_line);
  }
}

Trace hand_made() {
  const GpuCatalog& c = GpuCatalog::builtin();
  Trace t;
  t.origin = "hand-made ünïcode";
  t.users = {"-", "alice", "bob"};
  t.accounts = {"-", "lab"};
  t.qos = {"normal", "LS", "BE"};
  t.skipped_records = 7;
  TraceJob a;
  a.id = 42;
  a.submit = Seconds{-5};
  a.time_limit = Seconds{3600};
  a.user = 2;
  a.account = 1;
  a.qos = 2;
  a.shape.nodes = 2;
  a.shape.gpus_per_node = 4;
  a.shape.total_gpus = 8;
  a.shape.types.set(c.find("V100M16").value());
  a.shape.types.set(c.find("A10").value());
  a.shape.min_gpu_mem_gb = 40;
  a.shape.exclusive = true;
  a.shape.max_switches = 1;
  a.workload = WorkloadClass::kFullFinetune;
  a.work.reference_runtime = Seconds{123456789012};
  a.work.reference_gpu = c.find("H100-SXM").value();
  a.work.model = ModelWork{.params = 7e9,
                           .tokens = 1.5e9,
                           .seq_len = 4096,
                           .global_batch = 256,
                           .training = true,
                           .shardable = false};
  a.requeue = false;
  a.source_line = 99;
  TraceJob b;
  b.id = 43;
  b.submit = Seconds{10};
  b.shape.gpu_milli = 250;
  b.work.reference_gpu = c.find("G3").value();
  b.work.model = ModelWork{.params = 1e9, .tokens = 1e6, .training = false};
  t.jobs = {a, b, TraceJob{}};
  return t;
}

TEST(TraceH5, RoundTripIsExact) {
  TempDir dir;
  const Trace t = hand_made();
  const std::string path = dir.path("t.h5");
  ASSERT_TRUE(write_trace_h5(t, path));
  Result<Trace> back = read_trace_h5(path);
  ASSERT_TRUE(back) << back.message();
  expect_same(t, *back);
}

TEST(TraceH5, RoundTripEmptyAndLarge) {
  TempDir dir;
  Trace empty;
  empty.origin = "empty";
  ASSERT_TRUE(write_trace_h5(empty, dir.path("e.h5")));
  Result<Trace> e = read_trace_h5(dir.path("e.h5"));
  ASSERT_TRUE(e) << e.message();
  expect_same(empty, *e);

  // More rows than one chunk.
  const Trace big = synthetic_workload({.jobs = 150'000, .seed = 3});
  ASSERT_TRUE(write_trace_h5(big, dir.path("b.h5")));
  Result<Trace> b = read_trace_h5(dir.path("b.h5"));
  ASSERT_TRUE(b) << b.message();
  expect_same(big, *b);
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TraceH5, WritesATempFileThenRenames) {
  TempDir dir;
  const std::string path = dir.path("out.h5");
  Trace old_trace = hand_made();
  ASSERT_TRUE(write_trace_h5(old_trace, path));

  // The new file is complete under its temporary name before the rename, and
  // OUT still holds the old trace at that moment.
  std::string seen_temp;
  Trace new_trace = hand_made();
  new_trace.jobs.pop_back();
  Status s = write_trace_h5(new_trace, path, [&](const std::string& temp) {
    seen_temp = temp;
    EXPECT_EQ(temp.rfind(path + ".tmp.", 0), 0u) << temp;
    Result<Trace> staged = read_trace_h5(temp);
    EXPECT_TRUE(staged) << staged.message();
    if (staged) {
      EXPECT_EQ(staged->jobs.size(), 2u);
    }
    Result<Trace> current = read_trace_h5(path);
    EXPECT_TRUE(current);
    if (current) {
      EXPECT_EQ(current->jobs.size(), 3u);
    }
    return Status::ok();
  });
  ASSERT_TRUE(s) << s.message();
  EXPECT_FALSE(std::filesystem::exists(seen_temp));
  EXPECT_EQ(files_in(dir.dir()), std::vector<std::string>{"out.h5"});
  EXPECT_EQ(read_trace_h5(path)->jobs.size(), 2u);

  // A crash before the rename (stood in for by the hook failing) leaves the
  // previous OUT untouched and no temporary file behind.
  s = write_trace_h5(hand_made(), path,
                     [](const std::string&) { return Status::error("simulated crash"); });
  EXPECT_EQ(s.message(), "simulated crash");
  EXPECT_EQ(files_in(dir.dir()), std::vector<std::string>{"out.h5"});
  Result<Trace> still = read_trace_h5(path);
  ASSERT_TRUE(still) << still.message();
  EXPECT_EQ(still->jobs.size(), 2u);
}

TEST(TraceH5, Errors) {
  TempDir dir;
  const std::string nodir = dir.path("no/such/dir/t.h5");
  const Status s = write_trace_h5(hand_made(), nodir);
  EXPECT_EQ(s.message().rfind(nodir + ": cannot create " + nodir + ".tmp.", 0), 0u) << s.message();

  const std::string text = dir.write("t.h5", "hello");
  EXPECT_EQ(read_trace_h5(text).message(), text + ": not an HDF5 file");
  EXPECT_EQ(read_trace_h5(dir.path("missing.h5")).message(),
            dir.path("missing.h5") + ": cannot open");
}

}  // namespace
}  // namespace flotilla
