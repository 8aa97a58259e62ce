#include "chain_settlement/message.h"

#include <gtest/gtest.h>

namespace flotilla::chain {
namespace {

Pubkey key(std::uint8_t fill) {
  Pubkey k;
  k.bytes.fill(fill);
  return k;
}

std::vector<std::uint8_t> cat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::uint8_t> bytes(const Pubkey& k) {
  return {k.bytes.begin(), k.bytes.end()};
}

TEST(CompactU16, EncodesSevenBitsPerByte) {
  const std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> cases{
      {0, {0x00}},
      {0x7f, {0x7f}},
      {0x80, {0x80, 0x01}},
      {0x3fff, {0xff, 0x7f}},
      {0x4000, {0x80, 0x80, 0x01}},
      {0xffff, {0xff, 0xff, 0x03}}};
  for (const auto& [value, expected] : cases) {
    std::vector<std::uint8_t> out;
    put_compact_u16(out, value);
    EXPECT_EQ(out, expected) << value;
  }
}

// One Transfer, byte by byte: header, keys in runtime order, blockhash,
// instruction indexes and data.
TEST(CompileMessage, LegacyTransferLayout) {
  const Pubkey payer = key(1), source = key(2), dest = key(3);
  Blockhash hash;
  hash.fill(9);
  const Instruction ix = token_transfer(source, dest, payer, 5);
  auto m = compile_message(MessageVersion::kLegacy, payer, std::span(&ix, 1), hash);
  ASSERT_TRUE(m) << m.message();
  const auto expected = cat({{1, 0, 1, 4},
                             bytes(payer),
                             bytes(source),
                             bytes(dest),
                             bytes(kTokenProgram),
                             {hash.begin(), hash.end()},
                             {1, 3, 3, 1, 2, 0, 9, 3, 5, 0, 0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(m->bytes, expected);
  EXPECT_EQ(m->signers, std::vector<Pubkey>{payer});
  EXPECT_EQ(m->account_locks, 4u);
  EXPECT_EQ(m->transaction_size(), 1 + 64 + expected.size());
}

// v0: non-signer, non-program keys the table holds are loaded by index; the
// payer and the invoked program stay static even when the table holds them.
TEST(CompileMessage, V0LoadsFromLookupTable) {
  const Pubkey payer = key(1), source = key(2), dest = key(3), mint = key(4), table = key(7);
  const LookupTable lut(table, {payer, kTokenProgram, key(5), dest, mint, source});
  Blockhash hash{};
  const Instruction ix = token_transfer_checked(source, mint, dest, payer, 258, 6);
  auto m = compile_message(MessageVersion::kV0, payer, std::span(&ix, 1), hash, std::span(&lut, 1));
  ASSERT_TRUE(m) << m.message();
  // Index space: payer 0, token program 1, loaded writable source 2, dest 3,
  // loaded read-only mint 4.
  const auto expected = cat({{0x80, 1, 0, 1, 2},
                             bytes(payer),
                             bytes(kTokenProgram),
                             {hash.begin(), hash.end()},
                             {1, 1, 4, 2, 4, 3, 0, 10, 12, 2, 1, 0, 0, 0, 0, 0, 0, 6},
                             {1},
                             bytes(table),
                             {2, 5, 3, 1, 4}});
  EXPECT_EQ(m->bytes, expected);
  EXPECT_EQ(m->account_locks, 5u);
}

TEST(CompileMessage, LegacyIgnoresLookupTables) {
  const Pubkey payer = key(1);
  const LookupTable lut(key(7), {key(2), key(3)});
  const Instruction ix = token_transfer(key(2), key(3), payer, 1);
  auto m = compile_message(MessageVersion::kLegacy, payer, std::span(&ix, 1), Blockhash{},
                           std::span(&lut, 1));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes[0], 1);  // no version prefix
  EXPECT_EQ(m->bytes[3], 4);  // all four keys static
}

TEST(CompileMessage, SignerFlagsMergeAcrossInstructions) {
  const Pubkey payer = key(1), other = key(2);
  // `other` is read-only in one instruction and a writable signer in another.
  const std::vector<Instruction> ixs{Instruction{kMemoProgram, {{other, false, false}}, {'a'}},
                                     Instruction{kMemoProgram, {{other, true, true}}, {'b'}}};
  auto m = compile_message(MessageVersion::kLegacy, payer, ixs, Blockhash{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->signers, (std::vector<Pubkey>{payer, other}));
  EXPECT_EQ(m->bytes[0], 2);  // two signatures
  EXPECT_EQ(m->bytes[1], 0);  // no read-only signer
  EXPECT_EQ(m->bytes[2], 1);  // the memo program
}

TEST(SignTransaction, SignsMessageBytesInSignerOrder) {
  const Keypair payer = Keypair::from_seed(std::array<std::uint8_t, 32>{1});
  const Instruction ix = memo("hello");
  auto m = compile_message(MessageVersion::kV0, payer.pubkey(), std::span(&ix, 1), Blockhash{});
  ASSERT_TRUE(m);
  const Keypair* signers[] = {&payer};
  auto wire = sign_transaction(*m, signers);
  ASSERT_TRUE(wire) << wire.message();
  ASSERT_EQ(wire->size(), m->transaction_size());
  EXPECT_EQ((*wire)[0], 1);
  const Signature sig = transaction_signature(*wire);
  EXPECT_TRUE(verify_signature(payer.pubkey(), m->bytes, sig));
  EXPECT_TRUE(std::equal(m->bytes.begin(), m->bytes.end(), wire->begin() + 65));

  const Keypair stranger = Keypair::from_seed(std::array<std::uint8_t, 32>{2});
  const Keypair* wrong[] = {&stranger};
  EXPECT_FALSE(sign_transaction(*m, wrong));
}

}  // namespace
}  // namespace flotilla::chain
