// Wire formats of the live system (controller <-> executor messages) and the
// controller's non-blocking MPI sends, in one MPI process (a singleton, no
// mpirun) that sends to itself: a blocking MPI_Send of a large message to a
// rank that has not posted its receive would never return here.
#include "scheduler/protocol.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <variant>

namespace flotilla::protocol {
namespace {

class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { MPI_Init(nullptr, nullptr); }
  void TearDown() override { MPI_Finalize(); }
};
[[maybe_unused]] ::testing::Environment* const kMpi =
    ::testing::AddGlobalTestEnvironment(new MpiEnvironment);

TEST(Protocol, ExitReportsCarryEnergyOnlyWhereMeasured) {
  JobExit e{.job_id = 7, .exit_code = 3, .energy_j = 101};
  Result<Message> back = parse_message(to_json(e).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<JobExit>(*back).energy_j, 101u);
  EXPECT_EQ(std::get<JobExit>(*back).exit_code, 3);

  e.energy_j.reset();
  EXPECT_FALSE(to_json(e).contains("energy_j")) << "absent, not zero";
  back = parse_message(to_json(e).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<JobExit>(*back).energy_j, std::nullopt);

  Json bad = to_json(e);
  bad["energy_j"] = -1;
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"energy_j\"");
}

// The other nodes of a multi-node job: counting starts and ends by job and
// run, and a report without its figure is refused rather than read as 0 J.
TEST(Protocol, MeterMessagesRoundTripAndAReportNeedsItsEnergy) {
  Result<Message> back = parse_message(to_json(MeterStart{7, 2, {1, 3}}).dump());
  ASSERT_TRUE(back) << back.message();
  const auto& start = std::get<MeterStart>(*back);
  EXPECT_EQ(start.job_id, 7u);
  EXPECT_EQ(start.run, 2u);
  EXPECT_EQ(start.gpus, (std::vector<std::uint32_t>{1, 3}));

  back = parse_message(to_json(MeterEnd{7, 2}).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<MeterEnd>(*back).job_id, 7u);
  EXPECT_EQ(std::get<MeterEnd>(*back).run, 2u);

  back = parse_message(to_json(MeterReport{7, 2, 101}).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<MeterReport>(*back).energy_j, 101u);
  EXPECT_EQ(std::get<MeterReport>(*back).run, 2u);

  Json bad = to_json(MeterReport{7, 2, 101});
  bad.erase("energy_j");
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"energy_j\"");
  bad = to_json(MeterStart{7, 2, {1}});
  bad["gpus"] = "1";
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"gpus\"");
}

// A stall and the controller's answer name the same stall.
TEST(Protocol, StalledAndResumeRoundTrip) {
  Result<Message> back = parse_message(to_json(Stalled{3}).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<Stalled>(*back).stall, 3u);
  back = parse_message(to_json(Resume{3}).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<Resume>(*back).stall, 3u);
  Json bad = to_json(Resume{3});
  bad["stall"] = "three";
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"stall\"");
}

TEST(Protocol, RegistrationsCarryAProbeSummaryOnlyWhereOneWasRead) {
  Register r{.hostname = "gpu-node-7", .gpu_source = "nvml"};
  Json j = to_json(r);
  for (const char* key : {"probe_gpus", "probe_source", "probe_error"}) {
    EXPECT_FALSE(j.contains(key)) << key << " absent, so older controllers see nothing new";
  }
  Result<Message> back = parse_message(j.dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_TRUE(std::get<Register>(*back).probe_gpus.empty());
  EXPECT_EQ(std::get<Register>(*back).probe_source, "");

  r.probe_source = "/var/lib/flotilla/probe-gpu-node-7.json";
  r.probe_gpus = {{"NVIDIA H100 80GB HBM3", 798.5, 2999.1, "H100-SXM"},
                  {"NVIDIA H100 80GB HBM3", 310.0, 2900.0, ""}};
  j = to_json(r);
  EXPECT_FALSE(j.at("probe_gpus")[1].contains("class")) << "no class reached: absent";
  back = parse_message(j.dump());
  ASSERT_TRUE(back) << back.message();
  const Register& got = std::get<Register>(*back);
  EXPECT_EQ(got.probe_source, r.probe_source);
  ASSERT_EQ(got.probe_gpus.size(), 2u);
  EXPECT_EQ(got.probe_gpus[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_DOUBLE_EQ(got.probe_gpus[0].bf16_tflops, 798.5);
  EXPECT_DOUBLE_EQ(got.probe_gpus[0].device_copy_gbps, 2999.1);
  EXPECT_EQ(got.probe_gpus[0].throughput_class, "H100-SXM");
  EXPECT_EQ(got.probe_gpus[1].throughput_class, "");

  const Register failed{.hostname = "gpu-node-8", .probe_error = "probe.json: bad JSON"};
  back = parse_message(to_json(failed).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<Register>(*back).probe_error, "probe.json: bad JSON");

  Json bad = j;
  bad["probe_gpus"][0].erase("bf16_tflops");
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"probe_gpus\"");
  bad = j;
  bad["probe_gpus"][0]["device_copy_gbps"] = -1;
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"probe_gpus\"");
  bad = j;
  bad["probe_gpus"] = "fast";
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"probe_gpus\"");
  bad = j;
  bad["probe_error"] = "both";
  EXPECT_EQ(parse_message(bad.dump()).message(), "malformed message: bad field \"probe_error\"");
}

TEST(Protocol, LaunchesNameTheGpusOfTheFirstNodeAndExitsTheirRun) {
  Launch l;
  l.job_id = 9;
  l.run = 2;
  l.gpus = {1, 3};
  Result<Message> back = parse_message(to_json(l).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<Launch>(*back).gpus, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(std::get<Launch>(*back).run, 2u);
  back = parse_message(to_json(JobExit{.job_id = 9, .run = 2}).dump());
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(std::get<JobExit>(*back).run, 2u);
}

// A launch of a megabyte, far above any eager limit: what a stopped executor
// would leave unreceived.
Json big_launch() {
  Launch l;
  l.job_id = 5;
  l.script = "#!/bin/sh\n" + std::string(1u << 20, '#');
  return to_json(l);
}

// The next message to this rank, letting the sends `out` holds progress
// meanwhile; nullopt once it holds none and nothing came (a cancelled send).
std::optional<Received> receive(MpiOutbox& out) {
  for (int turn = 0; turn < 100'000; ++turn) {
    if (std::optional<Received> in = mpi_poll()) return in;
    if (out.pending() == 0) return std::nullopt;
    out.progress();
  }
  ADD_FAILURE() << "a send neither completed nor arrived";
  return std::nullopt;
}

TEST(MpiOutbox, PostReturnsAtOnceAndKeepsTheBytesUntilReceived) {
  MpiOutbox out;
  const Json sent = big_launch();
  ASSERT_TRUE(out.post(0, sent));
  out.progress();
  std::optional<Received> in = receive(out);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->rank, 0);
  EXPECT_EQ(in->text, sent.dump());
  while (out.pending() > 0) out.progress();
}

// Open MPI does not cancel sends (ob1 ignores MPI_Cancel of one): the message
// then arrives intact once received; an MPI that cancels it delivers nothing.
// Either way the send completes and leaves the outbox.
TEST(MpiOutbox, ACancelledSendArrivesWholeOrNotAtAll) {
  MpiOutbox out;
  const Json sent = big_launch();
  ASSERT_TRUE(out.post(0, sent));
  out.cancel(0);
  if (std::optional<Received> in = receive(out)) {
    EXPECT_EQ(in->text, sent.dump());
  }
  for (int turn = 0; turn < 100'000 && out.pending() > 0; ++turn) out.progress();
  EXPECT_EQ(out.pending(), 0u);
}

// An outbox gone before its receiver took the message leaves the bytes to
// MPI rather than freeing them under it.
TEST(MpiOutbox, AnOutboxGoneFirstLeavesItsBytesToMpi) {
  const Json sent = big_launch();
  {
    MpiOutbox out;
    ASSERT_TRUE(out.post(0, sent));
  }
  std::optional<Received> in;
  for (int turn = 0; turn < 100'000 && !in; ++turn) in = mpi_poll();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, sent.dump());
}

}  // namespace
}  // namespace flotilla::protocol
