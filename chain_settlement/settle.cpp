// The settle run. Order matters for exactly-once:
//   1. resolve every transaction an earlier run signed (confirmed -> paid;
//      failed -> pending; not found and its blockhash expired -> pending, safe
//      to sign anew; otherwise rebroadcast the same bytes and wait);
//   2. only then sign new transactions for pending payouts, each written to
//      the ledger durably before it is sent.
// A payout is never in two signed transactions that could both land: it is
// re-signed only after its old transaction failed or provably expired.
// Lookup-table set-up (v0) goes through the same ledger: each create and
// extend is recorded (no payouts) before it is sent and resolved like any
// other; the registry records a table before its creation is sent, and what a
// table holds is always read back from the chain.
#include "chain_settlement/settle.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "chain_settlement/base58.h"
#include "chain_settlement/ledger.h"
#include "chain_settlement/lookup_table.h"
#include "reward_model/statement.h"

namespace flotilla::chain {
namespace {

using Clock = std::chrono::steady_clock;

// How many times one run signs anew what expired in the same run.
constexpr int kRounds = 3;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kRebroadcastInterval = std::chrono::seconds(2);
// An SPL token account's size, whose rent the payer pays for each account it
// creates (REFERENCE.md: 2,039,280 lamports).
constexpr std::size_t kTokenAccountSize = 165;

class Run {
 public:
  explicit Run(const SettleRequest& request) : req_(request) {}

  void say(const std::string& line) {
    if (req_.progress) req_.progress(line);
  }
  void crash(CrashPoint point) {
    if (req_.crash_hook) req_.crash_hook(point);
  }
  SettleReport finish(SettleOutcome outcome, std::string line) {
    report_.outcome = outcome;
    report_.lines.push_back(std::move(line));
    return std::move(report_);
  }
  SettleReport fail(const Status& status) {
    return finish(rpc_unreachable(status) ? SettleOutcome::kUnreachable : SettleOutcome::kPartial,
                  status.message());
  }
  SettleReport& report() { return report_; }
  const SettleRequest& request() const { return req_; }

 private:
  const SettleRequest& req_;
  SettleReport report_;
};

// Waits until no transaction is left in state `signed`, acting on each as the
// chain answers; rebroadcasts the recorded bytes while they can still land.
Status resolve_signed(PayoutLedger& ledger, RpcClient& rpc, Run& run) {
  const auto deadline = Clock::now() + run.request().confirm_timeout;
  auto last_broadcast = Clock::time_point{};
  for (;;) {
    auto txs = ledger.transactions(TransactionState::kSigned);
    if (!txs) return txs.status();
    if (txs->empty()) return Status::ok();
    std::vector<Signature> signatures;
    for (const LedgerTransaction& t : *txs) signatures.push_back(t.signature);
    auto statuses = rpc.signature_statuses(signatures);
    if (!statuses) return statuses.status();
    auto height = rpc.block_height();
    if (!height) return height.status();
    const bool rebroadcast = Clock::now() - last_broadcast >= kRebroadcastInterval;
    std::size_t waiting = 0;
    for (std::size_t i = 0; i < txs->size(); ++i) {
      const LedgerTransaction& t = (*txs)[i];
      const std::string sig = base58_encode(t.signature);
      const auto& status = (*statuses)[i];
      if (status && !status->error) {
        run.crash(CrashPoint::kConfirmed);
        if (Status s = ledger.mark_confirmed(t.id); !s) return s;
        run.say("confirmed " + sig + " (" + std::to_string(t.payouts.size()) + " payouts)");
      } else if (status) {
        if (Status s = ledger.mark_not_paid(t.id, TransactionState::kFailed,
                                            "transaction failed on chain: " + *status->error);
            !s) {
          return s;
        }
        run.say("failed " + sig + ": " + *status->error + " (its payouts will be retried)");
      } else if (*height > t.last_valid_block_height) {
        if (Status s = ledger.mark_not_paid(t.id, TransactionState::kExpired,
                                            "blockhash expired before the transaction landed");
            !s) {
          return s;
        }
        run.say("expired " + sig + " (not found; its payouts will be signed anew)");
      } else {
        ++waiting;
        if (rebroadcast) {
          auto sent = rpc.send_transaction(t.wire);
          if (!sent && rpc_unreachable(sent.status())) return sent.status();
        }
      }
    }
    if (rebroadcast) last_broadcast = Clock::now();
    if (waiting == 0) continue;  // re-read: everything was acted on
    if (Clock::now() >= deadline) {
      return Status::error(std::to_string(waiting) +
                           " transactions are neither confirmed nor expired yet; run again later");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Signs `message`, records it (with the payouts it carries, none for table
// set-up) durably, then sends it. False when the cluster refused it (it is
// recorded, so the next resolve decides its fate).
Result<bool> record_and_send(PayoutLedger& ledger, RpcClient& rpc, const Keypair& payer,
                             const CompiledMessage& message, const LatestBlockhash& hash,
                             std::uint64_t fee, std::span<const std::int64_t> payouts,
                             CrashPoint recorded, const std::string& what, Run& run) {
  const Keypair* signers[] = {&payer};
  auto wire = sign_transaction(message, signers);
  if (!wire) return wire.status();
  const Signature signature = transaction_signature(*wire);
  auto id = ledger.record_signed(signature, *wire, hash.last_valid_block_height, fee, payouts);
  if (!id) return id.status();
  run.crash(recorded);
  auto sent = rpc.send_transaction(*wire);
  if (recorded == CrashPoint::kRecorded) run.crash(CrashPoint::kSent);
  if (!sent) {
    if (rpc_unreachable(sent.status())) return sent.status();
    run.say("sending " + base58_encode(signature) + " was refused: " + sent.message());
    return false;
  }
  run.say("sent " + base58_encode(signature) + " (" + what + ")");
  return true;
}

// A payout that can be paid now.
struct Payable {
  std::int64_t index;
  Transfer transfer;
};

struct Selection {
  std::vector<Payable> payable;
  std::uint64_t tokens = 0;
  std::size_t creations = 0;
};

// Decides which pending or deferred payouts can be paid now (valid wallet,
// token account present or, with `create_accounts`, creatable) and defers the
// others with the reason.
Result<Selection> select_payouts(std::span<const LedgerPayout> payouts, const Pubkey& mint,
                                 RpcClient& rpc, bool create_accounts, PayoutLedger* ledger,
                                 std::map<std::string, std::size_t>& deferred) {
  std::vector<const LedgerPayout*> open;
  std::vector<Pubkey> wallets, accounts;
  auto defer = [&](const LedgerPayout& p, const std::string& why,
                   const std::string& detail) -> Status {
    ++deferred[why];
    return ledger ? ledger->set_deferred(p.index, why + detail) : Status::ok();
  };
  for (const LedgerPayout& p : payouts) {
    if (p.state != PayoutState::kPending && p.state != PayoutState::kDeferred) continue;
    auto wallet = Pubkey::from_base58(p.wallet);
    if (!wallet) {
      if (Status s = defer(p, "wallet '" + p.wallet + "' is not a Solana address", ""); !s)
        return s;
      continue;
    }
    open.push_back(&p);
    wallets.push_back(*wallet);
    accounts.push_back(associated_token_address(*wallet, mint));
  }
  auto infos = rpc.multiple_accounts(accounts);
  if (!infos) return infos.status();
  Selection out;
  for (std::size_t i = 0; i < open.size(); ++i) {
    const LedgerPayout& p = *open[i];
    const auto& info = (*infos)[i];
    const std::string where = " (" + accounts[i].to_base58() + ")";
    std::optional<Pubkey> create_for;
    if (info && info->owner != kTokenProgram) {
      // Something else lives at the address: creating or paying would fail the batch.
      if (Status s = defer(p, "recipient's token account address holds a non-token account", where);
          !s) {
        return s;
      }
      continue;
    }
    if (!info && !create_accounts) {
      if (Status s = defer(p, "recipient has no token account for this mint", where); !s) return s;
      continue;
    }
    if (!info) create_for = wallets[i];
    if (ledger && p.state == PayoutState::kDeferred) {
      if (Status s = ledger->set_pending(p.index); !s) return s;
    }
    if (out.tokens > UINT64_MAX - p.amount) return Status::error("payout total overflows u64");
    out.tokens += p.amount;
    out.creations += create_for.has_value();
    out.payable.push_back({p.index, {accounts[i], p.amount, create_for}});
  }
  return out;
}

// Lookup tables for the payouts (v0): the tables the payer already has for the
// mint, as the chain holds them, and what set-up the payouts still need.
struct TablePlan {
  struct Table {
    Pubkey address;
    std::vector<Pubkey> holds, adds;
    std::uint64_t last_extended_slot = 0;
  };
  std::vector<Table> existing;             // on chain, active, ours
  std::vector<std::vector<Pubkey>> fresh;  // tables to create, with what they will hold
  std::size_t extend_transactions = 0;
  std::uint64_t fees = 0, rent = 0;  // of the set-up; rent comes back when tables close

  bool empty() const { return fresh.empty() && extend_transactions == 0; }
  // The tables as they will stand after the set-up (new ones at a stand-in
  // address, which does not change any size).
  std::vector<LookupTable> tables() const {
    std::vector<LookupTable> out;
    for (const Table& t : existing) {
      std::vector<Pubkey> all = t.holds;
      all.insert(all.end(), t.adds.begin(), t.adds.end());
      out.emplace_back(t.address, std::move(all));
    }
    for (const auto& f : fresh) out.emplace_back(kAddressLookupTableProgram, f);
    return out;
  }
};

std::size_t chunks(std::size_t n, std::size_t per) {
  return (n + per - 1) / per;
}

// Each table holds the source and the mint first, then up to `per_table`
// recipients' token accounts; new recipients fill the oldest table with room.
Result<TablePlan> plan_tables(std::span<const RecordedLookupTable> recorded, RpcClient& rpc,
                              const PayerAccounts& accounts, std::span<const Payable> payable,
                              std::size_t per_table) {
  std::vector<Pubkey> addresses;
  for (const RecordedLookupTable& t : recorded) {
    if (!t.retired) addresses.push_back(*Pubkey::from_base58(t.address));
  }
  auto infos = rpc.multiple_accounts(addresses);
  if (!infos) return infos.status();
  TablePlan plan;
  std::set<Pubkey> present;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto& info = (*infos)[i];
    // Not on chain: its creation never landed (or has not yet); checked again next run.
    if (!info || info->owner != kAddressLookupTableProgram) continue;
    auto state = decode_lookup_table(info->data);
    if (!state || !state->active() || state->authority != accounts.payer) continue;
    plan.existing.push_back({addresses[i], state->addresses, {}, state->last_extended_slot});
    present.insert(state->addresses.begin(), state->addresses.end());
  }
  const std::array<Pubkey, 2> header{accounts.source, accounts.mint};
  auto recipients = [&](std::size_t size) { return size < 2 ? 0 : size - 2; };
  for (auto& t : plan.existing) {
    for (const Pubkey& h : header) {
      if (std::find(t.holds.begin(), t.holds.end(), h) == t.holds.end()) t.adds.push_back(h);
    }
  }
  std::set<Pubkey> placed;
  std::size_t room_at = 0;  // tables before this one are full
  for (const Payable& p : payable) {
    const Pubkey& d = p.transfer.destination;
    if (present.count(d) || !placed.insert(d).second) continue;
    for (; room_at < plan.existing.size(); ++room_at) {
      const auto& t = plan.existing[room_at];
      if (recipients(t.holds.size() + t.adds.size()) < per_table &&
          t.holds.size() + t.adds.size() < kLookupTableMaxAddresses) {
        break;
      }
    }
    if (room_at < plan.existing.size()) {
      plan.existing[room_at].adds.push_back(d);
    } else {
      if (plan.fresh.empty() || recipients(plan.fresh.back().size()) >= per_table) {
        plan.fresh.push_back({header.begin(), header.end()});
      }
      plan.fresh.back().push_back(d);
    }
  }
  const std::size_t per_extend = lookup_table_extend_capacity();
  auto rent = [&](std::size_t n) {
    return rpc.minimum_balance_for_rent_exemption(lookup_table_size(n));
  };
  for (auto& t : plan.existing) {
    if (t.adds.empty()) continue;
    plan.extend_transactions += chunks(t.adds.size(), per_extend);
    auto before = rent(t.holds.size());
    auto after = rent(t.holds.size() + t.adds.size());
    if (!before) return before.status();
    if (!after) return after.status();
    plan.rent += *after - *before;
  }
  for (const auto& f : plan.fresh) {
    plan.extend_transactions += chunks(f.size(), per_extend);
    auto r = rent(f.size());
    if (!r) return r.status();
    plan.rent += *r;
  }
  plan.fees = kLamportsPerSignature * (plan.fresh.size() + plan.extend_transactions);
  return plan;
}

Result<std::vector<RecordedLookupTable>> recorded_tables(LookupTableRegistry& registry,
                                                         const PayerAccounts& accounts) {
  return registry.tables(accounts.payer.to_base58(), accounts.mint.to_base58());
}

// Creates and extends tables until nothing is left to do (each round plans
// again from the chain, so whatever expired or failed is redone), then waits
// until every table is usable. Returns the tables as the chain holds them.
Result<std::vector<LookupTable>> set_up_tables(PayoutLedger& ledger, LookupTableRegistry& registry,
                                               RpcClient& rpc, const Keypair& payer,
                                               const PayerAccounts& accounts,
                                               std::span<const Payable> payable,
                                               std::size_t per_table, Run& run) {
  constexpr int kTableRounds = 4;
  for (int round = 0;; ++round) {
    auto recorded = recorded_tables(registry, accounts);
    if (!recorded) return recorded.status();
    auto plan = plan_tables(*recorded, rpc, accounts, payable, per_table);
    if (!plan) return plan.status();
    if (plan->empty()) {
      std::uint64_t last = 0;
      for (const auto& t : plan->existing) last = std::max(last, t.last_extended_slot);
      const auto deadline = Clock::now() + run.request().confirm_timeout;
      for (;;) {
        auto slot = rpc.slot();
        if (!slot) return slot.status();
        if (*slot > last) return plan->tables();
        if (Clock::now() >= deadline) {
          return Status::error("lookup tables extended at slot " + std::to_string(last) +
                               " are not usable yet; run again later");
        }
        std::this_thread::sleep_for(kPollInterval);
      }
    }
    if (round == kTableRounds) {
      return Status::error("lookup tables are still not set up after " +
                           std::to_string(kTableRounds) + " rounds; run again");
    }
    auto send = [&](const Instruction& ix, const std::string& what) -> Status {
      auto hash = rpc.latest_blockhash();
      if (!hash) return hash.status();
      auto message = compile_message(MessageVersion::kLegacy, accounts.payer, std::span(&ix, 1),
                                     hash->blockhash);
      if (!message) return message.status();
      auto sent = record_and_send(ledger, rpc, payer, *message, *hash, kLamportsPerSignature, {},
                                  CrashPoint::kTableSetup, what, run);
      return sent ? Status::ok() : sent.status();
    };
    if (!plan->fresh.empty()) {
      // A table's address comes from the slot it is created at, so each new
      // table takes its own recent slot from SlotHashes.
      auto sysvar = rpc.account_info(kSlotHashesSysvar);
      if (!sysvar) return sysvar.status();
      if (!*sysvar) return Status::error("the SlotHashes sysvar cannot be read");
      auto slots = decode_slot_hashes((*sysvar)->data);
      if (!slots) return slots.status();
      std::set<std::string> taken;
      for (const RecordedLookupTable& t : *recorded) taken.insert(t.address);
      auto slot = slots->begin();
      for (std::size_t i = 0; i < plan->fresh.size(); ++i) {
        Pubkey table;
        for (;; ++slot) {
          if (slot == slots->end())
            return Status::error("no recent slot left to create a table at");
          table = lookup_table_address(accounts.payer, *slot).first;
          if (!taken.count(table.to_base58())) break;
        }
        taken.insert(table.to_base58());
        // Recorded before its creation is sent, so no table is ever forgotten.
        if (Status s = registry.add(table.to_base58(), accounts.payer.to_base58(),
                                    accounts.mint.to_base58(), *slot);
            !s) {
          return s;
        }
        if (Status s = send(create_lookup_table(accounts.payer, accounts.payer, *slot),
                            "create lookup table " + table.to_base58());
            !s) {
          return s;
        }
      }
    } else {
      const std::size_t per_extend = lookup_table_extend_capacity();
      for (const auto& t : plan->existing) {
        for (std::size_t at = 0; at < t.adds.size(); at += per_extend) {
          const auto part = std::span(t.adds).subspan(at, std::min(per_extend, t.adds.size() - at));
          if (Status s = send(extend_lookup_table(t.address, accounts.payer, accounts.payer, part),
                              "extend lookup table " + t.address.to_base58() + " by " +
                                  std::to_string(part.size()) + " addresses");
              !s) {
            return s;
          }
        }
      }
    }
    if (Status s = resolve_signed(ledger, rpc, run); !s) return s;
  }
}

// Payable payouts in transactions: grouped by the table that holds their token
// account (one table per transaction keeps every lookup to one 34-byte entry),
// each group packed as full as the limits allow.
struct Packed {
  struct Batch {
    std::size_t batcher;
    std::vector<std::int64_t> indexes;
    std::vector<Transfer> transfers;
    std::size_t creations = 0;
  };
  std::vector<TransferBatcher> batchers;
  std::vector<Batch> batches;
  std::size_t payouts = 0;
  std::uint64_t fees = 0;
};

Result<Packed> pack_payouts(std::span<const Payable> payable, std::span<const LookupTable> tables,
                            const PayerAccounts& accounts, const TransferDesign& design) {
  Packed out;
  for (const LookupTable& t : tables) out.batchers.emplace_back(accounts, design, std::vector{t});
  out.batchers.emplace_back(accounts, design);  // for accounts in no table
  std::vector<std::vector<const Payable*>> groups(out.batchers.size());
  for (const Payable& p : payable) {
    std::size_t k = 0;
    while (k < tables.size() && !tables[k].find(p.transfer.destination)) ++k;
    groups[k].push_back(&p);
  }
  for (std::size_t k = 0; k < groups.size(); ++k) {
    std::vector<Transfer> transfers;
    for (const Payable* p : groups[k]) transfers.push_back(p->transfer);
    auto runs = out.batchers[k].pack(transfers);
    if (!runs) return runs.status();
    std::size_t begin = 0;
    for (std::size_t n : *runs) {
      Packed::Batch b{k, {}, {}, 0};
      for (std::size_t i = begin; i < begin + n; ++i) {
        b.indexes.push_back(groups[k][i]->index);
        b.transfers.push_back(transfers[i]);
        b.creations += transfers[i].create_for.has_value();
      }
      out.fees += out.batchers[k].fee_lamports(n, b.creations);
      out.payouts += n;
      out.batches.push_back(std::move(b));
      begin += n;
    }
  }
  return out;
}

std::string plan_line(const Packed& plan) {
  std::map<std::size_t, std::size_t> sizes;
  for (const auto& b : plan.batches) ++sizes[b.transfers.size()];
  std::string shape;
  for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
    shape += (shape.empty() ? "" : ", ") + std::to_string(it->second) + " x " +
             std::to_string(it->first);
  }
  const std::size_t n = plan.payouts;
  return std::to_string(n) + " payouts in " + std::to_string(plan.batches.size()) +
         " transactions (" + (shape.empty() ? "none" : shape + " payouts") + "), fees " +
         std::to_string(plan.fees) + " lamports" +
         (n ? ", " + std::to_string(plan.fees / n) + "." +
                  std::to_string((plan.fees % n) * 10 / n) + " lamports per payout"
            : "");
}

std::string tables_line(const TablePlan& plan, std::size_t tables) {
  std::size_t adds = 0;
  for (const auto& t : plan.existing) adds += t.adds.size();
  for (const auto& f : plan.fresh) adds += f.size();
  return "lookup tables: " + std::to_string(tables) + " (" + std::to_string(plan.fresh.size()) +
         " to create, " + std::to_string(adds) + " addresses to add in " +
         std::to_string(plan.extend_transactions) + " transactions), set-up fees " +
         std::to_string(plan.fees) + " lamports, rent " + std::to_string(plan.rent) +
         " lamports (returned by close-tables)";
}

void add_deferred_lines(SettleReport& report, const std::map<std::string, std::size_t>& deferred) {
  for (const auto& [why, count] : deferred) {
    report.lines.push_back("deferred " + std::to_string(count) + " payouts: " + why);
  }
}

// What paying `selection` would take: the table set-up and the transactions.
struct Forecast {
  std::optional<TablePlan> tables;
  Packed packed;
  std::uint64_t account_rent = 0;  // rent of the token accounts to create
  std::uint64_t lamports() const {
    return packed.fees + account_rent + (tables ? tables->fees + tables->rent : 0);
  }
};

Result<Forecast> forecast(const Selection& selection, std::span<const RecordedLookupTable> recorded,
                          bool use_tables, RpcClient& rpc, const PayerAccounts& accounts,
                          const TransferDesign& design) {
  Forecast f;
  std::vector<LookupTable> tables;
  if (use_tables) {
    auto plan = plan_tables(recorded, rpc, accounts, selection.payable,
                            recipients_per_table(accounts, design));
    if (!plan) return plan.status();
    tables = plan->tables();
    f.tables = std::move(*plan);
  }
  auto packed = pack_payouts(selection.payable, tables, accounts, design);
  if (!packed) return packed.status();
  f.packed = std::move(*packed);
  if (selection.creations > 0) {
    auto rent = rpc.minimum_balance_for_rent_exemption(kTokenAccountSize);
    if (!rent) return rent.status();
    f.account_rent = *rent * selection.creations;
  }
  return f;
}

void add_forecast_lines(SettleReport& report, const Forecast& f, const Selection& selection) {
  report.lines.push_back(plan_line(f.packed));
  if (f.tables) report.lines.push_back(tables_line(*f.tables, f.tables->tables().size()));
  if (selection.creations > 0) {
    report.lines.push_back("token accounts to create: " + std::to_string(selection.creations) +
                           ", rent " + std::to_string(f.account_rent) + " lamports");
  }
}

}  // namespace

SettleReport settle(const SettleRequest& req) {
  Run run(req);
  auto statement = rewards::read_statement(req.statement.string());
  if (!statement) return run.finish(SettleOutcome::kBadInput, statement.message());
  auto mint = parse_pubkey(req.mint, "--mint");
  if (!mint) return run.finish(SettleOutcome::kBadInput, mint.message());
  auto keypair = Keypair::load(req.keypair);
  if (!keypair) return run.finish(SettleOutcome::kBadInput, keypair.message());
  const Pubkey payer = keypair->pubkey();
  const Pubkey source = associated_token_address(payer, *mint);
  RpcClient rpc(req.rpc_url, req.rpc);

  // Decimals from the mint (TransferChecked needs them; a missing mint is bad input).
  auto mint_account = rpc.account_info(*mint);
  if (!mint_account) return run.fail(mint_account.status());
  if (!*mint_account || (*mint_account)->owner != kTokenProgram ||
      (*mint_account)->data.size() < 45) {
    return run.finish(SettleOutcome::kBadInput, "--mint " + req.mint + " is not an SPL token mint");
  }
  TransferDesign design = req.design;
  design.memo = settlement_memo(statement->epoch, statement->merkle_root);
  const PayerAccounts accounts{payer, source, *mint, (*mint_account)->data[44]};
  const bool use_tables = design.version == MessageVersion::kV0;
  const std::filesystem::path tables_path =
      req.tables.empty() ? req.ledger.parent_path() / "lookup-tables.sqlite" : req.tables;

  std::vector<LedgerPayout> from_statement;
  for (std::size_t i = 0; i < statement->payouts.size(); ++i) {
    const auto& p = statement->payouts[i];
    from_statement.push_back({static_cast<std::int64_t>(i), p.provider, p.wallet, p.amount});
  }

  if (req.dry_run) {
    // Plans from the ledger and the table registry when they exist; writes
    // nothing, sends nothing.
    std::vector<LedgerPayout> payouts = from_statement;
    if (std::filesystem::exists(req.ledger)) {
      auto ledger = PayoutLedger::open(req.ledger);
      if (!ledger) return run.finish(SettleOutcome::kBadInput, ledger.message());
      auto recorded = ledger->payouts();
      if (!recorded) return run.finish(SettleOutcome::kBadInput, recorded.message());
      payouts = std::move(*recorded);
    }
    std::vector<RecordedLookupTable> recorded;
    if (use_tables && std::filesystem::exists(tables_path)) {
      auto registry = LookupTableRegistry::open(tables_path);
      if (!registry) return run.finish(SettleOutcome::kBadInput, registry.message());
      auto r = recorded_tables(*registry, accounts);
      if (!r) return run.finish(SettleOutcome::kBadInput, r.message());
      recorded = std::move(*r);
    }
    std::map<std::string, std::size_t> deferred;
    auto selection = select_payouts(payouts, *mint, rpc, req.create_accounts, nullptr, deferred);
    if (!selection) return run.fail(selection.status());
    auto f = forecast(*selection, recorded, use_tables, rpc, accounts, design);
    if (!f) return run.fail(f.status());
    run.report().lines.push_back("dry run, nothing sent:");
    add_forecast_lines(run.report(), *f, *selection);
    add_deferred_lines(run.report(), deferred);
    return run.finish(SettleOutcome::kDone,
                      "payer " + payer.to_base58() + " pays " + std::to_string(selection->tokens) +
                          " token base units from " + source.to_base58() + " and " +
                          std::to_string(f->lamports()) + " lamports");
  }

  auto lock = LedgerLock::acquire(req.ledger);
  if (!lock) return run.finish(SettleOutcome::kPartial, lock.message());
  auto ledger = PayoutLedger::open(req.ledger);
  if (!ledger) return run.finish(SettleOutcome::kBadInput, ledger.message());
  std::vector<NewPayout> fresh;
  for (const auto& p : statement->payouts) fresh.push_back({p.provider, p.wallet, p.amount});
  if (Status s = ledger->bind(
          {statement->epoch, statement->merkle_root, payer.to_base58(), mint->to_base58()}, fresh);
      !s) {
    return run.finish(SettleOutcome::kBadInput, req.ledger.string() + ": " + s.message());
  }
  // The registry is shared by every statement's run: one run at a time uses it.
  std::optional<LedgerLock> tables_lock;
  std::optional<LookupTableRegistry> registry;
  if (use_tables) {
    auto l = LedgerLock::acquire(tables_path);
    if (!l) return run.finish(SettleOutcome::kPartial, l.message());
    tables_lock.emplace(std::move(*l));
    auto r = LookupTableRegistry::open(tables_path);
    if (!r) return run.finish(SettleOutcome::kBadInput, r.message());
    registry.emplace(std::move(*r));
  }

  std::size_t sent_now = 0;
  std::map<std::string, std::size_t> deferred;
  for (int round = 0; round < kRounds; ++round) {
    if (Status s = resolve_signed(*ledger, rpc, run); !s) return run.fail(s);
    auto payouts = ledger->payouts();
    if (!payouts) return run.fail(payouts.status());
    deferred.clear();
    auto selection = select_payouts(*payouts, *mint, rpc, req.create_accounts, &*ledger, deferred);
    if (!selection) return run.fail(selection.status());
    if (selection->payable.empty()) break;

    auto tokens = rpc.token_account_balance(source);
    if (!tokens) {
      return run.fail(rpc_unreachable(tokens.status())
                          ? tokens.status()
                          : Status::error("payer's token account " + source.to_base58() +
                                          " cannot be read: " + tokens.message()));
    }
    if (*tokens < selection->tokens) {
      return run.finish(SettleOutcome::kPartial,
                        "payer's token account " + source.to_base58() + " holds " +
                            std::to_string(*tokens) + " but the payouts need " +
                            std::to_string(selection->tokens) + "; nothing sent");
    }
    std::vector<RecordedLookupTable> recorded;
    if (registry) {
      auto r = recorded_tables(*registry, accounts);
      if (!r) return run.fail(r.status());
      recorded = std::move(*r);
    }
    auto f = forecast(*selection, recorded, use_tables, rpc, accounts, design);
    if (!f) return run.fail(f.status());
    auto lamports = rpc.balance(payer);
    if (!lamports) return run.fail(lamports.status());
    if (*lamports < f->lamports()) {
      return run.finish(SettleOutcome::kPartial,
                        "payer " + payer.to_base58() + " holds " + std::to_string(*lamports) +
                            " lamports but fees and rent need " + std::to_string(f->lamports()) +
                            "; nothing sent");
    }
    std::vector<LookupTable> tables;
    if (registry) {
      if (f->tables && !f->tables->empty())
        run.say("setting up " + tables_line(*f->tables, f->tables->tables().size()));
      auto t = set_up_tables(*ledger, *registry, rpc, *keypair, accounts, selection->payable,
                             recipients_per_table(accounts, design), run);
      if (!t) return run.fail(t.status());
      tables = std::move(*t);
    }
    auto packed = pack_payouts(selection->payable, tables, accounts, design);
    if (!packed) return run.fail(packed.status());
    run.say("paying " + plan_line(*packed));

    for (const Packed::Batch& b : packed->batches) {
      const TransferBatcher& batcher = packed->batchers[b.batcher];
      auto hash = rpc.latest_blockhash();
      if (!hash) return run.fail(hash.status());
      auto message = batcher.compile(b.transfers, hash->blockhash);
      if (!message) return run.fail(message.status());
      auto sent = record_and_send(*ledger, rpc, *keypair, *message, *hash,
                                  batcher.fee_lamports(b.transfers.size(), b.creations), b.indexes,
                                  CrashPoint::kRecorded,
                                  std::to_string(b.transfers.size()) + " payouts", run);
      if (!sent) return run.fail(sent.status());
      if (!*sent) break;
      ++sent_now;
    }
  }
  if (Status s = resolve_signed(*ledger, rpc, run); !s) return run.fail(s);

  auto payouts = ledger->payouts();
  if (!payouts) return run.fail(payouts.status());
  std::size_t paid = 0;
  std::uint64_t paid_tokens = 0;
  for (const LedgerPayout& p : *payouts) {
    if (p.state == PayoutState::kPaid) {
      ++paid;
      paid_tokens += p.amount;
    }
  }
  const std::size_t total = payouts->size();
  add_deferred_lines(run.report(), deferred);
  const std::string counts = std::to_string(paid) + " of " + std::to_string(total) +
                             " payouts paid (" + std::to_string(paid_tokens) +
                             " token base units), epoch " + std::to_string(statement->epoch);
  if (paid == total) {
    return run.finish(SettleOutcome::kDone, sent_now == 0
                                                ? "already settled, nothing to do: " + counts
                                                : "settled: " + counts);
  }
  return run.finish(SettleOutcome::kPartial, "partly settled, run again: " + counts);
}

SettleReport close_lookup_tables(const SettleRequest& req) {
  auto mint = parse_pubkey(req.mint, "--mint");
  if (!mint) return {SettleOutcome::kBadInput, {mint.message()}};
  auto keypair = Keypair::load(req.keypair);
  if (!keypair) return {SettleOutcome::kBadInput, {keypair.message()}};
  const Pubkey payer = keypair->pubkey();
  if (!std::filesystem::exists(req.tables)) {
    return {SettleOutcome::kBadInput, {req.tables.string() + ": no lookup-table registry"}};
  }
  auto lock = LedgerLock::acquire(req.tables);
  if (!lock) return {SettleOutcome::kPartial, {lock.message()}};
  auto registry = LookupTableRegistry::open(req.tables);
  if (!registry) return {SettleOutcome::kBadInput, {registry.message()}};
  auto recorded = registry->tables(payer.to_base58(), mint->to_base58());
  if (!recorded) return {SettleOutcome::kBadInput, {recorded.message()}};
  RpcClient rpc(req.rpc_url, req.rpc);
  auto fail = [](const Status& s) {
    return SettleReport{rpc_unreachable(s) ? SettleOutcome::kUnreachable : SettleOutcome::kPartial,
                        {s.message()}};
  };
  std::vector<Pubkey> addresses;
  for (const RecordedLookupTable& t : *recorded)
    addresses.push_back(*Pubkey::from_base58(t.address));
  auto infos = rpc.multiple_accounts(addresses);
  if (!infos) return fail(infos.status());
  auto sysvar = rpc.account_info(kSlotHashesSysvar);
  if (!sysvar) return fail(sysvar.status());
  auto slots = *sysvar ? decode_slot_hashes((*sysvar)->data)
                       : Result<std::vector<std::uint64_t>>(
                             Status::error("the SlotHashes sysvar cannot be read"));
  if (!slots) return fail(slots.status());

  // Deactivate and close move no tokens and the chain refuses them a second
  // time, so unlike payouts they are simply sent again by the next run.
  struct Sent {
    Signature signature;
    std::size_t table;
    bool closes;
  };
  std::vector<Sent> sent;
  std::size_t cooling = 0;
  std::uint64_t reclaimed = 0;
  SettleReport report;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string address = addresses[i].to_base58();
    // Retired first: no settle run uses or extends it from here on.
    if (Status s = registry->retire(address); !s) return fail(s);
    const auto& info = (*infos)[i];
    if (!info || info->owner != kAddressLookupTableProgram) {
      if (Status s = registry->mark_closed(address); !s) return fail(s);
      continue;
    }
    auto state = decode_lookup_table(info->data);
    if (!state) return fail(Status::error(address + ": " + state.message()));
    std::optional<Instruction> ix;
    if (state->active()) {
      ix = deactivate_lookup_table(addresses[i], payer);
    } else if (std::find(slots->begin(), slots->end(), state->deactivation_slot) != slots->end() ||
               slots->empty() || slots->front() < state->deactivation_slot) {
      ++cooling;  // still in SlotHashes: a transaction could still be using it
      continue;
    } else {
      ix = close_lookup_table(addresses[i], payer, payer);
    }
    auto hash = rpc.latest_blockhash();
    if (!hash) return fail(hash.status());
    auto message =
        compile_message(MessageVersion::kLegacy, payer, std::span(&*ix, 1), hash->blockhash);
    if (!message) return fail(message.status());
    const Keypair* signers[] = {&*keypair};
    auto wire = sign_transaction(*message, signers);
    if (!wire) return fail(wire.status());
    auto signature = rpc.send_transaction(*wire);
    if (!signature) return fail(signature.status());
    sent.push_back({*signature, i, !state->active()});
    if (!state->active()) reclaimed += info->lamports;
  }
  std::vector<Signature> signatures;
  for (const Sent& s : sent) signatures.push_back(s.signature);
  const auto deadline = Clock::now() + req.confirm_timeout;
  std::size_t deactivated = 0, closed = 0;
  for (;;) {
    auto statuses = rpc.signature_statuses(signatures);
    if (!statuses) return fail(statuses.status());
    std::size_t waiting = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const auto& st = (*statuses)[i];
      if (!st) {
        ++waiting;
      } else if (st->error) {
        report.lines.push_back(addresses[sent[i].table].to_base58() + ": " +
                               (sent[i].closes ? "close" : "deactivate") +
                               " failed on chain: " + *st->error);
      }
    }
    if (waiting == 0) {
      for (std::size_t i = 0; i < sent.size(); ++i) {
        if ((*statuses)[i]->error) continue;
        if (sent[i].closes) {
          ++closed;
          if (Status s = registry->mark_closed(addresses[sent[i].table].to_base58()); !s) {
            return fail(s);
          }
        } else {
          ++deactivated;
        }
      }
      break;
    }
    if (Clock::now() >= deadline) {
      return fail(Status::error(std::to_string(waiting) +
                                " lookup-table transactions are not confirmed yet; run again"));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  report.lines.push_back("lookup tables: " + std::to_string(closed) + " closed (" +
                         std::to_string(reclaimed) + " lamports of rent back to the payer), " +
                         std::to_string(deactivated + cooling) + " deactivated and cooling down");
  const bool left = deactivated + cooling > 0 || sent.size() != closed + deactivated;
  if (left) {
    report.lines.push_back(
        "deactivated tables can be closed once 512 slots (about 3.5 minutes) have passed: run "
        "close-tables again");
  }
  report.outcome = left ? SettleOutcome::kPartial : SettleOutcome::kDone;
  return report;
}

SettleReport settle_status(const std::filesystem::path& path) {
  SettleReport report;
  if (!std::filesystem::exists(path)) {
    return {SettleOutcome::kBadInput, {path.string() + ": no payout ledger (nothing settled yet)"}};
  }
  auto ledger = PayoutLedger::open(path);
  if (!ledger) return {SettleOutcome::kBadInput, {ledger.message()}};
  auto payouts = ledger->payouts();
  auto txs = ledger->transactions();
  if (!payouts || !txs) return {SettleOutcome::kBadInput, {"payout ledger cannot be read"}};
  std::map<std::string, std::pair<std::size_t, std::uint64_t>> by_state;
  for (const LedgerPayout& p : *payouts) {
    auto& [count, tokens] = by_state[to_string(p.state)];
    ++count;
    tokens += p.amount;
  }
  for (const auto& [state, ct] : by_state) {
    report.lines.push_back("payouts " + state + ": " + std::to_string(ct.first) + " (" +
                           std::to_string(ct.second) + " token base units)");
  }
  std::map<std::string, std::pair<std::size_t, std::uint64_t>> tx_state;
  for (const LedgerTransaction& t : *txs) {
    auto& [count, fees] = tx_state[to_string(t.state)];
    ++count;
    fees += t.fee;
  }
  for (const auto& [state, ct] : tx_state) {
    report.lines.push_back("transactions " + state + ": " + std::to_string(ct.first) + " (" +
                           std::to_string(ct.second) + " lamports in fees)");
  }
  const bool done = by_state.size() == 1 && by_state.begin()->first == "paid";
  report.outcome = done || payouts->empty() ? SettleOutcome::kDone : SettleOutcome::kPartial;
  return report;
}

SettleReport settle_verify(const std::filesystem::path& statement_path,
                           const std::filesystem::path& path, const std::string& rpc_url,
                           const RpcOptions& options) {
  auto statement = rewards::read_statement(statement_path.string());
  if (!statement) return {SettleOutcome::kBadInput, {statement.message()}};
  if (!std::filesystem::exists(path)) {
    return {SettleOutcome::kBadInput, {path.string() + ": no payout ledger"}};
  }
  auto ledger = PayoutLedger::open(path);
  if (!ledger) return {SettleOutcome::kBadInput, {ledger.message()}};
  auto payouts = ledger->payouts();
  auto txs = ledger->transactions(TransactionState::kConfirmed);
  if (!payouts || !txs) return {SettleOutcome::kBadInput, {"payout ledger cannot be read"}};
  SettleReport report;
  std::vector<std::string> problems;
  if (payouts->size() != statement->payouts.size()) {
    problems.push_back("ledger has " + std::to_string(payouts->size()) + " payouts, statement " +
                       std::to_string(statement->payouts.size()));
  }
  for (std::size_t i = 0; i < std::min(payouts->size(), statement->payouts.size()); ++i) {
    const auto& s = statement->payouts[i];
    const auto& l = (*payouts)[i];
    if (s.provider != l.provider || s.wallet != l.wallet || s.amount != l.amount) {
      problems.push_back("payout " + std::to_string(i) + " (" + s.provider +
                         ") differs between statement and ledger");
    }
  }
  std::map<std::int64_t, std::size_t> carried;
  std::vector<Signature> signatures;
  for (const LedgerTransaction& t : *txs) {
    signatures.push_back(t.signature);
    for (std::int64_t p : t.payouts) ++carried[p];
  }
  for (const auto& [p, n] : carried) {
    if (n > 1)
      problems.push_back("payout " + std::to_string(p) + " is in " + std::to_string(n) +
                         " confirmed transactions");
  }
  std::size_t paid = 0;
  for (const LedgerPayout& p : *payouts) {
    if (p.state != PayoutState::kPaid) continue;
    ++paid;
    if (carried[p.index] != 1)
      problems.push_back("payout " + std::to_string(p.index) +
                         " is marked paid without a confirmed transaction");
  }
  RpcClient rpc(rpc_url, options);
  auto statuses = rpc.signature_statuses(signatures);
  if (!statuses) {
    return {
        rpc_unreachable(statuses.status()) ? SettleOutcome::kUnreachable : SettleOutcome::kPartial,
        {statuses.message()}};
  }
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    const auto& st = (*statuses)[i];
    if (!st || st->error) {
      problems.push_back("transaction " + base58_encode(signatures[i]) +
                         (st ? " failed on chain: " + *st->error : " is not found on chain"));
    }
  }
  // Balance changes: in each confirmed transaction, every recipient's token
  // account changed by exactly the sum of its payouts there (a token account
  // the transaction created counts from 0).
  auto identity = ledger->identity();
  if (!identity) return {SettleOutcome::kBadInput, {identity.message()}};
  const auto mint = Pubkey::from_base58(identity->mint);
  for (const LedgerTransaction& t : *txs) {
    if (t.payouts.empty() || !mint) continue;  // lookup-table set-up pays nobody
    auto record = rpc.transaction(t.signature);
    if (!record) {
      return {
          rpc_unreachable(record.status()) ? SettleOutcome::kUnreachable : SettleOutcome::kPartial,
          {record.message()}};
    }
    const std::string sig = base58_encode(t.signature);
    if (!*record) {
      problems.push_back("transaction " + sig + " has no record on chain (getTransaction)");
      continue;
    }
    std::map<Pubkey, std::pair<std::uint64_t, std::vector<std::int64_t>>> expected;
    for (std::int64_t p : t.payouts) {
      if (p < 0 || static_cast<std::size_t>(p) >= payouts->size()) continue;
      const LedgerPayout& lp = (*payouts)[static_cast<std::size_t>(p)];
      const auto wallet = Pubkey::from_base58(lp.wallet);
      if (!wallet) continue;
      auto& [amount, which] = expected[associated_token_address(*wallet, *mint)];
      amount += lp.amount;
      which.push_back(p);
    }
    for (const auto& [account, want] : expected) {
      std::int64_t change = 0;
      for (const TokenBalanceChange& c : (*record)->token_balances) {
        if (c.account == account) {
          change = static_cast<std::int64_t>(c.after) - static_cast<std::int64_t>(c.before);
        }
      }
      if (change != static_cast<std::int64_t>(want.first)) {
        std::string which;
        for (std::int64_t p : want.second) which += (which.empty() ? "" : ", ") + std::to_string(p);
        problems.push_back("payout " + which + ": token account " + account.to_base58() +
                           " changed by " + std::to_string(change) + " in transaction " + sig +
                           ", the statement says " + std::to_string(want.first));
      }
    }
  }
  for (const std::string& p : problems) report.lines.push_back(p);
  report.lines.push_back(
      std::to_string(paid) + " of " + std::to_string(payouts->size()) + " payouts paid by " +
      std::to_string(signatures.size()) + " confirmed transactions; " +
      (problems.empty() ? "verified" : std::to_string(problems.size()) + " problems"));
  report.outcome = problems.empty() ? SettleOutcome::kDone : SettleOutcome::kPartial;
  return report;
}

}  // namespace flotilla::chain
