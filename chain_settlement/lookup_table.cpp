// Instruction data is bincode of ProgramInstruction: a u32 LE variant (0 create,
// 2 extend, 3 deactivate, 4 close) then the fields; a Vec is a u64 LE length.
#include "chain_settlement/lookup_table.h"

#include <algorithm>
#include <array>

#include "chain_settlement/message.h"

namespace flotilla::chain {
namespace {

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_le(std::span<const std::uint8_t> in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = (v << 8) | in[at + static_cast<std::size_t>(i)];
  return v;
}

}  // namespace

std::pair<Pubkey, std::uint8_t> lookup_table_address(const Pubkey& authority,
                                                     std::uint64_t recent_slot) {
  std::array<std::uint8_t, 8> slot{};
  for (int i = 0; i < 8; ++i)
    slot[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(recent_slot >> (8 * i));
  const std::array<std::span<const std::uint8_t>, 2> seeds{authority.bytes, slot};
  // A PDA exists for all but a 2^-255 share of seeds; find_program_address
  // tries 255 bumps.
  return find_program_address(seeds, kAddressLookupTableProgram).value();
}

Instruction create_lookup_table(const Pubkey& authority, const Pubkey& payer,
                                std::uint64_t recent_slot) {
  const auto [table, bump] = lookup_table_address(authority, recent_slot);
  Instruction ix{kAddressLookupTableProgram,
                 {{table, false, true},
                  {authority, true, false},
                  {payer, true, true},
                  {kSystemProgram, false, false}},
                 {}};
  put_le(ix.data, 0, 4);
  put_le(ix.data, recent_slot, 8);
  ix.data.push_back(bump);
  return ix;
}

Instruction extend_lookup_table(const Pubkey& table, const Pubkey& authority, const Pubkey& payer,
                                std::span<const Pubkey> addresses) {
  Instruction ix{kAddressLookupTableProgram,
                 {{table, false, true},
                  {authority, true, false},
                  {payer, true, true},
                  {kSystemProgram, false, false}},
                 {}};
  put_le(ix.data, 2, 4);
  put_le(ix.data, addresses.size(), 8);
  for (const Pubkey& a : addresses) ix.data.insert(ix.data.end(), a.bytes.begin(), a.bytes.end());
  return ix;
}

Instruction deactivate_lookup_table(const Pubkey& table, const Pubkey& authority) {
  Instruction ix{kAddressLookupTableProgram, {{table, false, true}, {authority, true, false}}, {}};
  put_le(ix.data, 3, 4);
  return ix;
}

Instruction close_lookup_table(const Pubkey& table, const Pubkey& authority,
                               const Pubkey& recipient) {
  Instruction ix{kAddressLookupTableProgram,
                 {{table, false, true}, {authority, true, false}, {recipient, false, true}},
                 {}};
  put_le(ix.data, 4, 4);
  return ix;
}

// ProgramState::LookupTable (u32 1), then LookupTableMeta: deactivation_slot
// u64, last_extended_slot u64, last_extended_slot_start_index u8, authority
// Option<Pubkey> (tag byte + 32 bytes), 2 bytes padding; 56 bytes in all.
Result<LookupTableState> decode_lookup_table(std::span<const std::uint8_t> data) {
  if (data.size() < kLookupTableMetaSize || (data.size() - kLookupTableMetaSize) % 32 != 0 ||
      get_le(data, 0, 4) != 1) {
    return Status::error("not an address lookup table (" + std::to_string(data.size()) + " bytes)");
  }
  LookupTableState t;
  t.deactivation_slot = get_le(data, 4, 8);
  t.last_extended_slot = get_le(data, 12, 8);
  if (data[21] == 1) {
    Pubkey a;
    std::copy_n(data.begin() + 22, 32, a.bytes.begin());
    t.authority = a;
  }
  for (std::size_t at = kLookupTableMetaSize; at < data.size(); at += 32) {
    Pubkey a;
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(at), 32, a.bytes.begin());
    t.addresses.push_back(a);
  }
  return t;
}

Result<std::vector<std::uint64_t>> decode_slot_hashes(std::span<const std::uint8_t> data) {
  if (data.size() < 8) return Status::error("SlotHashes sysvar: too short");
  const std::uint64_t n = get_le(data, 0, 8);
  if (n > kSlotHashesMax || data.size() < 8 + n * 40) {
    return Status::error("SlotHashes sysvar: malformed");
  }
  std::vector<std::uint64_t> slots;
  for (std::size_t i = 0; i < n; ++i) slots.push_back(get_le(data, 8 + 40 * i, 8));
  return slots;
}

std::size_t lookup_table_extend_capacity() {
  static const std::size_t capacity = [] {
    // Sizes depend on how many distinct keys there are, not on their values:
    // the table, the payer (also the authority) and the system program.
    Pubkey table, payer;
    table.bytes[0] = 1;
    payer.bytes[0] = 2;
    std::vector<Pubkey> addresses;
    for (;;) {
      addresses.push_back(table);
      const Instruction ix = extend_lookup_table(table, payer, payer, addresses);
      auto m = compile_message(MessageVersion::kLegacy, payer, std::span(&ix, 1), Blockhash{});
      if (!m || !m->fits()) return addresses.size() - 1;
    }
  }();
  return capacity;
}

}  // namespace flotilla::chain
