// gnuplot + HTML report; the files are listed in report.h.
#include "simulator/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "simulator/metrics.h"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

// Plots with more points than this are thinned: an SVG path of a million
// points is unreadable and slow, and the eye cannot tell the difference.
constexpr std::size_t kMaxPlotPoints = 2000;

constexpr std::array<const char*, 3> kSvgs{"jct_cdf.svg", "utilization.svg",
                                           "cost_vs_makespan.svg"};

std::string num(double v, const char* format = "%.9g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double hours(double seconds) {
  return seconds / 3600;
}

// A gnuplot single-quoted string: the only escape is '' for '. Control
// characters would end the command, so they become spaces.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "''";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Status write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::error(path.string() + ": cannot create: " + std::strerror(errno));
  out << text;
  out.close();
  if (!out) return Status::error(path.string() + ": cannot write");
  return Status::ok();
}

// Job completion times of completed jobs in hours (at least one second, so
// they sit on a log axis), sorted.
std::vector<double> completion_hours(const SimResult& run) {
  std::vector<double> jct;
  for (const JobRecord& j : run.jobs) {
    if (j.outcome != JobOutcome::kCompleted) continue;
    jct.push_back(hours(std::max(1.0, static_cast<double>((j.end - j.submit).count()))));
  }
  std::sort(jct.begin(), jct.end());
  return jct;
}

// The plot data and the script. Each data file holds one block per fleet
// that has points; `index` in the script picks it.
struct Plots {
  std::string jct, utilization, cost, script;
};

Plots make_plots(const std::vector<SimResult>& runs, const std::vector<Summary>& summaries) {
  Plots p;
  std::string& gp = p.script;
  gp += "# Drawn by flotilla sim --out; redraw with: gnuplot plots.gp\n";
  gp += "set encoding utf8\n";
  gp += "set terminal svg size 900,540 dynamic noenhanced font 'sans,12' background '#ffffff'\n";
  gp += "set grid\nset key box opaque\n";

  // JCT CDF: the k-th smallest time against k/n, thinned to kMaxPlotPoints.
  std::vector<std::string> clauses;
  for (std::size_t f = 0; f < runs.size(); ++f) {
    const std::vector<double> jct = completion_hours(runs[f]);
    if (jct.empty()) continue;
    const std::size_t n = jct.size();
    const std::size_t stride = (n + kMaxPlotPoints - 1) / kMaxPlotPoints;
    p.jct += "# " + runs[f].fleet + "\n";
    for (std::size_t i = 0; i < n; i += stride) {
      const std::size_t k = std::min(n, i + stride);  // rank of the last job of this step
      p.jct += num(jct[k - 1]) + " " + num(static_cast<double>(k) / static_cast<double>(n)) + "\n";
    }
    p.jct += "\n\n";
    clauses.push_back("'jct_cdf.dat' index " + std::to_string(clauses.size()) +
                      " using 1:2 with steps lw 2 title " + gp_quote(runs[f].fleet));
  }
  gp += "\nset output 'jct_cdf.svg'\n";
  gp += "set title 'Job completion time, completed jobs'\n";
  gp += "set xlabel 'job completion time (hours, log scale)'\n";
  gp += "set ylabel 'share of completed jobs'\n";
  gp += "set logscale x\nset yrange [0:1.02]\nset key bottom right\n";
  if (clauses.empty()) {
    gp += "set label 1 'no completed jobs' at graph 0.5,0.5 center\n";
    gp += "plot [0.01:1] NaN notitle\nunset label 1\n";
  } else {
    gp += "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i) gp += (i ? ", \\\n     " : "") + clauses[i];
    gp += "\n";
  }
  gp += "unset logscale x\n";

  // Utilization: busy GPUs / fleet GPUs, averaged over runs of samples when
  // thinned. Samples can be far apart (nothing changed), hence steps, not lines.
  clauses.clear();
  for (std::size_t f = 0; f < runs.size(); ++f) {
    const SimResult& r = runs[f];
    if (r.series.empty() || r.fleet_gpus == 0) continue;
    const std::size_t n = r.series.size();
    const std::size_t stride = (n + kMaxPlotPoints - 1) / kMaxPlotPoints;
    const auto gpus = static_cast<double>(r.fleet_gpus);
    p.utilization += "# " + r.fleet + "\n";
    for (std::size_t i = 0; i < n; i += stride) {
      const std::size_t end = std::min(n, i + stride);
      double busy = 0;
      for (std::size_t k = i; k < end; ++k) busy += static_cast<double>(r.series[k].busy_gpus);
      busy /= static_cast<double>(end - i);
      p.utilization +=
          num(hours(static_cast<double>(r.series[i].at.count()))) + " " + num(busy / gpus) + "\n";
    }
    p.utilization += "\n\n";
    clauses.push_back("'utilization.dat' index " + std::to_string(clauses.size()) +
                      " using 1:2 with steps lw 1.5 title " + gp_quote(r.fleet));
  }
  gp += "\nset output 'utilization.svg'\n";
  gp += "set title 'GPU utilization over time'\n";
  gp += "set xlabel 'simulated time (hours)'\n";
  gp += "set ylabel 'busy GPUs / fleet GPUs'\n";
  gp += "set yrange [0:1.05]\nset key top right\n";
  if (clauses.empty()) {
    gp += "set label 1 'no samples' at graph 0.5,0.5 center\n";
    gp += "plot [0:1] NaN notitle\nunset label 1\n";
  } else {
    gp += "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i) gp += (i ? ", \\\n     " : "") + clauses[i];
    gp += "\n";
  }

  // Cost against makespan: one labelled point per fleet.
  gp += "\nset output 'cost_vs_makespan.svg'\n";
  gp += "set title 'Cost against makespan (lower left is better)'\n";
  gp += "set xlabel 'makespan (hours)'\n";
  gp += "set ylabel 'cost (USD)'\n";
  gp += "set autoscale y\nset offsets graph 0.15, graph 0.15, graph 0.15, graph 0.15\n";
  gp += "set key top left\n";
  // Fleets differ by orders of magnitude; log axes keep them apart, where every
  // value is positive.
  bool positive = true;
  for (const Summary& s : summaries) positive = positive && s.makespan_s > 0 && s.cost_usd > 0;
  if (positive && !summaries.empty()) {
    gp += "set logscale xy\n";
    gp += "set xlabel 'makespan (hours, log scale)'\nset ylabel 'cost (USD, log scale)'\n";
  }
  clauses.clear();
  for (std::size_t f = 0; f < runs.size(); ++f) {
    const double x = hours(summaries[f].makespan_s), y = summaries[f].cost_usd;
    p.cost += "# " + runs[f].fleet + "\n" + num(x) + " " + num(y) + "\n\n\n";
    gp += "set label " + std::to_string(f + 1) + " " + gp_quote(runs[f].fleet) + " at " + num(x) +
          "," + num(y) + " offset char 1,1\n";
    clauses.push_back("'cost_vs_makespan.dat' index " + std::to_string(f) +
                      " using 1:2 with points pt 7 ps 1.5 title " + gp_quote(runs[f].fleet));
  }
  if (clauses.empty()) {
    gp += "plot [0:1] NaN notitle\n";
  } else {
    gp += "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i) gp += (i ? ", \\\n     " : "") + clauses[i];
    gp += "\n";
  }
  gp += "unset output\n";
  return p;
}

std::string td(const std::string& s) {
  return "<td>" + s + "</td>";
}
std::string count(std::uint64_t v) {
  return td(std::to_string(v));
}

std::string summary_cells(const Summary& s) {
  return count(s.jobs) + count(s.completed) + count(s.rejected) + count(s.failed) +
         td(num(hours(s.makespan_s), "%.2f")) + td(num(hours(s.mean_jct_s), "%.2f")) +
         td(num(hours(s.p50_jct_s), "%.2f")) + td(num(hours(s.p99_jct_s), "%.2f")) +
         td(num(hours(s.mean_wait_s), "%.2f")) + td(num(s.bounded_slowdown, "%.2f")) +
         td(num(100 * s.utilization, "%.1f")) + td(num(s.cost_usd, "%.2f")) +
         td(num(s.energy_kwh, "%.1f"));
}

constexpr const char* kSummaryHead =
    "<th>jobs</th><th>completed</th><th>rejected</th><th>failed</th>"
    "<th>makespan (h)</th><th>mean JCT (h)</th><th>p50 JCT (h)</th><th>p99 JCT (h)</th>"
    "<th>mean wait (h)</th><th>bounded slowdown</th><th>utilization (%)</th>"
    "<th>cost (USD)</th><th>energy (kWh)</th>";

std::string make_html(const std::vector<SimResult>& runs, const std::vector<Summary>& summaries,
                      const ReportOptions& options) {
  std::ostringstream h;
  const std::string title = "flotilla sim: " + html_escape(options.trace_origin);
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << title
    << "</title>\n<style>\n"
    << "body { font-family: sans-serif; margin: 2em; }\n"
    << "table { border-collapse: collapse; margin-bottom: 1.5em; }\n"
    << "th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }\n"
    << "th:first-child, td:first-child { text-align: left; }\n"
    << "img { max-width: 100%; display: block; margin-bottom: 1.5em; }\n"
    << "</style>\n</head>\n<body>\n<h1>" << title << "</h1>\n";

  h << "<h2>Summary per fleet</h2>\n<table>\n<tr><th>fleet</th><th>GPUs</th>" << kSummaryHead
    << "</tr>\n";
  for (std::size_t f = 0; f < runs.size(); ++f) {
    h << "<tr>" << td(html_escape(runs[f].fleet)) << count(runs[f].fleet_gpus)
      << summary_cells(summaries[f]) << "</tr>\n";
  }
  h << "</table>\n";

  bool any_rejected = false;
  for (const Summary& s : summaries) any_rejected = any_rejected || !s.rejections.empty();
  if (any_rejected) {
    h << "<h2>Rejections</h2>\n<table>\n<tr><th>fleet</th><th>reason</th><th>jobs</th></tr>\n";
    for (std::size_t f = 0; f < runs.size(); ++f) {
      for (const auto& [reason, n] : summaries[f].rejections) {
        h << "<tr>" << td(html_escape(runs[f].fleet)) << td(html_escape(reason)) << count(n)
          << "</tr>\n";
      }
    }
    h << "</table>\n";
  }

  h << "<h2>Plots</h2>\n";
  h << "<img src=\"jct_cdf.svg\" alt=\"CDF of job completion time per fleet\">\n";
  h << "<img src=\"utilization.svg\" alt=\"busy GPUs over fleet GPUs per fleet\">\n";
  h << "<img src=\"cost_vs_makespan.svg\" alt=\"cost against makespan per fleet\">\n";

  h << "<h2>Per workload class</h2>\n<table>\n<tr><th>fleet</th><th>class</th>" << kSummaryHead
    << "</tr>\n";
  for (std::size_t f = 0; f < runs.size(); ++f) {
    const std::array<Summary, kWorkloadClasses> by_class = summarize_by_class(runs[f]);
    for (int c = 0; c < kWorkloadClasses; ++c) {
      if (by_class[c].jobs == 0) continue;
      h << "<tr>" << td(html_escape(runs[f].fleet))
        << td(html_escape(std::string(workload_class_name(static_cast<WorkloadClass>(c)))))
        << summary_cells(by_class[c]) << "</tr>\n";
    }
  }
  h << "</table>\n</body>\n</html>\n";
  return h.str();
}

// The last few lines of gnuplot's log, on one line, for an error message.
std::string log_tail(const fs::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (std::size_t i = lines.size() > 4 ? lines.size() - 4 : 0; i < lines.size(); ++i) {
    out += (out.empty() ? "" : " | ") + lines[i];
  }
  return out;
}

// Runs `gnuplot -d plots.gp` in `dir`, without a shell, stdin from /dev/null
// and stdout + stderr into gnuplot.log.
Status run_gnuplot(const std::string& gnuplot, const fs::path& dir) {
  const fs::path log = dir / "gnuplot.log";
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return Status::error(log.string() + ": cannot create: " + std::strerror(errno));
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    ::close(out);
    return Status::error(std::string("/dev/null: cannot open: ") + std::strerror(errno));
  }
  // Everything the child needs is prepared here: between fork and exec it may
  // only make async-signal-safe calls (the parent may have other threads).
  const std::string dir_s = dir.string();
  char arg_d[] = "-d";  // ignore ~/.gnuplot, so every report looks the same
  char arg_script[] = "plots.gp";
  std::vector<char> arg0(gnuplot.begin(), gnuplot.end());
  arg0.push_back('\0');
  char* argv[] = {arg0.data(), arg_d, arg_script, nullptr};

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(out);
    ::close(in);
    return Status::error("cannot start gnuplot: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    // The child: _exit (not exit) so none of the parent's atexit handlers or
    // stdio buffers run twice.
    if (::chdir(dir_s.c_str()) != 0 || ::dup2(in, STDIN_FILENO) < 0 ||
        ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(out, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  ::close(out);
  ::close(in);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return Status::error("cannot wait for gnuplot: " + std::string(std::strerror(errno)));
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    std::error_code ignored;
    fs::remove(log, ignored);
    return Status::ok();
  }
  std::string why;
  if (WIFSIGNALED(status)) {
    why = "was killed by signal " + std::to_string(WTERMSIG(status));
  } else if (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127) {
    why = "could not be started (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  } else {
    why = "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  const std::string tail = log_tail(log);
  return Status::error(gnuplot + " " + why + " on " + (dir / "plots.gp").string() +
                       (tail.empty() ? "" : ": " + tail) + " (full output in " + log.string() +
                       ")");
}

}  // namespace

std::optional<std::string> find_program(const std::string& program) {
  if (program.empty()) return std::nullopt;
  auto runnable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    return runnable(program) ? std::optional(program) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string candidate = (d.empty() ? std::string(".") : d) + "/" + program;
    if (runnable(candidate)) return candidate;
  }
  return std::nullopt;
}

Status write_report(const std::string& dir, const std::vector<SimResult>& runs,
                    const ReportOptions& options) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::error(dir + ": not a directory");
  const std::optional<std::string> gnuplot = find_program(options.gnuplot);
  if (!gnuplot) {
    return Status::error(
        options.gnuplot +
        " not found on PATH; the report's plots need it (Debian: apt-get install gnuplot-nox)");
  }

  std::vector<Summary> summaries;
  summaries.reserve(runs.size());
  for (const SimResult& r : runs) summaries.push_back(summarize(r));
  const Plots plots = make_plots(runs, summaries);
  for (auto [name, text] : {std::pair{"jct_cdf.dat", &plots.jct},
                            {"utilization.dat", &plots.utilization},
                            {"cost_vs_makespan.dat", &plots.cost},
                            {"plots.gp", &plots.script}}) {
    if (Status s = write_text(root / name, *text); !s) return s;
  }
  // Old plots must not pass for new ones if gnuplot stops half way.
  for (const char* svg : kSvgs) fs::remove(root / svg, ec);
  if (Status s = run_gnuplot(*gnuplot, root); !s) return s;
  for (const char* svg : kSvgs) {
    if (fs::file_size(root / svg, ec) == 0 || ec) {
      return Status::error((root / svg).string() + ": gnuplot did not draw it");
    }
  }
  return write_text(root / "report.html", make_html(runs, summaries, options));
}

}  // namespace flotilla
