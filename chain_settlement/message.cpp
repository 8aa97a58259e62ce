// Message compilation follows solana-program's CompiledKeys and
// v0::Message::try_compile: one entry per distinct key with its signer and
// writable flags OR-ed, the fee payer first, then lookups of writable keys
// before read-only keys, table by table.
#include "chain_settlement/message.h"

#include <algorithm>
#include <cstring>

namespace flotilla::chain {
namespace {

struct KeyMeta {
  Pubkey key;
  bool is_signer = false;
  bool is_writable = false;
  bool is_invoked = false;
};

// Category of a static key in the order the message header describes.
int category(const KeyMeta& k) {
  if (k.is_signer) return k.is_writable ? 0 : 1;
  return k.is_writable ? 2 : 3;
}

}  // namespace

void put_compact_u16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  unsigned v = value;
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

std::size_t PubkeyHash::operator()(const Pubkey& key) const {
  std::size_t h;
  std::memcpy(&h, key.bytes.data(), sizeof h);  // addresses are hashes already
  return h;
}

LookupTable::LookupTable(Pubkey address, std::vector<Pubkey> addresses)
    : address_(address), addresses_(std::move(addresses)) {
  // A table holds at most 256 addresses, so an index always fits a byte.
  for (std::size_t i = 0; i < addresses_.size() && i < 256; ++i) {
    index_.emplace(addresses_[i], static_cast<std::uint8_t>(i));
  }
}

std::optional<std::uint8_t> LookupTable::find(const Pubkey& key) const {
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::size_t CompiledMessage::transaction_size() const {
  const std::size_t n = signers.size();
  return (n < 0x80 ? 1 : 2) + 64 * n + bytes.size();
}

Result<CompiledMessage> compile_message(MessageVersion version, const Pubkey& payer,
                                        std::span<const Instruction> instructions,
                                        const Blockhash& blockhash,
                                        std::span<const LookupTable> tables) {
  std::vector<KeyMeta> keys{{payer, true, true, false}};
  std::unordered_map<Pubkey, std::size_t, PubkeyHash> position{{payer, 0}};
  auto note = [&](const Pubkey& key) -> KeyMeta& {
    const auto [it, inserted] = position.emplace(key, keys.size());
    if (inserted) keys.push_back({key});
    return keys[it->second];
  };
  for (const Instruction& ix : instructions) {
    note(ix.program).is_invoked = true;
    for (const AccountMeta& a : ix.accounts) {
      KeyMeta& k = note(a.key);
      k.is_signer |= a.is_signer;
      k.is_writable |= a.is_writable;
    }
  }

  // Lookups: per table, writable keys then read-only keys it holds.
  struct Lookup {
    const LookupTable* table;
    std::vector<std::uint8_t> writable, readonly;
    std::vector<Pubkey> writable_keys, readonly_keys;
  };
  std::vector<Lookup> lookups;
  std::vector<bool> loaded(keys.size(), false);
  if (version == MessageVersion::kV0) {
    for (const LookupTable& table : tables) {
      Lookup l{&table, {}, {}, {}, {}};
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const KeyMeta& k = keys[i];
        if (loaded[i] || k.is_signer || k.is_invoked) continue;
        if (const auto index = table.find(k.key)) {
          loaded[i] = true;
          (k.is_writable ? l.writable : l.readonly).push_back(*index);
          (k.is_writable ? l.writable_keys : l.readonly_keys).push_back(k.key);
        }
      }
      if (!l.writable.empty() || !l.readonly.empty()) lookups.push_back(std::move(l));
    }
  }

  // Static keys: payer stays first (it is a writable signer); stable within category.
  std::vector<KeyMeta> statics;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!loaded[i]) statics.push_back(keys[i]);
  }
  std::stable_sort(statics.begin(), statics.end(),
                   [](const KeyMeta& a, const KeyMeta& b) { return category(a) < category(b); });

  // Final account index space: statics, then loaded writable, then loaded read-only.
  std::unordered_map<Pubkey, std::size_t, PubkeyHash> index;
  for (const KeyMeta& k : statics) index.emplace(k.key, index.size());
  for (const Lookup& l : lookups) {
    for (const Pubkey& k : l.writable_keys) index.emplace(k, index.size());
  }
  for (const Lookup& l : lookups) {
    for (const Pubkey& k : l.readonly_keys) index.emplace(k, index.size());
  }
  if (index.size() > 256) {
    return Status::error("message needs " + std::to_string(index.size()) +
                         " accounts; instructions address at most 256");
  }

  CompiledMessage m;
  m.account_locks = index.size();
  std::vector<std::uint8_t>& out = m.bytes;
  out.reserve(kMaxTransactionSize);
  if (version == MessageVersion::kV0) out.push_back(0x80);
  std::uint8_t readonly_signed = 0, readonly_unsigned = 0;
  for (const KeyMeta& k : statics) {
    if (k.is_signer) m.signers.push_back(k.key);
    readonly_signed += (category(k) == 1);
    readonly_unsigned += (category(k) == 3);
  }
  out.push_back(static_cast<std::uint8_t>(m.signers.size()));
  out.push_back(readonly_signed);
  out.push_back(readonly_unsigned);
  put_compact_u16(out, static_cast<std::uint16_t>(statics.size()));
  for (const KeyMeta& k : statics) out.insert(out.end(), k.key.bytes.begin(), k.key.bytes.end());
  out.insert(out.end(), blockhash.begin(), blockhash.end());
  put_compact_u16(out, static_cast<std::uint16_t>(instructions.size()));
  for (const Instruction& ix : instructions) {
    out.push_back(static_cast<std::uint8_t>(index.at(ix.program)));
    put_compact_u16(out, static_cast<std::uint16_t>(ix.accounts.size()));
    for (const AccountMeta& a : ix.accounts) {
      out.push_back(static_cast<std::uint8_t>(index.at(a.key)));
    }
    if (ix.data.size() > 0xffff) return Status::error("instruction data over 65,535 bytes");
    put_compact_u16(out, static_cast<std::uint16_t>(ix.data.size()));
    out.insert(out.end(), ix.data.begin(), ix.data.end());
  }
  if (version == MessageVersion::kV0) {
    put_compact_u16(out, static_cast<std::uint16_t>(lookups.size()));
    for (const Lookup& l : lookups) {
      const Pubkey& table = l.table->address();
      out.insert(out.end(), table.bytes.begin(), table.bytes.end());
      put_compact_u16(out, static_cast<std::uint16_t>(l.writable.size()));
      out.insert(out.end(), l.writable.begin(), l.writable.end());
      put_compact_u16(out, static_cast<std::uint16_t>(l.readonly.size()));
      out.insert(out.end(), l.readonly.begin(), l.readonly.end());
    }
  }
  return m;
}

Result<std::vector<std::uint8_t>> sign_transaction(const CompiledMessage& message,
                                                   std::span<const Keypair* const> keypairs) {
  std::vector<std::uint8_t> wire;
  wire.reserve(message.transaction_size());
  put_compact_u16(wire, static_cast<std::uint16_t>(message.signers.size()));
  for (const Pubkey& signer : message.signers) {
    const auto it = std::find_if(keypairs.begin(), keypairs.end(),
                                 [&](const Keypair* k) { return k->pubkey() == signer; });
    if (it == keypairs.end()) {
      return Status::error("no keypair for signer " + signer.to_base58());
    }
    const Signature sig = (*it)->sign(message.bytes);
    wire.insert(wire.end(), sig.begin(), sig.end());
  }
  wire.insert(wire.end(), message.bytes.begin(), message.bytes.end());
  return wire;
}

Result<std::vector<Pubkey>> message_account_keys(std::span<const std::uint8_t> wire) {
  std::size_t at = 0;
  auto compact = [&]() -> std::optional<std::size_t> {
    std::size_t value = 0;
    for (int shift = 0; shift < 21 && at < wire.size(); shift += 7) {
      const std::uint8_t b = wire[at++];
      value |= static_cast<std::size_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
    return std::nullopt;
  };
  const auto signatures = compact();
  if (!signatures) return Status::error("transaction: truncated");
  at += 64 * *signatures;
  if (at < wire.size() && (wire[at] & 0x80)) ++at;  // v0 prefix
  at += 3;                                          // header
  const auto n = at <= wire.size() ? compact() : std::nullopt;
  if (!n || at + 32 * *n > wire.size()) return Status::error("transaction: truncated");
  std::vector<Pubkey> keys(*n);
  for (Pubkey& k : keys) {
    std::memcpy(k.bytes.data(), wire.data() + at, 32);
    at += 32;
  }
  return keys;
}

Signature transaction_signature(std::span<const std::uint8_t> wire) {
  Signature sig{};
  if (wire.size() >= 65) std::memcpy(sig.data(), wire.data() + 1, 64);
  return sig;
}

}  // namespace flotilla::chain
