// An ed25519 signing key (libsodium) and the keypair files solana-keygen writes:
// a JSON array of 64 numbers, seed(32) || pubkey(32), which is exactly
// libsodium's crypto_sign secret key layout.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>

#include "chain_settlement/pubkey.h"
#include "scheduler/status.h"

namespace flotilla::chain {

using Signature = std::array<std::uint8_t, 64>;

// Owns the secret key (wiped on destruction); move-only. Signing is const and
// thread-safe.
class Keypair {
 public:
  // Derives the key pair from a 32-byte seed (deterministic, as RFC 8032).
  static Keypair from_seed(std::span<const std::uint8_t, 32> seed);
  // Reads a solana-keygen file. Refuses, as ssh does, a file that group or others
  // may read, and a file whose public half does not match its seed.
  static Result<Keypair> load(const std::filesystem::path& path);
  // Writes a solana-keygen file with mode 0600 (temp file, then rename).
  Status save(const std::filesystem::path& path) const;

  Keypair(Keypair&& other) noexcept;
  Keypair& operator=(Keypair&& other) noexcept;
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;
  ~Keypair();

  const Pubkey& pubkey() const { return pubkey_; }
  Signature sign(std::span<const std::uint8_t> message) const;

 private:
  Keypair() = default;
  std::array<std::uint8_t, 64> secret_{};
  Pubkey pubkey_;
};

// True when `signature` is `pubkey`'s signature of `message`.
bool verify_signature(const Pubkey& pubkey, std::span<const std::uint8_t> message,
                      const Signature& signature);

}  // namespace flotilla::chain
