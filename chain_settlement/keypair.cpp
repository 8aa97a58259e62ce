// Keypair files and ed25519 through libsodium.
#include "chain_settlement/keypair.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace flotilla::chain {
namespace {

// sodium_init is idempotent and thread-safe; it only has to run before first use.
void ensure_sodium() {
  [[maybe_unused]] static const int kInit = sodium_init();
}

}  // namespace

Keypair Keypair::from_seed(std::span<const std::uint8_t, 32> seed) {
  ensure_sodium();
  Keypair k;
  crypto_sign_seed_keypair(k.pubkey_.bytes.data(), k.secret_.data(), seed.data());
  return k;
}

Result<Keypair> Keypair::load(const std::filesystem::path& path) {
  const std::string where = path.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::error(where + ": cannot read keypair file: " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    return Status::error(where + ": keypair file is accessible by group or others (mode 0" +
                         mode.str() + "); run chmod 600 on it");
  }
  std::ifstream in(path);
  if (!in) return Status::error(where + ": cannot read keypair file");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.size() != 64) {
    return Status::at(where, 1, "keypair file must be a JSON array of 64 numbers (solana-keygen)");
  }
  std::array<std::uint8_t, 64> bytes{};
  for (std::size_t i = 0; i < 64; ++i) {
    if (!json[i].is_number_unsigned() || json[i].get<std::uint64_t>() > 255) {
      sodium_memzero(bytes.data(), bytes.size());
      return Status::at(where, 1,
                        "keypair file: entry " + std::to_string(i) + " is not a byte (0-255)");
    }
    bytes[i] = static_cast<std::uint8_t>(json[i].get<std::uint64_t>());
  }
  Keypair k = from_seed(std::span<const std::uint8_t, 32>(bytes.data(), 32));
  const bool matches = std::memcmp(k.pubkey_.bytes.data(), bytes.data() + 32, 32) == 0;
  sodium_memzero(bytes.data(), bytes.size());
  if (!matches) {
    return Status::at(where, 1, "keypair file: public key does not match the secret seed");
  }
  return k;
}

Status Keypair::save(const std::filesystem::path& path) const {
  std::string text = "[";
  for (std::size_t i = 0; i < secret_.size(); ++i) {
    text += (i ? "," : "") + std::to_string(secret_[i]);
  }
  text += "]";
  const std::filesystem::path tmp = path.string() + ".tmp";
  std::FILE* f = nullptr;
  {
    const mode_t old = ::umask(077);
    f = std::fopen(tmp.c_str(), "w");
    ::umask(old);
  }
  if (!f) return Status::error(tmp.string() + ": cannot write: " + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  sodium_memzero(text.data(), text.size());
  std::error_code ec;
  if (written && closed) std::filesystem::rename(tmp, path, ec);
  if (!written || !closed || ec) {
    std::filesystem::remove(tmp, ec);
    return Status::error(path.string() + ": cannot write keypair file");
  }
  return Status::ok();
}

Keypair::Keypair(Keypair&& other) noexcept : secret_(other.secret_), pubkey_(other.pubkey_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

Keypair& Keypair::operator=(Keypair&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    pubkey_ = other.pubkey_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

Keypair::~Keypair() {
  sodium_memzero(secret_.data(), secret_.size());
}

Signature Keypair::sign(std::span<const std::uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

bool verify_signature(const Pubkey& pubkey, std::span<const std::uint8_t> message,
                      const Signature& signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     pubkey.bytes.data()) == 0;
}

}  // namespace flotilla::chain
