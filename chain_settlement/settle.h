// `flotilla settle`: pays an epoch's statement in batched SPL token transfers,
// exactly once, through the payout ledger. Library side: it returns what
// happened and never prints; the CLI prints and turns the outcome into cron's
// exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "chain_settlement/batch.h"
#include "chain_settlement/rpc_client.h"

namespace flotilla::chain {

// Exit codes for cron: 0 done or nothing to do, 1 partly done (run again),
// 2 bad input, 3 chain unreachable.
enum class SettleOutcome { kDone = 0, kPartial = 1, kBadInput = 2, kUnreachable = 3 };

// Points where a test may kill the process (kill -9 semantics) to prove that
// every crash is recoverable.
enum class CrashPoint {
  kRecorded,    // signed transaction written to the ledger, not yet sent
  kSent,        // sent, the answer not yet acted on
  kConfirmed,   // seen confirmed on chain, not yet marked paid
  kTableSetup,  // a lookup-table create or extend recorded, not yet sent
};

struct SettleRequest {
  std::filesystem::path statement, keypair, ledger;
  std::string mint;  // base58
  std::string rpc_url;
  // The lookup-table registry shared by every epoch's ledger (v0 only); empty:
  // lookup-tables.sqlite next to the ledger.
  std::filesystem::path tables;
  bool dry_run = false;
  // Create missing recipient token accounts (the payer pays the rent) instead
  // of deferring those payouts.
  bool create_accounts = false;
  TransferDesign design;  // the memo is filled in from the statement
  std::chrono::milliseconds confirm_timeout{std::chrono::seconds(120)};
  RpcOptions rpc;
  std::function<void(const std::string&)> progress;  // one line per event, for the operator
  std::function<void(CrashPoint)> crash_hook;        // tests only
};

struct SettleReport {
  SettleOutcome outcome = SettleOutcome::kDone;
  std::vector<std::string> lines;  // the summary to print
};

SettleReport settle(const SettleRequest& request);

// `settle close-tables`: deactivates every lookup table of the payer and mint
// in `request.tables`, and closes (rent back to the payer) those whose
// cooldown has passed. kPartial while some still cool down: run again later.
SettleReport close_lookup_tables(const SettleRequest& request);

// `settle status`: payouts and transactions by state, from the ledger only.
SettleReport settle_status(const std::filesystem::path& ledger);

// `settle verify`: the ledger against the statement and the chain: every
// statement payout is in the ledger with its amount, every paid payout's
// transaction is confirmed on chain without error, no payout is carried by
// two confirmed transactions, and each confirmed transaction changed every
// recipient's token account by exactly what the statement says.
SettleReport settle_verify(const std::filesystem::path& statement,
                           const std::filesystem::path& ledger, const std::string& rpc_url,
                           const RpcOptions& rpc);

}  // namespace flotilla::chain
