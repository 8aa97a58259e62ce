// A Solana JSON-RPC client over HTTP (libcurl) with timeouts and retries with
// exponential backoff: the methods settlement needs (https://solana.com/docs/rpc).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chain_settlement/keypair.h"
#include "chain_settlement/message.h"
#include "scheduler/status.h"

namespace flotilla::chain {

struct RpcOptions {
  std::chrono::milliseconds timeout{10000};  // per HTTP request
  int attempts = 4;                          // for transport failures, 5xx and 429
  std::chrono::milliseconds backoff{250};    // doubled after each failed attempt
};

struct LatestBlockhash {
  Blockhash blockhash{};
  std::uint64_t last_valid_block_height = 0;
};

// A transaction the cluster has processed: `error` is set when it failed on
// chain (the fee was still charged).
struct SignatureStatus {
  std::uint64_t slot = 0;
  std::optional<std::string> error;  // the TransactionError as JSON text
};

struct AccountInfo {
  std::uint64_t lamports = 0;
  Pubkey owner;
  std::vector<std::uint8_t> data;
};

// A landed transaction's token balance changes (getTransaction's meta): every
// SPL token account it touched, with its amounts before and after (0 before
// when the transaction created it).
struct TokenBalanceChange {
  Pubkey account;
  std::uint64_t before = 0, after = 0;
};
struct TransactionRecord {
  std::uint64_t slot = 0;
  std::optional<std::string> error;
  std::vector<TokenBalanceChange> token_balances;
};

// Transport failures (after every retry) produce messages that start with this,
// so callers can tell "cannot reach the chain" from "the chain said no".
inline constexpr std::string_view kUnreachablePrefix = "cannot reach RPC ";
bool rpc_unreachable(const Status& status);

// Owns one libcurl handle (keeps the connection alive); not thread-safe.
class RpcClient {
 public:
  explicit RpcClient(std::string url, RpcOptions options = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // The `result` of a JSON-RPC call, or why there is none.
  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params);

  Result<LatestBlockhash> latest_blockhash();
  Result<std::uint64_t> block_height();
  // Sends base64 wire bytes with preflight; a transaction the cluster already
  // processed counts as sent. Returns its signature.
  Result<Signature> send_transaction(std::span<const std::uint8_t> wire);
  // Statuses in the order asked (any number; 256 per call on the wire), with
  // searchTransactionHistory so old transactions are found too.
  Result<std::vector<std::optional<SignatureStatus>>> signature_statuses(
      std::span<const Signature> signatures);
  Result<std::optional<AccountInfo>> account_info(const Pubkey& address);
  // Any number of accounts (100 per call on the wire), in the order asked.
  Result<std::vector<std::optional<AccountInfo>>> multiple_accounts(
      std::span<const Pubkey> addresses);
  Result<std::uint64_t> token_account_balance(const Pubkey& address);
  Result<std::uint64_t> minimum_balance_for_rent_exemption(std::size_t data_length);
  Result<std::uint64_t> balance(const Pubkey& address);
  // The slot at commitment "finalized" (or "processed" when `processed`).
  Result<std::uint64_t> slot(bool processed = false);
  // getTransaction (base64, v0 allowed); nullopt when the cluster has no record.
  Result<std::optional<TransactionRecord>> transaction(const Signature& signature);

  const std::string& url() const { return url_; }

 private:
  Result<std::string> post(const std::string& body, long& http_status);
  std::string url_;
  RpcOptions options_;
  void* curl_;  // CURL*
  std::int64_t next_id_ = 1;
};

}  // namespace flotilla::chain
