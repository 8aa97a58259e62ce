// The settle run. Order matters for exactly-once:
//   1. resolve every transaction an earlier run signed (confirmed -> paid;
//      failed -> pending; not found and its blockhash expired -> pending, safe
//      to sign anew; otherwise rebroadcast the same bytes and wait);
//   2. only then sign new transactions for pending payouts, each written to
//      the ledger durably before it is sent.
// A payout is never in two signed transactions that could both land: it is
// re-signed only after its old transaction failed or provably expired.
#include "chain_settlement/settle.h"

#include <algorithm>
#include <map>
#include <thread>

#include "chain_settlement/base58.h"
#include "chain_settlement/ledger.h"
#include "reward_model/statement.h"

namespace flotilla::chain {
namespace {

using Clock = std::chrono::steady_clock;

// How many times one run signs anew what expired in the same run.
constexpr int kRounds = 3;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kRebroadcastInterval = std::chrono::seconds(2);

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

struct Plan {
  std::vector<std::int64_t> indexes;  // ledger payout indexes, in order
  std::vector<Transfer> transfers;
  std::vector<std::size_t> runs;
  std::uint64_t tokens = 0, fees = 0;
};

// Decides which pending or deferred payouts can be paid now (valid wallet,
// token account present) and defers the others with the reason.
Result<Plan> plan_payouts(std::span<const LedgerPayout> payouts, const Pubkey& mint, RpcClient& rpc,
                          const TransferBatcher& batcher, PayoutLedger* ledger,
                          std::map<std::string, std::size_t>& deferred) {
  std::vector<const LedgerPayout*> open;
  std::vector<Pubkey> accounts;
  for (const LedgerPayout& p : payouts) {
    if (p.state != PayoutState::kPending && p.state != PayoutState::kDeferred) continue;
    auto wallet = Pubkey::from_base58(p.wallet);
    if (!wallet) {
      const std::string why = "wallet '" + p.wallet + "' is not a Solana address";
      ++deferred[why];
      if (ledger) {
        if (Status s = ledger->set_deferred(p.index, why); !s) return s;
      }
      continue;
    }
    open.push_back(&p);
    accounts.push_back(associated_token_address(*wallet, mint));
  }
  auto infos = rpc.multiple_accounts(accounts);
  if (!infos) return infos.status();
  Plan plan;
  for (std::size_t i = 0; i < open.size(); ++i) {
    const LedgerPayout& p = *open[i];
    const auto& info = (*infos)[i];
    if (!info || info->owner != kTokenProgram) {
      const std::string why = "recipient has no token account for this mint";
      ++deferred[why];
      if (ledger) {
        if (Status s = ledger->set_deferred(p.index, why + " (" + accounts[i].to_base58() + ")");
            !s) {
          return s;
        }
      }
      continue;
    }
    if (ledger && p.state == PayoutState::kDeferred) {
      if (Status s = ledger->set_pending(p.index); !s) return s;
    }
    if (plan.tokens > UINT64_MAX - p.amount) return Status::error("payout total overflows u64");
    plan.tokens += p.amount;
    plan.indexes.push_back(p.index);
    plan.transfers.push_back({accounts[i], p.amount});
  }
  auto runs = batcher.pack(plan.transfers);
  if (!runs) return runs.status();
  plan.runs = std::move(*runs);
  for (std::size_t n : plan.runs) plan.fees += batcher.fee_lamports(n);
  return plan;
}

std::string plan_line(const Plan& plan) {
  std::map<std::size_t, std::size_t> sizes;
  for (std::size_t n : plan.runs) ++sizes[n];
  std::string shape;
  for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
    shape += (shape.empty() ? "" : ", ") + std::to_string(it->second) + " x " +
             std::to_string(it->first);
  }
  const std::size_t n = plan.transfers.size();
  return std::to_string(n) + " payouts in " + std::to_string(plan.runs.size()) + " transactions (" +
         (shape.empty() ? "none" : shape + " payouts") + "), fees " + std::to_string(plan.fees) +
         " lamports" +
         (n ? ", " + std::to_string(plan.fees / n) + "." +
                  std::to_string((plan.fees % n) * 10 / n) + " lamports per payout"
            : "");
}

void add_deferred_lines(SettleReport& report, const std::map<std::string, std::size_t>& deferred) {
  for (const auto& [why, count] : deferred) {
    report.lines.push_back("deferred " + std::to_string(count) + " payouts: " + why);
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
  const TransferBatcher batcher(PayerAccounts{payer, source, *mint, (*mint_account)->data[44]},
                                design);

  std::vector<LedgerPayout> from_statement;
  for (std::size_t i = 0; i < statement->payouts.size(); ++i) {
    const auto& p = statement->payouts[i];
    from_statement.push_back({static_cast<std::int64_t>(i), p.provider, p.wallet, p.amount});
  }

  if (req.dry_run) {
    // Plans from the ledger when there is one, writes nothing, sends nothing.
    std::vector<LedgerPayout> payouts = from_statement;
    if (std::filesystem::exists(req.ledger)) {
      auto ledger = PayoutLedger::open(req.ledger);
      if (!ledger) return run.finish(SettleOutcome::kBadInput, ledger.message());
      auto recorded = ledger->payouts();
      if (!recorded) return run.finish(SettleOutcome::kBadInput, recorded.message());
      payouts = std::move(*recorded);
    }
    std::map<std::string, std::size_t> deferred;
    auto plan = plan_payouts(payouts, *mint, rpc, batcher, nullptr, deferred);
    if (!plan) return run.fail(plan.status());
    run.report().lines.push_back("dry run, nothing sent: " + plan_line(*plan));
    add_deferred_lines(run.report(), deferred);
    return run.finish(SettleOutcome::kDone, "payer " + payer.to_base58() + " pays " +
                                                std::to_string(plan->tokens) +
                                                " token base units from " + source.to_base58());
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

  std::size_t sent_now = 0;
  std::map<std::string, std::size_t> deferred;
  for (int round = 0; round < kRounds; ++round) {
    if (Status s = resolve_signed(*ledger, rpc, run); !s) return run.fail(s);
    auto payouts = ledger->payouts();
    if (!payouts) return run.fail(payouts.status());
    deferred.clear();
    auto plan = plan_payouts(*payouts, *mint, rpc, batcher, &*ledger, deferred);
    if (!plan) return run.fail(plan.status());
    if (plan->transfers.empty()) break;
    run.say("paying " + plan_line(*plan));

    auto tokens = rpc.token_account_balance(source);
    if (!tokens) {
      return run.fail(rpc_unreachable(tokens.status())
                          ? tokens.status()
                          : Status::error("payer's token account " + source.to_base58() +
                                          " cannot be read: " + tokens.message()));
    }
    if (*tokens < plan->tokens) {
      return run.finish(SettleOutcome::kPartial,
                        "payer's token account " + source.to_base58() + " holds " +
                            std::to_string(*tokens) + " but the payouts need " +
                            std::to_string(plan->tokens) + "; nothing sent");
    }
    auto lamports = rpc.balance(payer);
    if (!lamports) return run.fail(lamports.status());
    if (*lamports < plan->fees) {
      return run.finish(SettleOutcome::kPartial, "payer " + payer.to_base58() + " holds " +
                                                     std::to_string(*lamports) +
                                                     " lamports but the fees need " +
                                                     std::to_string(plan->fees) + "; nothing sent");
    }

    std::size_t begin = 0;
    for (std::size_t n : plan->runs) {
      const auto transfers = std::span(plan->transfers).subspan(begin, n);
      const auto indexes = std::span(plan->indexes).subspan(begin, n);
      begin += n;
      auto hash = rpc.latest_blockhash();
      if (!hash) return run.fail(hash.status());
      auto message = batcher.compile(transfers, hash->blockhash);
      if (!message) return run.fail(message.status());
      const Keypair* signers[] = {&*keypair};
      auto wire = sign_transaction(*message, signers);
      if (!wire) return run.fail(wire.status());
      const Signature signature = transaction_signature(*wire);
      auto id = ledger->record_signed(signature, *wire, hash->last_valid_block_height,
                                      batcher.fee_lamports(n), indexes);
      if (!id) return run.fail(id.status());
      run.crash(CrashPoint::kRecorded);
      auto sent = rpc.send_transaction(*wire);
      run.crash(CrashPoint::kSent);
      if (!sent) {
        // Recorded, so the next resolve decides its fate; never re-signed before.
        if (rpc_unreachable(sent.status())) return run.fail(sent.status());
        run.say("sending " + base58_encode(signature) + " was refused: " + sent.message());
        break;
      }
      ++sent_now;
      run.say("sent " + base58_encode(signature) + " (" + std::to_string(n) + " payouts)");
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
  for (const std::string& p : problems) report.lines.push_back(p);
  report.lines.push_back(
      std::to_string(paid) + " of " + std::to_string(payouts->size()) + " payouts paid by " +
      std::to_string(signatures.size()) + " confirmed transactions; " +
      (problems.empty() ? "verified" : std::to_string(problems.size()) + " problems"));
  report.outcome = problems.empty() ? SettleOutcome::kDone : SettleOutcome::kPartial;
  return report;
}

}  // namespace flotilla::chain
