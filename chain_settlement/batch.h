// Packs token payouts into as few transactions as the chain allows: each
// transaction holds as many transfers as fit 1,232 bytes and 64 account locks,
// with an optional ComputeBudget limit/price pair and a memo tracing it to its
// statement. Also the fee each transaction pays.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chain_settlement/message.h"

namespace flotilla::chain {

// One payout: tokens to a recipient's token account.
struct Transfer {
  Pubkey destination;  // the recipient's token account (not the wallet)
  std::uint64_t amount = 0;
  // Set when the account does not exist yet: the wallet whose associated token
  // account a CreateIdempotent (payer pays the rent) makes just before the transfer.
  std::optional<Pubkey> create_for = std::nullopt;
};

// How every transaction of a batch is built.
struct TransferDesign {
  MessageVersion version = MessageVersion::kV0;
  bool checked = true;         // TransferChecked (mint and decimals checked) or Transfer
  bool compute_budget = true;  // SetComputeUnitLimit + SetComputeUnitPrice first
  std::uint64_t micro_lamports_per_unit = 0;
  std::string memo;  // empty: no memo
};

// The paying side: the fee payer owns the source token account.
struct PayerAccounts {
  Pubkey payer;
  Pubkey source;  // the payer's token account for `mint`
  Pubkey mint;
  std::uint8_t decimals = 0;
};

// Per-signature base fee, in lamports (REFERENCE.md).
inline constexpr std::uint64_t kLamportsPerSignature = 5000;

// "flotilla:<epoch>:<root hex...>" cut to 32 bytes: names the epoch and the
// statement's Merkle root (its first 64+ bits, enough to tell statements apart;
// the full root is in the statement and the ledger) at the size REFERENCE.md's
// per-transaction counts assume.
std::string settlement_memo(std::uint64_t epoch, std::string_view merkle_root_hex);

// Immutable once built; thread-safe for concurrent const use.
class TransferBatcher {
 public:
  // `tables` are used for v0 only; they should hold the source, the mint and
  // the destinations (payer and programs are always static keys).
  TransferBatcher(PayerAccounts accounts, TransferDesign design,
                  std::vector<LookupTable> tables = {});

  std::vector<Instruction> instructions(std::span<const Transfer> transfers) const;
  Result<CompiledMessage> compile(std::span<const Transfer> transfers,
                                  const Blockhash& blockhash) const;
  // Splits `transfers`, in order, into the largest runs that fit one
  // transaction each; returns the run lengths.
  Result<std::vector<std::size_t>> pack(std::span<const Transfer> transfers) const;

  // `creations` of the `transfers` also create their token account.
  std::uint32_t compute_unit_limit(std::size_t transfers, std::size_t creations = 0) const;
  std::uint64_t fee_lamports(std::size_t transfers, std::size_t creations = 0) const;

  const PayerAccounts& accounts() const { return accounts_; }
  const TransferDesign& design() const { return design_; }

 private:
  PayerAccounts accounts_;
  TransferDesign design_;
  std::vector<LookupTable> tables_;
};

// How many recipients' token accounts one lookup table should hold so that the
// transactions using it are all full: the largest multiple of the payouts per
// transaction that fits next to the source and the mint (224 for v0 Transfer
// with ComputeBudget and memo: 4 x 56).
std::size_t recipients_per_table(const PayerAccounts& accounts, const TransferDesign& design);

}  // namespace flotilla::chain
