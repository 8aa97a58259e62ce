// Instruction data layouts: REFERENCE.md "Solana facts for settlement" and the
// programs' instruction enums (spl-token TokenInstruction, ComputeBudgetInstruction).
#include "chain_settlement/instructions.h"

namespace flotilla::chain {
namespace {

void put_le(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

}  // namespace

Instruction token_transfer(const Pubkey& source, const Pubkey& destination, const Pubkey& owner,
                           std::uint64_t amount) {
  Instruction ix{kTokenProgram,
                 {{source, false, true}, {destination, false, true}, {owner, true, false}},
                 {3}};
  put_le(ix.data, amount, 8);
  return ix;
}

Instruction token_transfer_checked(const Pubkey& source, const Pubkey& mint,
                                   const Pubkey& destination, const Pubkey& owner,
                                   std::uint64_t amount, std::uint8_t decimals) {
  Instruction ix{kTokenProgram,
                 {{source, false, true},
                  {mint, false, false},
                  {destination, false, true},
                  {owner, true, false}},
                 {12}};
  put_le(ix.data, amount, 8);
  ix.data.push_back(decimals);
  return ix;
}

Instruction set_compute_unit_limit(std::uint32_t units) {
  Instruction ix{kComputeBudgetProgram, {}, {2}};
  put_le(ix.data, units, 4);
  return ix;
}

Instruction set_compute_unit_price(std::uint64_t micro_lamports) {
  Instruction ix{kComputeBudgetProgram, {}, {3}};
  put_le(ix.data, micro_lamports, 8);
  return ix;
}

Instruction memo(std::string_view text) {
  return Instruction{kMemoProgram, {}, std::vector<std::uint8_t>(text.begin(), text.end())};
}

Instruction create_associated_token_account_idempotent(const Pubkey& payer, const Pubkey& wallet,
                                                       const Pubkey& mint,
                                                       const Pubkey& token_program) {
  return Instruction{kAssociatedTokenProgram,
                     {{payer, true, true},
                      {associated_token_address(wallet, mint, token_program), false, true},
                      {wallet, false, false},
                      {mint, false, false},
                      {kSystemProgram, false, false},
                      {token_program, false, false}},
                     {1}};
}

}  // namespace flotilla::chain
