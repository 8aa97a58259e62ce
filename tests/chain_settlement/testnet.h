// Connects a test to the LiteSVM JSON-RPC server the chain_testnet CTest
// fixture started (chain_settlement/testnet/): each TestChain is a fresh chain
// of its own, with the server's set-up and fault-injection methods.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "chain_settlement/keypair.h"
#include "chain_settlement/rpc_client.h"

namespace flotilla::chain::testing {

// A new random key pair (tests need many distinct wallets).
Keypair random_keypair();

// Owns its RPC client; not thread-safe.
class TestChain {
 public:
  // A chain named after the running test (and a counter), fresh on first use.
  TestChain();

  const std::string& url() const { return url_; }
  RpcClient& rpc() { return rpc_; }

  // A flotilla_* method; fails the test (and throws) when it errors.
  nlohmann::json control(const std::string& method, const nlohmann::json& params);
  void airdrop(const Pubkey& to, std::uint64_t lamports);
  // A mint with `decimals`, at a random address, authority `authority`.
  Pubkey create_mint(const Pubkey& authority, std::uint8_t decimals);
  // `owner`'s associated token account holding `amount` (minted); its address.
  Pubkey create_token_account(const Pubkey& owner, const Pubkey& mint, std::uint64_t amount);
  std::uint64_t advance_blocks(std::uint64_t blocks);
  void set_faults(const nlohmann::json& faults);

 private:
  std::string url_;
  RpcClient rpc_;
};

}  // namespace flotilla::chain::testing
