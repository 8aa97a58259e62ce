// Runs the real `flotilla` binary (FLOTILLA_BINARY): `fleet show --json` on the
// example fleets, and the one-line error and exit code on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/run_flotilla.h"

namespace {

const std::string kExamples = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/";

using Outcome = flotilla::testing::CommandOutcome;

Outcome flotilla(const std::string& args) {
  return flotilla::testing::run_flotilla(args);
}

nlohmann::json show_json(const std::string& file) {
  Outcome r = flotilla("fleet show '" + kExamples + file + "' --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Exactly one object on one line.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

TEST(FleetShow, EightH100) {
  nlohmann::json j = show_json("8xH100.toml");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["name"], "8xH100");
  EXPECT_EQ(j["nodes"], 1);
  EXPECT_EQ(j["gpus"], 8);
  EXPECT_EQ(j["gpus_by_type"], nlohmann::json({{"H100-SXM", 8}}));
  EXPECT_EQ(j["providers"], 1);
  EXPECT_EQ(j["regions"], 1);
  EXPECT_EQ(j["sites"], 1);
  EXPECT_EQ(j["switches"], 1);
  EXPECT_DOUBLE_EQ(j["peak_bf16_pflops"].get<double>(), 8 * 989 / 1000.0);
  EXPECT_DOUBLE_EQ(j["usd_per_hour"].get<double>(), 8 * 2.40);
  EXPECT_EQ(j["micro_usd_per_hour"], 19'200'000);
  EXPECT_DOUBLE_EQ(j["kw"].get<double>(), 5.6);
}

TEST(FleetShow, HomeAndDataCentre4090sDifferOnlyInShape) {
  nlohmann::json home = show_json("800xRTX4090-home.toml");
  nlohmann::json dc = show_json("800xRTX4090-dc.toml");
  ASSERT_TRUE(home.is_object());
  ASSERT_TRUE(dc.is_object());
  for (const nlohmann::json* j : {&home, &dc}) {
    EXPECT_EQ((*j)["gpus"], 800);
    EXPECT_EQ((*j)["gpus_by_type"], nlohmann::json({{"RTX4090", 800}}));
    EXPECT_NEAR((*j)["peak_bf16_pflops"].get<double>(), 800 * 165.2 / 1000, 1e-9);
    EXPECT_DOUBLE_EQ((*j)["usd_per_hour"].get<double>(), 232.0);  // 800 x $0.29
    EXPECT_DOUBLE_EQ((*j)["kw"].get<double>(), 360.0);            // 800 x 450 W
  }
  EXPECT_EQ(home["nodes"], 400);
  EXPECT_EQ(home["providers"], 400);
  EXPECT_EQ(home["regions"], 3);
  EXPECT_EQ(home["sites"], 3);
  EXPECT_EQ(dc["nodes"], 100);
  EXPECT_EQ(dc["providers"], 1);
  EXPECT_EQ(dc["regions"], 1);
  EXPECT_EQ(dc["switches"], 4);
}

TEST(FleetShow, IoNetScale) {
  nlohmann::json j = show_json("ionet-scale.toml");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["nodes"], 180'000);
  EXPECT_EQ(j["gpus"], 800'000);
  EXPECT_EQ(j["gpus_by_type"]["H100-SXM"], 51'200);
  EXPECT_EQ(j["gpus_by_type"]["RTX4090"], 277'600);
  EXPECT_EQ(j["gpus_by_type"].size(), 7u);
  EXPECT_EQ(j["providers"], 101'984);
  EXPECT_EQ(j["regions"], 4);
  EXPECT_EQ(j["sites"], 16);
  EXPECT_EQ(j["switches"], 3'180);
  const double tflops = 51'200 * 989.0 + 25'600 * 989.0 + 51'200 * 312.0 + 76'800 * 362.0 +
                        40'000 * 154.8 + 277'600 * 165.2 + 277'600 * 71.0;
  EXPECT_NEAR(j["peak_bf16_pflops"].get<double>(), tflops / 1000, 1e-6);
  EXPECT_GT(j["usd_per_hour"].get<double>(), 100'000);
}

TEST(FleetShow, TextSummaryNamesTheNumbers) {
  Outcome r = flotilla("fleet show '" + kExamples + "8xH100.toml'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("H100-SXM        8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 region, 1 site, 1 switch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("7.9 PFLOPS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("$19.20 per hour"), std::string::npos) << r.out;
}

TEST(FleetShow, BadFileGivesOneLineAndExitCodeOne) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("bad_fleet_" + std::to_string(::getpid()) + ".toml"))
                               .string();
  {
    std::ofstream out(path);
    out << "name = \"bad\"\n[[region]]\nname = \"r\"\nuplink_gbps = 1\n"
           "[[region.site]]\nname = \"s\"\nuplink_gbps = 1\n"
           "[[region.site.switch]]\nname = \"w\"\nuplink_gbps = 1\n"
           "[[region.site.switch.nodes]]\nhosts = \"n[1-4]\"\ngpu = \"B300\"\ngpus = 8\n"
           "uplink_gbps = 1\n";
  }
  Outcome r = flotilla("fleet show '" + path + "' --json");
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, path + ":13: unknown GPU type 'B300'\n");

  Outcome missing = flotilla("fleet show /nonexistent/x.toml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "/nonexistent/x.toml: cannot open fleet file\n");
}

TEST(FleetShow, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(flotilla("fleet").exit_code, 2);
  EXPECT_EQ(flotilla("fleet list x.toml").exit_code, 2);
  EXPECT_EQ(flotilla("fleet show x.toml --bogus").exit_code, 2);
  Outcome help = flotilla("fleet --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("flotilla fleet show FILE [--json]"), std::string::npos) << help.out;
}

}  // namespace
