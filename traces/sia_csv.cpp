// Philly (Sia) and Saturn CSV readers; the mapping is documented in sia_csv.h.
#include "traces/sia_csv.h"

#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "traces/text_input.h"

namespace flotilla {
namespace {

using trace_input::parse_double;
using trace_input::parse_int;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD HH:MM:SS" -> seconds since 1970 (UTC).
bool parse_timestamp(std::string_view s, std::int64_t& out) {
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
      s[16] != ':') {
    return false;
  }
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) ||
      !parse_int(s.substr(8, 2), d) || !parse_int(s.substr(11, 2), h) ||
      !parse_int(s.substr(14, 2), mi) || !parse_int(s.substr(17, 2), se)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return true;
}

using trace_input::bad_field;

// Seconds (a non-negative decimal) rounded to whole seconds.
bool parse_seconds(std::string_view s, std::int64_t& out) {
  double d = 0;
  if (!parse_double(s, d) || d < 0 || d > 1e15) return false;
  out = std::llround(d);
  return true;
}

bool parse_count(std::string_view s, std::uint32_t& out) {
  std::int64_t n = 0;
  if (!parse_int(s, n) || n < 1 || n > std::numeric_limits<std::uint32_t>::max()) return false;
  out = static_cast<std::uint32_t>(n);
  return true;
}

struct SaturnApplication {
  std::string_view name;
  double gpu_hours;  // per job; ASSUMED from Pollux Table 1's size category (see sia_csv.h)
};
constexpr std::array<SaturnApplication, 6> kSaturnApplications{{
    {"cifar10", 0.5},       // ResNet18 on CIFAR-10: S (0-1 GPU-h)
    {"ncf", 0.5},           // NeuMF on MovieLens: S (0-1 GPU-h)
    {"bert", 3.16},         // BERT fine-tuning on SQuAD: M (1-10 GPU-h)
    {"deepspeech2", 3.16},  // DeepSpeech2 on CommonVoice: M (1-10 GPU-h)
    {"yolov3", 31.6},       // YOLOv3 on PASCAL VOC: L (10-100 GPU-h)
    {"imagenet", 316.0},    // ResNet-50 on ImageNet: XL (100-1000 GPU-h)
}};

}  // namespace

Result<Trace> read_philly(const std::string& path) {
  auto opened = trace_input::open_csv(path, kPhillyHeader);
  if (!opened) return opened.status();
  trace_input::LineReader& in = **opened;

  const GpuTypeId p100 = GpuCatalog::builtin().find("P100").value();
  Trace trace;
  trace.origin = path;
  std::vector<std::string_view> f;
  std::vector<std::int64_t> stamps;
  while (true) {
    Result<bool> more = trace_input::next_row(in, 5, f);
    if (!more) return more.status();
    if (!*more) break;
    TraceJob job;
    std::int64_t stamp = 0, duration = 0, gpu_time = 0;
    if (!parse_timestamp(f[0], stamp)) {
      return bad_field(in, "timestamp", "expected 'YYYY-MM-DD HH:MM:SS'", f[0]);
    }
    if (!parse_seconds(f[1], duration)) {
      return bad_field(in, "duration", "expected seconds >= 0", f[1]);
    }
    if (!parse_count(f[2], job.shape.total_gpus)) {
      return bad_field(in, "num_gpus", "expected an integer >= 1", f[2]);
    }
    if (!parse_seconds(f[3], gpu_time)) {
      return bad_field(in, "gpu_time", "expected seconds >= 0", f[3]);
    }
    if (trace_input::trim(f[4]).empty())
      return bad_field(in, "cluster", "expected a cluster id", f[4]);
    job.id = trace.jobs.size();
    job.source_line = static_cast<std::uint32_t>(in.line_number());
    job.work.reference_runtime = Seconds{duration};
    job.work.reference_gpu = p100;
    job.account = Trace::intern(trace.accounts, f[4]);
    stamps.push_back(stamp);
    trace.jobs.push_back(std::move(job));
  }
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t s : stamps) first = std::min(first, s);
  for (std::size_t i = 0; i < trace.jobs.size(); ++i) {
    trace.jobs[i].submit = Seconds{stamps[i] - first};
  }
  trace_input::sort_jobs(trace.jobs);
  return trace;
}

Result<Trace> read_saturn(const std::string& path) {
  auto opened = trace_input::open_csv(path, kSaturnHeader);
  if (!opened) return opened.status();
  trace_input::LineReader& in = **opened;

  const GpuTypeId t4 = GpuCatalog::builtin().find("T4").value();
  Trace trace;
  trace.origin = path;
  std::vector<std::string_view> f;
  while (true) {
    Result<bool> more = trace_input::next_row(in, 5, f);
    if (!more) return more.status();
    if (!*more) break;
    TraceJob job;
    std::int64_t submit = 0;
    std::uint32_t batch = 0;
    if (trace_input::trim(f[0]).empty()) return bad_field(in, "name", "expected a job name", f[0]);
    if (!parse_seconds(f[1], submit)) return bad_field(in, "time", "expected seconds >= 0", f[1]);
    const SaturnApplication* app = nullptr;
    for (const SaturnApplication& a : kSaturnApplications) {
      if (a.name == f[2]) app = &a;
    }
    if (app == nullptr) {
      return bad_field(in, "application",
                       "expected one of cifar10, ncf, bert, deepspeech2, yolov3, imagenet", f[2]);
    }
    if (!parse_count(f[3], job.shape.total_gpus)) {
      return bad_field(in, "num_replicas", "expected an integer >= 1", f[3]);
    }
    if (!parse_count(f[4], batch))
      return bad_field(in, "batch_size", "expected an integer >= 1", f[4]);
    job.id = trace.jobs.size();
    job.source_line = static_cast<std::uint32_t>(in.line_number());
    job.submit = Seconds{submit};
    job.workload = WorkloadClass::kSmallTraining;
    job.work.reference_gpu = t4;
    job.work.reference_runtime =
        Seconds{std::llround(app->gpu_hours * 3600.0 / job.shape.total_gpus)};
    trace.jobs.push_back(std::move(job));
  }
  trace_input::sort_jobs(trace.jobs);
  return trace;
}

}  // namespace flotilla
