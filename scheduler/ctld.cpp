// The live controller (see ctld.h): one single-threaded loop over the Unix
// socket (poll) and the executors (MPI_Iprobe). Each turn of the loop writes
// everything it changed in one SQLite transaction, commits it, and only then
// sends its answers and executor messages.
#include "scheduler/ctld.h"

#include <fcntl.h>
#include <mpi.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>
#include <variant>

#include "scheduler/fleet_file.h"
#include "scheduler/hostlist.h"
#include "scheduler/job_store.h"
#include "scheduler/metering.h"
#include "scheduler/protocol.h"
#include "scheduler/scheduler.h"

namespace flotilla {

namespace {

using protocol::Json;
using Clock = std::chrono::system_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// sinfo's view of what an executor's probe report says; null without one.
// "claimed": the executor measured and reported it itself; only the
// proof-of-compute challenge (flotilla probe --prove) verifies a class.
Json probe_of(const protocol::Register& r) {
  if (r.probe_source.empty() && r.probe_error.empty()) return nullptr;
  Json j = {{"claimed", true}};
  if (!r.probe_error.empty()) {
    j["error"] = r.probe_error;
  } else {
    j["source"] = r.probe_source;
    j["gpus"] = r.probe_gpus;
  }
  return j;
}

// Without a time limit the planner still needs an end to plan around.
constexpr Seconds kUnlimitedEstimate{365LL * 24 * 3600};

bool is_final(const std::string& state) {
  return state != "PENDING" && state != "RUNNING";
}

struct Alloc {
  std::uint32_t node = 0;
  std::uint16_t gpu_mask = 0;
  std::uint16_t milli = 1000;
};

// The node's GPUs an allocation holds, as CUDA_VISIBLE_DEVICES names them.
std::vector<std::uint32_t> gpus_of(const Alloc& a) {
  std::vector<std::uint32_t> gpus;
  for (unsigned g = 0; g < kMaxGpusPerNode; ++g) {
    if (a.gpu_mask >> g & 1u) gpus.push_back(g);
  }
  return gpus;
}

// The same, as CUDA_VISIBLE_DEVICES and SLURM_JOB_GPUS write them: "0,2".
std::string devices_of(const Alloc& a) {
  std::string devices;
  for (std::uint32_t g : gpus_of(a)) devices += (devices.empty() ? "" : ",") + std::to_string(g);
  return devices;
}

struct Dependency {
  std::string kind;  // afterok, afterany, afternotok, singleton
  std::vector<std::uint64_t> ids;
};

// One job as the controller knows it. The submission fields never change;
// the rest is its state. Everything but `shape`, `deps` and `queued` is in
// the store's document.
struct LiveJob {
  std::uint64_t id = 0;
  JobRequest request;
  std::string script;
  std::vector<std::string> script_args, env;
  std::string work_dir, user;
  std::uint32_t uid = 0;
  std::uint64_t array_job_id = 0;  // 0: not an array task
  std::uint32_t array_task = 0;
  std::uint32_t array_throttle = 0;  // --array=...%N; 0: none
  std::int64_t submit_ms = 0;

  std::string state = "PENDING";
  std::string reason = "None";
  std::int64_t start_ms = 0, end_ms = 0;
  int exit_code = 0, signal = 0;
  std::uint32_t restarts = 0;
  bool cancel_requested = false;
  std::string error;
  GpuTypeId gpu_type = 0;
  std::vector<Alloc> allocs;

  PlacementRequest shape;
  std::vector<Dependency> deps;
  bool queued = false;  // handed to the Scheduler (eligible, waiting or started)
};

std::string job_name_of(const LiveJob& j) {
  return j.array_job_id ? std::to_string(j.array_job_id) + "_" + std::to_string(j.array_task)
                        : std::to_string(j.id);
}

// "afterok:1:2,afterany:3", "singleton".
Result<std::vector<Dependency>> parse_dependency(const std::string& text) {
  std::vector<Dependency> out;
  if (text.empty()) return out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    pos = comma + 1;
    Dependency d;
    const std::size_t colon = part.find(':');
    d.kind = part.substr(0, colon);
    if (d.kind == "singleton" && colon == std::string::npos) {
      out.push_back(d);
      continue;
    }
    if ((d.kind != "afterok" && d.kind != "afterany" && d.kind != "afternotok") ||
        colon == std::string::npos) {
      return Status::error(
          "invalid --dependency \"" + text +
          "\" (supported: afterok, afterany, afternotok with :JOBID..., singleton)");
    }
    std::size_t p = colon + 1;
    while (p <= part.size()) {
      const std::size_t c = std::min(part.find(':', p), part.size());
      const std::string id = part.substr(p, c - p);
      p = c + 1;
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
        return Status::error("invalid job id \"" + id + "\" in --dependency \"" + text + "\"");
      }
      d.ids.push_back(std::stoull(id));
    }
    out.push_back(std::move(d));
  }
  return out;
}

struct ArraySpec {
  std::vector<std::uint32_t> tasks;
  std::uint32_t throttle = 0;
};

// "0-99%10", "1,3,5", "0-15:4".
Result<ArraySpec> parse_array(const std::string& text) {
  ArraySpec a;
  std::string list = text;
  const auto bad = [&] { return Status::error("invalid --array \"" + text + "\""); };
  if (const std::size_t pct = list.find('%'); pct != std::string::npos) {
    const std::string t = list.substr(pct + 1);
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 9)
      return bad();
    a.throttle = static_cast<std::uint32_t>(std::stoul(t));
    list.resize(pct);
  }
  std::set<std::uint32_t> seen;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    std::string part = list.substr(pos, comma - pos);
    pos = comma + 1;
    std::uint64_t step = 1;
    if (const std::size_t colon = part.find(':'); colon != std::string::npos) {
      const std::string s = part.substr(colon + 1);
      if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return bad();
      step = std::stoull(s);
      part.resize(colon);
    }
    const std::size_t dash = part.find('-');
    const std::string lo = part.substr(0, dash);
    const std::string hi = dash == std::string::npos ? lo : part.substr(dash + 1);
    for (const std::string& n : {lo, hi}) {
      if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
        return bad();
    }
    const std::uint64_t first = std::stoull(lo), last = std::stoull(hi);
    if (last < first || step == 0) return bad();
    for (std::uint64_t t = first; t <= last; t += step) {
      seen.insert(static_cast<std::uint32_t>(t));
      if (seen.size() > 100'000)
        return Status::error("--array \"" + text + "\": more than 100000 tasks");
    }
  }
  a.tasks.assign(seen.begin(), seen.end());
  return a;
}

// --signal=[{R|B}:]SIG[@TIME]: the signal number and seconds before the limit.
Result<std::pair<int, std::int64_t>> parse_signal(const std::string& text) {
  std::string s = text;
  if (s.size() > 2 && s[1] == ':' && (s[0] == 'B' || s[0] == 'R')) s = s.substr(2);
  std::int64_t before = 60;
  if (const std::size_t at = s.find('@'); at != std::string::npos) {
    const std::string t = s.substr(at + 1);
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) {
      return Status::error("invalid --signal \"" + text + "\"");
    }
    before = std::stoll(t);
    s.resize(at);
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const std::map<std::string, int> kNames{
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"ALRM", SIGALRM}, {"URG", SIGURG}};
  if (auto it = kNames.find(s); it != kNames.end()) return std::pair{it->second, before};
  if (!s.empty() && s.size() < 3 && s.find_first_not_of("0123456789") == std::string::npos) {
    const int n = std::stoi(s);
    if (n > 0 && n < 65) return std::pair{n, before};
  }
  return Status::error("invalid --signal \"" + text + "\"");
}

std::string user_name(std::uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return pw.pw_name;
  return std::to_string(uid);
}

// A client connection: what it sent so far and what is left to send back.
struct Client {
  int fd = -1;
  std::uint32_t uid = 0;
  protocol::FrameReader reader;
  std::string out;
  bool closing = false;  // close once `out` is sent
};

class Controller {
 public:
  Controller(CtldOptions options, Fleet fleet)
      : options_(std::move(options)), fleet_(std::move(fleet)) {}
  Status run();

 private:
  // --- set-up
  Status open_state();
  Status open_socket();
  Status load_jobs();
  void await_executors();

  // --- loop
  void serve_clients(int timeout_ms);
  void accept_clients();
  void read_client(Client& c);
  Json handle(const Json& request, const Client& c);
  void handle_executor(const protocol::Received& in);
  void check_heartbeats();
  void schedule();
  void release_eligible();
  void flush();

  // --- requests
  Json submit(const Json& request, const Client& c);
  Json cancel(const Json& request, const Client& c);
  Json nodes() const;
  Json meter(const Json& request);

  // --- jobs
  Status prepare(LiveJob& job) const;
  void persist(const LiveJob& job);
  void enqueue(LiveJob& job);
  void start(LiveJob& job, const Start& s);
  // `energy_j`: what the first node's executor counted (JobExit::energy_j).
  void finish(LiveJob& job, const std::string& state, Fault fault,
              std::optional<std::uint64_t> energy_j = std::nullopt);
  void node_failed(LiveJob& job);
  void node_down(std::uint32_t node, const std::string& reason);
  // Whether job's dependencies are met: 1 yes, 0 not yet, -1 never.
  int dependency_state(const LiveJob& job) const;
  Json view(const LiveJob& job) const;
  protocol::Launch launch_of(const LiveJob& job) const;
  std::string expand_pattern(const std::string& pattern, const LiveJob& job) const;
  void send(int rank, const Json& message) { unsent_.emplace_back(rank, message); }
  int rank_of(std::uint32_t node) const { return static_cast<int>(node) + 1; }
  void tx();

  CtldOptions options_;
  Fleet fleet_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<FleetState> empty_;  // the fleet with nothing taken: "could it ever fit?"
  std::unique_ptr<Placer> feasibility_;
  std::unique_ptr<JobStore> store_;
  bool in_tx_ = false;
  int listen_fd_ = -1, lock_fd_ = -1;
  std::map<int, Client> clients_;
  std::map<std::uint64_t, LiveJob> jobs_;
  std::set<std::uint64_t> held_;  // PENDING and not yet handed to the Scheduler
  std::map<std::uint64_t, std::uint32_t> array_active_;  // array id -> tasks queued or running
  std::uint64_t next_id_ = 1;
  int world_ = 1;
  struct NodeLive {
    bool has_executor = false, up = false;
    std::int64_t last_seen_ms = 0;
    std::string reason;
    protocol::Register inventory;  // what its executor found at registration
    // The jobs that ended when it was marked down, to be cancelled should it
    // come back: copies of them may still run there.
    std::vector<std::uint64_t> lost;
  };
  std::vector<NodeLive> node_live_;
  std::vector<std::pair<int, Json>> unsent_;  // until this turn's commit
  protocol::MpiOutbox mpi_;
  bool dirty_ = true;
  bool stop_ = false;
  std::uint32_t controller_uid_ = ::getuid();
};

Status Controller::run() {
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
  std::signal(SIGPIPE, SIG_IGN);
  MPI_Comm_size(MPI_COMM_WORLD, &world_);
  SchedulerOptions so;
  so.queue = options_.queue;
  Result<std::unique_ptr<Scheduler>> sched = Scheduler::create(fleet_, so);
  if (!sched) return sched.status();
  scheduler_ = std::move(*sched);
  empty_ = std::make_unique<FleetState>(fleet_);
  Result<std::unique_ptr<Placer>> placer = make_placer("first-fit");
  if (!placer) return placer.status();
  feasibility_ = std::move(*placer);
  if (Status s = open_state(); !s) return s;
  if (Status s = load_jobs(); !s) return s;
  await_executors();
  if (Status s = open_socket(); !s) return s;
  while (!stop_ && !g_stop) {
    serve_clients(dirty_ ? 0 : 1);
    for (int i = 0; i < 10000; ++i) {
      auto in = protocol::mpi_poll();
      if (!in) break;
      handle_executor(*in);
    }
    check_heartbeats();
    release_eligible();
    schedule();
    flush();
  }
  // Executors beyond the fleet were told at start. One that has not taken its
  // message within a heartbeat timeout is hung; mpirun ends it with us.
  for (int r = 1; r <= static_cast<int>(node_live_.size()) && r < world_; ++r)
    send(r, protocol::to_json(protocol::Shutdown{}));
  flush();
  const std::int64_t give_up = now_ms() + options_.heartbeat_timeout.count();
  while (mpi_.pending() > 0 && now_ms() < give_up) {
    ::usleep(1000);
    mpi_.progress();
  }
  ::close(listen_fd_);
  ::unlink(options_.socket_path.c_str());
  return Status::ok();
}

Status Controller::open_state() {
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) return Status::error(options_.state_dir + ": " + ec.message());
  const std::string lock = options_.state_dir + "/ctld.lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::error(options_.state_dir + ": another controller holds this state directory");
  }
  Result<std::unique_ptr<JobStore>> store = JobStore::open(options_.state_dir + "/jobs.db");
  if (!store) return store.status();
  store_ = std::move(*store);
  return Status::ok();
}

Status Controller::open_socket() {
  const std::string& path = options_.socket_path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Status::error("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());  // a stale socket of a killed controller (the state lock is ours)
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::error(std::string("socket: ") + std::strerror(errno));
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0660) != 0 || ::listen(listen_fd_, 512) != 0) {
    return Status::error(path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

void Controller::tx() {
  if (in_tx_) return;
  // A store that cannot write is not safe to run on: stop rather than
  // acknowledge what is not on disk.
  if (Status s = store_->begin(); !s) {
    stop_ = true;
    return;
  }
  in_tx_ = true;
}

void Controller::persist(const LiveJob& j) {
  tx();
  Json doc = {{"request", protocol::request_to_json(j.request)},
              {"script", j.script},
              {"script_args", j.script_args},
              {"env", j.env},
              {"work_dir", j.work_dir},
              {"user", j.user},
              {"uid", j.uid},
              {"array_job_id", j.array_job_id},
              {"array_task", j.array_task},
              {"array_throttle", j.array_throttle},
              {"submit_ms", j.submit_ms},
              {"state", j.state},
              {"reason", j.reason},
              {"start_ms", j.start_ms},
              {"end_ms", j.end_ms},
              {"exit_code", j.exit_code},
              {"signal", j.signal},
              {"restarts", j.restarts},
              {"cancel_requested", j.cancel_requested},
              {"error", j.error},
              {"gpu_type", fleet_.catalog().at(j.gpu_type).name}};
  Json allocs = Json::array();
  for (const Alloc& a : j.allocs) {
    allocs.push_back(
        {{"node", fleet_.node_name(a.node)}, {"gpu_mask", a.gpu_mask}, {"milli", a.milli}});
  }
  doc["allocs"] = std::move(allocs);
  if (Status s = store_->put_job(j.id, j.state, doc.dump()); !s) stop_ = true;
}

Status Controller::load_jobs() {
  Result<std::uint64_t> next = store_->next_job_id();
  if (!next) return next.status();
  next_id_ = *next;
  Result<std::vector<std::pair<std::uint64_t, std::string>>> rows = store_->load_jobs();
  if (!rows) return rows.status();
  for (auto& [id, text] : *rows) {
    const Json d = Json::parse(text, nullptr, false);
    const std::string where = options_.state_dir + "/jobs.db: job " + std::to_string(id);
    if (d.is_discarded()) return Status::error(where + ": unreadable record");
    Result<JobRequest> req = protocol::request_from_json(d.value("request", Json::object()));
    if (!req) return Status::error(where + ": " + req.message());
    LiveJob j;
    try {
      j.id = id;
      j.request = std::move(*req);
      j.script = d.at("script");
      j.script_args = d.at("script_args").get<std::vector<std::string>>();
      j.env = d.at("env").get<std::vector<std::string>>();
      j.work_dir = d.at("work_dir");
      j.user = d.at("user");
      j.uid = d.at("uid");
      j.array_job_id = d.at("array_job_id");
      j.array_task = d.at("array_task");
      j.array_throttle = d.at("array_throttle");
      j.submit_ms = d.at("submit_ms");
      j.state = d.at("state");
      j.reason = d.at("reason");
      j.start_ms = d.at("start_ms");
      j.end_ms = d.at("end_ms");
      j.exit_code = d.at("exit_code");
      j.signal = d.at("signal");
      j.restarts = d.at("restarts");
      j.cancel_requested = d.at("cancel_requested");
      j.error = d.at("error");
      j.gpu_type = fleet_.catalog().find(d.at("gpu_type").get<std::string>()).value_or(0);
      for (const Json& a : d.at("allocs")) {
        auto node = fleet_.find_node(a.at("node").get<std::string>());
        if (!node)
          return Status::error(where + ": node " + a.at("node").dump() + " is not in the fleet");
        j.allocs.push_back({*node, a.at("gpu_mask"), a.at("milli")});
      }
    } catch (const Json::exception& e) {
      return Status::error(where + ": " + e.what());
    }
    if (Status s = prepare(j); !s && !is_final(j.state)) {
      // The fleet changed under a waiting job: it can never run now.
      j.state = "FAILED";
      j.reason = "BadConstraints";
      j.error = s.message();
      j.end_ms = now_ms();
      persist(j);
    }
    next_id_ = std::max(next_id_, id + 1);
    jobs_.emplace(id, std::move(j));
  }
  for (auto& [id, j] : jobs_) {
    if (j.state == "PENDING") held_.insert(id);
  }
  return Status::ok();
}

void Controller::await_executors() {
  node_live_.assign(fleet_.nodes().size(), {});
  const std::size_t expected =
      std::min<std::size_t>(static_cast<std::size_t>(world_ - 1), node_live_.size());
  std::size_t registered = 0;
  const std::int64_t give_up = now_ms() + options_.register_wait.count();
  while (registered < expected && now_ms() < give_up && !g_stop) {
    auto in = protocol::mpi_poll();
    if (!in) {
      ::usleep(1000);
      continue;
    }
    Result<protocol::Message> m = protocol::parse_message(in->text);
    const std::size_t node = static_cast<std::size_t>(in->rank - 1);
    if (!m || !std::holds_alternative<protocol::Register>(*m) || node >= node_live_.size() ||
        node_live_[node].has_executor) {
      continue;
    }
    node_live_[node] = {true, true, now_ms(), "", std::get<protocol::Register>(std::move(*m))};
    ++registered;
  }
  // Executors beyond the fleet have nothing to do.
  for (int r = static_cast<int>(node_live_.size()) + 1; r < world_; ++r) {
    send(r, protocol::to_json(protocol::Shutdown{}));
  }
  const Seconds now(now_ms() / 1000);
  for (std::uint32_t n = 0; n < node_live_.size(); ++n) {
    if (!node_live_[n].up) {
      node_live_[n].reason = node_live_[n].has_executor ? "Not responding" : "No executor";
      (void)scheduler_->node_down(n, now);
    }
  }
  // Reconcile: the executors started afresh with this controller (under
  // mpirun they cannot outlive it), so a job the store says is running has
  // vanished. A copy that might still run is told to stop.
  for (auto& [id, j] : jobs_) {
    if (j.state != "RUNNING") continue;
    if (!j.allocs.empty())
      send(rank_of(j.allocs.front().node), protocol::to_json(protocol::Cancel{id}));
    node_failed(j);
  }
}

// Fills the fields that are derived from the stored submission.
Status Controller::prepare(LiveJob& j) const {
  Result<PlacementRequest> shape = resolve_placement(j.request, fleet_.catalog());
  if (!shape) return shape.status();
  j.shape = *shape;
  Result<std::vector<Dependency>> deps = parse_dependency(j.request.dependency);
  if (!deps) return deps.status();
  j.deps = std::move(*deps);
  return Status::ok();
}

void Controller::serve_clients(int timeout_ms) {
  std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
  for (const auto& [fd, c] : clients_) {
    fds.push_back({fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
  }
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  if (fds[0].revents & POLLIN) accept_clients();
  for (std::size_t i = 1; i < fds.size(); ++i) {
    auto it = clients_.find(fds[i].fd);
    if (it == clients_.end()) continue;
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_client(it->second);
  }
}

void Controller::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      ::close(fd);
      continue;
    }
    clients_[fd] = Client{.fd = fd, .uid = cred.uid};
  }
}

void Controller::read_client(Client& c) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      c.reader.append(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) c.closing = true;
    break;
  }
  for (;;) {
    Result<std::optional<Json>> frame = c.reader.next();
    if (!frame) {
      // The stream cannot be resynchronised: answer once and hang up.
      c.out += protocol::encode_frame({{"ok", false}, {"error", frame.message()}});
      c.closing = true;
      break;
    }
    if (!*frame) break;
    Json answer;
    try {
      answer = handle(**frame, c);
    } catch (const Json::exception& e) {
      answer = {{"ok", false}, {"error", std::string("malformed message: ") + e.what()}};
    }
    c.out += protocol::encode_frame(answer);
  }
}

Json Controller::handle(const Json& r, const Client& c) {
  const std::string op = r.value("op", std::string());
  if (op == "submit") return submit(r, c);
  if (op == "cancel") return cancel(r, c);
  if (op == "nodes") return nodes();
  if (op == "meter") return meter(r);
  if (op == "queue" || op == "acct") {
    const bool all = op == "acct";
    Json jobs = Json::array();
    for (const auto& [id, j] : jobs_) {
      if (all || !is_final(j.state)) jobs.push_back(view(j));
    }
    return {{"ok", true}, {"jobs", std::move(jobs)}};
  }
  if (op == "job") {
    const std::uint64_t id = r.at("job_id").get<std::uint64_t>();
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return {{"ok", false}, {"error", "Invalid job id specified"}};
    return {{"ok", true}, {"job", view(it->second)}};
  }
  if (op == "shutdown") {
    if (c.uid != 0 && c.uid != controller_uid_) {
      return {{"ok", false}, {"error", "Access/permission denied"}};
    }
    stop_ = true;
    return {{"ok", true}};
  }
  if (op == "ping") return {{"ok", true}, {"jobs", jobs_.size()}, {"pid", ::getpid()}};
  return {{"ok", false}, {"error", "malformed message: unknown op \"" + op + "\""}};
}

Json Controller::submit(const Json& r, const Client& c) {
  const auto refuse = [](const std::string& why) {
    return Json{{"ok", false}, {"error", "Batch job submission failed: " + why}};
  };
  Result<JobRequest> req = protocol::request_from_json(r.value("request", Json::object()));
  if (!req) return refuse(req.message());
  LiveJob j;
  j.request = std::move(*req);
  j.script = r.at("script").get<std::string>();
  j.script_args = r.value("script_args", std::vector<std::string>{});
  j.env = r.value("env", std::vector<std::string>{});
  j.work_dir = r.at("work_dir").get<std::string>();
  j.uid = c.uid;
  j.user = user_name(c.uid);
  j.submit_ms = now_ms();
  if (j.script.rfind("#!", 0) != 0) {
    return refuse("This does not look like a batch script. The first line must start with #!");
  }
  if (j.work_dir.empty() || j.work_dir.front() != '/')
    return refuse("the submit directory must be absolute");
  if (!j.request.partition.empty() && j.request.partition != kPartition) {
    return refuse("invalid partition name specified (the only one is \"" + std::string(kPartition) +
                  "\")");
  }
  if (Status s = prepare(j); !s) return refuse(s.message());
  if (!feasibility_->choose(*empty_, j.shape)) {
    return refuse("Requested node configuration is not available (no node of fleet \"" +
                  fleet_.name() + "\" could ever run this request)");
  }
  if (!j.request.signal.empty()) {
    if (Result<std::pair<int, std::int64_t>> sig = parse_signal(j.request.signal); !sig) {
      return refuse(sig.message());
    }
  }
  for (const Dependency& d : j.deps) {
    for (std::uint64_t id : d.ids) {
      if (!jobs_.count(id))
        return refuse("Job dependency problem (no job " + std::to_string(id) + ")");
    }
  }
  std::vector<std::uint32_t> tasks;
  if (!j.request.array.empty()) {
    Result<ArraySpec> a = parse_array(j.request.array);
    if (!a) return refuse(a.message());
    tasks = a->tasks;
    j.array_throttle = a->throttle;
  }
  const std::uint64_t first = next_id_;
  tx();
  if (tasks.empty()) {
    j.id = next_id_++;
    persist(j);
    held_.insert(j.id);
    jobs_.emplace(j.id, std::move(j));
  } else {
    for (std::uint32_t t : tasks) {
      LiveJob task = j;
      task.id = next_id_++;
      task.array_job_id = first;
      task.array_task = t;
      persist(task);
      held_.insert(task.id);
      jobs_.emplace(task.id, std::move(task));
    }
  }
  if (Status s = store_->set_next_job_id(next_id_); !s) stop_ = true;
  dirty_ = true;
  return {{"ok", true}, {"job_id", first}};
}

Json Controller::cancel(const Json& r, const Client& c) {
  const std::vector<std::string> ids = r.value("job_ids", std::vector<std::string>{});
  const std::string user = r.value("user", std::string());
  const std::string name = r.value("name", std::string());
  std::vector<LiveJob*> hit;
  for (const std::string& text : ids) {
    // "N" (a job, or every task of array N) or "N_T" (one task).
    const std::size_t us = text.find('_');
    const std::string head = text.substr(0, us);
    if (head.empty() || head.size() > 19 ||
        head.find_first_not_of("0123456789") != std::string::npos) {
      return {{"ok", false}, {"error", "Invalid job id specified: " + text}};
    }
    const std::uint64_t id = std::stoull(head);
    bool any = false;
    for (auto& [jid, j] : jobs_) {
      const bool match =
          us == std::string::npos
              ? (jid == id || j.array_job_id == id)
              : (j.array_job_id == id && text.substr(us + 1) == std::to_string(j.array_task));
      if (match) {
        any = true;
        hit.push_back(&j);
      }
    }
    if (!any) return {{"ok", false}, {"error", "Invalid job id specified: " + text}};
  }
  if (ids.empty()) {
    if (user.empty() && name.empty())
      return {{"ok", false}, {"error", "no job id, --user or --name given"}};
    for (auto& [jid, j] : jobs_) hit.push_back(&j);
  }
  std::uint32_t cancelled = 0;
  for (LiveJob* j : hit) {
    if (is_final(j->state) || (!user.empty() && j->user != user) ||
        (!name.empty() && j->request.job_name != name)) {
      continue;
    }
    if (c.uid != 0 && c.uid != j->uid) {
      return {{"ok", false}, {"error", "Access/permission denied for job " + job_name_of(*j)}};
    }
    ++cancelled;
    j->cancel_requested = true;
    if (j->state == "RUNNING") {
      // The state changes when the executor reports the end.
      persist(*j);
      send(rank_of(j->allocs.front().node), protocol::to_json(protocol::Cancel{j->id}));
    } else {
      // Out of the Scheduler's queue at once, so that it holds no backfill
      // reservation and delays no one.
      if (j->queued) scheduler_->withdraw(j->id);
      held_.erase(j->id);
      finish(*j, "CANCELLED", Fault::kUser);
    }
  }
  return {{"ok", true}, {"cancelled", cancelled}};
}

Json Controller::nodes() const {
  Json out = Json::array();
  const FleetState& st = scheduler_->state();
  for (std::uint32_t n = 0; n < fleet_.nodes().size(); ++n) {
    const Node& node = fleet_.node_at(n);
    const unsigned free = st.free_gpus(n);
    std::string state = "idle";
    if (!node_live_[n].up) {
      state = "down";
    } else if (free == 0) {
      state = "alloc";
    } else if (free < node.gpu_count) {
      state = "mix";
    }
    Json row = {{"name", fleet_.node_name(n)},
                {"state", state},
                {"reason", node_live_[n].reason},
                {"gpu_type", fleet_.catalog().at(node.gpu_type).name},
                {"gpus", node.gpu_count},
                {"gpus_alloc", node_live_[n].up ? node.gpu_count - free : 0},
                {"provider", fleet_.providers()[node.provider]},
                {"cores", node_live_[n].inventory.cores},
                {"cpus", node_live_[n].inventory.cpus},
                {"memory_mb", node_live_[n].inventory.memory_bytes >> 20},
                {"gpus_found", node_live_[n].inventory.gpus},
                {"gpu_source", node_live_[n].inventory.gpu_source}};
    if (Json probe = probe_of(node_live_[n].inventory); !probe.is_null()) row["probe"] = probe;
    out.push_back(std::move(row));
  }
  return {{"ok", true}, {"partition", kPartition}, {"nodes", std::move(out)}};
}

Json Controller::meter(const Json& r) {
  Result<std::vector<MeterRecord>> recs =
      store_->usage_between(r.at("from").get<std::int64_t>(), r.at("to").get<std::int64_t>());
  if (!recs) return {{"ok", false}, {"error", recs.message()}};
  Json lines = Json::array();
  for (const MeterRecord& m : *recs) lines.push_back(to_json_line(m));
  return {{"ok", true}, {"records", std::move(lines)}};
}

int Controller::dependency_state(const LiveJob& j) const {
  int result = 1;
  for (const Dependency& d : j.deps) {
    if (d.kind == "singleton") {
      for (const auto& [id, o] : jobs_) {
        if (id >= j.id) break;
        if (!is_final(o.state) && o.user == j.user && o.request.job_name == j.request.job_name)
          result = std::min(result, 0);
      }
      continue;
    }
    for (std::uint64_t target : d.ids) {
      // An array id stands for all its tasks.
      for (const auto& [id, o] : jobs_) {
        if (id != target && o.array_job_id != target) continue;
        if (!is_final(o.state)) {
          result = std::min(result, 0);
        } else if ((d.kind == "afterok" && o.state != "COMPLETED") ||
                   (d.kind == "afternotok" && o.state == "COMPLETED")) {
          return -1;
        }
      }
    }
  }
  return result;
}

void Controller::enqueue(LiveJob& j) {
  const Seconds limit = j.request.time_limit && !j.request.time_unlimited ? *j.request.time_limit
                                                                          : kUnlimitedEstimate;
  scheduler_->submit(QueuedJob{.id = j.id,
                               .shape = j.shape,
                               .submit = Seconds(j.submit_ms / 1000),
                               .estimate = limit,
                               .switches_wait = j.request.switches_wait},
                     Seconds(now_ms() / 1000));
  j.queued = true;
  if (j.array_job_id) ++array_active_[j.array_job_id];
  dirty_ = true;
}

void Controller::release_eligible() {
  for (auto it = held_.begin(); it != held_.end();) {
    LiveJob& j = jobs_.at(*it);
    const int deps = dependency_state(j);
    const bool throttled =
        j.array_throttle != 0 && array_active_[j.array_job_id] >= j.array_throttle;
    std::string reason = deps == -1  ? "DependencyNeverSatisfied"
                         : deps == 0 ? "Dependency"
                         : throttled ? "JobArrayTaskLimit"
                                     : "";
    if (reason.empty()) {
      j.reason = "Priority";
      enqueue(j);
      it = held_.erase(it);
      continue;
    }
    j.reason = std::move(reason);
    ++it;
  }
}

void Controller::schedule() {
  while (dirty_) {
    dirty_ = false;
    const std::int64_t now = now_ms();
    for (const Start& s : scheduler_->schedule(Seconds(now / 1000))) start(jobs_.at(s.id), s);
  }
}

void Controller::start(LiveJob& j, const Start& s) {
  j.state = "RUNNING";
  j.reason = "None";
  j.start_ms = now_ms();
  j.gpu_type = s.placement.gpu_type;
  j.allocs.clear();
  for (const NodeAlloc& a : s.placement.allocs) j.allocs.push_back({a.node, a.gpu_mask, a.milli});
  persist(j);
  send(rank_of(j.allocs.front().node), protocol::to_json(launch_of(j)));
  for (const Alloc& a : j.allocs) {
    if (&a != &j.allocs.front() && a.milli == 1000) {
      send(rank_of(a.node), protocol::to_json(protocol::MeterStart{j.id, j.restarts, gpus_of(a)}));
    }
  }
}

std::string Controller::expand_pattern(const std::string& pattern, const LiveJob& j) const {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char c = pattern[++i];
    switch (c) {
      case 'j':
        out += std::to_string(j.id);
        break;
      case 'x':
        out += j.request.job_name;
        break;
      case 'A':
        out += std::to_string(j.array_job_id ? j.array_job_id : j.id);
        break;
      case 'a':
        out += j.array_job_id ? std::to_string(j.array_task) : std::string("4294967294");
        break;
      case 'N':
        out += j.allocs.empty() ? std::string() : fleet_.node_name(j.allocs.front().node);
        break;
      case 'u':
        out += j.user;
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += c;
    }
  }
  if (out.empty() || out.front() != '/') out = j.work_dir + "/" + out;
  return out;
}

protocol::Launch Controller::launch_of(const LiveJob& j) const {
  protocol::Launch l;
  const Alloc& first = j.allocs.front();
  const std::string first_name = fleet_.node_name(first.node);
  l.job_id = j.id;
  l.run = j.restarts;
  l.script = j.script;
  l.spool_dir = options_.state_dir + "/spool/" + first_name;
  l.args = j.script_args;
  l.work_dir = j.work_dir;
  std::vector<std::string> names;
  std::uint32_t gpus = 0;
  for (const Alloc& a : j.allocs) {
    names.push_back(fleet_.node_name(a.node));
    gpus += static_cast<std::uint32_t>(std::popcount(a.gpu_mask));
    if (j.allocs.size() > 1) {
      l.hostfile += names.back() + " slots=" + std::to_string(std::popcount(a.gpu_mask)) + "\n";
    }
  }
  l.gpus = gpus_of(first);
  const std::string devices = devices_of(first);
  const std::string nodelist = compress_hostlist(names);
  for (const std::string& e : j.env) {
    if (e.rfind("SLURM_", 0) != 0 && e.rfind("CUDA_VISIBLE_DEVICES=", 0) != 0 &&
        e.rfind("FLOTILLA_HOSTFILE=", 0) != 0) {
      l.env.push_back(e);
    }
  }
  const std::uint32_t ntasks =
      j.request.ntasks.value_or(static_cast<std::uint32_t>(j.allocs.size()));
  const std::map<std::string, std::string> slurm{
      {"SLURM_JOB_ID", std::to_string(j.id)},
      {"SLURM_JOBID", std::to_string(j.id)},
      {"SLURM_JOB_NAME", j.request.job_name},
      {"SLURM_JOB_USER", j.user},
      {"SLURM_JOB_PARTITION", kPartition},
      {"SLURM_JOB_NODELIST", nodelist},
      {"SLURM_NODELIST", nodelist},
      {"SLURM_JOB_NUM_NODES", std::to_string(j.allocs.size())},
      {"SLURM_NNODES", std::to_string(j.allocs.size())},
      {"SLURM_NTASKS", std::to_string(ntasks)},
      {"SLURM_NPROCS", std::to_string(ntasks)},
      {"SLURM_CPUS_PER_TASK", std::to_string(j.request.cpus_per_task.value_or(1))},
      {"SLURM_JOB_GPUS", devices},
      {"SLURM_GPUS_ON_NODE", std::to_string(std::popcount(first.gpu_mask))},
      {"SLURM_GPUS", std::to_string(gpus)},
      {"SLURM_SUBMIT_DIR", j.work_dir},
      {"SLURM_NODEID", "0"},
      {"SLURM_PROCID", "0"},
      {"SLURMD_NODENAME", first_name},
      {"SLURM_RESTART_COUNT", std::to_string(j.restarts)},
      {"CUDA_VISIBLE_DEVICES", devices},
  };
  for (const auto& [k, v] : slurm) l.env.push_back(k + "=" + v);
  // Open MPI takes the SLURM_* variables for a Slurm allocation and would
  // start its daemons with srun, which no flotilla node has: `mpirun
  // --hostfile $FLOTILLA_HOSTFILE` (ssh) is the way, unless the user chose.
  for (const char* mca : {"OMPI_MCA_plm", "OMPI_MCA_ras"}) {
    const std::string prefix = std::string(mca) + "=";
    if (std::none_of(j.env.begin(), j.env.end(),
                     [&](const std::string& e) { return e.rfind(prefix, 0) == 0; })) {
      l.env.push_back(prefix + "^slurm");
    }
  }
  if (j.array_job_id) {
    l.env.push_back("SLURM_ARRAY_JOB_ID=" + std::to_string(j.array_job_id));
    l.env.push_back("SLURM_ARRAY_TASK_ID=" + std::to_string(j.array_task));
  }
  if (!l.hostfile.empty())
    l.env.push_back("FLOTILLA_HOSTFILE=" + l.spool_dir + "/job" + std::to_string(j.id) + ".hosts");
  const std::string out_pattern = !j.request.output.empty()
                                      ? j.request.output
                                      : (j.array_job_id ? "slurm-%A_%a.out" : "slurm-%j.out");
  l.stdout_path = expand_pattern(out_pattern, j);
  l.stderr_path = j.request.error.empty() ? l.stdout_path : expand_pattern(j.request.error, j);
  l.append = j.request.open_mode == "append";
  if (j.request.time_limit && !j.request.time_unlimited) {
    l.time_limit_ms = j.request.time_limit->count() * options_.limit_minute.count() / 60;
  }
  l.kill_wait_ms = options_.kill_wait.count();
  if (!j.request.signal.empty()) {
    if (Result<std::pair<int, std::int64_t>> sig = parse_signal(j.request.signal)) {
      l.warn_signal = sig->first;
      l.warn_before_ms = sig->second * options_.limit_minute.count() / 60;
    }
  }
  return l;
}

void Controller::finish(LiveJob& j, const std::string& state, Fault fault,
                        std::optional<std::uint64_t> energy_j) {
  const std::int64_t now = now_ms();
  const bool ran = j.state == "RUNNING";
  if (j.queued) {
    if (j.array_job_id) --array_active_[j.array_job_id];
    j.queued = state == "PENDING";  // a requeued job is handed over again below
  }
  if (ran) {
    scheduler_->end(j.id, Seconds(now / 1000));
    const JobEndState outcome = *find_end_state(state == "PENDING" ? "node_fail" : [&] {
      std::string s = state;
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char ch) { return std::tolower(ch); });
      return s;
    }());
    const std::int64_t start_s = j.start_ms / 1000, end_s = (now + 999) / 1000;
    const std::uint64_t secs = static_cast<std::uint64_t>((now - j.start_ms + 500) / 1000);
    tx();
    for (const Alloc& a : j.allocs) {
      const Node& node = fleet_.node_at(a.node);
      const auto g = static_cast<std::uint32_t>(std::popcount(a.gpu_mask));
      MeterRecord m{.job_id = job_name_of(j),
                    .provider = fleet_.providers()[node.provider],
                    .node = fleet_.node_name(a.node),
                    .gpu_type = fleet_.catalog().at(j.gpu_type).name,
                    .gpus = g,
                    .start = start_s,
                    .end = end_s,
                    .gpu_seconds = g * secs * a.milli / 1000,
                    .outcome = outcome,
                    .fault = fault,
                    .run = j.restarts};
      // The first node's figure comes with the script's exit; the other
      // nodes report theirs when told the run ended (MeterReport), a node
      // that is down never. A shared GPU's counter also counts its other jobs.
      if (a.milli == 1000) {
        if (&a == &j.allocs.front()) {
          m.energy_j = energy_j;
        } else if (node_live_[a.node].up) {
          send(rank_of(a.node), protocol::to_json(protocol::MeterEnd{j.id, j.restarts}));
        }
      }
      if (Status s = store_->add_usage(m); !s) stop_ = true;
    }
  }
  if (state == "PENDING") {
    // --requeue: back in the queue as the same job, as Slurm does.
    ++j.restarts;
    j.state = "PENDING";
    j.reason = "BeginTime";
    j.allocs.clear();
    j.start_ms = 0;
    persist(j);
    enqueue(j);
    return;
  }
  j.state = state;
  j.end_ms = now;
  if (!ran) j.start_ms = j.start_ms ? j.start_ms : now;
  persist(j);
  dirty_ = true;
}

void Controller::node_failed(LiveJob& j) {
  // Slurm's NODE_FAIL; --requeue puts it back in the queue.
  if (j.request.requeue && !j.cancel_requested) {
    finish(j, "PENDING", Fault::kProvider);
  } else {
    finish(j, "NODE_FAIL", Fault::kProvider);
  }
}

void Controller::node_down(std::uint32_t node, const std::string& reason) {
  NodeLive& n = node_live_[node];
  if (!n.up) return;
  n.up = false;
  n.reason = reason;
  // What it was still to be told is moot: its jobs end here, and copies it
  // may still run are cancelled when it speaks again (handle_executor).
  const int rank = rank_of(node);
  std::erase_if(unsent_, [&](const auto& m) { return m.first == rank; });
  mpi_.cancel(rank);
  n.lost = scheduler_->node_down(node, Seconds(now_ms() / 1000));
  for (JobId id : n.lost) {
    LiveJob& j = jobs_.at(id);
    // The other nodes of a multi-node job stop too.
    if (j.allocs.front().node != node)
      send(rank_of(j.allocs.front().node), protocol::to_json(protocol::Cancel{id}));
    node_failed(j);
  }
  dirty_ = true;
}

void Controller::handle_executor(const protocol::Received& in) {
  const std::size_t node = static_cast<std::size_t>(in.rank - 1);
  if (node >= node_live_.size()) return;
  NodeLive& live = node_live_[node];
  live.last_seen_ms = now_ms();
  Result<protocol::Message> m = protocol::parse_message(in.text);
  if (!m) return;
  if (!live.up && live.has_executor) {
    // Back after being marked down: anything it still runs was requeued or
    // failed. Cancelled now rather than at its next heartbeat: a launch sent
    // before the mark-down may reach it only now, and this cancel, sent
    // after it, is read after it (and before the Resume that a stalled
    // executor waits for before it starts what it read).
    live.up = true;
    live.reason.clear();
    for (std::uint64_t id : live.lost) send(in.rank, protocol::to_json(protocol::Cancel{id}));
    live.lost.clear();
    scheduler_->node_up(static_cast<std::uint32_t>(node));
    dirty_ = true;
  }
  if (const auto* s = std::get_if<protocol::Stalled>(&*m)) {
    send(in.rank, protocol::to_json(protocol::Resume{s->stall}));
    return;
  }
  if (const auto* hb = std::get_if<protocol::Heartbeat>(&*m)) {
    for (std::uint64_t id : hb->running) {
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.state != "RUNNING" ||
          it->second.allocs.front().node != node) {
        send(in.rank, protocol::to_json(protocol::Cancel{id}));
      }
    }
    return;
  }
  if (const auto* r = std::get_if<protocol::MeterReport>(&*m)) {
    // Fills the record of that run on this node, written when the run ended.
    auto it = jobs_.find(r->job_id);
    if (it == jobs_.end()) return;
    tx();
    if (Status s = store_->set_energy(job_name_of(it->second),
                                      fleet_.node_name(static_cast<std::uint32_t>(node)), r->run,
                                      r->energy_j);
        !s) {
      stop_ = true;
    }
    return;
  }
  const auto* e = std::get_if<protocol::JobExit>(&*m);
  if (!e) return;
  auto it = jobs_.find(e->job_id);
  // A stale copy's exit (an earlier run, left running while this node was
  // down) ends nothing, even when the job runs here again.
  if (it == jobs_.end() || it->second.state != "RUNNING" ||
      it->second.allocs.front().node != node || it->second.restarts != e->run)
    return;
  LiveJob& j = it->second;
  j.exit_code = e->exit_code;
  j.signal = e->signal;
  j.error = e->error;
  std::string state = "COMPLETED";
  if (!e->error.empty()) {
    state = "FAILED";
  } else if (e->cancelled || j.cancel_requested) {
    state = "CANCELLED";
  } else if (e->timed_out) {
    state = "TIMEOUT";
  } else if (e->signal != 0 || e->exit_code != 0) {
    state = "FAILED";
  }
  // The GPUs used their energy however the job ended.
  finish(j, state, state == "COMPLETED" ? Fault::kNone : Fault::kUser, e->energy_j);
}

void Controller::check_heartbeats() {
  const std::int64_t now = now_ms();
  for (std::uint32_t n = 0; n < node_live_.size(); ++n) {
    const NodeLive& live = node_live_[n];
    if (live.up && now - live.last_seen_ms > options_.heartbeat_timeout.count()) {
      node_down(n, "Not responding");
    }
  }
}

void Controller::flush() {
  if (in_tx_) {
    in_tx_ = false;
    if (Status s = store_->commit(); !s) {
      // Nothing that was not written may be acknowledged.
      stop_ = true;
      return;
    }
  }
  for (auto& [rank, message] : unsent_) (void)mpi_.post(rank, message);
  unsent_.clear();
  mpi_.progress();
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& c = it->second;
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c.closing = true;
        c.out.clear();
        break;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    if (c.closing && c.out.empty()) {
      ::close(c.fd);
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

Json Controller::view(const LiveJob& j) const {
  const std::int64_t now = now_ms();
  const std::int64_t end = j.state == "RUNNING" ? now : j.end_ms;
  const std::int64_t elapsed = j.start_ms && end > j.start_ms ? (end - j.start_ms) / 1000 : 0;
  std::vector<std::string> names;
  Json per_node = Json::array();
  std::uint32_t gpus = 0;
  for (const Alloc& a : j.allocs) {
    names.push_back(fleet_.node_name(a.node));
    gpus += static_cast<std::uint32_t>(std::popcount(a.gpu_mask));
    per_node.push_back(
        {{"node", names.back()}, {"cuda_visible_devices", devices_of(a)}, {"milli", a.milli}});
  }
  const std::uint32_t nodes = j.allocs.empty() ? std::max<std::uint32_t>(1, j.shape.nodes)
                                               : static_cast<std::uint32_t>(j.allocs.size());
  Json v = {
      {"job_id", job_name_of(j)},
      {"id", j.id},
      {"array_job_id", j.array_job_id ? Json(j.array_job_id) : Json(nullptr)},
      {"array_task_id", j.array_job_id ? Json(j.array_task) : Json(nullptr)},
      {"name", j.request.job_name},
      {"user", j.user},
      {"partition", kPartition},
      {"account", j.request.account},
      {"state", j.state},
      {"reason", j.reason},
      {"submit_ms", j.submit_ms},
      {"start_ms", j.start_ms},
      {"end_ms", j.end_ms},
      {"submit", j.submit_ms / 1000},
      {"start", j.start_ms / 1000},
      {"end", j.end_ms / 1000},
      {"elapsed_s", elapsed},
      {"time_limit_s", j.request.time_limit && !j.request.time_unlimited
                           ? Json(j.request.time_limit->count())
                           : Json(nullptr)},
      {"nodes", nodes},
      {"nodelist", compress_hostlist(names)},
      {"gpus", j.allocs.empty() ? j.shape.total_gpus : gpus},
      {"gpu_type", j.allocs.empty() ? Json(nullptr) : Json(fleet_.catalog().at(j.gpu_type).name)},
      {"gpu_seconds", gpus * elapsed},
      {"allocation", std::move(per_node)},
      {"exit_code", std::to_string(j.exit_code) + ":" + std::to_string(j.signal)},
      {"restarts", j.restarts},
      {"requeue", j.request.requeue},
      {"dependency", j.request.dependency},
      {"work_dir", j.work_dir},
      {"error", j.error}};
  return v;
}

}  // namespace

Status run_controller(const CtldOptions& options) {
  Result<Fleet> fleet = load_fleet_file(options.fleet_path);
  if (!fleet) return fleet.status();
  CtldOptions o = options;
  if (o.socket_path.empty()) o.socket_path = o.state_dir + "/ctld.sock";
  Controller c(std::move(o), std::move(*fleet));
  return c.run();
}

}  // namespace flotilla
