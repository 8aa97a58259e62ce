// Frames, socket helpers and MPI messages of the live system (see protocol.h).
#include "scheduler/protocol.h"

#include <mpi.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace flotilla::protocol {

std::string encode_frame(const Json& message) {
  const std::string text = message.dump();
  const auto n = static_cast<std::uint32_t>(text.size());
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return out + text;
}

Result<std::optional<Json>> FrameReader::next() {
  const std::size_t have = buffer_.size() - offset_;
  if (have < 4) return std::optional<Json>();
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n = (n << 8) | static_cast<unsigned char>(buffer_[offset_ + static_cast<std::size_t>(i)]);
  }
  if (n > kMaxFrameBytes)
    return Status::error("malformed message: frame of " + std::to_string(n) + " bytes");
  if (have < 4 + std::size_t{n}) return std::optional<Json>();
  const std::string_view text(buffer_.data() + offset_ + 4, n);
  offset_ += 4 + std::size_t{n};
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > (1u << 20)) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::error("malformed message: not a JSON object");
  }
  return std::optional<Json>(std::move(j));
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::error(std::string("write to controller: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::ok();
}

Result<Json> read_frame(int fd, FrameReader& reader) {
  char buf[65536];
  for (;;) {
    Result<std::optional<Json>> f = reader.next();
    if (!f) return f.status();
    if (*f) return std::move(**f);
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(std::string("read from controller: ") + std::strerror(errno));
    if (n == 0) return Status::error("the controller closed the connection");
    reader.append(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

Result<int> connect_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Status::error("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return Status::error("cannot reach the controller at " + path + ": " + std::strerror(e));
  }
  return fd;
}

Result<Json> call(const std::string& socket_path, const Json& request) {
  Result<int> fd = connect_socket(socket_path);
  if (!fd) return fd.status();
  FrameReader reader;
  Result<Json> answer = Status::error("");
  if (Status s = write_all(*fd, encode_frame(request)); !s) {
    answer = s;
  } else {
    answer = read_frame(*fd, reader);
  }
  ::close(*fd);
  if (answer && !answer->value("ok", false)) {
    return Status::error(answer->value("error", std::string("the controller refused the request")));
  }
  return answer;
}

Result<std::string> socket_path(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return *flag;
  if (const char* env = std::getenv("FLOTILLA_SOCKET"); env && *env) return std::string(env);
  return Status::error("no controller socket: give --socket PATH or set FLOTILLA_SOCKET");
}

namespace {

template <class T>
void put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

// Reads optional fields; the first wrong type is remembered as the error.
struct Reader {
  const Json& j;
  std::string error;
  template <class T>
  void get(const char* key, std::optional<T>& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (!it->is_number_integer() || (std::is_unsigned_v<T> && it->get<std::int64_t>() < 0)) {
        fail(key);
        return;
      }
    }
    try {
      out = it->get<T>();
    } catch (const Json::exception&) {
      fail(key);
    }
  }
  template <class T>
  void get(const char* key, T& out) {
    std::optional<T> v;
    get(key, v);
    if (v) out = std::move(*v);
  }
  void fail(const char* key) {
    if (error.empty()) error = std::string("malformed message: bad field \"") + key + "\"";
  }
};

}  // namespace

Json request_to_json(const JobRequest& r) {
  Json j = Json::object();
  put(j, "job_name", r.job_name);
  put(j, "nodes_min", r.nodes_min);
  put(j, "nodes_max", r.nodes_max);
  put(j, "ntasks", r.ntasks);
  put(j, "ntasks_per_node", r.ntasks_per_node);
  put(j, "cpus_per_task", r.cpus_per_task);
  put(j, "gpus", r.gpus);
  put(j, "gpus_per_node", r.gpus_per_node);
  put(j, "gpus_per_task", r.gpus_per_task);
  if (!r.gpu_types.empty()) j["gpu_types"] = r.gpu_types;
  if (r.gpu_milli != 1000) j["gpu_milli"] = r.gpu_milli;
  put(j, "min_gpu_mem_gb", r.min_gpu_mem_gb);
  put(j, "mem_mb", r.mem_mb);
  if (r.time_limit) j["time_limit_s"] = r.time_limit->count();
  if (r.time_unlimited) j["time_unlimited"] = true;
  put(j, "partition", r.partition);
  put(j, "account", r.account);
  put(j, "qos", r.qos);
  put(j, "constraint", r.constraint);
  put(j, "dependency", r.dependency);
  put(j, "array", r.array);
  put(j, "output", r.output);
  put(j, "error", r.error);
  put(j, "open_mode", r.open_mode);
  put(j, "signal", r.signal);
  if (r.exclusive) j["exclusive"] = true;
  if (r.requeue) j["requeue"] = true;
  put(j, "switches", r.switches);
  if (r.switches_wait) j["switches_wait_s"] = r.switches_wait->count();
  return j;
}

Result<JobRequest> request_from_json(const Json& j) {
  if (!j.is_object()) return Status::error("malformed message: \"request\" is not an object");
  JobRequest r;
  Reader in{j, {}};
  in.get("job_name", r.job_name);
  in.get("nodes_min", r.nodes_min);
  in.get("nodes_max", r.nodes_max);
  in.get("ntasks", r.ntasks);
  in.get("ntasks_per_node", r.ntasks_per_node);
  in.get("cpus_per_task", r.cpus_per_task);
  in.get("gpus", r.gpus);
  in.get("gpus_per_node", r.gpus_per_node);
  in.get("gpus_per_task", r.gpus_per_task);
  in.get("gpu_types", r.gpu_types);
  in.get("gpu_milli", r.gpu_milli);
  in.get("min_gpu_mem_gb", r.min_gpu_mem_gb);
  in.get("mem_mb", r.mem_mb);
  std::optional<std::int64_t> limit, wait;
  in.get("time_limit_s", limit);
  if (limit) r.time_limit = Seconds(*limit);
  in.get("time_unlimited", r.time_unlimited);
  in.get("partition", r.partition);
  in.get("account", r.account);
  in.get("qos", r.qos);
  in.get("constraint", r.constraint);
  in.get("dependency", r.dependency);
  in.get("array", r.array);
  in.get("output", r.output);
  in.get("error", r.error);
  in.get("open_mode", r.open_mode);
  in.get("signal", r.signal);
  in.get("exclusive", r.exclusive);
  in.get("requeue", r.requeue);
  in.get("switches", r.switches);
  in.get("switches_wait_s", wait);
  if (wait) r.switches_wait = Seconds(*wait);
  if (!in.error.empty()) return Status::error(in.error);
  return r;
}

void to_json(Json& j, const ProbeGpuSummary& g) {
  j = {{"name", g.name}, {"bf16_tflops", g.bf16_tflops}, {"device_copy_gbps", g.device_copy_gbps}};
  put(j, "class", g.throughput_class);
}
void from_json(const Json& j, ProbeGpuSummary& g) {
  j.at("name").get_to(g.name);
  j.at("bf16_tflops").get_to(g.bf16_tflops);
  j.at("device_copy_gbps").get_to(g.device_copy_gbps);
  g.throughput_class = j.value("class", std::string());
}

Json to_json(const Register& m) {
  Json j = {{"type", "register"},   {"hostname", m.hostname},
            {"running", m.running}, {"cores", m.cores},
            {"cpus", m.cpus},       {"memory_bytes", m.memory_bytes},
            {"gpus", m.gpus},       {"gpu_source", m.gpu_source}};
  if (!m.probe_gpus.empty()) j["probe_gpus"] = m.probe_gpus;
  put(j, "probe_source", m.probe_source);
  put(j, "probe_error", m.probe_error);
  return j;
}
Json to_json(const Heartbeat& m) {
  return {{"type", "heartbeat"}, {"running", m.running}};
}
Json to_json(const Launch& m) {
  return {{"type", "launch"},
          {"job_id", m.job_id},
          {"run", m.run},
          {"script", m.script},
          {"spool_dir", m.spool_dir},
          {"hostfile", m.hostfile},
          {"args", m.args},
          {"work_dir", m.work_dir},
          {"env", m.env},
          {"gpus", m.gpus},
          {"stdout", m.stdout_path},
          {"stderr", m.stderr_path},
          {"append", m.append},
          {"time_limit_ms", m.time_limit_ms},
          {"kill_wait_ms", m.kill_wait_ms},
          {"warn_signal", m.warn_signal},
          {"warn_before_ms", m.warn_before_ms}};
}
Json to_json(const Cancel& m) {
  return {{"type", "cancel"}, {"job_id", m.job_id}};
}
Json to_json(const JobExit& m) {
  Json j = {{"type", "exit"},           {"job_id", m.job_id}, {"run", m.run},
            {"exit_code", m.exit_code}, {"signal", m.signal}, {"timed_out", m.timed_out},
            {"cancelled", m.cancelled}, {"error", m.error}};
  if (m.energy_j) j["energy_j"] = *m.energy_j;
  return j;
}
Json to_json(const MeterStart& m) {
  return {{"type", "meter_start"}, {"job_id", m.job_id}, {"run", m.run}, {"gpus", m.gpus}};
}
Json to_json(const MeterEnd& m) {
  return {{"type", "meter_end"}, {"job_id", m.job_id}, {"run", m.run}};
}
Json to_json(const MeterReport& m) {
  return {{"type", "meter_report"}, {"job_id", m.job_id}, {"run", m.run}, {"energy_j", m.energy_j}};
}
Json to_json(const Stalled& m) {
  return {{"type", "stalled"}, {"stall", m.stall}};
}
Json to_json(const Resume& m) {
  return {{"type", "resume"}, {"stall", m.stall}};
}
Json to_json(const Shutdown&) {
  return {{"type", "shutdown"}};
}

Result<Message> parse_message(std::string_view text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::error("malformed message: not a JSON object");
  Reader in{j, {}};
  std::string type;
  in.get("type", type);
  Message out;
  if (type == "register") {
    Register m;
    in.get("hostname", m.hostname);
    in.get("running", m.running);
    in.get("cores", m.cores);
    in.get("cpus", m.cpus);
    in.get("memory_bytes", m.memory_bytes);
    in.get("gpus", m.gpus);
    in.get("gpu_source", m.gpu_source);
    in.get("probe_gpus", m.probe_gpus);
    in.get("probe_source", m.probe_source);
    in.get("probe_error", m.probe_error);
    // Measurements come from a report that was read, never alongside why none was.
    if (!m.probe_error.empty() && !m.probe_source.empty()) in.fail("probe_error");
    if (!m.probe_gpus.empty() && m.probe_source.empty()) in.fail("probe_gpus");
    for (const ProbeGpuSummary& g : m.probe_gpus) {
      if (!(g.bf16_tflops >= 0) || !(g.device_copy_gbps >= 0)) in.fail("probe_gpus");
    }
    out = std::move(m);
  } else if (type == "heartbeat") {
    Heartbeat m;
    in.get("running", m.running);
    out = std::move(m);
  } else if (type == "launch") {
    Launch m;
    in.get("job_id", m.job_id);
    in.get("run", m.run);
    in.get("script", m.script);
    in.get("spool_dir", m.spool_dir);
    in.get("hostfile", m.hostfile);
    in.get("args", m.args);
    in.get("work_dir", m.work_dir);
    in.get("env", m.env);
    in.get("gpus", m.gpus);
    in.get("stdout", m.stdout_path);
    in.get("stderr", m.stderr_path);
    in.get("append", m.append);
    in.get("time_limit_ms", m.time_limit_ms);
    in.get("kill_wait_ms", m.kill_wait_ms);
    in.get("warn_signal", m.warn_signal);
    in.get("warn_before_ms", m.warn_before_ms);
    out = std::move(m);
  } else if (type == "cancel") {
    Cancel m;
    in.get("job_id", m.job_id);
    out = m;
  } else if (type == "exit") {
    JobExit m;
    in.get("job_id", m.job_id);
    in.get("run", m.run);
    in.get("exit_code", m.exit_code);
    in.get("signal", m.signal);
    in.get("timed_out", m.timed_out);
    in.get("cancelled", m.cancelled);
    in.get("error", m.error);
    in.get("energy_j", m.energy_j);
    out = std::move(m);
  } else if (type == "meter_start") {
    MeterStart m;
    in.get("job_id", m.job_id);
    in.get("run", m.run);
    in.get("gpus", m.gpus);
    out = std::move(m);
  } else if (type == "meter_end") {
    MeterEnd m;
    in.get("job_id", m.job_id);
    in.get("run", m.run);
    out = m;
  } else if (type == "meter_report") {
    MeterReport m;
    in.get("job_id", m.job_id);
    in.get("run", m.run);
    // Only a measured figure is reported; read as 0 it would be a false one.
    if (!j.contains("energy_j")) in.fail("energy_j");
    in.get("energy_j", m.energy_j);
    out = m;
  } else if (type == "stalled") {
    Stalled m;
    in.get("stall", m.stall);
    out = m;
  } else if (type == "resume") {
    Resume m;
    in.get("stall", m.stall);
    out = m;
  } else if (type == "shutdown") {
    out = Shutdown{};
  } else {
    return Status::error("malformed message: unknown type \"" + type + "\"");
  }
  if (!in.error.empty()) return Status::error(in.error);
  return out;
}

Status mpi_send(int rank, const Json& message) {
  const std::string text = message.dump();
  if (MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, rank, kMpiTag,
               MPI_COMM_WORLD) != MPI_SUCCESS) {
    return Status::error("MPI_Send to rank " + std::to_string(rank) + " failed");
  }
  return Status::ok();
}

std::optional<Received> mpi_poll() {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, kMpiTag, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return std::nullopt;
  int count = 0;
  MPI_Get_count(&st, MPI_CHAR, &count);
  Received r{st.MPI_SOURCE, std::string(static_cast<std::size_t>(count), '\0')};
  MPI_Recv(r.text.data(), count, MPI_CHAR, st.MPI_SOURCE, kMpiTag, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return r;
}

struct MpiOutbox::Send {
  int rank = 0;
  // Behind a pointer so that its address stays put while MPI reads it and
  // sends_ grows.
  std::unique_ptr<const std::string> bytes;
  MPI_Request request = MPI_REQUEST_NULL;
  bool cancelled = false;
};

MpiOutbox::MpiOutbox() = default;

MpiOutbox::~MpiOutbox() {
  // A send still incomplete here is to a rank that stopped reading. Its
  // request is released (MPI may still complete it in the background), so
  // its bytes are left for the process's exit rather than freed under MPI.
  for (Send& s : sends_) {
    MPI_Request_free(&s.request);
    (void)s.bytes.release();
  }
}

Status MpiOutbox::post(int rank, const Json& message) {
  Send s{.rank = rank, .bytes = std::make_unique<const std::string>(message.dump())};
  if (MPI_Isend(s.bytes->data(), static_cast<int>(s.bytes->size()), MPI_CHAR, rank, kMpiTag,
                MPI_COMM_WORLD, &s.request) != MPI_SUCCESS) {
    return Status::error("MPI_Isend to rank " + std::to_string(rank) + " failed");
  }
  sends_.push_back(std::move(s));
  return Status::ok();
}

void MpiOutbox::progress() {
  std::erase_if(sends_, [](Send& s) {
    int done = 0;
    MPI_Test(&s.request, &done, MPI_STATUS_IGNORE);
    return done != 0;
  });
}

std::size_t MpiOutbox::pending() const {
  return sends_.size();
}

void MpiOutbox::cancel(int rank) {
  // MPI_Cancel only marks the request; completion (delivered or cancelled)
  // is still seen by MPI_Test in progress().
  for (Send& s : sends_) {
    if (s.rank == rank && !s.cancelled) {
      MPI_Cancel(&s.request);
      s.cancelled = true;
    }
  }
}

}  // namespace flotilla::protocol
