#include "chain_settlement/batch.h"

#include <gtest/gtest.h>

namespace flotilla::chain {
namespace {

Pubkey numbered(std::uint32_t n, std::uint8_t tag) {
  Pubkey k;
  k.bytes.fill(tag);
  for (int i = 0; i < 4; ++i) k.bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return k;
}

std::vector<Transfer> transfers(std::size_t n) {
  std::vector<Transfer> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back({numbered(static_cast<std::uint32_t>(i), 0xd5), 1000 + i});
  return out;
}

const PayerAccounts kAccounts{numbered(0, 0x0a), numbered(0, 0x5c), numbered(0, 0x3a), 6};
const std::string kMemo =
    settlement_memo(175319, "3f9a0c2b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8");

// One table holding the source, the mint and every destination (tables hold
// 256 addresses; the batches below need fewer).
std::vector<LookupTable> table_for(const std::vector<Transfer>& ts) {
  std::vector<Pubkey> addresses{kAccounts.source, kAccounts.mint};
  for (const Transfer& t : ts) addresses.push_back(t.destination);
  return {LookupTable(numbered(1, 0x7b), addresses)};
}

struct Case {
  const char* name;
  MessageVersion version;
  bool checked, budget_and_memo;
  std::size_t per_transaction;  // REFERENCE.md, "Payouts per transaction"
};

class BatchLimits : public ::testing::TestWithParam<Case> {};

TEST_P(BatchLimits, PacksToTheReferenceCountAndNoMore) {
  const Case c = GetParam();
  const auto ts = transfers(200);
  const TransferBatcher batcher(
      kAccounts,
      TransferDesign{.version = c.version,
                     .checked = c.checked,
                     .compute_budget = c.budget_and_memo,
                     .micro_lamports_per_unit = 1,
                     .memo = c.budget_and_memo ? kMemo : ""},
      c.version == MessageVersion::kV0 ? table_for(ts) : std::vector<LookupTable>{});
  auto runs = batcher.pack(ts);
  ASSERT_TRUE(runs) << runs.message();
  ASSERT_FALSE(runs->empty());
  EXPECT_EQ(runs->front(), c.per_transaction);
  std::size_t begin = 0;
  for (std::size_t n : *runs) {
    auto m = batcher.compile(std::span(ts).subspan(begin, n), Blockhash{});
    ASSERT_TRUE(m);
    EXPECT_LE(m->transaction_size(), kMaxTransactionSize);
    EXPECT_LE(m->account_locks, kMaxAccountLocks);
    begin += n;
  }
  EXPECT_EQ(begin, ts.size());
  // One more payout breaks the size or the lock limit.
  auto over = batcher.compile(std::span(ts).first(c.per_transaction + 1), Blockhash{});
  ASSERT_TRUE(over);
  EXPECT_FALSE(over->fits()) << over->transaction_size() << " bytes, " << over->account_locks
                             << " locks";
}

INSTANTIATE_TEST_SUITE_P(
    Reference, BatchLimits,
    ::testing::Values(Case{"LegacyTransfer", MessageVersion::kLegacy, false, false, 22},
                      Case{"LegacyTransferChecked", MessageVersion::kLegacy, true, false, 20},
                      Case{"V0Transfer", MessageVersion::kV0, false, false, 61},
                      Case{"V0TransferChecked", MessageVersion::kV0, true, false, 57},
                      Case{"LegacyTransferBudgetMemo", MessageVersion::kLegacy, false, true, 19},
                      Case{"V0TransferBudgetMemo", MessageVersion::kV0, false, true, 56},
                      Case{"V0TransferCheckedBudgetMemo", MessageVersion::kV0, true, true, 50}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Batch, LegacyTransferSizeIsLinear) {
  // REFERENCE.md: a legacy batch of N Transfers is 198 + 47N bytes.
  const auto ts = transfers(22);
  const TransferBatcher batcher(kAccounts, TransferDesign{.version = MessageVersion::kLegacy,
                                                          .checked = false,
                                                          .compute_budget = false});
  for (std::size_t n : {1u, 10u, 22u}) {
    auto m = batcher.compile(std::span(ts).first(n), Blockhash{});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->transaction_size(), 198 + 47 * n);
  }
}

TEST(Batch, MemoNamesEpochAndRootInThirtyTwoBytes) {
  EXPECT_EQ(kMemo, "flotilla:175319:3f9a0c2b7d4e5f60");
  EXPECT_EQ(kMemo.size(), 32u);
  EXPECT_EQ(settlement_memo(7, "ab"), "flotilla:7:ab");
}

TEST(Batch, FeeIsBasePlusPriorityRoundedUp) {
  TransferDesign d{.version = MessageVersion::kV0,
                   .checked = false,
                   .compute_budget = true,
                   .micro_lamports_per_unit = 0};
  EXPECT_EQ(TransferBatcher(kAccounts, d).fee_lamports(56), 5000u);
  d.micro_lamports_per_unit = 1;
  const TransferBatcher priced(kAccounts, d);
  const std::uint64_t limit = priced.compute_unit_limit(56);
  EXPECT_EQ(limit, 20000u + 4645u * 56);
  EXPECT_EQ(priced.fee_lamports(56), 5000 + (limit + 999999) / 1000000);
  d.micro_lamports_per_unit = ~std::uint64_t{0};  // no overflow at any price
  EXPECT_GT(TransferBatcher(kAccounts, d).fee_lamports(56), 5000u);
  // Without ComputeBudget instructions there is no priority fee.
  d.compute_budget = false;
  EXPECT_EQ(TransferBatcher(kAccounts, d).fee_lamports(56), 5000u);
}

TEST(Batch, InstructionsCarryLimitPriceMemoThenTransfers) {
  const auto ts = transfers(3);
  const TransferBatcher batcher(
      kAccounts, TransferDesign{.checked = true, .micro_lamports_per_unit = 7, .memo = kMemo});
  const auto ixs = batcher.instructions(ts);
  ASSERT_EQ(ixs.size(), 6u);
  EXPECT_EQ(ixs[0].program, kComputeBudgetProgram);
  EXPECT_EQ(ixs[0].data[0], 2);
  EXPECT_EQ(ixs[1].data, (std::vector<std::uint8_t>{3, 7, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ixs[2].program, kMemoProgram);
  EXPECT_EQ(std::string(ixs[2].data.begin(), ixs[2].data.end()), kMemo);
  EXPECT_EQ(ixs[3].data.size(), 10u);
  EXPECT_EQ(ixs[3].data[0], 12);
  EXPECT_EQ(ixs[3].data[9], 6);  // decimals
  EXPECT_EQ(ixs[5].accounts[2].key, ts[2].destination);
}

}  // namespace
}  // namespace flotilla::chain

namespace flotilla::chain {
namespace {

// Every recipient's account is created in the batch: each pair adds a
// CreateIdempotent (10 bytes: program, 6 account indexes, data 01) and the
// wallet as a static key (32 bytes + its lock) to the transfer's 15 bytes and
// table index. v0 with a table, ComputeBudget and memo: 387 + 58 N <= 1,232
// bytes, so 14 (the 64-lock limit would allow 28).
TEST(Batch, CreateAndTransferPairsPackByByteMath) {
  auto ts = transfers(100);
  for (Transfer& t : ts) {
    t.create_for = numbered(static_cast<std::uint32_t>(t.amount), 0x77);
    t.destination = associated_token_address(*t.create_for, kAccounts.mint);
  }
  const TransferDesign design{.checked = false, .micro_lamports_per_unit = 1000, .memo = kMemo};
  const TransferBatcher batcher(kAccounts, design, table_for(ts));
  auto runs = batcher.pack(ts);
  ASSERT_TRUE(runs) << runs.message();
  EXPECT_EQ(runs->front(), 14u);
  auto m = batcher.compile(std::span(ts).first(14), Blockhash{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->transaction_size(), 387u + 58 * 14);
  // The instructions: limit, price, memo, then create before each transfer.
  const auto ixs = batcher.instructions(std::span(ts).first(2));
  ASSERT_EQ(ixs.size(), 7u);
  EXPECT_EQ(ixs[3].program, kAssociatedTokenProgram);
  EXPECT_EQ(ixs[3].accounts[2].key, *ts[0].create_for);
  EXPECT_EQ(ixs[4].program, kTokenProgram);
  // Creating costs compute, which the limit (and so the priority fee) covers.
  EXPECT_GT(batcher.compute_unit_limit(14, 14), batcher.compute_unit_limit(14));
  EXPECT_GT(batcher.fee_lamports(14, 14), batcher.fee_lamports(14));

  // Mixed batches: pairs only where accounts are missing, so more fit.
  for (std::size_t i = 0; i < ts.size(); i += 2) ts[i].create_for.reset();
  auto mixed = batcher.pack(ts);
  ASSERT_TRUE(mixed);
  EXPECT_GT(mixed->front(), 14u);
}

TEST(Batch, TablesHoldWholeTransactionsOfRecipients) {
  // 56 per transaction (v0 Transfer, ComputeBudget, memo): 4 x 56 = 224 of the
  // 254 places after the source and the mint; TransferChecked: 5 x 50 = 250.
  EXPECT_EQ(recipients_per_table(kAccounts, TransferDesign{.checked = false, .memo = kMemo}), 224u);
  EXPECT_EQ(recipients_per_table(kAccounts, TransferDesign{.checked = true, .memo = kMemo}), 250u);
}

}  // namespace
}  // namespace flotilla::chain
