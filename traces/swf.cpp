// SWF reader; the mapping is documented in swf.h.
#include "traces/swf.h"

#include <array>
#include <string_view>
#include <vector>

#include "traces/text_input.h"

namespace flotilla {
namespace {

using trace_input::parse_double;
using trace_input::parse_int;

constexpr int kSwfFields = 18;
constexpr std::array<std::string_view, kSwfFields> kFieldNames{
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average CPU time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user id",
    "group id",
    "executable number",
    "queue number",
    "partition number",
    "preceding job number",
    "think time",
};

std::string field_label(int i) {
  return "field " + std::to_string(i + 1) + " (" + std::string(kFieldNames[i]) + ")";
}

// "; Key: value" -> header. Only the typed keys can be wrong.
Status parse_header_line(std::string_view line, const std::string& path, std::size_t line_no,
                         SwfHeader& h) {
  line.remove_prefix(1);  // ';'
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Status::ok();  // free-text comment
  const std::string_view key = trace_input::trim(line.substr(0, colon));
  const std::string_view value = trace_input::trim(line.substr(colon + 1));
  if (key.empty() || key.find(' ') != std::string_view::npos) return Status::ok();
  h.fields[std::string(key)] = std::string(value);
  auto integer = [&](std::optional<std::int64_t>& out) -> Status {
    std::int64_t v = 0;
    if (!parse_int(value, v)) {
      return Status::at(
          path, line_no,
          "header " + std::string(key) + ": expected an integer, got '" + std::string(value) + "'");
    }
    out = v;
    return Status::ok();
  };
  if (key == "MaxNodes") return integer(h.max_nodes);
  if (key == "MaxProcs") return integer(h.max_procs);
  if (key == "MaxJobs") return integer(h.max_jobs);
  if (key == "MaxRecords") return integer(h.max_records);
  if (key == "UnixStartTime") return integer(h.unix_start_time);
  if (key == "Version") h.version = value;
  if (key == "Computer") h.computer = value;
  if (key == "Installation") h.installation = value;
  if (key == "TimeZoneString") h.time_zone_string = value;
  if (key == "Queue") {
    std::vector<std::string_view> parts;
    trace_input::split_blanks(value, parts);
    std::int64_t number = 0;
    if (parts.size() < 2 || !parse_int(parts[0], number)) {
      return Status::at(path, line_no,
                        "header Queue: expected 'NUMBER NAME', got '" + std::string(value) + "'");
    }
    h.queues[number] = parts[1];
  }
  return Status::ok();
}

}  // namespace

Result<SwfLog> read_swf_log(const std::string& path) {
  auto opened = trace_input::LineReader::open(path);
  if (!opened) return opened.status();
  trace_input::LineReader& in = **opened;

  SwfLog log;
  log.trace.origin = path;
  std::vector<std::string_view> fields;
  std::array<std::int64_t, kSwfFields> v{};
  std::string_view line;
  while (in.next(line)) {
    const std::size_t line_no = in.line_number();
    const std::string_view t = trace_input::trim(line);
    if (t.empty()) continue;
    if (t.front() == ';') {
      if (Status s = parse_header_line(t, path, line_no, log.header); !s) return s;
      continue;
    }
    trace_input::split_blanks(t, fields);
    if (fields.size() != kSwfFields) {
      return Status::at(path, line_no, "expected 18 fields, got " + std::to_string(fields.size()));
    }
    for (int i = 0; i < kSwfFields; ++i) {
      const std::string_view f = fields[static_cast<std::size_t>(i)];
      std::int64_t n = 0;
      if (parse_int(f, n)) {
        v[static_cast<std::size_t>(i)] = n;
      } else {
        double d = 0;
        if (!parse_double(f, d)) {
          return Status::at(path, line_no,
                            field_label(i) + ": expected a number, got '" + std::string(f) + "'");
        }
        // Fractions are legal in the measured averages (6, 7) that we do not use.
        if (i != 5 && i != 6) {
          return Status::at(path, line_no,
                            field_label(i) + ": expected an integer, got '" + std::string(f) + "'");
        }
        n = d < -1 ? -2 : 0;
        v[static_cast<std::size_t>(i)] = n;
      }
      if (v[static_cast<std::size_t>(i)] < -1) {
        return Status::at(path, line_no,
                          field_label(i) + ": must be -1 (unknown) or more, got " + std::string(f));
      }
    }
    const std::int64_t status = v[10];
    if (status >= 2 && status <= 4) {  // partial execution of a checkpointed/swapped job
      ++log.trace.skipped_records;
      continue;
    }
    TraceJob job;
    job.source_line = static_cast<std::uint32_t>(line_no);
    if (v[0] < 0) return Status::at(path, line_no, field_label(0) + ": unknown (-1)");
    job.id = static_cast<std::uint64_t>(v[0]);
    if (v[1] < 0) return Status::at(path, line_no, field_label(1) + ": unknown (-1)");
    job.submit = Seconds{v[1]};
    if (v[3] >= 0) {
      job.work.reference_runtime = Seconds{v[3]};
    } else if (v[8] >= 0) {
      job.work.reference_runtime = Seconds{v[8]};
    } else {
      return Status::at(path, line_no,
                        field_label(3) + ": unknown (-1) and no requested time either");
    }
    const std::int64_t procs = v[4] > 0 ? v[4] : v[7];
    if (procs <= 0) {
      return Status::at(path, line_no,
                        field_label(4) + ": unknown, and " + field_label(7) + " too");
    }
    if (procs > UINT32_MAX) return Status::at(path, line_no, field_label(4) + ": too large");
    job.shape.total_gpus = static_cast<std::uint32_t>(procs);
    job.shape.gpus_per_node = 0;
    job.shape.nodes = 0;
    if (v[8] >= 0) job.time_limit = Seconds{v[8]};
    if (v[11] >= 0) job.user = Trace::intern(log.trace.users, std::to_string(v[11]));
    if (v[12] >= 0) job.account = Trace::intern(log.trace.accounts, std::to_string(v[12]));
    if (v[14] >= 0) {
      const auto named = log.header.queues.find(v[14]);
      const std::string name =
          named != log.header.queues.end() ? named->second : "queue-" + std::to_string(v[14]);
      const std::uint32_t q = Trace::intern(log.trace.qos, name);
      if (q > UINT8_MAX) return Status::at(path, line_no, field_label(14) + ": over 256 queues");
      job.qos = static_cast<std::uint8_t>(q);
    }
    log.trace.jobs.push_back(std::move(job));
  }
  if (!in.status()) return in.status();
  trace_input::sort_jobs(log.trace.jobs);
  return log;
}

Result<Trace> read_swf(const std::string& path) {
  Result<SwfLog> log = read_swf_log(path);
  if (!log) return log.status();
  return std::move(log.value().trace);
}

}  // namespace flotilla
