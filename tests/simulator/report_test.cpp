// The report: the SVG plots gnuplot draws, the data behind them, the HTML
// page (escaped names, known summary values), and its errors.
#include "simulator/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/simulator/results_test_util.h"
#include "tests/traces/trace_test_util.h"

namespace flotilla {
namespace {

using testing::hand_made_runs;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

#define SKIP_WITHOUT_GNUPLOT()                                                         \
  do {                                                                                 \
    if (!find_program("gnuplot")) {                                                    \
      GTEST_SKIP() << "gnuplot is not on PATH (Debian package gnuplot-nox, setup.sh)"; \
    }                                                                                  \
  } while (0)

TEST(Report, DrawsThreeSvgsAndAPage) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const Status s = write_report(dir.dir().string(), hand_made_runs(),
                                ReportOptions{.trace_origin = "synthetic:<3>"});
  ASSERT_TRUE(s) << s.message();

  for (const char* svg : {"jct_cdf.svg", "utilization.svg", "cost_vs_makespan.svg"}) {
    SCOPED_TRACE(svg);
    const std::string text = slurp(dir.path(svg));
    ASSERT_FALSE(text.empty());
    EXPECT_TRUE(text.rfind("<?xml", 0) == 0 || text.rfind("<svg", 0) == 0) << text.substr(0, 80);
    EXPECT_NE(text.find("<svg"), std::string::npos);
    EXPECT_NE(text.find("</svg>"), std::string::npos);
    // Legends carry the fleet names, XML-escaped by gnuplot.
    EXPECT_NE(text.find("alpha"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path("gnuplot.log")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("plots.gp")));

  // One data block per fleet: the one completed job of each is the whole CDF.
  EXPECT_EQ(slurp(dir.path("jct_cdf.dat")), "# alpha\n1.00138889 1\n\n\n# <b>&\"c'\n2 1\n\n\n");
  EXPECT_EQ(slurp(dir.path("utilization.dat")),
            "# alpha\n0 0.25\n0.0166666667 0.375\n0.0333333333 0.25\n\n\n"
            "# <b>&\"c'\n0 1\n1 1\n\n\n");
  EXPECT_EQ(slurp(dir.path("cost_vs_makespan.dat")),
            "# alpha\n1.00138889 13.345678\n\n\n# <b>&\"c'\n2 2\n\n\n");

  const std::string html = slurp(dir.path("report.html"));
  EXPECT_NE(html.find("<title>flotilla sim: synthetic:&lt;3&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<td>alpha</td><td>8</td><td>3</td><td>1</td><td>1</td><td>1</td>"
                      "<td>1.00</td><td>1.00</td><td>1.00</td><td>1.00</td><td>0.00</td>"
                      "<td>1.00</td><td>25.0</td><td>13.35</td><td>1.4</td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td>&lt;b&gt;&amp;&quot;c&#39;</td><td>4</td>"), std::string::npos);
  EXPECT_EQ(html.find("<b>&"), std::string::npos);
  for (const char* svg : {"jct_cdf.svg", "utilization.svg", "cost_vs_makespan.svg"}) {
    EXPECT_NE(html.find(std::string("<img src=\"") + svg + "\""), std::string::npos) << svg;
  }
  // Per class: alpha ran inference (2 jobs) and lora-finetune (1, rejected).
  EXPECT_NE(html.find("<td>alpha</td><td>inference</td><td>2</td><td>1</td><td>0</td><td>1</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>alpha</td><td>lora-finetune</td><td>1</td><td>0</td><td>1</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>alpha</td><td>needs 16 GPUs on one node</td><td>1</td>"),
            std::string::npos);
}

TEST(Report, RunsWithNoCompletedJobs) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  std::vector<SimResult> runs = hand_made_runs();
  runs.resize(1);
  runs[0].jobs.resize(2);  // drops the failed job; the completed one is rejected below
  runs[0].jobs[0].outcome = JobOutcome::kRejected;
  runs[0].series.clear();
  const Status s = write_report(dir.dir().string(), runs);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(slurp(dir.path("jct_cdf.svg")).rfind("<?xml", 0), 0u);
  EXPECT_EQ(slurp(dir.path("utilization.svg")).rfind("<?xml", 0), 0u);
}

TEST(Report, MissingGnuplotNamesThePackage) {
  TempDir dir;
  const Status s = write_report(dir.dir().string(), hand_made_runs(),
                                ReportOptions{.gnuplot = "flotilla-no-such-gnuplot"});
  EXPECT_EQ(s.message(),
            "flotilla-no-such-gnuplot not found on PATH; the report's plots need it (Debian: "
            "apt-get install gnuplot-nox)");
}

TEST(Report, GnuplotFailingIsAnError) {
  const std::optional<std::string> no = find_program("false");
  if (!no) GTEST_SKIP() << "no `false` on PATH";
  TempDir dir;
  const Status s =
      write_report(dir.dir().string(), hand_made_runs(), ReportOptions{.gnuplot = *no});
  EXPECT_EQ(s.message().rfind(*no + " exited with status 1 on " + dir.path("plots.gp"), 0), 0u)
      << s.message();
  EXPECT_TRUE(std::filesystem::exists(dir.path("gnuplot.log")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("report.html")));
}

TEST(Report, MissingDirectoryIsAnError) {
  TempDir dir;
  const std::string missing = dir.path("nope");
  EXPECT_EQ(write_report(missing, hand_made_runs()).message(), missing + ": not a directory");
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST(Report, FindProgram) {
  EXPECT_FALSE(find_program("flotilla-no-such-program"));
  EXPECT_FALSE(find_program(""));
  EXPECT_FALSE(find_program("/no/such/dir/gnuplot"));
  const std::optional<std::string> sh = find_program("sh");
  ASSERT_TRUE(sh);
  EXPECT_EQ(find_program(*sh), sh);
}

}  // namespace
}  // namespace flotilla
