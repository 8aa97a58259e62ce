// The instructions settlement sends, encoded as their programs define them:
// SPL Token Transfer/TransferChecked, ComputeBudget limit and price, Memo, and
// the Associated Token Account program's CreateIdempotent.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "chain_settlement/pubkey.h"

namespace flotilla::chain {

struct AccountMeta {
  Pubkey key;
  bool is_signer = false;
  bool is_writable = false;
};

// Value type.
struct Instruction {
  Pubkey program;
  std::vector<AccountMeta> accounts;
  std::vector<std::uint8_t> data;
};

// SPL Token Transfer (tag 3, u64 LE amount): source, destination, owner.
Instruction token_transfer(const Pubkey& source, const Pubkey& destination, const Pubkey& owner,
                           std::uint64_t amount);
// SPL Token TransferChecked (tag 12, u64 LE amount, u8 decimals): the mint and
// its decimals are checked on chain, so a wrong mint or scale fails loudly.
Instruction token_transfer_checked(const Pubkey& source, const Pubkey& mint,
                                   const Pubkey& destination, const Pubkey& owner,
                                   std::uint64_t amount, std::uint8_t decimals);
// ComputeBudget SetComputeUnitLimit (tag 2, u32 LE) and SetComputeUnitPrice
// (tag 3, u64 LE micro-lamports per compute unit).
Instruction set_compute_unit_limit(std::uint32_t units);
Instruction set_compute_unit_price(std::uint64_t micro_lamports);
// SPL Memo with no signer accounts: the UTF-8 text is the whole data.
Instruction memo(std::string_view text);
// Associated Token Account CreateIdempotent (data 01): creates `wallet`'s token
// account for `mint`, paid by `payer`, and succeeds if it already exists.
Instruction create_associated_token_account_idempotent(const Pubkey& payer, const Pubkey& wallet,
                                                       const Pubkey& mint,
                                                       const Pubkey& token_program = kTokenProgram);

}  // namespace flotilla::chain
