#include "simulator/sweep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <tuple>

namespace flotilla {
namespace {

const std::string kOrigin = "/sweeps/s.toml";

SweepSpec parsed(const std::string& text) {
  Result<SweepSpec> s = parse_sweep(text, kOrigin);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return s ? *s : SweepSpec{};
}

std::string error_of(const std::string& text) {
  Result<SweepSpec> s = parse_sweep(text, kOrigin);
  return s ? "parsed" : s.message();
}

TEST(ParseSweep, ReadsEveryKeyAndResolvesPathsAgainstTheSweepFolder) {
  const SweepSpec s = parsed(
      "fleets = [\"a.toml\", \"../fleets/b.toml\", \"/abs/c.toml\"]\n"
      "trace = \"synthetic:2000\"\n"
      "policies = [\"fcfs\", \"easy\", \"conservative\"]\n"
      "placements = [\"best-fit\", \"fgd\"]\n"
      "load_factors = [0.5, 1, 1.5]\n"
      "seeds = [1, 0, 7]\n"
      "out = \"results/sweep.h5\"\n");
  EXPECT_EQ(s.origin, kOrigin);
  EXPECT_EQ(s.fleets,
            (std::vector<std::string>{"/sweeps/a.toml", "/fleets/b.toml", "/abs/c.toml"}));
  EXPECT_EQ(s.trace, "synthetic:2000");
  EXPECT_TRUE(s.synthetic());
  EXPECT_EQ(s.synthetic_jobs, 2000u);
  EXPECT_EQ(s.policies, (std::vector<std::string>{"fcfs", "easy", "conservative"}));
  EXPECT_EQ(s.placements, (std::vector<std::string>{"best-fit", "fgd"}));
  EXPECT_EQ(s.load_factors, (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{1, 0, 7}));
  ASSERT_TRUE(s.out.has_value());
  EXPECT_EQ(*s.out, "/sweeps/results/sweep.h5");
}

TEST(ParseSweep, DefaultsAreOneCellPerFleetLikeFlotillaSim) {
  const SweepSpec s = parsed("fleets = [\"a.toml\"]\ntrace = \"synthetic\"\n");
  EXPECT_EQ(s.synthetic_jobs, 3000u);
  EXPECT_EQ(s.policies, (std::vector<std::string>{"easy"}));
  EXPECT_EQ(s.placements, (std::vector<std::string>{"best-fit"}));
  EXPECT_EQ(s.load_factors, (std::vector<double>{1.0}));
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{1}));
  EXPECT_FALSE(s.out.has_value());
  EXPECT_EQ(sweep_cell_count(s), 1u);
}

TEST(ParseSweep, ATraceFileIsResolvedLikeFleets) {
  const SweepSpec s = parsed("fleets = [\"a.toml\"]\ntrace = \"traces/philly.csv\"\n");
  EXPECT_FALSE(s.synthetic());
  EXPECT_EQ(s.trace, "traces/philly.csv");
  EXPECT_EQ(s.trace_path, "/sweeps/traces/philly.csv");
}

TEST(ParseSweep, RelativeSweepFileResolvesAgainstItsRelativeFolder) {
  Result<SweepSpec> s = parse_sweep("fleets = [\"a.toml\"]\ntrace = \"t.swf\"\n", "sw/x.toml");
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(s->fleets.front(), "sw/a.toml");
  EXPECT_EQ(s->trace_path, "sw/t.swf");
  Result<SweepSpec> here = parse_sweep("fleets = [\"a.toml\"]\ntrace = \"t.swf\"\n", "x.toml");
  ASSERT_TRUE(here.is_ok()) << here.message();
  EXPECT_EQ(here->fleets.front(), "a.toml");
}

// Every error names the file and the line of the offending key or item.
TEST(ParseSweep, ErrorsNameFileAndLine) {
  const std::string head = "fleets = [\"a.toml\"]\ntrace = \"synthetic:10\"\n";  // lines 1-2
  struct Case {
    std::string text, error;
  };
  const std::vector<Case> cases{
      {"fleets = [\"a.toml\"\n", "/sweeps/s.toml:1: "},  // TOML syntax (message from toml++)
      {head + "colour = 3\n", "/sweeps/s.toml:3: unknown key 'colour'"},
      {"trace = \"synthetic\"\n", "/sweeps/s.toml:1: missing required key 'fleets'"},
      {"fleets = [\"a.toml\"]\n", "/sweeps/s.toml:1: missing required key 'trace'"},
      {"\nfleets = \"a.toml\"\ntrace = \"synthetic\"\n",
       "/sweeps/s.toml:2: 'fleets' must be a list of fleet files"},
      {"fleets = []\ntrace = \"synthetic\"\n", "/sweeps/s.toml:1: 'fleets' must not be empty"},
      {"fleets = [\n  \"a.toml\",\n  3,\n]\ntrace = \"synthetic\"\n",
       "/sweeps/s.toml:3: 'fleets' items must be non-empty strings"},
      {"fleets = [\"a.toml\", \"a.toml\"]\ntrace = \"synthetic\"\n",
       "/sweeps/s.toml:1: 'fleets' lists the same value twice"},
      {"fleets = [\"a.toml\"]\ntrace = 5\n", "/sweeps/s.toml:2: 'trace' must be a string"},
      {"fleets = [\"a.toml\"]\ntrace = \"\"\n", "/sweeps/s.toml:2: 'trace' must not be empty"},
      {"fleets = [\"a.toml\"]\ntrace = \"synthetic:many\"\n",
       "/sweeps/s.toml:2: bad trace 'synthetic:many' (synthetic[:JOBS] or a trace file)"},
      {"fleets = [\"a.toml\"]\ntrace = \"synthetic:0\"\n",
       "/sweeps/s.toml:2: bad trace 'synthetic:0' (synthetic[:JOBS] or a trace file)"},
      {"fleets = [\"a.toml\"]\ntrace = \"synthetic:10:3\"\n",
       "/sweeps/s.toml:2: a sweep's synthetic trace takes its seed from 'seeds': use "
       "synthetic:JOBS"},
      {head + "policies = [\"easy\", \"sjf\"]\n",
       "/sweeps/s.toml:3: unknown queue policy 'sjf' (known: fcfs, easy, conservative)"},
      {head + "policies = []\n", "/sweeps/s.toml:3: 'policies' must not be empty"},
      {head + "placements = [\"worst-fit\"]\n",
       "/sweeps/s.toml:3: unknown placement policy 'worst-fit' (known: best-fit, "},
      {head + "load_factors = [1.0, 0]\n",
       "/sweeps/s.toml:3: 'load_factors' items must be numbers > 0"},
      {head + "load_factors = [-0.5]\n",
       "/sweeps/s.toml:3: 'load_factors' items must be numbers > 0"},
      {head + "load_factors = [\"fast\"]\n",
       "/sweeps/s.toml:3: 'load_factors' items must be numbers > 0"},
      {head + "load_factors = [nan]\n",
       "/sweeps/s.toml:3: 'load_factors' items must be numbers > 0"},
      {head + "load_factors = [1, 1.0]\n",
       "/sweeps/s.toml:3: 'load_factors' lists the same value twice"},
      {head + "seeds = [1, -2]\n", "/sweeps/s.toml:3: 'seeds' items must be integers >= 0"},
      {head + "seeds = [1.5]\n", "/sweeps/s.toml:3: 'seeds' items must be integers >= 0"},
      {head + "seeds = 4\n", "/sweeps/s.toml:3: 'seeds' must be a list of integers"},
      {head + "out = 1\n", "/sweeps/s.toml:3: 'out' must be a string"},
  };
  for (const Case& c : cases) {
    const std::string got = error_of(c.text);
    EXPECT_EQ(got.substr(0, c.error.size()), c.error) << c.text;
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  }
}

TEST(LoadSweepFile, MissingFileIsOneLine) {
  Result<SweepSpec> s = load_sweep_file("/nonexistent/sweep.toml");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "/nonexistent/sweep.toml: cannot open");
}

TEST(SweepCells, FleetOutermostSeedFastest) {
  const SweepSpec s = parsed(
      "fleets = [\"a.toml\", \"b.toml\"]\ntrace = \"synthetic\"\n"
      "policies = [\"fcfs\", \"easy\"]\nplacements = [\"best-fit\"]\n"
      "load_factors = [1.0, 2.0]\nseeds = [5, 6, 7]\n");
  ASSERT_EQ(sweep_cell_count(s), 24u);
  const std::vector<SweepCell> cells = sweep_cells(s);
  ASSERT_EQ(cells.size(), 24u);
  EXPECT_EQ(cells[0], (SweepCell{0, 0, 0, 0, 0}));
  EXPECT_EQ(cells[1], (SweepCell{0, 0, 0, 0, 1}));
  EXPECT_EQ(cells[2], (SweepCell{0, 0, 0, 0, 2}));
  EXPECT_EQ(cells[3], (SweepCell{0, 0, 0, 1, 0}));
  EXPECT_EQ(cells[6], (SweepCell{0, 1, 0, 0, 0}));
  EXPECT_EQ(cells[12], (SweepCell{1, 0, 0, 0, 0}));
  EXPECT_EQ(cells[23], (SweepCell{1, 1, 0, 1, 2}));
  // Lexicographic order of (fleet, policy, placement, load, seed): every
  // combination once.
  auto key = [](const SweepCell& c) {
    return std::tuple(c.fleet, c.policy, c.placement, c.load, c.seed);
  };
  for (std::size_t i = 1; i < cells.size(); ++i) EXPECT_LT(key(cells[i - 1]), key(cells[i])) << i;
  for (std::size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(sweep_cell(s, i), cells[i]);
}

TEST(SweepTrace, LoadFactorDividesSubmitTimesAndSeedsVaryTheWorkload) {
  const SweepSpec s = parsed(
      "fleets = [\"a.toml\"]\ntrace = \"synthetic:200\"\nload_factors = [1.0, 2.5]\n"
      "seeds = [1, 2]\n");
  const SweepInputs none;
  const Trace base = sweep_trace(s, none, SweepCell{0, 0, 0, 0, 0});
  const Trace fast = sweep_trace(s, none, SweepCell{0, 0, 0, 1, 0});
  const Trace other = sweep_trace(s, none, SweepCell{0, 0, 0, 0, 1});
  ASSERT_EQ(base.jobs.size(), 200u);
  ASSERT_EQ(fast.jobs.size(), 200u);
  bool some_late = false;
  for (std::size_t i = 0; i < base.jobs.size(); ++i) {
    EXPECT_EQ(fast.jobs[i].id, base.jobs[i].id);
    EXPECT_EQ(fast.jobs[i].submit.count(),
              std::llround(static_cast<double>(base.jobs[i].submit.count()) / 2.5));
    some_late = some_late || base.jobs[i].submit.count() > 100;
  }
  EXPECT_TRUE(some_late);  // the division did something
  bool differs = false;
  for (std::size_t i = 0; i < base.jobs.size(); ++i) {
    differs = differs || other.jobs[i].submit != base.jobs[i].submit;
  }
  EXPECT_TRUE(differs);
  const Trace again = sweep_trace(s, none, SweepCell{0, 0, 0, 0, 0});
  for (std::size_t i = 0; i < base.jobs.size(); ++i) {
    EXPECT_EQ(again.jobs[i].submit, base.jobs[i].submit);
  }
}

Summary odd_summary() {
  Summary s;
  s.jobs = 18446744073709551615ull;
  s.completed = 7;
  s.rejected = 3;
  s.failed = 1;
  s.makespan_s = 0.1 + 0.2;
  s.mean_jct_s = std::nextafter(1.0, 2.0);
  s.p50_jct_s = 1e-310;  // subnormal
  s.p99_jct_s = 123456789.123456789;
  s.mean_wait_s = -0.0;
  s.bounded_slowdown = 1.0 / 3.0;
  s.utilization = 0.987654321;
  s.cost_usd = 1e300;
  s.energy_kwh = 42;
  s.rejections = {{"needs \"8\" GPUs\\node", 2}, {"type ü not in fleet", 1}, {"", 5}};
  return s;
}

void expect_same(const Summary& a, const Summary& b) {
  EXPECT_EQ(a.jobs, b.jobs);
  EXPECT_EQ(a.completed, b.completed);
  EXPECT_EQ(a.rejected, b.rejected);
  EXPECT_EQ(a.failed, b.failed);
  // Exact: bit for bit, not approximately.
  for (auto f : {&Summary::makespan_s, &Summary::mean_jct_s, &Summary::p50_jct_s,
                 &Summary::p99_jct_s, &Summary::mean_wait_s, &Summary::bounded_slowdown,
                 &Summary::utilization, &Summary::cost_usd, &Summary::energy_kwh}) {
    EXPECT_EQ(std::memcmp(&(a.*f), &(b.*f), sizeof(double)), 0) << a.*f << " vs " << b.*f;
  }
  EXPECT_EQ(a.rejections, b.rejections);
}

TEST(PackSummaries, RoundTripIsExact) {
  const std::vector<Summary> in{odd_summary(), Summary{}, odd_summary()};
  const std::vector<std::size_t> cells{4, 0, 9};
  const PackedSummaries p = pack_summaries(cells, in);
  EXPECT_EQ(p.counts.size(), 3 * PackedSummaries::kCounts);
  EXPECT_EQ(p.figures.size(), 3 * PackedSummaries::kFigures);
  std::vector<std::size_t> out_cells{99};  // appended to
  std::vector<Summary> out;
  ASSERT_TRUE(unpack_summaries(p, out_cells, out).is_ok());
  EXPECT_EQ(out_cells, (std::vector<std::size_t>{99, 4, 0, 9}));
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) expect_same(out[i], in[i]);
  EXPECT_TRUE(std::signbit(out[0].mean_wait_s));
}

TEST(PackSummaries, MalformedInputIsAnError) {
  const std::vector<Summary> in{odd_summary()};
  const std::vector<std::size_t> cells{0};
  std::vector<std::size_t> c;
  std::vector<Summary> s;
  PackedSummaries p = pack_summaries(cells, in);
  p.figures.pop_back();
  EXPECT_FALSE(unpack_summaries(p, c, s).is_ok());
  p = pack_summaries(cells, in);
  p.text.pop_back();
  EXPECT_FALSE(unpack_summaries(p, c, s).is_ok());
  p = pack_summaries(cells, in);
  p.text += "x";
  EXPECT_FALSE(unpack_summaries(p, c, s).is_ok());
  p = pack_summaries(cells, in);
  p.text[0] = '[';
  EXPECT_FALSE(unpack_summaries(p, c, s).is_ok());
}

TEST(RejectionsJson, SortedKeysAndCounts) {
  Summary s;
  s.rejections = {{"b", 2}, {"a", 10}};
  EXPECT_EQ(rejections_json(s), "{\"a\":10,\"b\":2}");
  EXPECT_EQ(rejections_json(Summary{}), "{}");
}

// A small real sweep: every subset, in any order, gives the cells the full
// run gives, so ranks and threads cannot change results.
class SmallSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fleets = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/";
    Result<SweepSpec> s = parse_sweep(
        "fleets = [\"" + fleets +
            "8xH100.toml\"]\ntrace = \"synthetic:60\"\n"
            "policies = [\"fcfs\", \"easy\"]\nload_factors = [1.0, 4.0]\nseeds = [1, 2]\n",
        "/tmp/small.toml");
    ASSERT_TRUE(s.is_ok()) << s.message();
    spec = *s;
    Result<SweepInputs> in = load_sweep_inputs(spec);
    ASSERT_TRUE(in.is_ok()) << in.message();
    inputs = std::move(in).value();
  }
  SweepSpec spec;
  SweepInputs inputs;
};

TEST_F(SmallSweep, SubsetsAgreeWithTheFullRun) {
  const std::size_t n = sweep_cell_count(spec);
  ASSERT_EQ(n, 8u);
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  Result<std::vector<Summary>> full = run_sweep_cells(spec, inputs, all);
  ASSERT_TRUE(full.is_ok()) << full.message();
  ASSERT_EQ(full->size(), n);
  for (const Summary& s : *full) {
    EXPECT_EQ(s.jobs, 60u);
    EXPECT_EQ(s.completed + s.rejected + s.failed, 60u);
    EXPECT_GT(s.makespan_s, 0);
  }
  // Four times the arrival rate packs the same jobs into less time.
  EXPECT_LT((*full)[2].makespan_s, (*full)[0].makespan_s);
  const std::vector<std::size_t> odd{7, 5, 3, 1};
  Result<std::vector<Summary>> part = run_sweep_cells(spec, inputs, odd);
  ASSERT_TRUE(part.is_ok()) << part.message();
  ASSERT_EQ(part->size(), odd.size());
  for (std::size_t i = 0; i < odd.size(); ++i) expect_same((*part)[i], (*full)[odd[i]]);
}

TEST_F(SmallSweep, WritesAnHdf5FileAndRefusesMismatchedResults) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sweep_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "cells.h5").string();
  std::vector<Summary> summaries(sweep_cell_count(spec), odd_summary());
  const std::vector<std::string> names{"lab"};
  ASSERT_TRUE(write_sweep_h5(spec, names, summaries, path).is_ok());
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  EXPECT_EQ(std::string(sig, 8), std::string("\x89HDF\r\n\x1a\n", 8));
  // No temporary file left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  summaries.pop_back();
  Status short_by_one = write_sweep_h5(spec, names, summaries, path);
  EXPECT_EQ(short_by_one.message(), path + ": sweep results do not match the sweep");
  summaries.push_back(odd_summary());
  Status no_dir = write_sweep_h5(spec, names, summaries, (dir / "no/such.h5").string());
  EXPECT_FALSE(no_dir.is_ok());
  EXPECT_EQ(no_dir.message().rfind((dir / "no/such.h5").string() + ": ", 0), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flotilla
