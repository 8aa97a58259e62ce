#include "chain_settlement/lookup_table.h"

#include <gtest/gtest.h>

#include "chain_settlement/message.h"

namespace flotilla::chain {
namespace {

Pubkey key(std::uint8_t tag) {
  Pubkey k;
  k.bytes.fill(tag);
  return k;
}

std::vector<std::uint8_t> le(std::uint64_t v, int bytes) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return out;
}

TEST(LookupTable, AddressIsThePdaOfAuthorityAndSlot) {
  const Pubkey authority = key(9);
  const std::uint64_t slot = 447552000;
  const auto [address, bump] = lookup_table_address(authority, slot);
  const auto slot_le = le(slot, 8);
  const std::uint8_t bump_seed[] = {bump};
  const std::array<std::span<const std::uint8_t>, 3> seeds{authority.bytes, slot_le, bump_seed};
  EXPECT_EQ(create_program_address(seeds, kAddressLookupTableProgram), address);
  EXPECT_NE(lookup_table_address(authority, slot + 1).first, address);
}

TEST(LookupTable, InstructionsEncodeAsTheProgramDefinesThem) {
  const Pubkey authority = key(1), payer = key(2), table = key(3);
  const Instruction create = create_lookup_table(authority, payer, 0x0102030405060708);
  const auto [address, bump] = lookup_table_address(authority, 0x0102030405060708);
  EXPECT_EQ(create.program, kAddressLookupTableProgram);
  std::vector<std::uint8_t> data{0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, bump};
  EXPECT_EQ(create.data, data);
  ASSERT_EQ(create.accounts.size(), 4u);
  EXPECT_EQ(create.accounts[0].key, address);
  EXPECT_TRUE(create.accounts[0].is_writable);
  EXPECT_TRUE(create.accounts[1].is_signer);
  EXPECT_TRUE(create.accounts[2].is_signer && create.accounts[2].is_writable);
  EXPECT_EQ(create.accounts[3].key, kSystemProgram);

  const std::vector<Pubkey> adds{key(4), key(5)};
  const Instruction extend = extend_lookup_table(table, authority, payer, adds);
  ASSERT_EQ(extend.data.size(), 4u + 8u + 64u);
  EXPECT_EQ(std::vector<std::uint8_t>(extend.data.begin(), extend.data.begin() + 12),
            (std::vector<std::uint8_t>{2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(extend.data[12], 4);
  EXPECT_EQ(extend.data[44], 5);
  EXPECT_EQ(deactivate_lookup_table(table, authority).data,
            (std::vector<std::uint8_t>{3, 0, 0, 0}));
  const Instruction close = close_lookup_table(table, authority, payer);
  EXPECT_EQ(close.data, (std::vector<std::uint8_t>{4, 0, 0, 0}));
  EXPECT_EQ(close.accounts[2].key, payer);
  EXPECT_TRUE(close.accounts[2].is_writable);
}

TEST(LookupTable, DecodesTheAccountLayout) {
  std::vector<std::uint8_t> data = le(1, 4);  // ProgramState::LookupTable
  for (auto b : le(~std::uint64_t{0}, 8)) data.push_back(b);
  for (auto b : le(1234, 8)) data.push_back(b);
  data.push_back(0);  // last_extended_slot_start_index
  data.push_back(1);  // Some(authority)
  data.insert(data.end(), 32, 7);
  data.insert(data.end(), 2, 0);  // padding
  ASSERT_EQ(data.size(), kLookupTableMetaSize);
  data.insert(data.end(), 32, 0xaa);
  data.insert(data.end(), 32, 0xbb);
  auto t = decode_lookup_table(data);
  ASSERT_TRUE(t) << t.message();
  EXPECT_TRUE(t->active());
  EXPECT_EQ(t->last_extended_slot, 1234u);
  EXPECT_EQ(t->authority, key(7));
  ASSERT_EQ(t->addresses.size(), 2u);
  EXPECT_EQ(t->addresses[1], key(0xbb));
  EXPECT_FALSE(t->usable_at(1234));
  EXPECT_TRUE(t->usable_at(1235));

  data[4] = 9;  // deactivated at slot ...09
  EXPECT_FALSE(decode_lookup_table(data)->active());
  data.pop_back();  // not a whole address
  EXPECT_FALSE(decode_lookup_table(data));
  EXPECT_FALSE(decode_lookup_table(std::vector<std::uint8_t>(56, 0)));  // uninitialized
}

TEST(LookupTable, DecodesSlotHashesNewestFirst) {
  std::vector<std::uint8_t> data = le(2, 8);
  for (auto b : le(20, 8)) data.push_back(b);
  data.insert(data.end(), 32, 1);
  for (auto b : le(19, 8)) data.push_back(b);
  data.insert(data.end(), 32, 2);
  auto slots = decode_slot_hashes(data);
  ASSERT_TRUE(slots) << slots.message();
  EXPECT_EQ(*slots, (std::vector<std::uint64_t>{20, 19}));
  data.pop_back();
  EXPECT_FALSE(decode_slot_hashes(data));
}

TEST(LookupTable, ExtendCarriesThirtyAddressesPerTransaction) {
  // Legacy, one signer: 65 (signatures) + 3 (header) + 1 + 4 x 32 (payer,
  // table, system and lookup-table programs) + 32 (blockhash) + 1 + 1 + 1 + 4
  // (accounts) + 2 (data length) + 12 + 32 n = 250 + 32 n <= 1,232, so n = 30.
  EXPECT_EQ(lookup_table_extend_capacity(), 30u);
  std::vector<Pubkey> adds(30, key(4));
  const Instruction ix = extend_lookup_table(key(3), key(2), key(2), adds);
  auto m = compile_message(MessageVersion::kLegacy, key(2), std::span(&ix, 1), Blockhash{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->transaction_size(), 250u + 32 * 30);
}

}  // namespace
}  // namespace flotilla::chain
