// The payout ledger: one SQLite database (WAL, synchronous=FULL) per statement
// that records each payout's state and each transaction's signed bytes,
// signature, last valid block height and payouts *before* the transaction is
// sent. Whatever crashes when, the next run reads from here what may have
// landed, so nobody is paid twice or forgotten.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chain_settlement/keypair.h"
#include "scheduler/status.h"

struct sqlite3;

namespace flotilla::chain {

// An owned SQLite connection, closed when its owner goes.
struct CloseDatabase {
  void operator()(sqlite3* db) const;
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;

enum class PayoutState { kPending, kInFlight, kPaid, kDeferred };
enum class TransactionState { kSigned, kConfirmed, kFailed, kExpired };
const char* to_string(PayoutState s);
const char* to_string(TransactionState s);

// One row per statement payout, in statement order (index from 0).
struct LedgerPayout {
  std::int64_t index = 0;
  std::string provider, wallet;
  std::uint64_t amount = 0;
  PayoutState state = PayoutState::kPending;
  std::string reason;                       // why deferred, or the last failure
  std::optional<std::int64_t> transaction;  // the transaction that carries (carried) it
};

struct LedgerTransaction {
  std::int64_t id = 0;
  Signature signature{};
  std::vector<std::uint8_t> wire;
  std::uint64_t last_valid_block_height = 0;
  std::uint64_t fee = 0;
  TransactionState state = TransactionState::kSigned;
  std::string error;
  std::vector<std::int64_t> payouts;
};

// What ties a ledger to one statement, payer and mint; a ledger refuses to be
// used for anything else.
struct LedgerIdentity {
  std::uint64_t epoch = 0;
  std::string merkle_root;
  std::string payer, mint;
};

struct NewPayout {
  std::string provider, wallet;
  std::uint64_t amount = 0;
};

// Owns the database connection; not thread-safe (one settle run at a time,
// which LedgerLock enforces across processes).
class PayoutLedger {
 public:
  static Result<PayoutLedger> open(const std::filesystem::path& path);

  // First use: records the identity and the payouts. Later: checks that the
  // identity matches (a ledger belongs to one statement, payer and mint).
  Status bind(const LedgerIdentity& identity, std::span<const NewPayout> payouts);

  // What bind() recorded (empty fields before the first bind).
  Result<LedgerIdentity> identity();
  Result<std::vector<LedgerPayout>> payouts();
  Result<std::vector<LedgerTransaction>> transactions(std::optional<TransactionState> only = {});

  // In one durable SQLite transaction: the signed transaction, and its payouts
  // marked in flight. Returns the transaction's id. Call before sending.
  Result<std::int64_t> record_signed(const Signature& signature, std::span<const std::uint8_t> wire,
                                     std::uint64_t last_valid_block_height, std::uint64_t fee,
                                     std::span<const std::int64_t> payouts);
  // Confirmed on chain without error: its payouts are paid.
  Status mark_confirmed(std::int64_t transaction);
  // Failed on chain, or expired without landing: its payouts are pending again.
  Status mark_not_paid(std::int64_t transaction, TransactionState state, const std::string& why);
  Status set_deferred(std::int64_t payout, const std::string& reason);
  Status set_pending(std::int64_t payout);

 private:
  explicit PayoutLedger(sqlite3* db) : db_(db) {}
  Status exec(const std::string& sql);
  Database db_;
};

// A lookup table settlement created, as recorded before its creation was sent.
struct RecordedLookupTable {
  std::string address;
  std::uint64_t recent_slot = 0;
  bool retired = false;  // `settle close-tables` began: never used or extended again
};

// The lookup tables of every epoch, keyed by authority and mint, in one SQLite
// database (WAL, synchronous=FULL) shared by the statements' ledgers, so the
// next epoch reuses the tables this one filled. A table is recorded before the
// transaction that creates it is sent; whether it exists and what it holds is
// read from the chain. Owns its connection; not thread-safe (LedgerLock on its
// path keeps runs apart).
class LookupTableRegistry {
 public:
  static Result<LookupTableRegistry> open(const std::filesystem::path& path);

  // Oldest first; closed tables are left out.
  Result<std::vector<RecordedLookupTable>> tables(const std::string& authority,
                                                  const std::string& mint);
  Status add(const std::string& address, const std::string& authority, const std::string& mint,
             std::uint64_t recent_slot);
  Status retire(const std::string& address);
  Status mark_closed(const std::string& address);

 private:
  explicit LookupTableRegistry(sqlite3* db) : db_(db) {}
  Database db_;
};

// An exclusive advisory lock (flock) on PATH.lock, held for the object's life,
// so two settle runs never work on one ledger at once. Move-only.
class LedgerLock {
 public:
  // Fails at once, saying so, when another process holds the lock.
  static Result<LedgerLock> acquire(const std::filesystem::path& ledger);
  LedgerLock(LedgerLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  LedgerLock& operator=(LedgerLock&&) = delete;
  ~LedgerLock();

 private:
  explicit LedgerLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace flotilla::chain
