// Batch script launch and supervision (see job_runner.h).
#include "executor/job_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace flotilla::executor {

namespace {

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::error("cannot write " + path + ": " + std::strerror(errno));
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return Status::error("cannot write " + path + ": " + std::strerror(e));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::fchmod(fd, mode);  // the umask must not take the execute bit away
  ::close(fd);
  return Status::ok();
}

// What the batch script's process needs between its clone and its execve,
// all built before: it runs in the executor's memory until then.
struct ChildPlan {
  pid_t parent = 0;
  int out = -1, err = -1;  // stdout and stderr
  int report = -1;         // write end of the exec report pipe (close-on-exec)
  const char* work_dir = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

// The child: system calls only, then execve or _exit.
int start_script(void* arg) {
  const ChildPlan& c = *static_cast<const ChildPlan*>(arg);
  ::setsid();
  // The job dies with its executor, so a restarted controller never finds
  // a job that runs twice.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != c.parent) ::_exit(127);
  // A handler of the executor's would run in its memory: every caught signal
  // goes back to its default before the signals the launch blocked are let
  // through (execve would reset them, but only later). Ignored ones stay
  // ignored, as across any exec, but for the ones a job must be able to get.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction now {};
    if (::sigaction(sig, nullptr, &now) != 0) continue;  // reserved by the C library
    const bool caught = now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN;
    if (caught || sig == SIGTERM || sig == SIGINT || sig == SIGPIPE || sig == SIGCHLD)
      ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(c.out, 1);
  ::dup2(c.err, 2);
  int step = 0;  // 0: chdir failed, 1: exec failed
  if (::chdir(c.work_dir) == 0) {
    step = 1;
    ::execve(c.argv[0], c.argv, c.envp);
  }
  const int codes[2] = {step, errno};
  (void)!::write(c.report, codes, sizeof codes);
  ::_exit(127);
}

// Starts `plan` as a child that shares the executor's memory until its
// execve (CLONE_VM | CLONE_VFORK, as posix_spawn does), which cannot set
// PR_SET_PDEATHSIG. A fork copied the page tables of the executor, whose MPI
// mappings are large, and its execve tore them down again: 6-17 ms per
// launch on the test machine, most of a job's submit-to-start.
pid_t spawn(ChildPlan& plan) {
  constexpr std::size_t kStack = 64 * 1024;
  const auto stack = std::make_unique<char[]>(kStack);
  // No handler of the executor's may run in the child before it resets them.
  sigset_t all, before;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  const pid_t pid =
      ::clone(start_script, stack.get() + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  errno = clone_errno;
  return pid;
}

Result<int> open_output(const std::string& path, bool append) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return Status::error("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

// The energy between two readings of the same GPUs, rounded to the nearest
// joule; nothing if the second could not be taken or a counter went back (the
// driver was reloaded, which restarts it).
std::optional<std::uint64_t> joules_between(
    const std::vector<std::uint64_t>& start_mj,
    const std::optional<std::vector<std::uint64_t>>& end_mj) {
  if (!end_mj) return std::nullopt;
  std::uint64_t mj = 0;
  for (std::size_t i = 0; i < start_mj.size(); ++i) {
    if ((*end_mj)[i] < start_mj[i]) return std::nullopt;
    mj += (*end_mj)[i] - start_mj[i];
  }
  return (mj + 500) / 1000;
}

}  // namespace

JobRunner::~JobRunner() {
  for (auto& [id, job] : jobs_) ::kill(-job.pid, SIGKILL);
  for (auto& [id, job] : jobs_) ::waitpid(job.pid, nullptr, 0);
}

Status JobRunner::launch(const protocol::Launch& spec, std::int64_t now_ms) {
  // The controller launches a job only when it counts no live copy of it, so
  // one still here is stale (this node was marked down while the job ran and
  // the job was requeued): it ends now, unreported, and the new run replaces it.
  if (auto stale = jobs_.find(spec.job_id); stale != jobs_.end()) {
    ::kill(-stale->second.pid, SIGKILL);
    ::waitpid(stale->second.pid, nullptr, 0);
    for (const std::string& f : stale->second.files) ::unlink(f.c_str());
    jobs_.erase(stale);
  }
  std::error_code ec;
  std::filesystem::create_directories(spec.spool_dir, ec);
  if (ec)
    return Status::error("cannot create spool directory " + spec.spool_dir + ": " + ec.message());
  const std::string base = spec.spool_dir + "/job" + std::to_string(spec.job_id);
  Job job;
  const std::string script_path = base + ".sh";
  if (Status s = write_file(script_path, spec.script, 0700); !s) return s;
  job.files.push_back(script_path);
  if (!spec.hostfile.empty()) {
    if (Status s = write_file(base + ".hosts", spec.hostfile, 0644); !s) return s;
    job.files.push_back(base + ".hosts");
  }
  Result<int> out = open_output(spec.stdout_path, spec.append);
  if (!out) return out.status();
  int err = *out;
  if (spec.stderr_path != spec.stdout_path) {
    Result<int> e = open_output(spec.stderr_path, spec.append);
    if (!e) {
      ::close(*out);
      return e.status();
    }
    err = *e;
  }
  // Everything the child needs is built before it starts: it makes only
  // system calls.
  std::vector<char*> argv{const_cast<char*>(script_path.c_str())};
  for (const std::string& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // exec's errno comes back through a close-on-exec pipe: an empty read
  // means the script is running.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return Status::error(std::string("pipe: ") + std::strerror(errno));
  ChildPlan plan{.parent = ::getpid(),
                 .out = *out,
                 .err = err,
                 .report = report[1],
                 .work_dir = spec.work_dir.c_str(),
                 .argv = argv.data(),
                 .envp = envp.data()};
  const pid_t pid = spawn(plan);
  ::close(report[1]);
  ::close(*out);
  if (err != *out) ::close(err);
  if (pid < 0) {
    ::close(report[0]);
    return Status::error(std::string("clone: ") + std::strerror(errno));
  }
  int codes[2] = {0, 0};
  ssize_t n = 0;
  do {
    n = ::read(report[0], codes, sizeof codes);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    for (const std::string& f : job.files) ::unlink(f.c_str());
    if (codes[0] == 0) {
      return Status::error("cannot enter the submit directory " + spec.work_dir + ": " +
                           std::strerror(codes[1]));
    }
    return Status::error("cannot execute the batch script (check its #! line): " +
                         std::string(std::strerror(codes[1])));
  }
  job.pid = pid;
  job.run = spec.run;
  job.kill_wait_ms = spec.kill_wait_ms;
  job.gpus = spec.gpus;
  job.energy_at_launch_mj = energy_mj(job.gpus);
  if (spec.time_limit_ms > 0) {
    job.limit_at_ms = now_ms + spec.time_limit_ms;
    if (spec.warn_signal > 0) {
      job.warn_signal = spec.warn_signal;
      job.warn_at_ms = std::max(now_ms, job.limit_at_ms - spec.warn_before_ms);
    }
  }
  jobs_.emplace(spec.job_id, std::move(job));
  return Status::ok();
}

void JobRunner::terminate(Job& job, std::int64_t now_ms) {
  ::kill(-job.pid, SIGCONT);
  ::kill(-job.pid, SIGTERM);
  job.kill_at_ms = now_ms + job.kill_wait_ms;
  job.limit_at_ms = 0;
  job.warn_at_ms = 0;
}

void JobRunner::cancel(std::uint64_t job_id, std::int64_t now_ms) {
  metered_.erase(job_id);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.cancelled) return;
  it->second.cancelled = true;
  if (it->second.kill_at_ms == 0) terminate(it->second, now_ms);
}

void JobRunner::tick(std::int64_t now_ms) {
  for (auto& [id, job] : jobs_) {
    if (job.warn_at_ms != 0 && now_ms >= job.warn_at_ms) {
      ::kill(-job.pid, job.warn_signal);
      job.warn_at_ms = 0;
    }
    if (job.limit_at_ms != 0 && now_ms >= job.limit_at_ms) {
      job.timed_out = true;
      terminate(job, now_ms);
    }
    if (job.kill_at_ms != 0 && now_ms >= job.kill_at_ms) {
      ::kill(-job.pid, SIGKILL);
      job.kill_at_ms = 0;
    }
  }
}

std::vector<protocol::JobExit> JobRunner::reap() {
  std::vector<protocol::JobExit> done;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    int status = 0;
    const pid_t r = ::waitpid(it->second.pid, &status, WNOHANG);
    if (r != it->second.pid) {
      ++it;
      continue;
    }
    Job& job = it->second;
    ::kill(-job.pid, SIGKILL);  // what the script left behind ends with it, as in Slurm
    protocol::JobExit e{.job_id = it->first,
                        .run = job.run,
                        .timed_out = job.timed_out,
                        .cancelled = job.cancelled};
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    if (job.energy_at_launch_mj)
      e.energy_j = joules_between(*job.energy_at_launch_mj, energy_mj(job.gpus));
    for (const std::string& f : job.files) ::unlink(f.c_str());
    done.push_back(std::move(e));
    it = jobs_.erase(it);
  }
  return done;
}

std::optional<std::vector<std::uint64_t>> JobRunner::energy_mj(
    const std::vector<std::uint32_t>& gpus) const {
  if (!nvml_ || gpus.empty()) return std::nullopt;
  std::vector<std::uint64_t> mj;
  for (std::uint32_t g : gpus) {
    Result<Nvml::Device> dev = nvml_->device_at(g);
    // Boards before Volta have no energy counter (NVML_ERROR_NOT_SUPPORTED):
    // a job's figure is all its GPUs or none, never a part that looks whole.
    std::optional<std::uint64_t> counter = dev ? nvml_->total_energy_mj(*dev) : std::nullopt;
    if (!counter) return std::nullopt;
    mj.push_back(*counter);
  }
  return mj;
}

void JobRunner::meter_start(const protocol::MeterStart& m) {
  std::optional<std::vector<std::uint64_t>> start = energy_mj(m.gpus);
  if (!start) {
    metered_.erase(m.job_id);  // nothing to count, and no older run to keep
    return;
  }
  metered_[m.job_id] = Metered{.run = m.run, .gpus = m.gpus, .start_mj = std::move(*start)};
}

std::optional<std::uint64_t> JobRunner::meter_end(const protocol::MeterEnd& m) {
  auto it = metered_.find(m.job_id);
  if (it == metered_.end() || it->second.run != m.run) return std::nullopt;
  const Metered metered = std::move(it->second);
  metered_.erase(it);
  return joules_between(metered.start_mj, energy_mj(metered.gpus));
}

std::vector<std::uint64_t> JobRunner::running() const {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, job] : jobs_) ids.push_back(id);
  return ids;
}

}  // namespace flotilla::executor
