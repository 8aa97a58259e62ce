#include "scheduler/metering.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

namespace flotilla {
namespace {

constexpr std::array<std::pair<JobEndState, std::string_view>, 7> kEndStates{{
    {JobEndState::kCompleted, "completed"},
    {JobEndState::kFailed, "failed"},
    {JobEndState::kCancelled, "cancelled"},
    {JobEndState::kTimeout, "timeout"},
    {JobEndState::kNodeFail, "node_fail"},
    {JobEndState::kPreempted, "preempted"},
    {JobEndState::kOutOfMemory, "out_of_memory"},
}};
constexpr std::array<std::pair<Fault, std::string_view>, 3> kFaults{{
    {Fault::kNone, "none"},
    {Fault::kUser, "user"},
    {Fault::kProvider, "provider"},
}};

using Json = nlohmann::json;

Result<const Json*> field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return Status::error(std::string("missing field '") + name + "'");
  return &*it;
}

Result<std::string> string_field(const Json& j, const char* name) {
  Result<const Json*> f = field(j, name);
  if (!f) return f.status();
  if (!(*f)->is_string() || (*f)->get_ref<const std::string&>().empty()) {
    return Status::error(std::string("'") + name + "' must be a non-empty string");
  }
  return (*f)->get<std::string>();
}

// nlohmann keeps integers that fit 64 bits exactly; anything else (negative
// where not allowed, a fraction, a number too large, a string) is refused
// here rather than wrapped or rounded.
Result<std::uint64_t> unsigned_field(const Json& j, const char* name, std::uint64_t max) {
  Result<const Json*> f = field(j, name);
  if (!f) return f.status();
  const Json& v = **f;
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    return Status::error(std::string("'") + name + "' must not be negative");
  }
  if (!v.is_number_unsigned()) {
    return Status::error(std::string("'") + name + "' must be a whole number");
  }
  const auto n = v.get<std::uint64_t>();
  if (n > max) {
    return Status::error(std::string("'") + name + "' is out of range (" + std::to_string(n) +
                         " > " + std::to_string(max) + ")");
  }
  return n;
}

}  // namespace

std::string_view end_state_name(JobEndState s) {
  for (const auto& [state, name] : kEndStates) {
    if (state == s) return name;
  }
  return "?";
}

std::optional<JobEndState> find_end_state(std::string_view name) {
  for (const auto& [state, n] : kEndStates) {
    if (n == name) return state;
  }
  return std::nullopt;
}

std::string_view fault_name(Fault f) {
  for (const auto& [fault, name] : kFaults) {
    if (fault == f) return name;
  }
  return "?";
}

std::optional<Fault> find_fault(std::string_view name) {
  for (const auto& [fault, n] : kFaults) {
    if (n == name) return fault;
  }
  return std::nullopt;
}

std::string to_json_line(const MeterRecord& r) {
  // ordered_json keeps the documented field order, so files diff cleanly.
  nlohmann::ordered_json j;
  j["job_id"] = r.job_id;
  j["provider"] = r.provider;
  j["node"] = r.node;
  j["gpu_type"] = r.gpu_type;
  j["gpus"] = r.gpus;
  j["start"] = r.start;
  j["end"] = r.end;
  j["gpu_seconds"] = r.gpu_seconds;
  j["outcome"] = end_state_name(r.outcome);
  j["fault"] = fault_name(r.fault);
  if (r.run > 0) j["run"] = r.run;  // first runs keep the shorter, original form
  if (r.energy_j) j["energy_j"] = *r.energy_j;
  return j.dump();
}

Result<MeterRecord> parse_meter_record(std::string_view json_line) {
  Json j = Json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error("not valid JSON");
  if (!j.is_object()) return Status::error("expected a JSON object");

  MeterRecord r;
  for (auto [name, out] : {std::pair{"job_id", &r.job_id}, std::pair{"provider", &r.provider},
                           std::pair{"node", &r.node}, std::pair{"gpu_type", &r.gpu_type}}) {
    Result<std::string> s = string_field(j, name);
    if (!s) return s.status();
    *out = std::move(s).value();
  }
  constexpr auto kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  Result<std::uint64_t> gpus = unsigned_field(j, "gpus", std::numeric_limits<std::uint32_t>::max());
  if (!gpus) return gpus.status();
  if (*gpus == 0) return Status::error("'gpus' must be at least 1");
  Result<std::uint64_t> start = unsigned_field(j, "start", kInt64Max);
  if (!start) return start.status();
  Result<std::uint64_t> end = unsigned_field(j, "end", kInt64Max);
  if (!end) return end.status();
  Result<std::uint64_t> gpu_seconds =
      unsigned_field(j, "gpu_seconds", std::numeric_limits<std::uint64_t>::max());
  if (!gpu_seconds) return gpu_seconds.status();
  r.gpus = static_cast<std::uint32_t>(*gpus);
  r.start = static_cast<std::int64_t>(*start);
  r.end = static_cast<std::int64_t>(*end);
  r.gpu_seconds = *gpu_seconds;
  if (r.end < r.start) return Status::error("'end' is before 'start'");
  // A product past 2^64 means any gpu_seconds fits under it.
  std::uint64_t held = 0;
  const bool huge = __builtin_mul_overflow(std::uint64_t{r.gpus},
                                           static_cast<std::uint64_t>(r.end - r.start), &held);
  if (!huge && r.gpu_seconds > held) {
    return Status::error("'gpu_seconds' " + std::to_string(r.gpu_seconds) +
                         " exceeds gpus * (end - start)");
  }

  Result<std::string> outcome = string_field(j, "outcome");
  if (!outcome) return outcome.status();
  std::optional<JobEndState> state = find_end_state(*outcome);
  if (!state) return Status::error("unknown outcome '" + *outcome + "'");
  r.outcome = *state;
  Result<std::string> fault = string_field(j, "fault");
  if (!fault) return fault.status();
  std::optional<Fault> f = find_fault(*fault);
  if (!f) return Status::error("unknown fault '" + *fault + "' (none, user or provider)");
  r.fault = *f;
  if (r.outcome == JobEndState::kCompleted && r.fault != Fault::kNone) {
    return Status::error("a completed job cannot have fault '" + *fault + "'");
  }
  if (j.contains("run")) {
    Result<std::uint64_t> run = unsigned_field(j, "run", std::numeric_limits<std::uint32_t>::max());
    if (!run) return run.status();
    r.run = static_cast<std::uint32_t>(*run);
  }
  if (j.contains("energy_j")) {
    // The job store keeps it as SQLite's signed 64-bit integer.
    Result<std::uint64_t> energy = unsigned_field(j, "energy_j", kInt64Max);
    if (!energy) return energy.status();
    r.energy_j = *energy;
  }
  return r;
}

Result<std::vector<MeterRecord>> read_meter_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::error(path + ": cannot open");
  std::vector<MeterRecord> records;
  // (job_id, node, run) -> line of its first record
  std::unordered_map<std::string, std::size_t> seen;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<MeterRecord> r = parse_meter_record(line);
    if (!r) return Status::at(path, line_no, r.message());
    std::string key = r->job_id;
    key += '\0';
    key += r->node;
    key += '\0';
    key += std::to_string(r->run);
    auto [it, fresh] = seen.emplace(std::move(key), line_no);
    if (!fresh) {
      return Status::at(path, line_no,
                        "duplicate record for job " + r->job_id +
                            (r->run > 0 ? " run " + std::to_string(r->run) : "") + " on node " +
                            r->node + " (first at line " + std::to_string(it->second) + ")");
    }
    records.push_back(std::move(r).value());
  }
  if (in.bad()) return Status::error(path + ": read error");
  return records;
}

Status write_meter_file(const std::string& path, const std::vector<MeterRecord>& records) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::error(tmp + ": cannot create");
    for (const MeterRecord& r : records) out << to_json_line(r) << '\n';
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Status::error(tmp + ": write error");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return Status::error(path + ": cannot replace: " + ec.message());
  }
  return Status::ok();
}

}  // namespace flotilla
