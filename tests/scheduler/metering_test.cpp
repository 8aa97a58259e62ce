#include "scheduler/metering.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace flotilla {
namespace {

const std::string kGood =
    R"({"job_id":"4242_7","provider":"acme","node":"gpu017","gpu_type":"H100-SXM",)"
    R"("gpus":8,"start":1764201600,"end":1764205200,"gpu_seconds":28800,)"
    R"("outcome":"completed","fault":"none"})";

// `line` with the value of `field` replaced, everything else kept.
std::string with(std::string s, const std::string& field, const std::string& value) {
  const std::string key = "\"" + field + "\":";
  const std::size_t at = s.find(key) + key.size();
  const std::size_t end = s.find_first_of(",}", s[at] == '"' ? s.find('"', at + 1) : at);
  return s.replace(at, end - at, value);
}

TEST(MeterRecord, ParsesTheDocumentedExampleAndWritesItBackIdentically) {
  Result<MeterRecord> r = parse_meter_record(kGood);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->job_id, "4242_7");
  EXPECT_EQ(r->provider, "acme");
  EXPECT_EQ(r->node, "gpu017");
  EXPECT_EQ(r->gpu_type, "H100-SXM");
  EXPECT_EQ(r->gpus, 8u);
  EXPECT_EQ(r->start, 1764201600);
  EXPECT_EQ(r->end, 1764205200);
  EXPECT_EQ(r->gpu_seconds, 28800u);
  EXPECT_EQ(r->outcome, JobEndState::kCompleted);
  EXPECT_EQ(r->fault, Fault::kNone);
  EXPECT_EQ(to_json_line(*r), kGood);
}

// A requeued job's runs on one node are separate records: the lost run keeps
// its provider fault. The same run twice is still a duplicate.
TEST(MeterRecord, RunsOfARequeuedJobOnOneNodeAreSeparateRecords) {
  const std::string lost =
      with(with(with(kGood, "outcome", R"("node_fail")"), "fault", R"("provider")"), "gpu_seconds",
           "1600");
  const std::string rerun = kGood.substr(0, kGood.size() - 1) + R"(,"run":1})";
  Result<MeterRecord> r = parse_meter_record(rerun);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->run, 1u);
  EXPECT_EQ(to_json_line(*r), rerun);
  EXPECT_EQ(parse_meter_record(kGood)->run, 0u);
  EXPECT_EQ(parse_meter_record(with(rerun, "run", "-1")).message(), "'run' must not be negative");

  const auto p = (std::filesystem::temp_directory_path() / "meter_runs_test.jsonl").string();
  std::ofstream(p) << lost << '\n' << rerun << '\n';
  Result<std::vector<MeterRecord>> both = read_meter_file(p);
  ASSERT_TRUE(both) << both.message();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].fault, Fault::kProvider);
  EXPECT_EQ((*both)[1].run, 1u);
  std::ofstream(p, std::ios::app) << rerun << '\n';
  EXPECT_EQ(read_meter_file(p).message(),
            p + ":3: duplicate record for job 4242_7 run 1 on node gpu017 (first at line 2)");
  std::filesystem::remove(p);
}

// energy_j is written only where it was measured; absent means unknown, so
// a record without it reads back without it, not as zero.
TEST(MeterRecord, EnergyIsWrittenAndReadOnlyWhereMeasured) {
  const std::string measured = kGood.substr(0, kGood.size() - 1) + R"(,"energy_j":9720000})";
  Result<MeterRecord> r = parse_meter_record(measured);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->energy_j, 9'720'000u);
  EXPECT_EQ(to_json_line(*r), measured);
  const std::string both = kGood.substr(0, kGood.size() - 1) + R"(,"run":2,"energy_j":0})";
  ASSERT_TRUE(parse_meter_record(both)) << parse_meter_record(both).message();
  EXPECT_EQ(parse_meter_record(both)->energy_j, 0u) << "measured zero stays zero";
  EXPECT_EQ(to_json_line(*parse_meter_record(both)), both);
  EXPECT_EQ(parse_meter_record(kGood)->energy_j, std::nullopt);
  EXPECT_EQ(to_json_line(*parse_meter_record(kGood)), kGood);
  for (const auto& [value, why] : std::vector<std::pair<std::string, std::string>>{
           {"-5", "'energy_j' must not be negative"},
           {"12.5", "'energy_j' must be a whole number"},
           {R"("12")", "'energy_j' must be a whole number"},
           {"null", "'energy_j' must be a whole number"},
           {"9223372036854775808",
            "'energy_j' is out of range (9223372036854775808 > "
            "9223372036854775807)"}}) {
    EXPECT_EQ(parse_meter_record(with(measured, "energy_j", value)).message(), why) << value;
  }
}

TEST(MeterRecord, EveryStateAndFaultNameRoundTrips) {
  for (const char* s :
       {"completed", "failed", "cancelled", "timeout", "node_fail", "preempted", "out_of_memory"}) {
    ASSERT_TRUE(find_end_state(s)) << s;
    EXPECT_EQ(end_state_name(*find_end_state(s)), s);
  }
  for (const char* f : {"none", "user", "provider"}) {
    ASSERT_TRUE(find_fault(f)) << f;
    EXPECT_EQ(fault_name(*find_fault(f)), f);
  }
  EXPECT_FALSE(find_end_state("COMPLETED"));  // sacct spells it so; importers map it
  EXPECT_FALSE(find_fault("gpu"));
}

TEST(MeterRecord, RefusesBadValuesNamingTheField) {
  const struct {
    std::string line;
    std::string says;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[1,2]", "expected a JSON object"},
      {with(kGood, "gpus", "-1"), "'gpus' must not be negative"},
      {with(kGood, "gpus", "0"), "'gpus' must be at least 1"},
      {with(kGood, "gpus", "1.5"), "'gpus' must be a whole number"},
      {with(kGood, "gpus", "\"8\""), "'gpus' must be a whole number"},
      {with(kGood, "gpus", "4294967296"), "'gpus' is out of range"},
      {with(kGood, "gpu_seconds", "18446744073709551616"), "'gpu_seconds' must be a whole number"},
      {with(kGood, "start", "-5"), "'start' must not be negative"},
      {with(kGood, "end", "1764201599"), "'end' is before 'start'"},
      {with(kGood, "gpu_seconds", "28801"), "exceeds gpus * (end - start)"},
      {with(kGood, "provider", "\"\""), "'provider' must be a non-empty string"},
      {with(kGood, "job_id", "4242"), "'job_id' must be a non-empty string"},
      {with(kGood, "outcome", "\"DONE\""), "unknown outcome 'DONE'"},
      {with(kGood, "fault", "\"gpu\""), "unknown fault 'gpu'"},
      {with(kGood, "fault", "\"provider\""), "a completed job cannot have fault 'provider'"},
      {R"({"job_id":"1"})", "missing field 'provider'"},
  };
  for (const auto& c : cases) {
    Result<MeterRecord> r = parse_meter_record(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_NE(r.message().find(c.says), std::string::npos) << c.line << " -> " << r.message();
  }
  // A provider fault on a failed job is what penalties are for.
  Result<MeterRecord> failed =
      parse_meter_record(with(with(kGood, "outcome", "\"node_fail\""), "fault", "\"provider\""));
  ASSERT_TRUE(failed) << failed.message();
  EXPECT_EQ(failed->fault, Fault::kProvider);
}

class MeterFile : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::path(::testing::TempDir()) / "metering_test";
  void SetUp() override {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string write(const std::string& text) {
    const std::string p = (dir_ / "meter.jsonl").string();
    std::ofstream(p) << text;
    return p;
  }
};

TEST_F(MeterFile, WriteThenReadGivesTheSameRecords) {
  MeterRecord a = *parse_meter_record(kGood);
  MeterRecord b = a;
  b.node = "gpu018";
  b.outcome = JobEndState::kNodeFail;
  b.fault = Fault::kProvider;
  const std::string p = (dir_ / "out.jsonl").string();
  ASSERT_TRUE(write_meter_file(p, {a, b}));
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
  Result<std::vector<MeterRecord>> back = read_meter_file(p);
  ASSERT_TRUE(back) << back.message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], a);
  EXPECT_EQ((*back)[1], b);
}

TEST_F(MeterFile, ErrorsCarryFileAndLine) {
  const std::string p = write(kGood + "\n\n" + with(kGood, "gpus", "-3") + "\n");
  Result<std::vector<MeterRecord>> r = read_meter_file(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), p + ":3: 'gpus' must not be negative");
}

TEST_F(MeterFile, TheSameJobOnTheSameNodeTwiceIsRefused) {
  const std::string other_node = with(kGood, "node", "\"gpu018\"");
  const std::string p = write(kGood + "\n" + other_node + "\n" + kGood + "\n");
  Result<std::vector<MeterRecord>> r = read_meter_file(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(),
            p + ":3: duplicate record for job 4242_7 on node gpu017 (first at line 1)");
}

TEST_F(MeterFile, AMissingFileSaysSo) {
  Result<std::vector<MeterRecord>> r = read_meter_file((dir_ / "absent.jsonl").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace flotilla
