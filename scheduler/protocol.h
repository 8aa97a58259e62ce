// Wire formats of the live system, in one place so that the controller, the
// executors and the client commands agree byte for byte.
//
// Clients <-> controller (Unix socket): each message is a frame, a 4-byte
// big-endian length followed by that many bytes of one JSON object. A client
// sends {"op": ..., ...}; the controller answers every frame with one frame,
// {"ok": true, ...} or {"ok": false, "error": "one line"}. See
// scheduler/README.md for the operations.
//
// Controller <-> executors (MPI, communicator MPI_COMM_WORLD, tag kMpiTag):
// one JSON object per MPI message, {"type": ..., ...}; the types and their
// fields are the structs below (Register, Heartbeat, Launch, Cancel, JobExit,
// MeterStart, MeterEnd, MeterReport, Stalled, Resume, Shutdown).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "scheduler/request.h"
#include "scheduler/status.h"

namespace flotilla::protocol {

using Json = nlohmann::json;

// A frame larger than this is refused as malformed (a script plus its
// environment is a few kilobytes; this only stops a bad length from eating memory).
constexpr std::uint32_t kMaxFrameBytes = 64u << 20;

// The 4-byte length and the JSON text.
std::string encode_frame(const Json& message);

// Splits a byte stream into frames. Not thread-safe; one per connection.
class FrameReader {
 public:
  void append(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete frame, nullopt when more bytes are needed, or an error
  // for an oversized frame or text that is not one JSON object (the stream
  // cannot be trusted after that).
  Result<std::optional<Json>> next();

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
};

// Blocking helpers for clients.
Status write_all(int fd, std::string_view bytes);
Result<Json> read_frame(int fd, FrameReader& reader);
Result<int> connect_socket(const std::string& path);
// One request, one answer: connects, sends, reads, closes. An answer with
// "ok": false comes back as an error with its message.
Result<Json> call(const std::string& socket_path, const Json& request);

// The socket path: `flag` if given, else $FLOTILLA_SOCKET, else error.
Result<std::string> socket_path(const std::optional<std::string>& flag);

// JobRequest as JSON (the fields the controller uses); sbatch sends it, the
// job store keeps it. from_json errors name the field.
Json request_to_json(const JobRequest& r);
Result<JobRequest> request_from_json(const Json& j);

// ---- Controller <-> executor messages.
constexpr int kMpiTag = 4711;

// What `flotilla probe` measured on one GPU of the executor's host, as the
// executor read it from its probe report (executor/probe_report.h). A claim:
// only the proof-of-compute challenge (executor/proof_verifier.h) verifies a class.
struct ProbeGpuSummary {
  std::string name;             // as CUDA names the GPU
  double bf16_tflops = 0;       // best BF16 GEMM
  double device_copy_gbps = 0;  // bytes read + written per second
  // The fastest catalog class that throughput reaches
  // (executor/proof_throughput_class.h); empty when it reaches none.
  std::string throughput_class;
};
// For nlohmann::json; from_json throws Json::exception on a missing or mistyped field.
void to_json(Json& j, const ProbeGpuSummary& g);
void from_json(const Json& j, ProbeGpuSummary& g);

// Executor -> controller, first message: which jobs it still runs (after a
// controller restart an executor that survived reports its jobs) and what the
// host has (executor/inventory.h; 0 where unknown).
struct Register {
  std::string hostname;
  std::vector<std::uint64_t> running;
  std::uint32_t cores = 0, cpus = 0;
  std::uint64_t memory_bytes = 0;
  std::vector<std::string> gpus;  // as NVML names them; empty without NVML
  std::string gpu_source;         // "nvml" or why the fleet file's GPUs stand
  // With `flotilla ctld --probe-report`: the report read (probe_source) and
  // its measured GPUs, or why there is none (probe_error). All empty, and
  // absent from the JSON, without the option or from an older executor.
  std::vector<ProbeGpuSummary> probe_gpus;
  std::string probe_source, probe_error;
};
// Executor -> controller, every heartbeat period.
struct Heartbeat {
  std::vector<std::uint64_t> running;
};
// Controller -> the first node of a job: run the batch script.
struct Launch {
  std::uint64_t job_id = 0;
  // The job's requeues before this run; its exit report names it, so that a
  // stale copy's exit never ends a later run of the job.
  std::uint32_t run = 0;
  std::string script;             // the text; written to spool_dir/job<ID>.sh, mode 0700
  std::string spool_dir;          // created if missing
  std::string hostfile;           // multi-node jobs: written to spool_dir/job<ID>.hosts
  std::vector<std::string> args;  // after the script
  std::string work_dir;
  std::vector<std::string> env;          // "NAME=VALUE", the whole environment
  std::vector<std::uint32_t> gpus;       // this node's GPUs, as CUDA_VISIBLE_DEVICES names them
  std::string stdout_path, stderr_path;  // absolute; equal paths share one file
  bool append = false;                   // --open-mode=append
  std::int64_t time_limit_ms = 0;        // 0: unlimited
  std::int64_t kill_wait_ms = 30'000;    // SIGTERM to SIGKILL
  int warn_signal = 0;                   // --signal: sent warn_before_ms before the limit
  std::int64_t warn_before_ms = 0;
};
// Controller -> executor: end a job as scancel does (SIGTERM, grace, SIGKILL).
struct Cancel {
  std::uint64_t job_id = 0;
};
// Executor -> controller: a job's script ended (or could not start).
struct JobExit {
  std::uint64_t job_id = 0;
  std::uint32_t run = 0;  // Launch::run
  int exit_code = 0;      // WEXITSTATUS, or 1 when the launch failed
  int signal = 0;         // terminating signal, 0 if it exited
  bool timed_out = false;
  bool cancelled = false;
  std::string error;  // why the launch failed; empty otherwise
  // What the job's GPUs used, from NVML's energy counters (Volta and newer),
  // rounded to the nearest joule; absent where NVML could not count it.
  std::optional<std::uint64_t> energy_j;
};
// Controller -> every other node of a multi-node job, which runs no script
// (the first node's mpirun starts the ranks there): count the energy of
// these GPUs for the job's run `run` (its requeue count) from now on.
struct MeterStart {
  std::uint64_t job_id = 0;
  std::uint32_t run = 0;
  std::vector<std::uint32_t> gpus;
};
// Controller -> those nodes when the run ended: stop counting and report.
struct MeterEnd {
  std::uint64_t job_id = 0;
  std::uint32_t run = 0;
};
// Executor -> controller, the answer to MeterEnd where the counters were read
// both times (as JobExit::energy_j).
struct MeterReport {
  std::uint64_t job_id = 0;
  std::uint32_t run = 0;
  std::uint64_t energy_j = 0;
};
// Executor -> controller: it stood still (stopped, starved) for longer than
// a heartbeat interval, long enough to have been marked down meanwhile. A
// launch it reads from now on may be stale, so it holds them until the
// controller answers this stall (the executor's count of them) with Resume.
struct Stalled {
  std::uint64_t stall = 0;
};
// Controller -> executor, the answer to Stalled. It comes after the cancels
// of whatever the node lost while it was marked down, and MPI delivers it
// after them: a held launch of a lost job is dropped, never started.
struct Resume {
  std::uint64_t stall = 0;
};
struct Shutdown {};

Json to_json(const Register& m);
Json to_json(const Heartbeat& m);
Json to_json(const Launch& m);
Json to_json(const Cancel& m);
Json to_json(const JobExit& m);
Json to_json(const MeterStart& m);
Json to_json(const MeterEnd& m);
Json to_json(const MeterReport& m);
Json to_json(const Stalled& m);
Json to_json(const Resume& m);
Json to_json(const Shutdown& m);
// Parses any of the above; errors say which field is wrong.
using Message = std::variant<Register, Heartbeat, Launch, Cancel, JobExit, MeterStart, MeterEnd,
                             MeterReport, Stalled, Resume, Shutdown>;
Result<Message> parse_message(std::string_view text);

// MPI transport: blocking send (executors to the controller, which always
// receives), non-blocking receive from any rank.
Status mpi_send(int rank, const Json& message);
struct Received {
  int rank = 0;
  std::string text;
};
std::optional<Received> mpi_poll();

// The controller's sends, non-blocking: MPI_Send of a message above the
// eager limit (a launch with the submitter's environment is often one) waits
// for the receiver, and an executor that is hung or stopped but not yet
// marked down would stall the whole controller loop. Each message is sent
// with MPI_Isend and its bytes stay here, untouched, until MPI_Test says the
// send completed. MPI keeps messages to one rank in posting order.
// Not thread-safe; one per controller, destroyed before MPI_Finalize.
class MpiOutbox {
 public:
  MpiOutbox();
  ~MpiOutbox();
  MpiOutbox(const MpiOutbox&) = delete;
  MpiOutbox& operator=(const MpiOutbox&) = delete;

  Status post(int rank, const Json& message);
  // Tests every send once and forgets the completed ones; never blocks.
  void progress();
  // For a rank given up on (its node was marked down): asks MPI to cancel
  // its sends. Open MPI (ob1) does not cancel sends, so each one stays here
  // until it completes, whenever the rank reads it, or until the end.
  void cancel(int rank);
  std::size_t pending() const;

 private:
  struct Send;
  std::vector<Send> sends_;  // in posting order
};

}  // namespace flotilla::protocol
