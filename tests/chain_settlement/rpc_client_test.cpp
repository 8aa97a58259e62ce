// The RPC client against a real Solana runtime (LiteSVM behind the project's
// test server): transactions built by batch.h/message.h must land and move
// exactly the amounts they say.
#include "chain_settlement/rpc_client.h"

#include <gtest/gtest.h>

#include <numeric>

#include "chain_settlement/batch.h"
#include "tests/chain_settlement/testnet.h"

namespace flotilla::chain {
namespace {

using testing::random_keypair;
using testing::TestChain;

constexpr std::uint64_t kSol = 1'000'000'000;

// A funded payer holding `tokens` of a fresh mint.
struct Treasury {
  Keypair payer = random_keypair();
  Pubkey mint, source;
  Treasury(TestChain& chain, std::uint64_t tokens) {
    chain.airdrop(payer.pubkey(), 10 * kSol);
    mint = chain.create_mint(payer.pubkey(), 6);
    source = chain.create_token_account(payer.pubkey(), mint, tokens);
  }
  PayerAccounts accounts() const { return {payer.pubkey(), source, mint, 6}; }
};

// Compiles, signs and sends one batch; returns its signature.
Result<Signature> send_batch(RpcClient& rpc, const TransferBatcher& batcher, const Keypair& payer,
                             std::span<const Transfer> transfers) {
  auto hash = rpc.latest_blockhash();
  if (!hash) return hash.status();
  auto m = batcher.compile(transfers, hash->blockhash);
  if (!m) return m.status();
  const Keypair* signers[] = {&payer};
  auto wire = sign_transaction(*m, signers);
  if (!wire) return wire.status();
  return rpc.send_transaction(*wire);
}

TEST(RpcClient, BlockhashLivesOneHundredFiftyBlocks) {
  TestChain chain;
  auto height = chain.rpc().block_height();
  ASSERT_TRUE(height) << height.message();
  auto hash = chain.rpc().latest_blockhash();
  ASSERT_TRUE(hash) << hash.message();
  EXPECT_EQ(hash->last_valid_block_height, *height + 150);
  chain.advance_blocks(150);
  EXPECT_EQ(chain.rpc().latest_blockhash()->blockhash, hash->blockhash);
  chain.advance_blocks(1);
  EXPECT_NE(chain.rpc().latest_blockhash()->blockhash, hash->blockhash);
  EXPECT_EQ(*chain.rpc().block_height(), *height + 151);
}

TEST(RpcClient, AssociatedTokenAddressesAgreeWithTheServer) {
  TestChain chain;
  Treasury t(chain, 0);
  EXPECT_EQ(t.source, associated_token_address(t.payer.pubkey(), t.mint));
}

class Batches : public ::testing::TestWithParam<TransferDesign> {};

// Every batch lands, every recipient gets exactly its amount, the payer pays
// exactly the predicted fees.
TEST_P(Batches, PayExactlyTheAmountsAndPredictedFees) {
  TestChain chain;
  Treasury t(chain, 1'000'000'000);
  std::vector<Transfer> transfers;
  for (int i = 0; i < 45; ++i) {
    const Pubkey wallet = random_keypair().pubkey();
    transfers.push_back({chain.create_token_account(wallet, t.mint, 0), 1000u + i});
  }
  TransferDesign design = GetParam();
  design.memo =
      settlement_memo(7, "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff");
  const TransferBatcher batcher(t.accounts(), design);
  auto runs = batcher.pack(transfers);
  ASSERT_TRUE(runs) << runs.message();
  EXPECT_GT(runs->size(), 1u);
  const std::uint64_t lamports_before = *chain.rpc().balance(t.payer.pubkey());
  std::uint64_t fees = 0;
  std::vector<Signature> signatures;
  std::size_t begin = 0;
  for (std::size_t n : *runs) {
    auto sig = send_batch(chain.rpc(), batcher, t.payer, std::span(transfers).subspan(begin, n));
    ASSERT_TRUE(sig) << sig.message();
    signatures.push_back(*sig);
    fees += batcher.fee_lamports(n);
    begin += n;
  }
  auto statuses = chain.rpc().signature_statuses(signatures);
  ASSERT_TRUE(statuses) << statuses.message();
  for (const auto& s : *statuses) {
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->error) << *s->error;
  }
  std::vector<Pubkey> destinations;
  for (const Transfer& tr : transfers) destinations.push_back(tr.destination);
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    EXPECT_EQ(*chain.rpc().token_account_balance(transfers[i].destination), transfers[i].amount);
  }
  const std::uint64_t paid =
      std::accumulate(transfers.begin(), transfers.end(), std::uint64_t{0},
                      [](std::uint64_t s, const Transfer& tr) { return s + tr.amount; });
  EXPECT_EQ(*chain.rpc().token_account_balance(t.source), 1'000'000'000 - paid);
  EXPECT_EQ(lamports_before - *chain.rpc().balance(t.payer.pubkey()), fees);
}

INSTANTIATE_TEST_SUITE_P(
    Designs, Batches,
    ::testing::Values(
        TransferDesign{.version = MessageVersion::kLegacy, .checked = false},
        TransferDesign{
            .version = MessageVersion::kLegacy, .checked = true, .micro_lamports_per_unit = 1000},
        TransferDesign{.version = MessageVersion::kV0, .checked = true, .compute_budget = false}),
    [](const auto& info) { return "Design" + std::to_string(info.index); });

TEST(RpcClient, CreateIdempotentMakesTheDerivedAccount) {
  TestChain chain;
  Treasury t(chain, 5000);
  const Pubkey wallet = random_keypair().pubkey();
  const Pubkey ata = associated_token_address(wallet, t.mint);
  ASSERT_FALSE(*chain.rpc().account_info(ata));
  auto hash = chain.rpc().latest_blockhash();
  ASSERT_TRUE(hash);
  // Twice in one transaction: the second finds it made and succeeds.
  const std::vector<Instruction> ixs{
      create_associated_token_account_idempotent(t.payer.pubkey(), wallet, t.mint),
      create_associated_token_account_idempotent(t.payer.pubkey(), wallet, t.mint),
      token_transfer_checked(t.source, t.mint, ata, t.payer.pubkey(), 1234, 6)};
  auto m = compile_message(MessageVersion::kV0, t.payer.pubkey(), ixs, hash->blockhash);
  ASSERT_TRUE(m);
  const Keypair* signers[] = {&t.payer};
  auto sig = chain.rpc().send_transaction(*sign_transaction(*m, signers));
  ASSERT_TRUE(sig) << sig.message();
  auto info = chain.rpc().account_info(ata);
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->owner, kTokenProgram);
  EXPECT_EQ((*info)->data.size(), 165u);
  EXPECT_EQ((*info)->lamports, *chain.rpc().minimum_balance_for_rent_exemption(165));
  EXPECT_EQ(*chain.rpc().token_account_balance(ata), 1234u);
}

TEST(RpcClient, LostAnswerIsRetriedWithTheSameBytesAndLandsOnce) {
  TestChain chain;
  Treasury t(chain, 5000);
  const Pubkey dest = chain.create_token_account(random_keypair().pubkey(), t.mint, 0);
  const TransferBatcher batcher(t.accounts(), TransferDesign{.checked = false});
  chain.set_faults({{"dropResponses", 1}});
  const Transfer transfer{dest, 700};
  auto sig = send_batch(chain.rpc(), batcher, t.payer, std::span(&transfer, 1));
  ASSERT_TRUE(sig) << sig.message();
  EXPECT_EQ(*chain.rpc().token_account_balance(dest), 700u);
  EXPECT_EQ(*chain.rpc().token_account_balance(t.source), 4300u);
}

TEST(RpcClient, UnreachableIsToldApartFromRejected) {
  TestChain chain;
  chain.set_faults({{"unreachable", true}});
  RpcClient quick(chain.url(), RpcOptions{.timeout = std::chrono::milliseconds(2000),
                                          .attempts = 2,
                                          .backoff = std::chrono::milliseconds(10)});
  auto r = quick.block_height();
  ASSERT_FALSE(r);
  EXPECT_TRUE(rpc_unreachable(r.status())) << r.message();
  chain.set_faults({{"unreachable", false}, {"errors", 1}});
  EXPECT_TRUE(quick.block_height());  // one 503, then an answer
  auto rejected = quick.call("noSuchMethod", nlohmann::json::array());
  ASSERT_FALSE(rejected);
  EXPECT_FALSE(rpc_unreachable(rejected.status()));
  RpcClient nobody("http://127.0.0.1:1/", RpcOptions{.attempts = 1});
  EXPECT_TRUE(rpc_unreachable(nobody.block_height().status()));
}

TEST(RpcClient, ExpiredBlockhashIsRefusedAndNeverLands) {
  TestChain chain;
  Treasury t(chain, 5000);
  const Pubkey dest = chain.create_token_account(random_keypair().pubkey(), t.mint, 0);
  const TransferBatcher batcher(t.accounts(), TransferDesign{.checked = false});
  auto hash = chain.rpc().latest_blockhash();
  ASSERT_TRUE(hash);
  const Transfer transfer{dest, 1};
  auto m = batcher.compile(std::span(&transfer, 1), hash->blockhash);
  const Keypair* signers[] = {&t.payer};
  auto wire = sign_transaction(*m, signers);
  chain.advance_blocks(151);
  ASSERT_GT(*chain.rpc().block_height(), hash->last_valid_block_height);
  auto sent = chain.rpc().send_transaction(*wire);
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.message().find("BlockhashNotFound"), std::string::npos) << sent.message();
  EXPECT_FALSE(rpc_unreachable(sent.status()));
  const Signature sig = transaction_signature(*wire);
  auto status = chain.rpc().signature_statuses(std::span(&sig, 1));
  ASSERT_TRUE(status);
  EXPECT_FALSE((*status)[0]);
  EXPECT_EQ(*chain.rpc().token_account_balance(dest), 0u);
}

TEST(RpcClient, LostTransactionIsNotFound) {
  TestChain chain;
  Treasury t(chain, 5000);
  const Pubkey dest = chain.create_token_account(random_keypair().pubkey(), t.mint, 0);
  const TransferBatcher batcher(t.accounts(), TransferDesign{.checked = false});
  chain.set_faults({{"loseTransactions", 1}});
  const Transfer transfer{dest, 5};
  auto sig = send_batch(chain.rpc(), batcher, t.payer, std::span(&transfer, 1));
  ASSERT_TRUE(sig);
  auto status = chain.rpc().signature_statuses(std::span(&*sig, 1));
  ASSERT_TRUE(status);
  EXPECT_FALSE((*status)[0]);
  EXPECT_EQ(*chain.rpc().token_account_balance(dest), 0u);
}

TEST(RpcClient, PreflightFailureSaysWhy) {
  TestChain chain;
  Treasury t(chain, 10);
  const Pubkey dest = chain.create_token_account(random_keypair().pubkey(), t.mint, 0);
  const TransferBatcher batcher(t.accounts(), TransferDesign{.checked = false});
  const Transfer transfer{dest, 11};  // more than the payer holds
  auto sig = send_batch(chain.rpc(), batcher, t.payer, std::span(&transfer, 1));
  ASSERT_FALSE(sig);
  EXPECT_NE(sig.message().find("InstructionError"), std::string::npos) << sig.message();
  EXPECT_EQ(*chain.rpc().token_account_balance(dest), 0u);
}

TEST(RpcClient, LongListsAreSplitIntoCallsTheServerAccepts) {
  TestChain chain;
  std::vector<Signature> signatures(300);
  for (std::size_t i = 0; i < signatures.size(); ++i)
    signatures[i][0] = static_cast<std::uint8_t>(i);
  auto statuses = chain.rpc().signature_statuses(signatures);
  ASSERT_TRUE(statuses) << statuses.message();
  EXPECT_EQ(statuses->size(), 300u);
  Treasury t(chain, 0);
  std::vector<Pubkey> keys(150, random_keypair().pubkey());
  keys[149] = t.mint;
  auto accounts = chain.rpc().multiple_accounts(keys);
  ASSERT_TRUE(accounts) << accounts.message();
  ASSERT_EQ(accounts->size(), 150u);
  EXPECT_FALSE((*accounts)[0]);
  ASSERT_TRUE((*accounts)[149]);
  EXPECT_EQ((*accounts)[149]->data.size(), 82u);
}

}  // namespace
}  // namespace flotilla::chain
