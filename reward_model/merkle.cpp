#include "reward_model/merkle.h"

#include <sodium.h>

namespace flotilla::rewards {
namespace {

void put_u64_le(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Pairs nodes left to right; an odd last node moves up unchanged.
std::vector<Digest> parent_level(const std::vector<Digest>& level) {
  std::vector<Digest> up;
  up.reserve(level.size() / 2 + 1);
  for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
    up.push_back(inner_node(level[i], level[i + 1]));
  }
  if (level.size() % 2 == 1) up.push_back(level.back());
  return up;
}

}  // namespace

Digest sha256(std::string_view bytes) {
  Digest d;
  crypto_hash_sha256(d.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return d;
}

std::string to_hex(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kDigits[d[i] >> 4];
    s[2 * i + 1] = kDigits[d[i] & 15];
  }
  return s;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  Digest d;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return d;
}

Digest payout_leaf(std::uint64_t epoch, const WalletKey& wallet, std::uint64_t amount,
                   std::string_view provider) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::uint8_t head[1 + 8 + 32 + 8];
  head[0] = 0x00;
  put_u64_le(head + 1, epoch);
  for (std::size_t i = 0; i < wallet.size(); ++i) head[9 + i] = wallet[i];
  put_u64_le(head + 41, amount);
  crypto_hash_sha256_update(&st, head, sizeof head);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(provider.data()),
                            provider.size());
  Digest d;
  crypto_hash_sha256_final(&st, d.data());
  return d;
}

Digest inner_node(const Digest& left, const Digest& right) {
  std::uint8_t buf[1 + 32 + 32];
  buf[0] = 0x01;
  for (std::size_t i = 0; i < 32; ++i) {
    buf[1 + i] = left[i];
    buf[33 + i] = right[i];
  }
  Digest d;
  crypto_hash_sha256(d.data(), buf, sizeof buf);
  return d;
}

Digest merkle_root(const std::vector<Digest>& leaves) {
  if (leaves.empty()) return Digest{};
  std::vector<Digest> level = leaves;
  while (level.size() > 1) {
    level = parent_level(level);
  }
  return level.front();
}

std::vector<ProofStep> merkle_proof(const std::vector<Digest>& leaves, std::size_t index) {
  std::vector<ProofStep> proof;
  std::vector<Digest> level = leaves;
  while (level.size() > 1) {
    const std::size_t sibling = index ^ 1;
    if (sibling < level.size()) {
      proof.push_back(ProofStep{.sibling_is_left = sibling < index, .sibling = level[sibling]});
    }
    level = parent_level(level);
    index /= 2;
  }
  return proof;
}

Digest root_from_proof(const Digest& leaf, const std::vector<ProofStep>& proof) {
  Digest node = leaf;
  for (const ProofStep& step : proof) {
    node = step.sibling_is_left ? inner_node(step.sibling, node) : inner_node(node, step.sibling);
  }
  return node;
}

}  // namespace flotilla::rewards
