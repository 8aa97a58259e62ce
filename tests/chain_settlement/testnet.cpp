// The fixture's port file is FLOTILLA_TESTNET_STATE/port.
#include "tests/chain_settlement/testnet.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace flotilla::chain::testing {
namespace {

std::string server_url() {
  std::ifstream in(std::string(FLOTILLA_TESTNET_STATE) + "/port");
  int port = 0;
  if (!(in >> port)) {
    throw std::runtime_error(std::string("no LiteSVM test server: ") + FLOTILLA_TESTNET_STATE +
                             "/port is missing (run through ctest, which starts the "
                             "chain_testnet fixture)");
  }
  return "http://127.0.0.1:" + std::to_string(port);
}

std::string chain_name() {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "chain";
  for (char& c : name) {
    if (c == '/') c = '.';
  }
  return name + "." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

Keypair random_keypair() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium init failed");
  std::array<std::uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  return Keypair::from_seed(seed);
}

TestChain::TestChain()
    : url_(server_url() + "/" + chain_name()),
      rpc_(url_, RpcOptions{.timeout = std::chrono::milliseconds(20000),
                            .attempts = 3,
                            .backoff = std::chrono::milliseconds(50)}) {}

nlohmann::json TestChain::control(const std::string& method, const nlohmann::json& params) {
  auto r = rpc_.call(method, params);
  if (!r) {
    ADD_FAILURE() << method << ": " << r.message();
    throw std::runtime_error(r.message());
  }
  return *r;
}

void TestChain::airdrop(const Pubkey& to, std::uint64_t lamports) {
  control("flotilla_airdrop", {to.to_base58(), lamports});
}

Pubkey TestChain::create_mint(const Pubkey& authority, std::uint8_t decimals) {
  const Pubkey mint = random_keypair().pubkey();
  control("flotilla_createMint", {mint.to_base58(), authority.to_base58(), decimals});
  return mint;
}

Pubkey TestChain::create_token_account(const Pubkey& owner, const Pubkey& mint,
                                       std::uint64_t amount) {
  const auto r =
      control("flotilla_createTokenAccount", {owner.to_base58(), mint.to_base58(), amount});
  return *Pubkey::from_base58(r.get<std::string>());
}

std::uint64_t TestChain::advance_blocks(std::uint64_t blocks) {
  return control("flotilla_advanceBlocks", {blocks}).get<std::uint64_t>();
}

void TestChain::set_faults(const nlohmann::json& faults) {
  control("flotilla_setFaults", nlohmann::json::array({faults}));
}

}  // namespace flotilla::chain::testing
