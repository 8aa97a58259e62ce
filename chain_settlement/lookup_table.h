// Address lookup tables (the AddressLookupTab1e... program): the instructions
// that create, extend, deactivate and close a table, the table's address, and
// its account layout as the chain stores it (solana-program's
// address_lookup_table::{instruction, state}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "chain_settlement/instructions.h"
#include "scheduler/status.h"

namespace flotilla::chain {

// A table holds at most 256 addresses; its account is a 56-byte header
// (LookupTableMeta) then 32 bytes per address.
inline constexpr std::size_t kLookupTableMaxAddresses = 256;
inline constexpr std::size_t kLookupTableMetaSize = 56;
// A deactivated table can be closed once its deactivation slot has left the
// SlotHashes sysvar, which holds the 512 most recent slots.
inline constexpr std::uint64_t kSlotHashesMax = 512;
inline constexpr Pubkey kSlotHashesSysvar =
    address_literal("SysvarS1otHashes111111111111111111111111111");

// The table `authority` creates at `recent_slot`: the PDA of
// [authority, recent_slot as u64 LE] under the lookup table program, and its bump.
std::pair<Pubkey, std::uint8_t> lookup_table_address(const Pubkey& authority,
                                                     std::uint64_t recent_slot);

// CreateLookupTable: `recent_slot` must be in SlotHashes; `payer` funds the rent.
Instruction create_lookup_table(const Pubkey& authority, const Pubkey& payer,
                                std::uint64_t recent_slot);
// ExtendLookupTable: appends `addresses`; `payer` funds the extra rent. They are
// usable by transactions from the slot after this one.
Instruction extend_lookup_table(const Pubkey& table, const Pubkey& authority, const Pubkey& payer,
                                std::span<const Pubkey> addresses);
Instruction deactivate_lookup_table(const Pubkey& table, const Pubkey& authority);
// CloseLookupTable: the rent goes to `recipient`; only after the cooldown.
Instruction close_lookup_table(const Pubkey& table, const Pubkey& authority,
                               const Pubkey& recipient);

// A table as read back from its account. Value type.
struct LookupTableState {
  static constexpr std::uint64_t kActive = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t deactivation_slot = kActive;
  std::uint64_t last_extended_slot = 0;
  std::optional<Pubkey> authority;  // none once frozen
  std::vector<Pubkey> addresses;

  bool active() const { return deactivation_slot == kActive; }
  // Every address is usable by a transaction processed in `slot`.
  bool usable_at(std::uint64_t slot) const { return slot > last_extended_slot; }
};

// Decodes a lookup table account's data; errors on anything else.
Result<LookupTableState> decode_lookup_table(std::span<const std::uint8_t> data);

// The slots SlotHashes holds, newest first, from the sysvar account's data
// (u64 count, then u64 slot and 32-byte hash each).
Result<std::vector<std::uint64_t>> decode_slot_hashes(std::span<const std::uint8_t> data);

// The rent-exempt size of a table holding `addresses` addresses.
inline std::size_t lookup_table_size(std::size_t addresses) {
  return kLookupTableMetaSize + 32 * addresses;
}

// How many addresses one ExtendLookupTable transaction (legacy, one signer)
// carries within 1,232 bytes.
std::size_t lookup_table_extend_capacity();

}  // namespace flotilla::chain
