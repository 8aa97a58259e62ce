// Solana messages and transactions on the wire: legacy and v0 (with address
// lookup tables), compact-u16 lengths, the 1,232-byte and 64-account-lock
// limits, and signing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "chain_settlement/instructions.h"
#include "chain_settlement/keypair.h"
#include "scheduler/status.h"

namespace flotilla::chain {

using Blockhash = std::array<std::uint8_t, 32>;

// A transaction (signatures + message) must fit one IPv6 packet's payload, and
// the runtime locks at most 64 accounts per transaction (REFERENCE.md).
inline constexpr std::size_t kMaxTransactionSize = 1232;
inline constexpr std::size_t kMaxAccountLocks = 64;

enum class MessageVersion { kLegacy, kV0 };

// Appends `value` as Solana's compact-u16 (7 bits per byte, low first).
void put_compact_u16(std::vector<std::uint8_t>& out, std::uint16_t value);

struct PubkeyHash {
  std::size_t operator()(const Pubkey& key) const;
};

// An address lookup table as it stands on chain: its address and the addresses
// it holds, with an index for compiling. Value type.
class LookupTable {
 public:
  LookupTable(Pubkey address, std::vector<Pubkey> addresses);
  const Pubkey& address() const { return address_; }
  const std::vector<Pubkey>& addresses() const { return addresses_; }
  std::optional<std::uint8_t> find(const Pubkey& key) const;

 private:
  Pubkey address_;
  std::vector<Pubkey> addresses_;
  std::unordered_map<Pubkey, std::uint8_t, PubkeyHash> index_;
};

// A compiled message: the bytes that get signed, who must sign, and how many
// accounts the runtime would lock.
struct CompiledMessage {
  std::vector<std::uint8_t> bytes;
  std::vector<Pubkey> signers;  // in signature order; the fee payer first
  std::size_t account_locks = 0;

  // Signatures (compact-u16 count + 64 bytes each) plus the message.
  std::size_t transaction_size() const;
  bool fits() const {
    return transaction_size() <= kMaxTransactionSize && account_locks <= kMaxAccountLocks;
  }
};

// Compiles `instructions` with `payer` as fee payer. Keys are ordered as the
// runtime requires (writable signers, read-only signers, writable, read-only);
// for v0, non-signer accounts that are not invoked programs are loaded from
// `tables` where they hold them. Errors when more than 256 accounts are needed.
Result<CompiledMessage> compile_message(MessageVersion version, const Pubkey& payer,
                                        std::span<const Instruction> instructions,
                                        const Blockhash& blockhash,
                                        std::span<const LookupTable> tables = {});

// A signed transaction in wire format. Every signer the message names must be
// among `keypairs`.
Result<std::vector<std::uint8_t>> sign_transaction(const CompiledMessage& message,
                                                   std::span<const Keypair* const> keypairs);

// The static account keys of a wire transaction (legacy or v0), in order.
Result<std::vector<Pubkey>> message_account_keys(std::span<const std::uint8_t> wire);

// The transaction's id: its first signature (wire bytes 1..64).
Signature transaction_signature(std::span<const std::uint8_t> wire);

}  // namespace flotilla::chain
