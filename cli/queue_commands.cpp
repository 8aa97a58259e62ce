// The Slurm-style client commands against a running `flotilla ctld`: squeue,
// scancel, sinfo, sacct, scontrol and meter export. Each sends one request
// over the controller's socket (--socket or $FLOTILLA_SOCKET) and prints the
// answer the way the Slurm command would.
#include <boost/program_options.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "scheduler/ctld.h"
#include "scheduler/hostlist.h"
#include "scheduler/metering.h"
#include "scheduler/protocol.h"

namespace flotilla::cli {

namespace {

namespace po = boost::program_options;
using protocol::Json;

// Common to every client command: --socket.
void add_socket_option(po::options_description& d) {
  d.add_options()("socket", po::value<std::string>(),
                  "controller socket (default $FLOTILLA_SOCKET)")("help,h", "show this help");
}

// Parses args; returns an exit code when the command should stop (help or usage error).
std::optional<int> parse(const Args& args, const po::options_description& d, po::variables_map& vm,
                         const po::positional_options_description* positional = nullptr) {
  po::command_line_parser p(args);
  p.options(d);
  if (positional) p.positional(*positional);
  po::store(p.run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << d;
    return 0;
  }
  return std::nullopt;
}

// One request to the controller; errors print as "flotilla CMD: error: ..." and give exit 1.
std::optional<Json> request(const char* cmd, const po::variables_map& vm, const Json& req) {
  std::optional<std::string> flag;
  if (vm.count("socket")) flag = vm["socket"].as<std::string>();
  Result<std::string> path = protocol::socket_path(flag);
  Result<Json> answer = path ? protocol::call(*path, req) : Result<Json>(path.status());
  if (!answer) {
    std::cerr << "flotilla " << cmd << ": error: " << answer.message() << '\n';
    return std::nullopt;
  }
  return std::move(*answer);
}

std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// Slurm's compact state names.
const std::map<std::string, std::string>& short_states() {
  static const std::map<std::string, std::string> k{
      {"PENDING", "PD"},   {"RUNNING", "R"},  {"COMPLETED", "CD"}, {"FAILED", "F"},
      {"CANCELLED", "CA"}, {"TIMEOUT", "TO"}, {"NODE_FAIL", "NF"}};
  return k;
}

// -t/--state values: long or short names, any case, or "all".
std::optional<std::set<std::string>> parse_states(const std::string& text) {
  std::set<std::string> out;
  for (std::string s : split(text)) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s == "ALL") {
      for (const auto& [name, abbrev] : short_states()) out.insert(name);
      continue;
    }
    bool found = false;
    for (const auto& [name, abbrev] : short_states()) {
      if (s == name || s == abbrev || (s == "CANCELED" && name == "CANCELLED")) {
        out.insert(name);
        found = true;
      }
    }
    if (!found) return std::nullopt;
  }
  return out;
}

// Slurm's elapsed time: M:SS, H:MM:SS, D-HH:MM:SS.
std::string duration(std::int64_t s) {
  char buf[64];
  const std::int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", static_cast<long long>(d),
                  static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(sec));
  } else if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(sec));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(m),
                  static_cast<long long>(sec));
  }
  return buf;
}

// "%.Ns": right-aligned in N columns, cut to N as Slurm does; negative N: left-aligned.
std::string cell(const std::string& s, int width) {
  const std::size_t w = static_cast<std::size_t>(width < 0 ? -width : width);
  std::string t = s.substr(0, w);
  const std::string pad(w - t.size(), ' ');
  return width < 0 ? t + pad : pad + t;
}

std::string text(const Json& j, const char* key) {
  const Json& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
}

bool job_matches(const Json& job, const std::set<std::string>& users,
                 const std::set<std::string>& states, const std::set<std::string>& ids) {
  if (!users.empty() && !users.count(job.at("user").get<std::string>())) return false;
  if (!states.empty() && !states.count(job.at("state").get<std::string>())) return false;
  if (!ids.empty()) {
    const std::string id = job.at("job_id"),
                      plain = std::to_string(job.at("id").get<std::uint64_t>());
    const std::string array = job.at("array_job_id").is_null() ? "" : job.at("array_job_id").dump();
    if (!ids.count(id) && !ids.count(plain) && !ids.count(array)) return false;
  }
  return true;
}

// The -t/-s state filter of squeue and sacct: `states` keeps its default when
// the option is absent; false (after one line on stderr) when it is invalid.
bool states_option(const po::variables_map& vm, const char* key, const char* command,
                   std::set<std::string>& states) {
  if (!vm.count(key)) return true;
  const std::string& text = vm[key].as<std::string>();
  auto s = parse_states(text);
  if (!s) {
    std::cerr << "flotilla " << command << ": error: invalid job state \"" << text << "\"\n";
    return false;
  }
  states = *s;
  return true;
}

std::set<std::string> as_set(const po::variables_map& vm, const char* key) {
  if (!vm.count(key)) return {};
  const std::vector<std::string> v = split(vm[key].as<std::string>());
  return {v.begin(), v.end()};
}

// The jobs of a controller's answer that -u, -j and the state filter select.
Json matching_jobs(const Json& answer, const po::variables_map& vm,
                   const std::set<std::string>& states) {
  const std::set<std::string> users = as_set(vm, "user"), ids = as_set(vm, "jobs");
  Json jobs = Json::array();
  for (const Json& j : answer.at("jobs")) {
    if (job_matches(j, users, states, ids)) jobs.push_back(j);
  }
  return jobs;
}

}  // namespace

int squeue_command(const Args& args) {
  po::options_description d("flotilla squeue [-u USERS] [-t STATES] [-j JOBS] [--json]");
  d.add_options()("user,u", po::value<std::string>(), "only these users (comma list)")(
      "states,t", po::value<std::string>(), "only these states (PD,R,... or all)")(
      "jobs,j", po::value<std::string>(), "only these job ids")("json", "print JSON")(
      "noheader", "no header line");
  add_socket_option(d);
  po::variables_map vm;
  if (auto rc = parse(args, d, vm)) return *rc;
  std::set<std::string> states{"PENDING", "RUNNING"};
  if (!states_option(vm, "states", "squeue", states)) return 2;
  // Finished jobs are asked for only when -t names them.
  const bool finished = vm.count("states") > 0;
  auto answer = request("squeue", vm, {{"op", finished ? "acct" : "queue"}});
  if (!answer) return 1;
  const Json jobs = matching_jobs(*answer, vm, states);
  if (vm.count("json")) {
    std::cout << Json{{"jobs", jobs}}.dump() << '\n';
    return 0;
  }
  // Slurm's default format "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R".
  if (!vm.count("noheader")) {
    std::cout << cell("JOBID", 18) << ' ' << cell("PARTITION", 9) << ' ' << cell("NAME", 8) << ' '
              << cell("USER", 8) << ' ' << cell("ST", 2) << ' ' << cell("TIME", 10) << ' '
              << cell("NODES", 6) << " NODELIST(REASON)\n";
  }
  for (const Json& j : jobs) {
    const std::string state = j.at("state");
    const std::string where =
        state == "PENDING" ? "(" + text(j, "reason") + ")" : text(j, "nodelist");
    std::cout << cell(text(j, "job_id"), 18) << ' ' << cell(text(j, "partition"), 9) << ' '
              << cell(text(j, "name"), 8) << ' ' << cell(text(j, "user"), 8) << ' '
              << cell(short_states().at(state), 2) << ' '
              << cell(duration(j.at("elapsed_s").get<std::int64_t>()), 10) << ' '
              << cell(text(j, "nodes"), 6) << ' ' << where << '\n';
  }
  return 0;
}

int scancel_command(const Args& args) {
  po::options_description d("flotilla scancel [JOBID[_TASK]...] [-u USER] [-n NAME]");
  d.add_options()("user,u", po::value<std::string>(), "cancel this user's jobs")(
      "name,n", po::value<std::string>(), "cancel jobs with this name")(
      "ids", po::value<std::vector<std::string>>(), "job ids");
  add_socket_option(d);
  po::positional_options_description pos;
  pos.add("ids", -1);
  po::variables_map vm;
  if (auto rc = parse(args, d, vm, &pos)) return *rc;
  Json req = {{"op", "cancel"}};
  if (vm.count("ids")) req["job_ids"] = vm["ids"].as<std::vector<std::string>>();
  if (vm.count("user")) req["user"] = vm["user"].as<std::string>();
  if (vm.count("name")) req["name"] = vm["name"].as<std::string>();
  if (!vm.count("ids") && !vm.count("user") && !vm.count("name")) {
    std::cerr << "flotilla scancel: error: no job identification provided\n";
    return 2;
  }
  return request("scancel", vm, req) ? 0 : 1;
}

int sinfo_command(const Args& args) {
  po::options_description d("flotilla sinfo [--json]");
  d.add_options()("json", "print JSON")("Node,N", "one line per node");
  add_socket_option(d);
  po::variables_map vm;
  if (auto rc = parse(args, d, vm)) return *rc;
  auto answer = request("sinfo", vm, {{"op", "nodes"}});
  if (!answer) return 1;
  if (vm.count("json")) {
    std::cout << Json{{"partition", answer->at("partition")}, {"nodes", answer->at("nodes")}}.dump()
              << '\n';
    return 0;
  }
  // One line per (state, GPU type and count), as sinfo groups by state.
  struct Group {
    std::vector<std::string> names;
    std::uint64_t gpus = 0, alloc = 0;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const Json& n : answer->at("nodes")) {
    const std::string gres = "gpu:" + text(n, "gpu_type") + ":" + text(n, "gpus");
    const std::string key = vm.count("Node") ? text(n, "name") : "";
    Group& g = groups[{key + text(n, "state"), gres}];
    g.names.push_back(n.at("name"));
    g.gpus += n.at("gpus").get<std::uint64_t>();
    g.alloc += n.at("gpus_alloc").get<std::uint64_t>();
  }
  std::cout << "PARTITION AVAIL  TIMELIMIT  NODES  STATE " << cell("GRES", -24) << ' '
            << cell("GPUS(A/T)", 10) << " NODELIST\n";
  const std::string partition = std::string(answer->at("partition")) + "*";
  for (const auto& [key, g] : groups) {
    const std::string state = key.first.substr(vm.count("Node") ? g.names.front().size() : 0);
    std::cout << cell(partition, -9) << ' ' << cell("up", 5) << ' ' << cell("infinite", 10) << ' '
              << cell(std::to_string(g.names.size()), 6) << ' ' << cell(state, 6) << ' '
              << cell(key.second, -24) << ' '
              << cell(std::to_string(g.alloc) + "/" + std::to_string(g.gpus), 10) << ' '
              << compress_hostlist(g.names) << '\n';
  }
  return 0;
}

// sacct's time columns with SLURM_TIME_FORMAT=standard, in UTC; 0 is a time
// the job never reached.
std::string sacct_time(std::int64_t unix_s) {
  if (unix_s == 0) return "Unknown";
  const std::time_t t = unix_s;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// sacct's Elapsed and Timelimit, "[D-]HH:MM:SS" (hours always shown).
std::string sacct_duration(std::int64_t s) {
  char buf[64];
  const std::int64_t d = s / 86400;
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600 % 24),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return d > 0 ? std::to_string(d) + "-" + buf : buf;
}

// `sacct -P` with the columns of the export slurm/README.md documents, so that
// `flotilla trace import-sacct` and `meter import-sacct` read it back.
void print_sacct_parsable(const Json& jobs, bool header) {
  if (header) {
    std::cout << "JobID|JobIDRaw|JobName|User|Account|Partition|QOS|Submit|Start|End|Elapsed|"
                 "Timelimit|State|ExitCode|NNodes|NodeList|AllocTRES\n";
  }
  for (const Json& j : jobs) {
    const std::string nodelist = text(j, "nodelist");
    std::string tres;
    if (!nodelist.empty()) {
      const std::string gpus = text(j, "gpus");
      tres = "gres/gpu=" + gpus + ",gres/gpu:" + text(j, "gpu_type") + "=" + gpus +
             ",node=" + text(j, "nodes");
    }
    const Json& limit = j.at("time_limit_s");
    std::cout << text(j, "job_id") << '|' << text(j, "id") << '|' << text(j, "name") << '|'
              << text(j, "user") << '|' << text(j, "account") << '|' << text(j, "partition")
              << "|normal|" << sacct_time(j.at("submit").get<std::int64_t>()) << '|'
              << sacct_time(j.at("start").get<std::int64_t>()) << '|'
              << sacct_time(j.at("end").get<std::int64_t>()) << '|'
              << sacct_duration(j.at("elapsed_s").get<std::int64_t>()) << '|'
              << (limit.is_null() ? "UNLIMITED" : sacct_duration(limit.get<std::int64_t>())) << '|'
              << text(j, "state") << '|' << text(j, "exit_code") << '|' << text(j, "nodes") << '|'
              << (nodelist.empty() ? "None assigned" : nodelist) << '|' << tres << '\n';
  }
}

int sacct_command(const Args& args) {
  po::options_description d("flotilla sacct [-j JOBS] [-u USERS] [-s STATES] [--json | -P] [-n]");
  d.add_options()("jobs,j", po::value<std::string>(), "only these job ids")(
      "user,u", po::value<std::string>(), "only these users")(
      "state,s", po::value<std::string>(), "only these states")("json", "print JSON")(
      "parsable2,P",
      "'|'-separated, the columns `flotilla trace import-sacct` reads (times in UTC)")(
      "noheader,n", "no header lines");
  add_socket_option(d);
  po::variables_map vm;
  if (auto rc = parse(args, d, vm)) return *rc;
  std::set<std::string> states;
  if (!states_option(vm, "state", "sacct", states)) return 2;
  auto answer = request("sacct", vm, {{"op", "acct"}});
  if (!answer) return 1;
  const Json jobs = matching_jobs(*answer, vm, states);
  if (vm.count("json")) {
    std::cout << Json{{"jobs", jobs}}.dump() << '\n';
    return 0;
  }
  if (vm.count("parsable2")) {
    print_sacct_parsable(jobs, !vm.count("noheader"));
    return 0;
  }
  const std::vector<std::pair<std::string, int>> cols{
      {"JobID", -12},  {"JobName", 10}, {"Partition", 10},  {"User", 9},     {"State", 10},
      {"Elapsed", 10}, {"GPUs", 5},     {"GPUSeconds", 10}, {"ExitCode", 8}, {"NodeList", -15}};
  if (!vm.count("noheader")) {
    for (const auto& [name, w] : cols) std::cout << cell(name, w) << ' ';
    std::cout << '\n';
    for (const auto& [name, w] : cols)
      std::cout << std::string(static_cast<std::size_t>(std::abs(w)), '-') << ' ';
    std::cout << '\n';
  }
  for (const Json& j : jobs) {
    const std::vector<std::string> v{
        text(j, "job_id"),  text(j, "name"),        text(j, "partition"),
        text(j, "user"),    text(j, "state"),       duration(j.at("elapsed_s").get<std::int64_t>()),
        text(j, "gpus"),    text(j, "gpu_seconds"), text(j, "exit_code"),
        text(j, "nodelist")};
    for (std::size_t i = 0; i < cols.size(); ++i) std::cout << cell(v[i], cols[i].second) << ' ';
    std::cout << '\n';
  }
  return 0;
}

int scontrol_command(const Args& args) {
  po::options_description d("flotilla scontrol show job JOBID | scontrol shutdown");
  d.add_options()("words", po::value<std::vector<std::string>>(), "command");
  add_socket_option(d);
  po::positional_options_description pos;
  pos.add("words", -1);
  po::variables_map vm;
  if (auto rc = parse(args, d, vm, &pos)) return *rc;
  const std::vector<std::string> w =
      vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (w.size() == 1 && w[0] == "shutdown")
    return request("scontrol", vm, {{"op", "shutdown"}}) ? 0 : 1;
  if (w.size() != 3 || w[0] != "show" || w[1] != "job" ||
      w[2].find_first_not_of("0123456789") != std::string::npos || w[2].empty() ||
      w[2].size() > 19) {
    std::cerr << "flotilla scontrol: usage: scontrol show job JOBID | scontrol shutdown\n";
    return 2;
  }
  auto answer = request("scontrol", vm, {{"op", "job"}, {"job_id", std::stoull(w[2])}});
  if (!answer) return 1;
  const Json& j = answer->at("job");
  const auto t = [&](const char* k) {
    const std::string s = text(j, k);
    return s.empty() ? std::string("(null)") : s;
  };
  const Json& limit = j.at("time_limit_s");
  std::cout << "JobId=" << t("id") << " JobName=" << t("name") << '\n'
            << "   UserId=" << t("user") << " Account=" << t("account") << '\n'
            << "   JobState=" << t("state") << " Reason=" << t("reason")
            << " Dependency=" << t("dependency") << '\n'
            << "   Requeue=" << (j.at("requeue").get<bool>() ? 1 : 0)
            << " Restarts=" << t("restarts") << " ExitCode=" << t("exit_code") << '\n'
            << "   RunTime=" << duration(j.at("elapsed_s").get<std::int64_t>()) << " TimeLimit="
            << (limit.is_null() ? std::string("UNLIMITED") : duration(limit.get<std::int64_t>()))
            << '\n'
            << "   SubmitTime=" << t("submit") << " StartTime=" << t("start")
            << " EndTime=" << t("end") << '\n'
            << "   Partition=" << t("partition") << " NodeList=" << t("nodelist")
            << " NumNodes=" << t("nodes") << '\n'
            << "   TRES=gres/gpu=" << t("gpus") << " GpuType=" << t("gpu_type") << '\n';
  for (const Json& a : j.at("allocation")) {
    std::cout << "     Node=" << a.at("node").get<std::string>()
              << " CUDA_VISIBLE_DEVICES=" << a.at("cuda_visible_devices").get<std::string>()
              << '\n';
  }
  std::cout << "   WorkDir=" << t("work_dir") << '\n';
  if (!j.at("error").get<std::string>().empty()) std::cout << "   Error=" << t("error") << '\n';
  return 0;
}

int meter_command(const Args& args) {
  if (!args.empty() && args[0] == "import-sacct") {
    return meter_import_sacct(Args(args.begin() + 1, args.end()));
  }
  po::options_description d("flotilla meter export --from T1 --to T2 -o FILE.jsonl");
  std::int64_t from = 0, to = 0;
  d.add_options()("action", po::value<std::string>(), "export")(
      "from", po::value(&from)->required(), "start, Unix seconds (runs that ended at or after it)")(
      "to", po::value(&to)->required(), "end, Unix seconds (runs that ended before it)")(
      "output,o", po::value<std::string>()->required(), "JSON Lines file (scheduler/metering.h)");
  add_socket_option(d);
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << d;
    return 0;
  }
  po::notify(vm);
  if (!vm.count("action") || vm["action"].as<std::string>() != "export" || to < from) {
    std::cerr << "flotilla meter: usage: meter export --from T1 --to T2 -o FILE.jsonl (T1 <= T2)\n";
    return 2;
  }
  auto answer = request("meter", vm, {{"op", "meter"}, {"from", from}, {"to", to}});
  if (!answer) return 1;
  std::vector<MeterRecord> records;
  for (const Json& line : answer->at("records")) {
    Result<MeterRecord> r = parse_meter_record(line.get<std::string>());
    if (!r) {
      std::cerr << "flotilla meter: error: the controller sent a bad record: " << r.message()
                << '\n';
      return 1;
    }
    records.push_back(std::move(*r));
  }
  if (Status s = write_meter_file(vm["output"].as<std::string>(), records); !s) {
    std::cerr << "flotilla meter: error: " << s.message() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace flotilla::cli
