// Reading `sacct -P` exports into jobs, a replayable Trace and metering records.
#include "traces/sacct.h"

#include <algorithm>
#include <array>
#include <map>

#include "scheduler/hostlist.h"
#include "traces/text_input.h"

namespace flotilla {
namespace {

using trace_input::bad_field;
using trace_input::LineReader;
using trace_input::parse_int;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), so "UTC" needs no time zone database.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// A fixed-width run of digits.
bool digits(std::string_view s, std::size_t at, std::size_t n, std::int64_t& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DDTHH:MM:SS" -> Unix seconds (UTC); "Unknown"/"None" -> nullopt.
bool parse_time(std::string_view s, std::optional<std::int64_t>& out) {
  if (s == "Unknown" || s == "None" || s.empty()) {
    out.reset();
    return true;
  }
  std::int64_t y, mo, d, h, mi, se;
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || !digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) ||
      !digits(s, 11, 2, h) || !digits(s, 14, 2, mi) || !digits(s, 17, 2, se) || mo < 1 || mo > 12 ||
      d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return false;
  }
  out = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
        mi * 60 + se;
  return true;
}

// "[D-]HH:MM:SS", "MM:SS", or bare whole minutes (as sacct --completion
// prints Timelimit).
bool parse_duration(std::string_view s, Seconds& out) {
  std::int64_t days = 0;
  if (const std::size_t dash = s.find('-'); dash != std::string_view::npos) {
    if (!parse_int(s.substr(0, dash), days) || days < 0) return false;
    s = s.substr(dash + 1);
  }
  std::array<std::int64_t, 3> parts{};
  std::size_t n = 0;
  for (std::size_t start = 0;;) {
    const std::size_t colon = s.find(':', start);
    if (n == 3 || !parse_int(s.substr(start, colon - start), parts[n]) || parts[n] < 0) {
      return false;
    }
    ++n;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  std::int64_t secs = 0;
  if (n == 1) {
    secs = parts[0] * 60;  // minutes
  } else if (n == 2) {
    secs = parts[0] * 60 + parts[1];
  } else {
    secs = parts[0] * 3600 + parts[1] * 60 + parts[2];
  }
  out = Seconds(days * 86400 + secs);
  return true;
}

// GPUs and their type from "cpu=8,gres/gpu:h100=8,gres/gpu=8,mem=64G,node=1".
bool parse_tres(std::string_view s, std::uint32_t& gpus, std::string& type) {
  std::optional<std::int64_t> total;
  std::int64_t typed = 0;
  type.clear();
  std::vector<std::string_view> items;
  trace_input::split(s, ',', items);
  for (std::string_view item : items) {
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key != "gres/gpu" && key.rfind("gres/gpu:", 0) != 0) continue;
    std::int64_t n = 0;
    if (!parse_int(value, n) || n < 0 || n > UINT32_MAX) return false;
    if (key == "gres/gpu") {
      total = n;
    } else {
      typed += n;
      if (type.empty()) type = std::string(key.substr(9));
    }
  }
  const std::int64_t n = total.value_or(typed);
  if (n > UINT32_MAX) return false;
  gpus = static_cast<std::uint32_t>(n);
  return true;
}

constexpr std::array kEndedStates{"COMPLETED", "FAILED",      "CANCELLED",     "TIMEOUT",
                                  "NODE_FAIL", "PREEMPTED",   "OUT_OF_MEMORY", "BOOT_FAIL",
                                  "DEADLINE",  "SPECIAL_EXIT"};
constexpr std::array kOpenStates{"RUNNING",   "PENDING", "REQUEUED",     "RESIZING",
                                 "SUSPENDED", "REVOKED", "REQUEUE_HOLD", "REQUEUE_FED"};

template <std::size_t N>
bool one_of(const std::array<const char*, N>& names, std::string_view s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

struct Outcome {
  JobEndState state;
  Fault fault;
};
Outcome outcome_of(std::string_view state) {
  if (state == "COMPLETED") return {JobEndState::kCompleted, Fault::kNone};
  if (state == "CANCELLED") return {JobEndState::kCancelled, Fault::kUser};
  if (state == "TIMEOUT" || state == "DEADLINE") return {JobEndState::kTimeout, Fault::kUser};
  if (state == "NODE_FAIL" || state == "BOOT_FAIL") {
    return {JobEndState::kNodeFail, Fault::kProvider};
  }
  if (state == "PREEMPTED") return {JobEndState::kPreempted, Fault::kNone};
  if (state == "OUT_OF_MEMORY") return {JobEndState::kOutOfMemory, Fault::kUser};
  return {JobEndState::kFailed, Fault::kUser};  // FAILED, SPECIAL_EXIT
}

Status at_line(const SacctLog& log, const SacctJob& j, const std::string& what) {
  return Status::at(log.path, j.line, what);
}

}  // namespace

bool sacct_job_ended(const SacctJob& job) {
  return one_of(kEndedStates, job.state);
}

Result<SacctLog> read_sacct(const std::string& path) {
  Result<std::unique_ptr<LineReader>> opened = LineReader::open(path);
  if (!opened) return opened.status();
  LineReader& in = **opened;
  SacctLog log;
  log.path = path;
  std::string_view line;
  std::vector<std::string_view> fields;
  // The header: the first non-blank line.
  while (in.next(line) && trace_input::is_blank(line)) {
  }
  if (!in.status()) return in.status();
  if (trace_input::is_blank(line) || line.find('|') == std::string_view::npos) {
    return Status::at(path, std::max<std::size_t>(in.line_number(), 1),
                      "expected a `sacct -P` header (JobID|...), got '" + std::string(line) + "'");
  }
  // `sacct -p` ends every line with '|'; -P does not.
  const bool trailing = line.back() == '|';
  if (trailing) line.remove_suffix(1);
  trace_input::split(line, '|', fields);
  std::map<std::string, std::size_t, std::less<>> column;
  for (std::size_t i = 0; i < fields.size(); ++i) column.emplace(std::string(fields[i]), i);
  for (const char* required :
       {"JobID", "Submit", "Start", "End", "Elapsed", "State", "NNodes", "NodeList", "AllocTRES"}) {
    if (!column.count(required)) {
      return Status::at(path, in.line_number(), std::string("missing column ") + required);
    }
  }
  const std::size_t width = fields.size();
  auto col = [&](std::string_view name) -> std::optional<std::size_t> {
    auto it = column.find(name);
    return it == column.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  };
  const auto c_raw = col("JobIDRaw"), c_name = col("JobName"), c_user = col("User"),
             c_account = col("Account"), c_partition = col("Partition"), c_qos = col("QOS"),
             c_limit = col("Timelimit");
  const std::size_t c_id = *col("JobID"), c_submit = *col("Submit"), c_start = *col("Start"),
                    c_end = *col("End"), c_elapsed = *col("Elapsed"), c_state = *col("State"),
                    c_nnodes = *col("NNodes"), c_nodelist = *col("NodeList"),
                    c_tres = *col("AllocTRES");

  while (in.next(line)) {
    if (trace_input::is_blank(line)) continue;
    if (trailing && !line.empty() && line.back() == '|') line.remove_suffix(1);
    trace_input::split(line, '|', fields);
    if (fields.size() != width) {
      return Status::at(path, in.line_number(),
                        "expected " + std::to_string(width) + " '|'-separated fields, got " +
                            std::to_string(fields.size()));
    }
    SacctJob j;
    j.line = in.line_number();
    j.job_id = std::string(fields[c_id]);
    if (j.job_id.find('.') != std::string::npos) {
      ++log.steps_skipped;
      continue;
    }
    std::int64_t n = 0;
    if (c_raw && !fields[*c_raw].empty()) {
      if (!parse_int(fields[*c_raw], n) || n < 0) {
        return bad_field(in, "JobIDRaw", "expected a job number", fields[*c_raw]);
      }
    } else if (!parse_int(fields[c_id], n) || n < 0) {
      return bad_field(in, "JobID",
                       "expected a job number (array and heterogeneous jobs need JobIDRaw)",
                       fields[c_id]);
    }
    j.id_raw = static_cast<std::uint64_t>(n);
    auto text = [&](std::optional<std::size_t> c) {
      return c ? std::string(fields[*c]) : std::string();
    };
    j.name = text(c_name);
    j.user = text(c_user);
    j.account = text(c_account);
    j.partition = text(c_partition);
    j.qos = text(c_qos);
    if (!parse_time(fields[c_submit], j.submit)) {
      return bad_field(in, "Submit", "expected YYYY-MM-DDTHH:MM:SS", fields[c_submit]);
    }
    if (!parse_time(fields[c_start], j.start)) {
      return bad_field(in, "Start", "expected YYYY-MM-DDTHH:MM:SS, Unknown or None",
                       fields[c_start]);
    }
    if (!parse_time(fields[c_end], j.end)) {
      return bad_field(in, "End", "expected YYYY-MM-DDTHH:MM:SS, Unknown or None", fields[c_end]);
    }
    if (!parse_duration(fields[c_elapsed], j.elapsed)) {
      return bad_field(in, "Elapsed", "expected [D-]HH:MM:SS", fields[c_elapsed]);
    }
    if (c_limit) {
      const std::string_view v = fields[*c_limit];
      Seconds limit{0};
      if (v == "UNLIMITED" || v == "Partition_Limit" || v.empty()) {
        j.time_limit.reset();
      } else if (parse_duration(v, limit)) {
        j.time_limit = limit;
      } else {
        return bad_field(in, "Timelimit", "expected [D-]HH:MM:SS, minutes or UNLIMITED", v);
      }
    }
    const std::string_view state = fields[c_state].substr(0, fields[c_state].find(' '));
    if (!one_of(kEndedStates, state) && !one_of(kOpenStates, state)) {
      return bad_field(in, "State", "unknown job state", fields[c_state]);
    }
    j.state = std::string(state);
    if (!parse_int(fields[c_nnodes], n) || n < 0 || n > UINT32_MAX) {
      return bad_field(in, "NNodes", "expected a node count", fields[c_nnodes]);
    }
    j.nodes = static_cast<std::uint32_t>(n);
    j.node_list = std::string(fields[c_nodelist]);
    if (!parse_tres(fields[c_tres], j.gpus, j.gpu_type)) {
      return bad_field(in, "AllocTRES", "expected NAME=COUNT,... with whole GPU counts",
                       fields[c_tres]);
    }
    log.jobs.push_back(std::move(j));
  }
  if (!in.status()) return in.status();
  return log;
}

Result<Trace> sacct_trace(const SacctLog& log, const GpuCatalog& catalog) {
  Trace t;
  t.origin = log.path;
  t.skipped_records = log.steps_skipped;
  std::optional<std::int64_t> first_submit;
  for (const SacctJob& j : log.jobs) {
    if (!sacct_job_ended(j) || !j.start || !j.submit || j.gpus == 0) {
      ++t.skipped_records;
      continue;
    }
    first_submit = std::min(first_submit.value_or(*j.submit), *j.submit);
  }
  for (const SacctJob& j : log.jobs) {
    if (!sacct_job_ended(j) || !j.start || !j.submit || j.gpus == 0) continue;
    TraceJob job;
    job.id = j.id_raw;
    job.submit = Seconds(*j.submit - *first_submit);
    job.time_limit = j.time_limit;
    job.user = Trace::intern(t.users, j.user.empty() ? "-" : j.user);
    job.account = Trace::intern(t.accounts, j.account.empty() ? "-" : j.account);
    if (!j.qos.empty()) job.qos = static_cast<std::uint8_t>(Trace::intern(t.qos, j.qos));
    job.shape.total_gpus = j.gpus;
    job.shape.nodes = j.nodes;
    job.shape.gpus_per_node = j.nodes > 0 && j.gpus % j.nodes == 0 ? j.gpus / j.nodes : 0;
    if (!j.gpu_type.empty()) {
      const std::optional<GpuTypeId> type = catalog.find(j.gpu_type);
      if (!type) {
        return at_line(log, j,
                       "AllocTRES: GPU type '" + j.gpu_type +
                           "' is not in the GPU catalog (scheduler/gpu_catalog.toml)");
      }
      job.work.reference_gpu = *type;
    }
    job.work.reference_runtime = j.elapsed;
    job.source_line = static_cast<std::uint32_t>(j.line);
    t.jobs.push_back(std::move(job));
  }
  trace_input::sort_jobs(t.jobs);
  return t;
}

Result<Trace> read_sacct_trace(const std::string& path) {
  Result<SacctLog> log = read_sacct(path);
  if (!log) return log.status();
  return sacct_trace(*log);
}

Result<SacctMetering> sacct_meter_records(const SacctLog& log, const std::string& provider,
                                          const std::string& default_gpu_type,
                                          const GpuCatalog& catalog) {
  SacctMetering m;
  for (const SacctJob& j : log.jobs) {
    if (!sacct_job_ended(j)) {
      ++m.not_ended;
      continue;
    }
    if (!j.start) {
      ++m.never_started;
      continue;
    }
    if (j.gpus == 0) {
      ++m.cpu_only;
      continue;
    }
    if (!j.end) return at_line(log, j, "End: a job in state " + j.state + " needs an end time");
    if (*j.end < *j.start) return at_line(log, j, "End is before Start");
    const std::string& type_name = j.gpu_type.empty() ? default_gpu_type : j.gpu_type;
    if (type_name.empty()) {
      return at_line(log, j, "AllocTRES: no GPU type (gres/gpu:TYPE=N); give a default type");
    }
    const std::optional<GpuTypeId> type = catalog.find(type_name);
    if (!type) {
      return at_line(
          log, j,
          "GPU type '" + type_name + "' is not in the GPU catalog (scheduler/gpu_catalog.toml)");
    }
    Result<std::vector<std::string>> nodes = expand_hostlist(j.node_list);
    if (!nodes) return at_line(log, j, "NodeList: " + nodes.message());
    if (nodes->size() != j.nodes) {
      return at_line(log, j,
                     "NodeList '" + j.node_list + "' has " + std::to_string(nodes->size()) +
                         " hosts, NNodes says " + std::to_string(j.nodes));
    }
    const Outcome outcome = outcome_of(j.state);
    const std::uint32_t per_node = j.gpus / j.nodes, extra = j.gpus % j.nodes;
    for (std::uint32_t i = 0; i < j.nodes; ++i) {
      MeterRecord r;
      r.job_id = j.job_id;
      r.provider = provider;
      r.node = (*nodes)[i];
      r.gpu_type = catalog.at(*type).name;
      r.gpus = per_node + (i < extra ? 1 : 0);
      if (r.gpus == 0) continue;  // more nodes than GPUs: those nodes held none
      r.start = *j.start;
      r.end = *j.end;
      r.gpu_seconds =
          static_cast<std::uint64_t>(r.gpus) * static_cast<std::uint64_t>(r.end - r.start);
      r.outcome = outcome.state;
      r.fault = outcome.fault;
      m.records.push_back(std::move(r));
    }
  }
  return m;
}

}  // namespace flotilla
