// `flotilla settle` end to end: the real binary against a real Solana runtime
// (LiteSVM behind the project's test server), with crashes and faults.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

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
             std::uint64_t treasury = 1'000'000'000'000)
      : dir_(std::filesystem::temp_directory_path() /
             ("flotilla_settle_test_" + std::to_string(::getpid()) + "_" + std::to_string(epoch))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    chain_.airdrop(payer_.pubkey(), 100 * kSol);
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

TEST(SettleCommand, ThousandProvidersPaidExactlyWithPredictedFees) {
  Settlement s(1000, 1);
  const std::uint64_t before = s.lamports();
  auto plan = s.settle("--dry-run");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("dry run, nothing sent: 1000 payouts in"), std::string::npos) << plan.out;
  EXPECT_FALSE(std::filesystem::exists(s.ledger_path()));
  EXPECT_EQ(s.lamports(), before);

  auto r = s.settle();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("settled: 1000 of 1000 payouts paid"), std::string::npos) << r.out;
  s.expect_paid_exactly_once();
  // Fees as predicted: 5,000 lamports per transaction (no priority fee).
  auto ledger = PayoutLedger::open(s.ledger_path());
  ASSERT_TRUE(ledger) << ledger.message();
  auto txs = ledger->transactions(TransactionState::kConfirmed);
  ASSERT_TRUE(txs);
  EXPECT_EQ(before - s.lamports(), txs->size() * 5000);
  EXPECT_LE(txs->size(), 1000u / 19 + 1);

  auto again = s.settle();
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already settled, nothing to do"), std::string::npos) << again.out;
  EXPECT_EQ(before - s.lamports(), txs->size() * 5000);

  auto verify =
      run_flotilla("settle verify '" + s.statement_path() + "' --rpc '" + s.chain_.url() + "'");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("verified"), std::string::npos);
  auto status = run_flotilla("settle status '" + s.statement_path() + "'");
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("payouts paid: 1000"), std::string::npos) << status.out;
}

// kill -9 at random points (after recording, after sending, after seeing a
// confirmation), at least 50 times over several statements, each kill followed
// by a rerun; in the end every provider is paid exactly once.
TEST(SettleCommand, CrashesAnywhereNeverPayTwiceOrForget) {
  std::mt19937 rng(20261127);
  const char* points[] = {"recorded", "sent", "confirmed"};
  int kills = 0;
  for (std::uint64_t epoch = 100; kills < 50; ++epoch) {
    ASSERT_LT(epoch, 120u) << "too few kills: " << kills;
    Settlement s(150, epoch);  // 8 transactions
    for (int run = 0; run < 15; ++run) {
      const std::string spec = std::string(points[rng() % 3]) + ":" + std::to_string(1 + rng() % 2);
      auto r = s.settle("--confirm-timeout 5", spec);
      // The shell between popen and flotilla reports SIGKILL as 128 + 9.
      const bool killed = r.exit_code == 128 + SIGKILL;
      ASSERT_TRUE(killed || r.exit_code == 0 || r.exit_code == 1)
          << spec << ": " << r.exit_code << r.err;
      if (r.exit_code == 0) break;
      kills += killed;
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
