// The epoch statement: what every provider is paid for one epoch, in token base
// units, with the Merkle root over the payouts. `flotilla rewards` writes it,
// `flotilla settle` pays it. The JSON contract (README.md) keeps `epoch`,
// `emission`, `payouts` ({provider, wallet, amount}), `carry` and `merkle_root`
// stable; the other fields are the audit trail behind each amount.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reward_model/merkle.h"
#include "scheduler/status.h"

namespace flotilla::rewards {

// One transfer settlement makes. Value type.
struct Payout {
  std::string provider;
  std::string wallet;  // base58, decodes to 32 bytes
  std::uint64_t amount = 0;
  friend bool operator==(const Payout&, const Payout&) = default;
};

// An amount held back because it is below the minimum payout; the statement of
// the next epoch takes it in (`--carry-from`). Value type.
struct Carry {
  std::string provider;
  std::uint64_t amount = 0;
  friend bool operator==(const Carry&, const Carry&) = default;
};

// Why one provider got what it got: everything `rewards explain` shows. Scores
// are weight x GPU-seconds; the pools are shared in proportion to them. Value type.
struct Account {
  std::string provider;
  std::string wallet;
  std::string gpu_type;
  std::uint64_t weight = 0;             // per GPU-second, from the policy
  std::uint64_t records = 0;            // metering records inside the epoch
  std::uint64_t fault_records = 0;      // of which the provider was at fault
  std::uint64_t work_gpu_seconds = 0;   // credited, clipped to the epoch
  std::uint64_t fault_gpu_seconds = 0;  // lost to provider faults, clipped
  std::uint64_t penalty = 0;            // subtracted from weight x work_gpu_seconds
  std::uint64_t work_score = 0;
  std::uint64_t online_gpu_seconds = 0;  // gpus x seconds online, from the registry
  std::uint64_t availability_score = 0;
  std::uint64_t work_amount = 0;          // share of the work pool
  std::uint64_t availability_amount = 0;  // share of the availability pool
  std::uint64_t capped = 0;               // removed by the per-provider cap
  std::uint64_t earned = 0;               // work + availability - capped
  std::uint64_t carry_in = 0;             // from the previous statement
  std::uint64_t paid = 0;                 // earned + carry_in, or 0 below the minimum
  std::uint64_t carry_out = 0;            // earned + carry_in when not paid
  friend bool operator==(const Account&, const Account&) = default;
};

// SHA-256 of the files the statement was computed from, so `verify` can tell
// which input changed. Value type.
struct Inputs {
  std::string meter_sha256;
  std::string providers_sha256;
  std::string policy_sha256;
  std::optional<std::string> carry_from_sha256;  // the previous statement, if any
  friend bool operator==(const Inputs&, const Inputs&) = default;
};

// One epoch's statement. Conservation, checked on write and read:
//   sum(payouts) + sum(carry) + unallocated == emission + carry_in.
// `unallocated` is emission nobody could earn (no work and no availability at
// all, or amounts above the cap); it stays with the treasury. Value type.
struct Statement {
  std::uint64_t epoch = 0;
  std::int64_t epoch_start = 0;  // Unix seconds, inclusive
  std::int64_t epoch_end = 0;    // exclusive
  std::uint64_t emission = 0;
  std::uint64_t carry_in = 0;
  std::uint64_t unallocated = 0;
  std::uint64_t min_payout = 0;
  std::vector<Payout> payouts;  // sorted by provider (bytewise), amounts > 0
  std::vector<Carry> carry;     // sorted by provider, amounts > 0
  std::string merkle_root;      // 64 lower-case hex digits
  Inputs inputs;
  std::vector<Account> accounts;  // one per registered provider, sorted by provider
  friend bool operator==(const Statement&, const Statement&) = default;
};

// The Merkle leaves of the payouts, in payout order. Fails on an invalid wallet.
Result<std::vector<Digest>> payout_leaves(const Statement& s);

// Checks what any statement must satisfy (sorted unique providers, wallets,
// positive amounts, conservation without overflow, the root over the payouts).
// `origin` prefixes the message.
Status check_statement(const Statement& s, const std::string& origin);

// The canonical JSON: same statement, same bytes.
std::string statement_json(const Statement& s);

// provider,wallet,amount,carry: one row per provider paid or carried.
std::string statement_csv(const Statement& s);

// Reads and checks a statement (check_statement). Errors start "FILE: ".
Result<Statement> read_statement(const std::string& path);

// Writes bytes to `path` unless a file with different bytes is already there:
// a statement once written is immutable. Writing the same bytes again succeeds
// (a cron rerun is harmless). Atomic: temporary file, then rename.
Status write_immutable(const std::string& path, const std::string& bytes);
// The check write_immutable starts with: ok when `path` is absent or holds
// exactly `bytes`. Lets a caller writing several files refuse before any.
Status check_immutable(const std::string& path, const std::string& bytes);

// check_statement, then write_immutable(path, statement_json(s)).
Status write_statement(const std::string& path, const Statement& s);

}  // namespace flotilla::rewards
