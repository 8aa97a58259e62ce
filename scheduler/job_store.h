// The controller's job store: every job and every state change in SQLite
// (WAL journal), written before the controller acknowledges or acts, so that
// `kill -9` of the controller loses nothing. Jobs are kept as one JSON
// document each (the controller owns its fields); metering records go in
// their own table, one per job run per node, in scheduler/metering.h's terms.
// Owns its SQLite connection; not thread-safe, one per controller.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/metering.h"
#include "scheduler/status.h"

namespace flotilla {

class JobStore {
 public:
  // Opens or creates the database at `path` (WAL, synchronous=NORMAL: a
  // commit survives the process being killed; only power loss may lose the
  // last commits).
  static Result<std::unique_ptr<JobStore>> open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Groups writes into one transaction (one WAL append for a burst of
  // submissions). Nesting is not supported.
  Status begin();
  Status commit();

  Status put_job(std::uint64_t id, const std::string& state, const std::string& doc);
  Status add_usage(const MeterRecord& record);
  // The energy of a record written without one (another node of a
  // multi-node job reports its figure after the run's end was recorded).
  // A record that has one, or none at all, is left as it is.
  Status set_energy(const std::string& job_id, const std::string& node, std::uint32_t run,
                    std::uint64_t energy_j);
  Status set_next_job_id(std::uint64_t id);

  // Every job as (id, doc), in id order.
  Result<std::vector<std::pair<std::uint64_t, std::string>>> load_jobs();
  Result<std::uint64_t> next_job_id();
  // Records of runs that ended in [from, to) (Unix seconds), so that
  // consecutive periods count every run exactly once.
  Result<std::vector<MeterRecord>> usage_between(std::int64_t from, std::int64_t to);

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  Status prepare(const char* sql, sqlite3_stmt** stmt);
  Status error(const char* what) const;

  sqlite3* db_;
  sqlite3_stmt* put_job_ = nullptr;
  sqlite3_stmt* add_usage_ = nullptr;
  sqlite3_stmt* set_energy_ = nullptr;
};

}  // namespace flotilla
