// `flotilla settle` end to end: the real binary against a real Solana runtime
// (LiteSVM behind the project's test server), with crashes and faults.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include <sqlite3.h>

#include "chain_settlement/ledger.h"
#include "reward_model/merkle.h"
#include "reward_model/statement.h"
#include "tests/chain_settlement/testnet.h"
#include "tests/run_flotilla.h"

namespace flotilla::chain {
namespace {

using flotilla::testing::run_flotilla;
using testing::random_keypair;
using testing::TestChain;

constexpr std::uint64_t kSol = 1'000'000'000;

// A chain with a funded payer, a mint, and `n` providers with empty token
// accounts (except the first `missing`, which have none), plus their statement.
class Settlement {
 public:
  Settlement(std::size_t n, std::uint64_t epoch, std::size_t missing = 0,
             std::uint64_t treasury = 1'000'000'000'000, std::uint64_t payer_lamports = 100 * kSol)
      : dir_(std::filesystem::temp_directory_path() /
             ("flotilla_settle_test_" + std::to_string(::getpid()) + "_" + std::to_string(epoch))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    chain_.airdrop(payer_.pubkey(), payer_lamports);
    mint_ = chain_.create_mint(payer_.pubkey(), 6);
    source_ = chain_.create_token_account(payer_.pubkey(), mint_, treasury);
    EXPECT_TRUE(payer_.save(keypair_path()).is_ok());
    rewards::Statement s;
    s.epoch = epoch;
    for (std::size_t i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "provider-%05zu", i);
      const Pubkey wallet = random_keypair().pubkey();
      const std::uint64_t amount = 1000 + i * 7;
      s.payouts.push_back({name, wallet.to_base58(), amount});
      s.emission += amount;
      accounts_.push_back(i < missing ? associated_token_address(wallet, mint_)
                                      : chain_.create_token_account(wallet, mint_, 0));
    }
    auto leaves = rewards::payout_leaves(s);
    EXPECT_TRUE(leaves);
    s.merkle_root = rewards::to_hex(rewards::merkle_root(*leaves));
    EXPECT_TRUE(rewards::write_statement(statement_path(), s).is_ok());
    statement_ = s;
  }
  ~Settlement() { std::filesystem::remove_all(dir_); }

  std::string statement_path() const { return (dir_ / "statement.json").string(); }
  std::string keypair_path() const { return (dir_ / "payer.json").string(); }
  std::string ledger_path() const { return statement_path() + ".ledger"; }
  std::string tables_path() const { return (dir_ / "lookup-tables.sqlite").string(); }
  // The lookup tables the registry holds for this payer and mint, on chain.
  std::vector<Pubkey> tables() {
    auto registry = LookupTableRegistry::open(tables_path());
    EXPECT_TRUE(registry) << registry.message();
    auto recorded = registry->tables(payer_.pubkey().to_base58(), mint_.to_base58());
    EXPECT_TRUE(recorded);
    std::vector<Pubkey> out;
    for (const auto& t : *recorded) out.push_back(*Pubkey::from_base58(t.address));
    return out;
  }
  std::string args(const std::string& extra = "") const {
    return "settle '" + statement_path() + "' --keypair '" + keypair_path() + "' --mint " +
           mint_.to_base58() + " --rpc '" + chain_.url() + "' " + extra;
  }
  flotilla::testing::CommandOutcome settle(const std::string& extra = "",
                                           const std::string& env = "") {
    return run_flotilla_env(env, args(extra));
  }
  static flotilla::testing::CommandOutcome run_flotilla_env(const std::string& env,
                                                            const std::string& args) {
    if (env.empty())
      ::unsetenv("FLOTILLA_SETTLE_CRASH");
    else
      ::setenv("FLOTILLA_SETTLE_CRASH", env.c_str(), 1);
    auto r = run_flotilla(args);
    ::unsetenv("FLOTILLA_SETTLE_CRASH");
    return r;
  }

  // Every provider holds exactly its amount: paid once, nobody forgotten.
  void expect_paid_exactly_once() {
    for (std::size_t i = 0; i < accounts_.size(); ++i) {
      auto balance = chain_.rpc().token_account_balance(accounts_[i]);
      ASSERT_TRUE(balance) << statement_.payouts[i].provider << ": " << balance.message();
      EXPECT_EQ(*balance, statement_.payouts[i].amount) << statement_.payouts[i].provider;
    }
  }
  std::uint64_t lamports() { return *chain_.rpc().balance(payer_.pubkey()); }

  TestChain chain_;
  Keypair payer_ = random_keypair();
  Pubkey mint_, source_;
  std::vector<Pubkey> accounts_;
  rewards::Statement statement_;
  std::filesystem::path dir_;
};

// Confirmed transactions of a ledger: those that pay (their sizes) and the
// lookup-table set-up (no payouts).
struct Confirmed {
  std::vector<std::size_t> payouts_per_tx;
  std::size_t setup = 0;
  std::uint64_t fees = 0;
};
Confirmed confirmed(const std::string& ledger_path) {
  Confirmed c;
  auto ledger = PayoutLedger::open(ledger_path);
  EXPECT_TRUE(ledger) << ledger.message();
  auto txs = ledger->transactions(TransactionState::kConfirmed);
  EXPECT_TRUE(txs);
  for (const LedgerTransaction& t : *txs) {
    if (t.payouts.empty()) {
      ++c.setup;
    } else {
      c.payouts_per_tx.push_back(t.payouts.size());
    }
    c.fees += t.fee;
  }
  return c;
}

TEST(SettleCommand, ThousandProvidersPaidExactlyWithPredictedFees) {
  Settlement s(1000, 1);
  const std::uint64_t before = s.lamports();
  auto plan = s.settle("--dry-run");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  // v0 with a lookup table, ComputeBudget and memo: 56 per transaction, and
  // each table holds 4 x 56 recipients, so 1,000 = 4 x 224 + 104 make 4 x 4 + 2
  // transactions. Set-up: 5 tables (226, 226, 226, 226, 106 addresses), each
  // created in one transaction and extended 30 addresses per transaction.
  EXPECT_NE(plan.out.find("1000 payouts in 18 transactions (17 x 56, 1 x 48 payouts), fees "
                          "90000 lamports, 90.0 lamports per payout"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("lookup tables: 5 (5 to create, 1010 addresses to add in 36 "
                          "transactions), set-up fees 205000 lamports"),
            std::string::npos)
      << plan.out;
  EXPECT_FALSE(std::filesystem::exists(s.ledger_path()));
  EXPECT_FALSE(std::filesystem::exists(s.tables_path()));
  EXPECT_EQ(s.lamports(), before);

  auto r = s.settle();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("settled: 1000 of 1000 payouts paid"), std::string::npos) << r.out;
  s.expect_paid_exactly_once();
  const Confirmed c = confirmed(s.ledger_path());
  EXPECT_EQ(c.payouts_per_tx.size(), 18u);
  EXPECT_EQ(std::count(c.payouts_per_tx.begin(), c.payouts_per_tx.end(), 56u), 17);
  EXPECT_EQ(c.setup, 5u + 4 * 8 + 4);
  // Fees as predicted (5,000 lamports per transaction, no priority fee), and
  // the rent the tables hold, reported apart (it comes back when they close).
  const auto tables = s.tables();
  ASSERT_EQ(tables.size(), 5u);
  std::uint64_t rent = 0;
  for (const Pubkey& t : tables) {
    auto info = s.chain_.rpc().account_info(t);
    ASSERT_TRUE(info && *info);
    EXPECT_EQ((*info)->lamports,
              *s.chain_.rpc().minimum_balance_for_rent_exemption((*info)->data.size()));
    rent += (*info)->lamports;
  }
  EXPECT_EQ(c.fees, (18 + c.setup) * 5000);
  EXPECT_EQ(before - s.lamports(), c.fees + rent);

  auto again = s.settle();
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already settled, nothing to do"), std::string::npos) << again.out;
  EXPECT_EQ(before - s.lamports(), c.fees + rent);

  auto verify =
      run_flotilla("settle verify '" + s.statement_path() + "' --rpc '" + s.chain_.url() + "'");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("verified"), std::string::npos);
  auto status = run_flotilla("settle status '" + s.statement_path() + "'");
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("payouts paid: 1000"), std::string::npos) << status.out;

  // The next epoch pays the same providers through the same tables: no set-up.
  rewards::Statement next = s.statement_;
  next.epoch = 2;
  next.merkle_root = rewards::to_hex(rewards::merkle_root(*rewards::payout_leaves(next)));
  const std::string next_path = (s.dir_ / "statement-2.json").string();
  ASSERT_TRUE(rewards::write_statement(next_path, next).is_ok());
  const std::uint64_t before_next = s.lamports();
  auto second = run_flotilla("settle '" + next_path + "' --keypair '" + s.keypair_path() +
                             "' --mint " + s.mint_.to_base58() + " --rpc '" + s.chain_.url() + "'");
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(second.out.find("lookup table"), std::string::npos) << second.out;
  const Confirmed c2 = confirmed(next_path + ".ledger");
  EXPECT_EQ(c2.payouts_per_tx.size(), 18u);
  EXPECT_EQ(c2.setup, 0u);
  EXPECT_EQ(before_next - s.lamports(), 18u * 5000);
  EXPECT_EQ(s.tables().size(), 5u);
}

// kill -9 at random points (after recording, after sending, after seeing a
// confirmation, inside lookup-table set-up), at least 50 times over several statements, each kill
// followed by a rerun; in the end every provider is paid exactly once.
TEST(SettleCommand, CrashesAnywhereNeverPayTwiceOrForget) {
  std::mt19937 rng(20261127);
  const char* points[] = {"recorded", "sent", "confirmed", "table"};
  int kills = 0;
  std::map<std::string, int> kills_at;
  for (std::uint64_t epoch = 100; kills < 50; ++epoch) {
    ASSERT_LT(epoch, 120u) << "too few kills: " << kills;
    Settlement s(150, epoch);  // 3 transactions after 7 of table set-up
    for (int run = 0; run < 15; ++run) {
      const std::string point = points[rng() % 4];
      const std::string spec = point + ":" + std::to_string(1 + rng() % 2);
      auto r = s.settle("--confirm-timeout 5", spec);
      // The shell between popen and flotilla reports SIGKILL as 128 + 9.
      const bool killed = r.exit_code == 128 + SIGKILL;
      ASSERT_TRUE(killed || r.exit_code == 0 || r.exit_code == 1)
          << spec << ": " << r.exit_code << r.err;
      if (r.exit_code == 0) break;
      kills += killed;
      kills_at[point] += killed;
      // Sometimes the chain moves on: what was recorded but never sent expires.
      if (rng() % 3 == 0) s.chain_.advance_blocks(151);
    }
    auto last = s.settle("--confirm-timeout 5");
    ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
    s.expect_paid_exactly_once();
    auto verify =
        run_flotilla("settle verify '" + s.statement_path() + "' --rpc '" + s.chain_.url() + "'");
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  }
  for (const char* point : points) EXPECT_GT(kills_at[point], 0) << "never killed at " << point;
}

TEST(SettleCommand, LostResponsesAndLostTransactionsEndPaidOnce) {
  Settlement s(50, 2);
  s.chain_.set_faults({{"dropResponses", 2}});
  auto r = s.settle();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  s.expect_paid_exactly_once();

  Settlement t(50, 3);
  // The leader drops every copy, rebroadcasts included, until the blockhash expires.
  t.chain_.set_faults({{"loseTransactions", 1000}});
  auto partial = t.settle("--confirm-timeout 1");
  EXPECT_EQ(partial.exit_code, 1) << partial.out << partial.err;
  EXPECT_NE(partial.err.find("neither confirmed nor expired"), std::string::npos) << partial.err;
  for (const Pubkey& a : t.accounts_) EXPECT_EQ(*t.chain_.rpc().token_account_balance(a), 0u);
  t.chain_.set_faults({{"loseTransactions", 0}});
  t.chain_.advance_blocks(151);
  auto done = t.settle();
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("expired"), std::string::npos) << done.out;
  t.expect_paid_exactly_once();
}

TEST(SettleCommand, UnreachableChainExitsThreeAndRerunFinishes) {
  Settlement s(30, 4);
  auto dead = run_flotilla("settle '" + s.statement_path() + "' --keypair '" + s.keypair_path() +
                           "' --mint " + s.mint_.to_base58() + " --rpc http://127.0.0.1:1/");
  EXPECT_EQ(dead.exit_code, 3) << dead.err;
  EXPECT_NE(dead.err.find("cannot reach RPC"), std::string::npos) << dead.err;
  s.chain_.set_faults({{"unreachable", true}});
  EXPECT_EQ(s.settle().exit_code, 3);
  s.chain_.set_faults({{"unreachable", false}});
  auto r = s.settle();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  s.expect_paid_exactly_once();
}

TEST(SettleCommand, PayerShortOfTokensPaysNothingUntilFunded) {
  Settlement s(30, 5, 0, /*treasury=*/1000);
  auto r = s.settle();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds 1000 but the payouts need"), std::string::npos) << r.err;
  for (const Pubkey& a : s.accounts_) EXPECT_EQ(*s.chain_.rpc().token_account_balance(a), 0u);
  s.chain_.create_token_account(s.payer_.pubkey(), s.mint_, 10'000'000);
  auto done = s.settle();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  s.expect_paid_exactly_once();
}

TEST(SettleCommand, PayerShortOfSolPaysNothingUntilFunded) {
  // Enough for a few fees, not for the lookup table's rent (about 0.006 SOL).
  Settlement s(30, 9, 0, 1'000'000'000'000, /*payer_lamports=*/1'000'000);
  auto r = s.settle();
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_FALSE(r.err.empty());
  for (const Pubkey& a : s.accounts_) EXPECT_EQ(*s.chain_.rpc().token_account_balance(a), 0u);
  s.chain_.airdrop(s.payer_.pubkey(), 10 * kSol);
  auto done = s.settle();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  s.expect_paid_exactly_once();
  EXPECT_EQ(s.settle().exit_code, 0);  // nothing left to do
}

// A statement naming a wallet that is not a Solana address cannot have come
// from the reward model (it refuses such wallets, and the Merkle root covers
// them): settle refuses the whole statement as bad input and pays no one,
// and the true statement is paid in full afterwards.
TEST(SettleCommand, InvalidRecipientAddressRefusesTheStatementAndPaysNoOne) {
  Settlement s(20, 10);
  std::string text;
  {
    std::ifstream in(s.statement_path());
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string wallet = s.statement_.payouts[4].wallet;
  const auto at = text.find(wallet);
  ASSERT_NE(at, std::string::npos);
  std::string tampered = text;
  tampered.replace(at, wallet.size(), "0OIl-not-base58");
  { std::ofstream(s.statement_path(), std::ios::trunc) << tampered; }
  auto r = s.settle();
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("wallet '0OIl-not-base58'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(s.ledger_path()));
  for (const Pubkey& a : s.accounts_) EXPECT_EQ(*s.chain_.rpc().token_account_balance(a), 0u);
  { std::ofstream(s.statement_path(), std::ios::trunc) << text; }
  auto done = s.settle();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  s.expect_paid_exactly_once();
}

TEST(SettleCommand, RecipientsWithoutTokenAccountAreDeferredNotFailed) {
  Settlement s(40, 6, /*missing=*/3);
  auto r = s.settle();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("deferred 3 payouts: recipient has no token account"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("37 of 40 payouts paid"), std::string::npos) << r.err;
  for (std::size_t i = 0; i < 3; ++i) {
    s.chain_.create_token_account(Pubkey::from_base58(s.statement_.payouts[i].wallet).value(),
                                  s.mint_, 0);
  }
  auto done = s.settle();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  s.expect_paid_exactly_once();
}

TEST(SettleCommand, MissingTokenAccountsAreCreatedWhenAllowed) {
  Settlement s(40, 9, /*missing=*/4);
  // Lamports at the fourth one's token account address make it a system
  // account: neither creatable nor payable, so that payout alone is deferred.
  s.chain_.airdrop(s.accounts_[3], 1'000'000);
  const std::uint64_t rent = *s.chain_.rpc().minimum_balance_for_rent_exemption(165);
  auto plan = s.settle("--dry-run --create-accounts");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(
      plan.out.find("token accounts to create: 3, rent " + std::to_string(3 * rent) + " lamports"),
      std::string::npos)
      << plan.out;
  const std::uint64_t before = s.lamports();
  auto r = s.settle("--create-accounts");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("deferred 1 payouts: recipient's token account address holds a "
                       "non-token account"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("39 of 40 payouts paid"), std::string::npos) << r.err;
  for (std::size_t i = 0; i < 40; ++i) {
    if (i == 3) continue;
    EXPECT_EQ(*s.chain_.rpc().token_account_balance(s.accounts_[i]),
              s.statement_.payouts[i].amount);
  }
  // The payer paid the three accounts' rent besides fees and the table's rent.
  std::uint64_t table_rent = 0;
  for (const Pubkey& t : s.tables()) table_rent += (*s.chain_.rpc().account_info(t))->lamports;
  EXPECT_EQ(before - s.lamports(), confirmed(s.ledger_path()).fees + table_rent + 3 * rent);
  auto verify =
      run_flotilla("settle verify '" + s.statement_path() + "' --rpc '" + s.chain_.url() + "'");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST(SettleCommand, VerifyCatchesABalanceChangeThatDoesNotMatch) {
  Settlement s(60, 10);
  ASSERT_EQ(s.settle().exit_code, 0);
  // Tamper: the ledger says payout 0 went in another transaction, one that
  // never touched its token account.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.ledger_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE transaction_payouts SET tx = (SELECT max(tx) FROM "
                         "transaction_payouts) WHERE payout = 0; UPDATE payouts SET tx = "
                         "(SELECT max(tx) FROM transaction_payouts) WHERE idx = 0;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto verify =
      run_flotilla("settle verify '" + s.statement_path() + "' --rpc '" + s.chain_.url() + "'");
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.err.find("payout 0: token account " + s.accounts_[0].to_base58() +
                            " changed by 0 in transaction "),
            std::string::npos)
      << verify.err;
  EXPECT_NE(verify.err.find("the statement says 1000"), std::string::npos) << verify.err;
}

TEST(SettleCommand, CloseTablesDeactivatesThenClosesAfterTheCooldown) {
  Settlement s(30, 11);
  ASSERT_EQ(s.settle().exit_code, 0);
  const auto tables = s.tables();
  ASSERT_EQ(tables.size(), 1u);
  const std::uint64_t rent = (*s.chain_.rpc().account_info(tables[0]))->lamports;
  const std::string close = "settle close-tables --tables '" + s.tables_path() + "' --keypair '" +
                            s.keypair_path() + "' --mint " + s.mint_.to_base58() + " --rpc '" +
                            s.chain_.url() + "'";
  auto first = run_flotilla(close);
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  EXPECT_NE(first.err.find("0 closed"), std::string::npos) << first.err;
  auto cooling = run_flotilla(close);  // still in SlotHashes: not yet
  EXPECT_EQ(cooling.exit_code, 1) << cooling.err;
  ASSERT_TRUE(*s.chain_.rpc().account_info(tables[0]));
  s.chain_.advance_blocks(513);
  const std::uint64_t before = s.lamports();
  auto done = run_flotilla(close);
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("1 closed (" + std::to_string(rent) + " lamports"), std::string::npos)
      << done.out;
  EXPECT_FALSE(*s.chain_.rpc().account_info(tables[0]));
  EXPECT_EQ(s.lamports(), before + rent - 5000);
  EXPECT_TRUE(s.tables().empty());
}

TEST(SettleCommand, BadInputExitsTwoWithOneLine) {
  Settlement s(5, 7);
  ::chmod(s.keypair_path().c_str(), 0644);
  auto r = s.settle();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("accessible by group or others"), std::string::npos) << r.err;
  ::chmod(s.keypair_path().c_str(), 0600);
  EXPECT_EQ(run_flotilla("settle '" + s.statement_path() + "' --keypair '" + s.keypair_path() +
                         "' --mint nope --rpc '" + s.chain_.url() + "'")
                .exit_code,
            2);
  EXPECT_EQ(run_flotilla("settle '" + s.statement_path() + "'").exit_code, 2);  // usage
  std::ofstream(s.dir_ / "broken.json") << "{\"epoch\": 1}";
  auto broken = run_flotilla("settle '" + (s.dir_ / "broken.json").string() + "' --keypair '" +
                             s.keypair_path() + "' --mint " + s.mint_.to_base58() + " --rpc '" +
                             s.chain_.url() + "'");
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("broken.json"), std::string::npos) << broken.err;
}

TEST(SettleCommand, SecondRunAtOnceIsRefused) {
  Settlement s(5, 8);
  auto lock = LedgerLock::acquire(s.ledger_path());
  ASSERT_TRUE(lock);
  auto r = s.settle();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another settle run holds this ledger"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace flotilla::chain
