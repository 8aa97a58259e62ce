// SQLite job store (see job_store.h).
#include "scheduler/job_store.h"

#include <vector>

namespace flotilla {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
  job_id TEXT NOT NULL,
  node TEXT NOT NULL,
  provider TEXT NOT NULL,
  gpu_type TEXT NOT NULL,
  gpus INTEGER NOT NULL,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  gpu_seconds INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  fault TEXT NOT NULL,
  run INTEGER NOT NULL DEFAULT 0,
  energy_j INTEGER,
  PRIMARY KEY (job_id, node, run)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";

// Stores written by earlier versions lack a column of kSchema's usage table;
// each migration is told by its column and runs in one transaction.
struct Migration {
  const char* column;
  const char* what;
  std::vector<const char*> steps;
};

// Before runs were counted, usage was keyed by (job, node) only: kSchema
// makes the new table beside the renamed old one, whose records become run 0.
// Before energy was measured there was no energy_j: NULL, not measured.
const Migration kMigrations[] = {
    {"run",
     "adding runs to the usage table",
     {"BEGIN IMMEDIATE; ALTER TABLE usage RENAME TO usage_before_runs;", kSchema,
      "INSERT INTO usage (job_id, node, provider, gpu_type, gpus, start, \"end\", gpu_seconds, "
      "outcome, fault, run) SELECT *, 0 FROM usage_before_runs; DROP TABLE usage_before_runs; "
      "COMMIT;"}},
    {"energy_j",
     "adding energy to the usage table",
     {"BEGIN IMMEDIATE; ALTER TABLE usage ADD COLUMN energy_j INTEGER; COMMIT;"}},
};

}  // namespace

Result<std::unique_ptr<JobStore>> JobStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg =
        path + ": cannot open job store: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::error(msg);
  }
  std::unique_ptr<JobStore> store(new JobStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    if (Status s = store->exec(sql); !s) return Status::error(path + ": " + s.message());
  }
  for (const Migration& m : kMigrations) {
    const std::string probe = std::string("SELECT ") + m.column + " FROM usage LIMIT 0";
    if (store->exec(probe.c_str())) continue;
    for (const char* sql : m.steps) {
      if (Status s = store->exec(sql); !s) {
        (void)store->exec("ROLLBACK");
        return Status::error(path + ": " + m.what + ": " + s.message());
      }
    }
  }
  if (Status s = store->prepare("INSERT OR REPLACE INTO jobs(id, state, doc) VALUES (?, ?, ?)",
                                &store->put_job_);
      !s) {
    return s;
  }
  // A record is written again only for the same run (a restart that
  // reconciles what it already wrote); each requeued run has its own.
  if (Status s = store->prepare(
          "INSERT OR REPLACE INTO usage (job_id, node, provider, gpu_type, gpus, start, \"end\", "
          "gpu_seconds, outcome, fault, run, energy_j) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &store->add_usage_);
      !s) {
    return s;
  }
  if (Status s = store->prepare(
          "UPDATE usage SET energy_j = ? WHERE job_id = ? AND node = ? AND run = ? AND energy_j "
          "IS NULL",
          &store->set_energy_);
      !s) {
    return s;
  }
  return store;
}

JobStore::~JobStore() {
  sqlite3_finalize(put_job_);
  sqlite3_finalize(add_usage_);
  sqlite3_finalize(set_energy_);
  sqlite3_close(db_);
}

Status JobStore::error(const char* what) const {
  return Status::error(std::string("job store: ") + what + ": " + sqlite3_errmsg(db_));
}

Status JobStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::error(std::string("job store: ") + (err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return Status::ok();
}

Status JobStore::prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) return error("prepare");
  return Status::ok();
}

Status JobStore::begin() {
  return exec("BEGIN IMMEDIATE");
}
Status JobStore::commit() {
  return exec("COMMIT");
}

Status JobStore::put_job(std::uint64_t id, const std::string& state, const std::string& doc) {
  sqlite3_reset(put_job_);
  sqlite3_bind_int64(put_job_, 1, static_cast<sqlite3_int64>(id));
  sqlite3_bind_text(put_job_, 2, state.data(), static_cast<int>(state.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(put_job_, 3, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(put_job_) != SQLITE_DONE) return error("write job");
  return Status::ok();
}

Status JobStore::add_usage(const MeterRecord& r) {
  sqlite3_stmt* s = add_usage_;
  sqlite3_reset(s);
  const std::string texts[] = {r.job_id, r.node, r.provider, r.gpu_type};
  for (int i = 0; i < 4; ++i) {
    const std::string& t = texts[i];
    sqlite3_bind_text(s, i + 1, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(s, 5, r.gpus);
  sqlite3_bind_int64(s, 6, r.start);
  sqlite3_bind_int64(s, 7, r.end);
  sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(r.gpu_seconds));
  const std::string outcome(end_state_name(r.outcome)), fault(fault_name(r.fault));
  sqlite3_bind_text(s, 9, outcome.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 10, fault.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 11, r.run);
  if (r.energy_j) {
    sqlite3_bind_int64(s, 12, static_cast<sqlite3_int64>(*r.energy_j));
  } else {
    sqlite3_bind_null(s, 12);
  }
  if (sqlite3_step(s) != SQLITE_DONE) return error("write usage");
  return Status::ok();
}

Status JobStore::set_energy(const std::string& job_id, const std::string& node, std::uint32_t run,
                            std::uint64_t energy_j) {
  sqlite3_stmt* s = set_energy_;
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(energy_j));
  sqlite3_bind_text(s, 2, job_id.data(), static_cast<int>(job_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, node.data(), static_cast<int>(node.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 4, run);
  if (sqlite3_step(s) != SQLITE_DONE) return error("write energy");
  return Status::ok();
}

Status JobStore::set_next_job_id(std::uint64_t id) {
  const std::string sql =
      "INSERT OR REPLACE INTO meta(key, value) VALUES ('next_job_id', " + std::to_string(id) + ")";
  return exec(sql.c_str());
}

Result<std::uint64_t> JobStore::next_job_id() {
  sqlite3_stmt* s = nullptr;
  if (Status st = prepare("SELECT value FROM meta WHERE key = 'next_job_id'", &s); !st) return st;
  std::uint64_t id = 1;
  if (sqlite3_step(s) == SQLITE_ROW) id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  sqlite3_finalize(s);
  return id;
}

Result<std::vector<std::pair<std::uint64_t, std::string>>> JobStore::load_jobs() {
  sqlite3_stmt* s = nullptr;
  if (Status st = prepare("SELECT id, doc FROM jobs ORDER BY id", &s); !st) return st;
  std::vector<std::pair<std::uint64_t, std::string>> out;
  int rc = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    out.emplace_back(static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)),
                     std::string(text ? text : ""));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return error("read jobs");
  return out;
}

Result<std::vector<MeterRecord>> JobStore::usage_between(std::int64_t from, std::int64_t to) {
  sqlite3_stmt* s = nullptr;
  if (Status st = prepare(
          "SELECT job_id, node, provider, gpu_type, gpus, start, \"end\", gpu_seconds, outcome, "
          "fault, run, energy_j FROM usage WHERE \"end\" >= ? AND \"end\" < ? "
          "ORDER BY start, job_id, node, run",
          &s);
      !st) {
    return st;
  }
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, to);
  std::vector<MeterRecord> out;
  int rc = 0;
  auto text = [&](int col) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return std::string(t ? t : "");
  };
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    MeterRecord r;
    r.job_id = text(0);
    r.node = text(1);
    r.provider = text(2);
    r.gpu_type = text(3);
    r.gpus = static_cast<std::uint32_t>(sqlite3_column_int64(s, 4));
    r.start = sqlite3_column_int64(s, 5);
    r.end = sqlite3_column_int64(s, 6);
    r.gpu_seconds = static_cast<std::uint64_t>(sqlite3_column_int64(s, 7));
    r.outcome = find_end_state(text(8)).value_or(JobEndState::kFailed);
    r.fault = find_fault(text(9)).value_or(Fault::kNone);
    r.run = static_cast<std::uint32_t>(sqlite3_column_int64(s, 10));
    if (sqlite3_column_type(s, 11) != SQLITE_NULL)
      r.energy_j = static_cast<std::uint64_t>(sqlite3_column_int64(s, 11));
    out.push_back(std::move(r));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return error("read usage");
  return out;
}

}  // namespace flotilla
