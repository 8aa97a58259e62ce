// A live `flotilla ctld` for tests: real mpirun --oversubscribe (a controller
// and one executor per node of an example fleet, examples/fleets/local-test.toml
// unless told), real SQLite, the real Unix socket, with time compressed (a
// --time minute lasts one second, one second from SIGTERM to SIGKILL).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "scheduler/protocol.h"
#include "tests/run_flotilla.h"

namespace flotilla::testing {

// Owns the mpirun process and a scratch directory; one per test.
class CtldCluster {
 public:
  // `fleet`: a file of examples/fleets/ with `executors` nodes.
  explicit CtldCluster(std::string fleet = "local-test.toml", int executors = 3)
      : fleet_(std::move(fleet)), executors_(executors) {
    dir_ = std::filesystem::temp_directory_path() /
           ("flotilla_ctld_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "out");
  }
  ~CtldCluster() {
    stop();
    std::filesystem::remove_all(dir_);
  }

  const std::filesystem::path& dir() const { return dir_; }
  std::string socket() const { return (dir_ / "ctld.sock").string(); }
  // " --socket PATH", for command lines.
  std::string sock() const { return " --socket '" + socket() + "'"; }

  // Sets a variable in the environment of mpirun and so of every rank; call
  // before start().
  void set_env(std::string name, std::string value) {
    env_.emplace_back(std::move(name), std::move(value));
  }

  // Adds an argument to the ctld command line; call before start().
  void add_arg(std::string arg) { args_.push_back(std::move(arg)); }

  // Starts mpirun and waits until the controller answers (false after 60 s).
  bool start(int heartbeat_timeout_s = 10, int heartbeat_interval_ms = 1000) {
    mpirun_ = ::fork();
    if (mpirun_ == 0) {
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
      for (const auto& [name, value] : env_) ::setenv(name.c_str(), value.c_str(), 1);
      const std::string log = (dir_ / "ctld.log").string();
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string fleet = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/" + fleet_;
      const std::string state = (dir_ / "state").string(), sock = socket();
      const std::string np = std::to_string(executors_ + 1);
      const std::string hb = std::to_string(heartbeat_timeout_s);
      const std::string beat = std::to_string(heartbeat_interval_ms);
      std::vector<std::string> argv = {FLOTILLA_MPIEXEC,
                                       "--oversubscribe",
                                       "-np",
                                       np,
                                       FLOTILLA_BINARY,
                                       "ctld",
                                       "--fleet",
                                       fleet,
                                       "--state",
                                       state,
                                       "--socket",
                                       sock,
                                       "--kill-wait",
                                       "1",
                                       "--limit-minute-ms",
                                       "1000",
                                       "--heartbeat-timeout",
                                       hb,
                                       "--heartbeat-interval-ms",
                                       beat};
      argv.insert(argv.end(), args_.begin(), args_.end());
      std::vector<char*> c_argv;
      for (std::string& a : argv) c_argv.push_back(a.data());
      c_argv.push_back(nullptr);
      ::execv(FLOTILLA_MPIEXEC, c_argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 600; ++i) {
      if (Result<nlohmann::json> r = protocol::call(socket(), {{"op", "ping"}})) {
        controller_pid_ = r->at("pid").get<int>();
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Ends the controller as the kernel would on a crash; mpirun then ends the executors.
  void kill_controller() {
    ::kill(controller_pid_, SIGKILL);
    reap();
  }

  void stop() {
    if (mpirun_ <= 0) return;
    (void)protocol::call(socket(), {{"op", "shutdown"}});
    for (int i = 0; i < 100 && mpirun_ > 0; ++i) {
      if (::waitpid(mpirun_, nullptr, WNOHANG) == mpirun_) mpirun_ = 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (mpirun_ > 0) {
      ::kill(mpirun_, SIGKILL);
      reap();
    }
  }

  // Writes an executable script under dir()/NAME.
  std::string script(const std::string& name, const std::string& body) const {
    const std::filesystem::path p = dir_ / name;
    std::ofstream(p) << body;
    std::filesystem::permissions(p, std::filesystem::perms::owner_all);
    return p.string();
  }

  // sacct --json's jobs.
  nlohmann::json jobs() const {
    const CommandOutcome r = run_flotilla("sacct --json" + sock());
    if (r.exit_code != 0) return nlohmann::json::array();
    return nlohmann::json::parse(r.out).at("jobs");
  }

  // Waits until every job is final (false after `seconds`).
  bool wait_all_final(int seconds) const {
    for (int i = 0; i < seconds * 5; ++i) {
      bool done = true;
      for (const auto& j : jobs()) {
        const std::string s = j.at("state");
        done = done && s != "PENDING" && s != "RUNNING";
      }
      if (done) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  // sinfo --json's node named `name` (null if none).
  nlohmann::json node(const std::string& name) const {
    const CommandOutcome r = run_flotilla("sinfo --json" + sock());
    if (r.exit_code != 0) return nullptr;
    const nlohmann::json answer = nlohmann::json::parse(r.out);
    for (const auto& n : answer.at("nodes")) {
      if (n.at("name") == name) return n;
    }
    return nullptr;
  }

  // sacct --json's job `id` (null if none).
  nlohmann::json job(std::uint64_t id) const {
    for (const auto& j : jobs()) {
      if (j.at("id").get<std::uint64_t>() == id) return j;
    }
    return nullptr;
  }

  std::string state_of(std::uint64_t id) const {
    const nlohmann::json j = job(id);
    return j.is_null() ? "" : j.at("state").get<std::string>();
  }

  // Polls `done` every 100 ms for up to `seconds`.
  template <class Done>
  static bool wait_for(int seconds, Done done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < give_up) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

 private:
  void reap() {
    if (mpirun_ > 0) ::waitpid(mpirun_, nullptr, 0);
    mpirun_ = 0;
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string fleet_;
  int executors_ = 3;
  std::vector<std::pair<std::string, std::string>> env_;
  std::vector<std::string> args_;
  std::filesystem::path dir_;
  pid_t mpirun_ = 0;
  int controller_pid_ = 0;
};

}  // namespace flotilla::testing
