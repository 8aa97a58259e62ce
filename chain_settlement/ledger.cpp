// SQLite with journal_mode=WAL and synchronous=FULL: a commit is on disk before
// record_signed returns, which is what makes "record, then send" safe.
// Amounts are u64 stored bit for bit in SQLite's signed 64-bit INTEGER.
#include "chain_settlement/ledger.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "chain_settlement/base58.h"

namespace flotilla::chain {
namespace {

constexpr std::array kPayoutStates{"pending", "in_flight", "paid", "deferred"};
constexpr std::array kTransactionStates{"signed", "confirmed", "failed", "expired"};

template <class E, std::size_t N>
E from_name(const std::array<const char*, N>& names, const std::string& name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
  }
  return static_cast<E>(0);
}

// One prepared statement; finalized on destruction.
class Query {
 public:
  Query(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Query() { sqlite3_finalize(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int i, std::int64_t v) {
    if (ok()) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Query& bind(int i, const std::string& v) {
    if (ok())
      rc_ = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& bind_blob(int i, std::span<const std::uint8_t> v) {
    if (ok())
      rc_ = sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while rows come; false at the end or on error (see status()).
  bool step() {
    if (!ok()) return false;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    rc_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return false;
  }
  Status run() {
    while (step()) {
    }
    return status();
  }
  Status status() const {
    if (ok()) return Status::ok();
    return Status::error(std::string("payout ledger: ") + sqlite3_errmsg(db_));
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::vector<std::uint8_t> blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    return std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(stmt_, col));
  }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::int64_t as_i64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}
std::uint64_t as_u64(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS identity(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payouts(
  idx INTEGER PRIMARY KEY, provider TEXT NOT NULL, wallet TEXT NOT NULL,
  amount INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  tx INTEGER REFERENCES transactions(id));
CREATE TABLE IF NOT EXISTS transactions(
  id INTEGER PRIMARY KEY, signature TEXT NOT NULL UNIQUE, wire BLOB NOT NULL,
  last_valid_block_height INTEGER NOT NULL, fee INTEGER NOT NULL, state TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS transaction_payouts(
  tx INTEGER NOT NULL REFERENCES transactions(id), payout INTEGER NOT NULL REFERENCES payouts(idx),
  PRIMARY KEY(tx, payout));
)sql";

constexpr const char* kRegistrySchema = R"sql(
CREATE TABLE IF NOT EXISTS lookup_tables(
  address TEXT PRIMARY KEY, authority TEXT NOT NULL, mint TEXT NOT NULL,
  recent_slot INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open');
)sql";

Status exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "error";
    sqlite3_free(err);
    return Status::error("SQLite: " + why);
  }
  return Status::ok();
}

// Opens (creating) a database in WAL mode with synchronous=FULL and `schema`.
Result<sqlite3*> open_database(const std::filesystem::path& path, const char* schema) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::error(path.string() + ": cannot open: " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  Status s = exec_sql(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=ON;");
  if (s) s = exec_sql(db, schema);
  if (!s) {
    sqlite3_close(db);
    return Status::error(path.string() + ": " + s.message());
  }
  return db;
}

// Runs the statements in one durable transaction: all of them or none.
Status run_atomically(sqlite3* db, std::initializer_list<Query*> queries) {
  if (Status s = exec_sql(db, "BEGIN IMMEDIATE"); !s) return s;
  for (Query* q : queries) {
    if (Status s = q->run(); !s) {
      (void)exec_sql(db, "ROLLBACK");
      return s;
    }
  }
  return exec_sql(db, "COMMIT");
}

}  // namespace

const char* to_string(PayoutState s) {
  return kPayoutStates[static_cast<std::size_t>(s)];
}
const char* to_string(TransactionState s) {
  return kTransactionStates[static_cast<std::size_t>(s)];
}

void CloseDatabase::operator()(sqlite3* db) const {
  sqlite3_close(db);
}

Result<PayoutLedger> PayoutLedger::open(const std::filesystem::path& path) {
  auto db = open_database(path, kSchema);
  if (!db) return db.status();
  return PayoutLedger(*db);
}

Status PayoutLedger::exec(const std::string& sql) {
  return exec_sql(db_.get(), sql);
}

Status PayoutLedger::bind(const LedgerIdentity& id, std::span<const NewPayout> payouts) {
  const std::array<std::pair<const char*, std::string>, 4> fields{
      {{"epoch", std::to_string(id.epoch)},
       {"merkle_root", id.merkle_root},
       {"payer", id.payer},
       {"mint", id.mint}}};
  if (Status s = exec("BEGIN IMMEDIATE"); !s) return s;
  auto fail = [&](Status s) {
    (void)exec("ROLLBACK");
    return s;
  };
  Query count(db_.get(), "SELECT count(*) FROM identity");
  if (!count.step()) return fail(count.status());
  if (count.i64(0) > 0) {
    for (const auto& [key, value] : fields) {
      Query q(db_.get(), "SELECT value FROM identity WHERE key = ?");
      q.bind(1, std::string(key));
      const std::string recorded = q.step() ? q.text(0) : "";
      if (recorded != value) {
        return fail(Status::error("this payout ledger belongs to " + std::string(key) + " " +
                                  recorded + ", not " + value));
      }
    }
    return exec("COMMIT");
  }
  for (const auto& [key, value] : fields) {
    Query q(db_.get(), "INSERT INTO identity(key, value) VALUES(?, ?)");
    if (Status s = q.bind(1, std::string(key)).bind(2, value).run(); !s) return fail(s);
  }
  for (std::size_t i = 0; i < payouts.size(); ++i) {
    Query q(db_.get(),
            "INSERT INTO payouts(idx, provider, wallet, amount, state) VALUES(?,?,?,?,?)");
    q.bind(1, static_cast<std::int64_t>(i)).bind(2, payouts[i].provider).bind(3, payouts[i].wallet);
    q.bind(4, as_i64(payouts[i].amount)).bind(5, std::string(to_string(PayoutState::kPending)));
    if (Status s = q.run(); !s) return fail(s);
  }
  return exec("COMMIT");
}

Result<LedgerIdentity> PayoutLedger::identity() {
  Query q(db_.get(), "SELECT key, value FROM identity");
  LedgerIdentity id;
  while (q.step()) {
    const std::string key = q.text(0), value = q.text(1);
    if (key == "epoch") id.epoch = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "merkle_root") id.merkle_root = value;
    if (key == "payer") id.payer = value;
    if (key == "mint") id.mint = value;
  }
  if (Status s = q.status(); !s) return s;
  return id;
}

Result<std::vector<LedgerPayout>> PayoutLedger::payouts() {
  Query q(db_.get(),
          "SELECT idx, provider, wallet, amount, state, reason, tx FROM payouts ORDER BY idx");
  std::vector<LedgerPayout> out;
  while (q.step()) {
    LedgerPayout p{q.i64(0),
                   q.text(1),
                   q.text(2),
                   as_u64(q.i64(3)),
                   from_name<PayoutState>(kPayoutStates, q.text(4)),
                   q.text(5),
                   std::nullopt};
    if (!q.null(6)) p.transaction = q.i64(6);
    out.push_back(std::move(p));
  }
  if (Status s = q.status(); !s) return s;
  return out;
}

Result<std::vector<LedgerTransaction>> PayoutLedger::transactions(
    std::optional<TransactionState> only) {
  Query q(
      db_.get(),
      "SELECT id, signature, wire, last_valid_block_height, fee, state, error FROM transactions "
      "WHERE ?1 = '' OR state = ?1 ORDER BY id");
  q.bind(1, std::string(only ? to_string(*only) : ""));
  std::vector<LedgerTransaction> out;
  while (q.step()) {
    LedgerTransaction t;
    t.id = q.i64(0);
    const auto sig = base58_decode(q.text(1));
    if (sig && sig->size() == t.signature.size()) {
      std::copy(sig->begin(), sig->end(), t.signature.begin());
    }
    t.wire = q.blob(2);
    t.last_valid_block_height = as_u64(q.i64(3));
    t.fee = as_u64(q.i64(4));
    t.state = from_name<TransactionState>(kTransactionStates, q.text(5));
    t.error = q.text(6);
    out.push_back(std::move(t));
  }
  if (Status s = q.status(); !s) return s;
  for (LedgerTransaction& t : out) {
    Query p(db_.get(), "SELECT payout FROM transaction_payouts WHERE tx = ? ORDER BY payout");
    p.bind(1, t.id);
    while (p.step()) t.payouts.push_back(p.i64(0));
    if (Status s = p.status(); !s) return s;
  }
  return out;
}

Result<std::int64_t> PayoutLedger::record_signed(const Signature& signature,
                                                 std::span<const std::uint8_t> wire,
                                                 std::uint64_t last_valid_block_height,
                                                 std::uint64_t fee,
                                                 std::span<const std::int64_t> payouts) {
  if (Status s = exec("BEGIN IMMEDIATE"); !s) return s;
  auto fail = [&](Status s) {
    (void)exec("ROLLBACK");
    return s;
  };
  Query t(db_.get(),
          "INSERT INTO transactions(signature, wire, last_valid_block_height, fee, state) "
          "VALUES(?,?,?,?,?)");
  t.bind(1, base58_encode(signature)).bind_blob(2, wire).bind(3, as_i64(last_valid_block_height));
  t.bind(4, as_i64(fee)).bind(5, std::string(to_string(TransactionState::kSigned)));
  if (Status s = t.run(); !s) return fail(s);
  const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
  for (std::int64_t p : payouts) {
    Query link(db_.get(), "INSERT INTO transaction_payouts(tx, payout) VALUES(?, ?)");
    if (Status s = link.bind(1, id).bind(2, p).run(); !s) return fail(s);
    Query mark(db_.get(), "UPDATE payouts SET state = ?, tx = ?, reason = '' WHERE idx = ?");
    mark.bind(1, std::string(to_string(PayoutState::kInFlight))).bind(2, id).bind(3, p);
    if (Status s = mark.run(); !s) return fail(s);
  }
  if (Status s = exec("COMMIT"); !s) return fail(s);
  return id;
}

Status PayoutLedger::mark_confirmed(std::int64_t transaction) {
  Query t(db_.get(), "UPDATE transactions SET state = ? WHERE id = ?");
  t.bind(1, std::string(to_string(TransactionState::kConfirmed))).bind(2, transaction);
  Query p(db_.get(), "UPDATE payouts SET state = ? WHERE tx = ?");
  p.bind(1, std::string(to_string(PayoutState::kPaid))).bind(2, transaction);
  return run_atomically(db_.get(), {&t, &p});
}

Status PayoutLedger::mark_not_paid(std::int64_t transaction, TransactionState state,
                                   const std::string& why) {
  Query t(db_.get(), "UPDATE transactions SET state = ?, error = ? WHERE id = ?");
  t.bind(1, std::string(to_string(state))).bind(2, why).bind(3, transaction);
  Query p(db_.get(), "UPDATE payouts SET state = ?, reason = ? WHERE tx = ? AND state = ?");
  p.bind(1, std::string(to_string(PayoutState::kPending))).bind(2, why).bind(3, transaction);
  p.bind(4, std::string(to_string(PayoutState::kInFlight)));
  return run_atomically(db_.get(), {&t, &p});
}

Status PayoutLedger::set_deferred(std::int64_t payout, const std::string& reason) {
  Query q(db_.get(), "UPDATE payouts SET state = ?, reason = ? WHERE idx = ? AND state != ?");
  q.bind(1, std::string(to_string(PayoutState::kDeferred))).bind(2, reason).bind(3, payout);
  q.bind(4, std::string(to_string(PayoutState::kPaid)));
  return q.run();
}

Status PayoutLedger::set_pending(std::int64_t payout) {
  Query q(db_.get(), "UPDATE payouts SET state = ?, reason = '' WHERE idx = ? AND state = ?");
  q.bind(1, std::string(to_string(PayoutState::kPending))).bind(2, payout);
  q.bind(3, std::string(to_string(PayoutState::kDeferred)));
  return q.run();
}

Result<LookupTableRegistry> LookupTableRegistry::open(const std::filesystem::path& path) {
  auto db = open_database(path, kRegistrySchema);
  if (!db) return db.status();
  return LookupTableRegistry(*db);
}

Result<std::vector<RecordedLookupTable>> LookupTableRegistry::tables(const std::string& authority,
                                                                     const std::string& mint) {
  Query q(db_.get(),
          "SELECT address, recent_slot, state FROM lookup_tables "
          "WHERE authority = ? AND mint = ? AND state != 'closed' ORDER BY rowid");
  q.bind(1, authority).bind(2, mint);
  std::vector<RecordedLookupTable> out;
  while (q.step()) out.push_back({q.text(0), as_u64(q.i64(1)), q.text(2) == "retired"});
  if (Status s = q.status(); !s) return s;
  return out;
}

Status LookupTableRegistry::add(const std::string& address, const std::string& authority,
                                const std::string& mint, std::uint64_t recent_slot) {
  Query q(db_.get(),
          "INSERT OR IGNORE INTO lookup_tables(address, authority, mint, recent_slot) "
          "VALUES(?,?,?,?)");
  return q.bind(1, address).bind(2, authority).bind(3, mint).bind(4, as_i64(recent_slot)).run();
}

Status LookupTableRegistry::retire(const std::string& address) {
  Query q(db_.get(),
          "UPDATE lookup_tables SET state = 'retired' WHERE address = ? AND state = 'open'");
  return q.bind(1, address).run();
}

Status LookupTableRegistry::mark_closed(const std::string& address) {
  Query q(db_.get(), "UPDATE lookup_tables SET state = 'closed' WHERE address = ?");
  return q.bind(1, address).run();
}

Result<LedgerLock> LedgerLock::acquire(const std::filesystem::path& ledger) {
  const std::string path = ledger.string() + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error(path + ": cannot open lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::error(path + ": another settle run holds this ledger; try again when it ends");
  }
  return LedgerLock(fd);
}

LedgerLock::~LedgerLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace flotilla::chain
