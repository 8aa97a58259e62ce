// One epoch's rewards: metering records, the provider registry and the policy
// in, a Statement out. Pure computation on values (no clock, no files except
// the readers below), so the same inputs always give the same statement.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reward_model/policy.h"
#include "reward_model/registry.h"
#include "reward_model/statement.h"
#include "scheduler/metering.h"
#include "scheduler/status.h"

namespace flotilla::rewards {

// Metering records with the line each came from, for "FILE:LINE" errors about
// records that are well-formed but do not belong in this epoch. Value type.
struct MeterLog {
  std::string origin;
  std::vector<MeterRecord> records;
  std::vector<std::size_t> lines;  // lines[i] is the line of records[i]; empty: use i + 1
};

// read_meter_file (the one metering reader) plus the line of every record.
Result<MeterLog> read_meter_log(const std::string& path);

// Everything one statement is computed from; the pointers must outlive the call.
struct EpochInputs {
  std::uint64_t epoch = 0;
  const MeterLog* meter = nullptr;
  const Registry* registry = nullptr;
  const Policy* policy = nullptr;
  const Statement* previous = nullptr;  // epoch - 1's statement, whose carry comes in
  Inputs digests;                       // copied into the statement
};

// Computes the statement (README.md, "How an amount is computed"). Refuses
// records outside the epoch, unknown providers, GPU types or counts that differ
// from the registry, more GPU-seconds than a provider's GPUs have in the
// epoch, registry rows the policy cannot weigh, and a previous statement of
// another epoch, each with file and line.
Result<Statement> compute_statement(const EpochInputs& in);

// The files a statement is computed from; carry_from is the previous epoch's
// statement (none for the first epoch paid).
struct EpochFiles {
  std::uint64_t epoch = 0;
  std::string meter, providers, policy;
  std::optional<std::string> carry_from;
};

// Reads the files (recording their SHA-256 in the statement) and computes.
Result<Statement> statement_from_files(const EpochFiles& files);

// Scores summed over providers need 128 bits.
__extension__ using Uint128 = unsigned __int128;
std::string to_decimal(Uint128 v);

// SHA-256 of a file's bytes, in lower-case hex.
Result<std::string> file_sha256(const std::string& path);

// The GPU-seconds of a record that fall inside [lo, hi): its gpu_seconds spread
// evenly over [start, end), rounded so that the parts of one record in
// consecutive epochs add up to exactly its gpu_seconds.
std::uint64_t gpu_seconds_within(const MeterRecord& r, std::int64_t lo, std::int64_t hi);

// Splits `pool` in proportion to `scores` by largest remainder: everyone gets
// the floor of their exact share, then the units left over go one each to the
// largest remainders; among equal remainders the smaller `tie_key` wins. The sum is
// exactly `pool` when any score is positive, else everyone gets 0.
std::vector<std::uint64_t> apportion(std::uint64_t pool, const std::vector<std::uint64_t>& scores,
                                     const std::function<Digest(std::size_t)>& tie_key);

}  // namespace flotilla::rewards
