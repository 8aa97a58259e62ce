// flotilla sbatch [--parse-only] [--json] [--socket PATH] [SBATCH OPTIONS...] FILE [ARGS...]
// Reads a batch script as sbatch would; options before FILE override the
// script's directives. With --parse-only it prints the request; otherwise it
// submits the job to the controller (--socket or $FLOTILLA_SOCKET), which
// checks it against the fleet, and prints "Submitted batch job N".
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "scheduler/protocol.h"
#include "slurm/batch_script.h"
#include "slurm/sbatch_options.h"

namespace flotilla::cli {

namespace {

namespace po = boost::program_options;
using Json = nlohmann::ordered_json;

template <class T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
Json or_null(const std::string& s) {
  return s.empty() ? Json(nullptr) : Json(s);
}

Json to_json(const slurm::SbatchJob& job, const std::string& script,
             const std::vector<std::string>& script_args) {
  const JobRequest& r = job.request;
  Json j;
  j["script"] = script;
  j["script_args"] = script_args;
  j["job_name"] = or_null(r.job_name);
  j["nodes"] = or_null(r.nodes_min);
  j["nodes_max"] = or_null(r.nodes_max);
  j["ntasks"] = or_null(r.ntasks);
  j["ntasks_per_node"] = or_null(r.ntasks_per_node);
  j["cpus_per_task"] = or_null(r.cpus_per_task);
  j["gpus"] = or_null(r.gpus);
  j["gpus_per_node"] = or_null(r.gpus_per_node);
  j["gpus_per_task"] = or_null(r.gpus_per_task);
  j["gpu_types"] = r.gpu_types;
  j["mem_mb"] = or_null(r.mem_mb);
  j["mem_per_gpu_mb"] = or_null(r.mem_per_gpu_mb);
  j["mem_per_cpu_mb"] = or_null(r.mem_per_cpu_mb);
  j["time_limit_s"] = r.time_limit ? Json(r.time_limit->count()) : Json(nullptr);
  j["time_unlimited"] = r.time_unlimited;
  j["partition"] = or_null(r.partition);
  j["account"] = or_null(r.account);
  j["qos"] = or_null(r.qos);
  j["exclusive"] = r.exclusive;
  j["share_mode"] = or_null(job.share_mode);
  j["constraint"] = or_null(r.constraint);
  j["dependency"] = or_null(r.dependency);
  j["array"] = or_null(r.array);
  j["output"] = or_null(r.output);
  j["error"] = or_null(r.error);
  j["switches"] = or_null(r.switches);
  j["switches_wait_s"] = r.switches_wait ? Json(r.switches_wait->count()) : Json(nullptr);
  j["requeue"] = or_null(job.requeue);
  j["signal"] = or_null(r.signal);
  j["mail_type"] = or_null(r.mail_type);
  j["mail_user"] = or_null(r.mail_user);
  j["open_mode"] = or_null(r.open_mode);
  j["overcommit"] = r.overcommit;
  Json ignored = Json::array();
  for (const slurm::IgnoredOption& o : job.ignored_options) {
    ignored.push_back({{"option", o.option},
                       {"value", or_null(o.value)},
                       {"line", o.line > 0 ? Json(o.line) : Json(nullptr)}});
  }
  j["ignored_options"] = ignored;
  j["ignored_gres"] = job.ignored_gres;
  j["warnings"] = job.warnings;
  return j;
}

void print_listing(const Json& j, std::ostream& out) {
  for (const auto& [key, value] : j.items()) {
    if (key == "ignored_options") {
      out << key << ":";
      if (value.empty()) out << " -";
      out << '\n';
      for (const Json& o : value) {
        out << "  " << o["option"].get<std::string>();
        if (!o["value"].is_null()) out << '=' << o["value"].get<std::string>();
        if (!o["line"].is_null()) out << "  (line " << o["line"] << ')';
        out << '\n';
      }
      continue;
    }
    out << key << ": ";
    if (value.is_null()) {
      out << '-';
    } else if (value.is_string()) {
      out << value.get<std::string>();
    } else if (value.is_array()) {
      std::string sep;
      for (const Json& v : value) {
        out << sep << (v.is_string() ? v.get<std::string>() : v.dump());
        sep = ", ";
      }
      if (value.empty()) out << '-';
    } else {
      out << value.dump();
    }
    out << '\n';
  }
}

// --socket PATH is flotilla's, not sbatch's: taken out before sbatch's
// option table sees the arguments (its first occurrence only).
std::optional<std::string> take_socket_flag(Args& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--socket=", 0) == 0) {
      std::string path = args[i].substr(9);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      return path;
    }
    if (args[i] == "--socket" && i + 1 < args.size()) {
      std::string path = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      return path;
    }
  }
  return std::nullopt;
}

extern "C" char** environ;

// Sends the job to the controller: the parsed request, the script's text and
// the submitter's environment and directory (sbatch's --export=ALL default).
int submit(const slurm::SbatchJob& job, const std::string& script_path,
           const std::vector<std::string>& script_args,
           const std::optional<std::string>& socket_flag) {
  if (::access(script_path.c_str(), X_OK) != 0) {
    std::cerr << script_path << ": not executable (chmod +x " << script_path << ")\n";
    return 1;
  }
  std::ifstream in(script_path, std::ios::binary);
  std::string script((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string work_dir = std::filesystem::current_path().string();
  bool parsable = false;
  for (const slurm::IgnoredOption& o : job.ignored_options) {
    if (o.option == "--chdir" && o.value) {
      work_dir = std::filesystem::absolute(*o.value).lexically_normal().string();
    }
    parsable = parsable || o.option == "--parsable";
  }
  JobRequest request = job.request;
  request.requeue = job.requeue.value_or(false);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  Result<std::string> path = protocol::socket_path(socket_flag);
  Result<nlohmann::json> answer =
      path ? protocol::call(*path, {{"op", "submit"},
                                    {"request", protocol::request_to_json(request)},
                                    {"script", script},
                                    {"script_args", script_args},
                                    {"work_dir", work_dir},
                                    {"env", env}})
           : Result<nlohmann::json>(path.status());
  if (!answer) {
    std::cerr << "flotilla sbatch: error: " << answer.message() << '\n';
    return 1;
  }
  const std::uint64_t id = answer->at("job_id").get<std::uint64_t>();
  if (parsable) {
    std::cout << id << '\n';
  } else {
    std::cout << "Submitted batch job " << id << '\n';
  }
  return 0;
}

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int sbatch_command(const Args& given) {
  Args args = given;
  const std::optional<std::string> socket_flag = take_socket_flag(args);
  po::options_description own("flotilla sbatch [OPTIONS] [SBATCH OPTIONS...] FILE [ARGS...]");
  own.add_options()("help,h", "show this help")(
      "socket", "--socket PATH: the controller's socket (default $FLOTILLA_SOCKET)")(
      "parse-only", "parse FILE and print the job request; do not submit")(
      "json", "print the request as one JSON object");
  po::options_description hidden;
  hidden.add_options()("script", po::value<std::string>(), "batch script");
  po::positional_options_description positional;
  positional.add("script", 1);

  // sbatch's own option table decides where the options end and FILE starts,
  // so that values such as `-J name` are not mistaken for the script.
  std::vector<slurm::SbatchArgument> cli;
  for (const std::string& a : args) cli.push_back({a, 0});
  static constexpr std::string_view kHostFlags[] = {"help", "parse-only", "json"};
  slurm::SbatchOptions scan;
  Result<slurm::SbatchOptions::Consumed> consumed = scan.apply(cli, "flotilla sbatch", kHostFlags);
  if (!consumed) {
    std::cerr << consumed.message() << '\n';
    return 2;
  }
  std::vector<std::string> own_args = consumed->host_flags;
  if (consumed->next < args.size()) own_args.push_back(args[consumed->next]);
  // The options before FILE, host flags included: sbatch_job() skips those.
  const std::span<const slurm::SbatchArgument> sbatch_options(cli.data(), consumed->next);
  const std::vector<std::string> script_args(
      args.begin() + static_cast<std::ptrdiff_t>(std::min(consumed->next + 1, args.size())),
      args.end());

  po::options_description all;
  all.add(own).add(hidden);
  po::variables_map vm;
  po::store(po::command_line_parser(own_args).options(all).positional(positional).run(), vm);
  po::notify(vm);
  // sbatch's own -h, --help and --usage arrive as ignored sbatch options.
  bool help = vm.count("help") > 0;
  if (Result<slurm::SbatchJob> options_only = scan.finish()) {
    for (const slurm::IgnoredOption& o : options_only->ignored_options) {
      help = help || o.option == "--help" || o.option == "--usage";
    }
  }
  if (help) {
    std::cout << own
              << "\nSBATCH OPTIONS are sbatch's (e.g. -N 2, --time=1:00:00); they override "
                 "the script's #SBATCH directives.\n";
    return 0;
  }
  if (!vm.count("script")) {
    std::cerr << "flotilla sbatch: missing batch script FILE (flotilla sbatch --help)\n";
    return 2;
  }
  const std::string script_path = vm["script"].as<std::string>();

  Result<slurm::BatchScript> script = slurm::read_batch_script(script_path);
  if (!script) {
    std::cerr << script.message() << '\n';
    return 1;
  }
  Result<slurm::SbatchJob> job =
      slurm::sbatch_job(*script, sbatch_options, "flotilla sbatch", kHostFlags);
  if (!job) {
    std::cerr << job.message() << '\n';
    return 1;
  }
  // sbatch names an unnamed job after its script.
  if (job->request.job_name.empty()) job->request.job_name = basename_of(script_path);

  for (const std::string& w : job->warnings) std::cerr << "warning: " << w << '\n';
  if (!vm.count("parse-only")) return submit(*job, script_path, script_args, socket_flag);
  const Json j = to_json(*job, script_path, script_args);
  if (vm.count("json")) {
    std::cout << j.dump() << '\n';
  } else {
    print_listing(j, std::cout);
  }
  return 0;
}

}  // namespace flotilla::cli
