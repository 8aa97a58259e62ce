// `flotilla trace convert IN OUT.h5` and `flotilla trace stats FILE [--json]`:
// read any trace format (or generate one: synthetic:N[:SEED]), store it in the
// native HDF5 format, or summarize it.
#include <boost/program_options.hpp>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "traces/read_trace.h"
#include "traces/sacct.h"
#include "traces/synthetic.h"
#include "traces/trace.h"
#include "traces/trace_h5.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: flotilla trace convert IN OUT.h5\n"
    "       flotilla trace stats FILE [--json]\n"
    "       flotilla trace import-sacct FILE -o OUT.h5\n\n"
    "IN and FILE: a trace file (.swf, .swf.gz, .h5, or the CSVs of Philly (Sia),\n"
    "Saturn (Sia), Alibaba v2023 pods), or synthetic:N[:SEED] for N generated jobs.\n"
    "import-sacct: FILE is `sacct -P` output (columns: slurm/README.md).\n";

// "synthetic:N[:SEED]" -> generated trace; anything else -> read_trace.
Result<Trace> load(const std::string& in) {
  constexpr std::string_view kPrefix = "synthetic:";
  if (in.rfind(kPrefix, 0) != 0) return read_trace(in);
  const std::string rest = in.substr(kPrefix.size());
  SyntheticOptions options;
  const std::size_t colon = rest.find(':');
  try {
    std::size_t used = 0;
    const std::string n = rest.substr(0, colon);
    options.jobs = std::stoull(n, &used);
    if (used != n.size() || n.empty() || n[0] == '-') throw std::invalid_argument(n);
    if (colon != std::string::npos) {
      const std::string seed = rest.substr(colon + 1);
      options.seed = std::stoull(seed, &used);
      if (used != seed.size() || seed.empty() || seed[0] == '-') {
        throw std::invalid_argument(seed);
      }
    }
  } catch (const std::exception&) {
    return Status::error(in + ": expected synthetic:N[:SEED] with whole numbers");
  }
  return synthetic_workload(options);
}

struct Stats {
  std::uint64_t jobs = 0;
  double gpu_hours = 0;
  std::int64_t first_submit = 0, last_submit = 0;
  double mean_runtime_s = 0;
  std::map<std::string, std::uint64_t> by_class;
  std::map<std::uint32_t, std::uint64_t> by_gpus;  // 0 = a share of one GPU
};

Stats summarize(const Trace& t) {
  Stats s;
  s.jobs = t.jobs.size();
  double runtime_sum = 0;
  bool first = true;
  for (const TraceJob& j : t.jobs) {
    const double runtime = static_cast<double>(j.work.reference_runtime.count());
    runtime_sum += runtime;
    const double gpus = j.shape.gpu_milli < 1000 ? j.shape.gpu_milli / 1000.0
                                                 : static_cast<double>(j.shape.total_gpus);
    s.gpu_hours += runtime * gpus / 3600.0;
    const std::int64_t submit = j.submit.count();
    s.first_submit = first ? submit : std::min(s.first_submit, submit);
    s.last_submit = first ? submit : std::max(s.last_submit, submit);
    first = false;
    ++s.by_class[std::string(workload_class_name(j.workload))];
    ++s.by_gpus[j.shape.gpu_milli < 1000 ? 0 : j.shape.total_gpus];
  }
  if (s.jobs > 0) s.mean_runtime_s = runtime_sum / static_cast<double>(s.jobs);
  return s;
}

std::string gpus_key(std::uint32_t g) {
  return g == 0 ? "share" : std::to_string(g);
}

int stats(const std::string& file, bool json) {
  Result<Trace> trace = load(file);
  if (!trace) {
    std::cerr << trace.message() << '\n';
    return 1;
  }
  const Stats s = summarize(*trace);
  if (json) {
    nlohmann::json j;
    j["origin"] = trace->origin;
    j["jobs"] = s.jobs;
    j["skipped_records"] = trace->skipped_records;
    j["gpu_hours"] = s.gpu_hours;
    j["first_submit"] = s.first_submit;
    j["last_submit"] = s.last_submit;
    j["mean_runtime_s"] = s.mean_runtime_s;
    j["users"] = trace->users.size();
    j["accounts"] = trace->accounts.size();
    j["jobs_by_class"] = nlohmann::json::object();
    for (const auto& [name, n] : s.by_class) j["jobs_by_class"][name] = n;
    j["jobs_by_gpus"] = nlohmann::json::object();
    for (const auto& [g, n] : s.by_gpus) j["jobs_by_gpus"][gpus_key(g)] = n;
    std::cout << j.dump() << '\n';
    return 0;
  }
  char buf[64];
  std::cout << "trace " << trace->origin << '\n' << "  jobs           " << s.jobs << '\n';
  if (trace->skipped_records > 0) {
    std::cout << "  skipped        " << trace->skipped_records << " records (not GPU jobs)\n";
  }
  std::snprintf(buf, sizeof buf, "%.1f", s.gpu_hours);
  std::cout << "  GPU-hours      " << buf << '\n';
  std::snprintf(buf, sizeof buf, "%.0f", s.mean_runtime_s);
  std::cout << "  mean runtime   " << buf << " s\n"
            << "  submits        " << s.first_submit << " .. " << s.last_submit << " s\n"
            << "  users          " << trace->users.size() << ", accounts " << trace->accounts.size()
            << '\n'
            << "  by class      ";
  for (const auto& [name, n] : s.by_class) std::cout << ' ' << name << '=' << n;
  std::cout << "\n  by GPUs       ";
  for (const auto& [g, n] : s.by_gpus) std::cout << ' ' << gpus_key(g) << '=' << n;
  std::cout << '\n';
  return 0;
}

// Writes a trace read from `in` to OUT.h5 and says how many jobs went in,
// with `skipped_as` naming what the reader leaves out (empty: say nothing).
int write_h5(const Result<Trace>& trace, const std::string& out, std::string_view skipped_as) {
  if (!trace) {
    std::cerr << trace.message() << '\n';
    return 1;
  }
  if (Status s = write_trace_h5(*trace, out); !s) {
    std::cerr << s.message() << '\n';
    return 1;
  }
  std::cout << "wrote " << trace->jobs.size() << " jobs to " << out;
  if (!skipped_as.empty()) {
    std::cout << " (" << trace->skipped_records << " records skipped: " << skipped_as << ")";
  }
  std::cout << '\n';
  return 0;
}

int convert(const std::string& in, const std::string& out) {
  return write_h5(load(in), out, "");
}

int import_sacct(const std::string& in, const std::string& out) {
  return write_h5(read_sacct_trace(in), out, "steps, CPU-only, never started");
}

}  // namespace

int trace_command(const Args& args) {
  po::options_description visible("options");
  visible.add_options()("help,h", "show this help")("json", "stats: one JSON object on one line")(
      "output,o", po::value<std::string>(), "import-sacct: the HDF5 trace to write");
  po::options_description all;
  all.add(visible).add_options()("words", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("words", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << visible;
    return 0;
  }
  const std::vector<std::string> words =
      vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (words.size() == 3 && words[0] == "convert") {
    if (vm.count("json")) {
      std::cerr << "flotilla trace: --json is for stats\n";
      return 2;
    }
    return convert(words[1], words[2]);
  }
  if (words.size() == 2 && words[0] == "import-sacct" && vm.count("output")) {
    return import_sacct(words[1], vm["output"].as<std::string>());
  }
  if (words.size() == 2 && words[0] == "stats") return stats(words[1], vm.count("json") > 0);
  std::cerr << kUsage;
  return 2;
}

}  // namespace flotilla::cli
