// `flotilla sim --out DIR` end to end: the binary writes results.h5 and the
// report, and the file agrees with what `--json` prints for the same run.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "simulator/report.h"
#include "tests/run_flotilla.h"
#include "tests/simulator/results_test_util.h"
#include "tests/traces/trace_test_util.h"
#include "traces/trace_h5.h"

namespace flotilla {
namespace {

using testing::read_attribute;
using testing::read_column;
using testing::read_string_attribute;
using testing::read_strings;
using testing::run_flotilla;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SimOut, WritesResultsAndReport) {
  if (!find_program("gnuplot")) {
    GTEST_SKIP() << "gnuplot is not on PATH (Debian package gnuplot-nox, setup.sh)";
  }
  TempDir dir;
  const std::string out = dir.path("made/by/sim");  // created by --out
  const testing::CommandOutcome r =
      run_flotilla("sim --trace synthetic:200 --json --out '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + out + "/results.h5 and " + out + "/report.html"),
            std::string::npos)
      << r.err;
  const nlohmann::json printed = nlohmann::json::parse(r.out);
  ASSERT_EQ(printed["fleets"].size(), 3u);

  const std::string h5 = out + "/results.h5";
  ASSERT_TRUE(is_hdf5_file(h5));
  h5::Handle file(H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.ok());
  const hid_t f = file.get();
  EXPECT_EQ(read_string_attribute(f, "/", "trace_origin"), printed["trace"].get<std::string>());
  EXPECT_EQ(read_strings(f, "/fleet_names"),
            (std::vector<std::string>{"8xH100", "800xRTX4090-home", "800xRTX4090-dc"}));
  for (const nlohmann::json& fleet : printed["fleets"]) {
    const std::string g = "/fleets/" + fleet["fleet"].get<std::string>();
    SCOPED_TRACE(g);
    EXPECT_EQ(read_attribute<std::uint64_t>(f, g, "jobs"), 200u);
    EXPECT_EQ(read_attribute<std::uint64_t>(f, g, "completed"),
              fleet["completed"].get<std::uint64_t>());
    EXPECT_EQ(read_attribute<std::uint64_t>(f, g, "rejected"),
              fleet["rejected"].get<std::uint64_t>());
    EXPECT_EQ(read_attribute<double>(f, g, "makespan_s"), fleet["makespan_s"].get<double>());
    EXPECT_EQ(read_attribute<double>(f, g, "cost_usd"), fleet["cost_usd"].get<double>());
    EXPECT_EQ(read_attribute<double>(f, g, "mean_jct_s"), fleet["mean_jct_s"].get<double>());
    const std::vector<std::uint64_t> ids = read_column<std::uint64_t>(f, g + "/jobs/id");
    EXPECT_EQ(ids.size(), 200u);
    // The job costs add up to the summary's cost (integer micro-dollars).
    std::uint64_t micro = 0;
    for (std::uint64_t c : read_column<std::uint64_t>(f, g + "/jobs/cost_micro_usd")) micro += c;
    EXPECT_EQ(static_cast<double>(micro) / 1e6, fleet["cost_usd"].get<double>());
    EXPECT_FALSE(read_column<std::int64_t>(f, g + "/series/t_s").empty());
  }

  for (const char* svg : {"jct_cdf.svg", "utilization.svg", "cost_vs_makespan.svg"}) {
    EXPECT_EQ(slurp(out + "/" + svg).rfind("<?xml", 0), 0u) << svg;
  }
  const std::string html = slurp(out + "/report.html");
  for (const char* name : {"8xH100", "800xRTX4090-home", "800xRTX4090-dc"}) {
    EXPECT_NE(html.find(std::string("<td>") + name + "</td>"), std::string::npos) << name;
  }
  char cost[32];
  std::snprintf(cost, sizeof cost, "<td>%.2f</td>", printed["fleets"][0]["cost_usd"].get<double>());
  EXPECT_NE(html.find(cost), std::string::npos) << cost;
}

TEST(SimOut, UnwritableDirectoryIsOneLineAndExitOne) {
  TempDir dir;
  const std::string file = dir.write("plain", "not a directory");
  const testing::CommandOutcome r = run_flotilla("sim --trace synthetic:20 --out '" + file + "/x'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(file + "/x: cannot create directory: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

// Regression: --out beside --sweep used to be dropped without a word.
TEST(SimOut, OptionsTheSweepFileOwnsAreRefusedBesideIt) {
  const std::string sweep =
      std::string(FLOTILLA_SOURCE_DIR) + "/examples/sweeps/fleet-vs-policy.toml";
  for (const char* option : {"--out /tmp/x", "--fleet a.toml", "--policy fcfs", "--seed 3"}) {
    const testing::CommandOutcome r =
        run_flotilla("sim --sweep '" + sweep + "' " + option + " --json");
    EXPECT_EQ(r.exit_code, 2) << option;
    const std::string name = std::string(option).substr(0, std::string(option).find(' '));
    EXPECT_EQ(r.err,
              "flotilla sim: " + name + " does not apply with --sweep (the sweep file says it)\n");
    EXPECT_TRUE(r.out.empty()) << option;
  }
}

}  // namespace
}  // namespace flotilla
