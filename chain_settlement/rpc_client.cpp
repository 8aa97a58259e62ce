// JSON-RPC over libcurl. Retries cover what a retry can fix (no answer, HTTP
// 429/5xx); an answer with a JSON-RPC error is final.
#include "chain_settlement/rpc_client.h"

#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "chain_settlement/base58.h"

namespace flotilla::chain {
namespace {

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::vector<std::uint8_t>> from_base64(const std::string& text) {
  std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

Result<Pubkey> key_field(const nlohmann::json& j, const char* what) {
  if (!j.is_string()) return Status::error(std::string("RPC answer: ") + what + " is not a string");
  return parse_pubkey(j.get<std::string>(), std::string("RPC answer: ") + what);
}

Result<std::optional<AccountInfo>> parse_account(const nlohmann::json& j) {
  if (j.is_null()) return std::optional<AccountInfo>();
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
      !j["data"][0].is_string() || !j.value("lamports", nlohmann::json()).is_number_unsigned()) {
    return Status::error("RPC answer: malformed account");
  }
  auto owner = key_field(j["owner"], "owner");
  if (!owner) return owner.status();
  auto data = from_base64(j["data"][0].get<std::string>());
  if (!data) return Status::error("RPC answer: account data is not base64");
  return std::optional<AccountInfo>(
      AccountInfo{j["lamports"].get<std::uint64_t>(), *owner, std::move(*data)});
}

}  // namespace

bool rpc_unreachable(const Status& status) {
  return status.message().rfind(kUnreachablePrefix, 0) == 0;
}

RpcClient::RpcClient(std::string url, RpcOptions options)
    : url_(std::move(url)), options_(options) {
  [[maybe_unused]] static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  [[maybe_unused]] static const int kSodium = sodium_init();
  curl_ = curl_easy_init();
}

RpcClient::~RpcClient() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::string> RpcClient::post(const std::string& body, long& http_status) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) return Status::error(std::string(kUnreachablePrefix) + url_ + ": no curl handle");
  std::string answer;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    http_status = 0;
    return Status::error(curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  return answer;
}

Result<nlohmann::json> RpcClient::call(const std::string& method, const nlohmann::json& params) {
  const std::string body = nlohmann::json{
      {"jsonrpc", "2.0"},
      {"id", next_id_++},
      {"method", method},
      {"params", params}}.dump();
  std::string last_problem;
  auto delay = options_.backoff;
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    long http_status = 0;
    auto answer = post(body, http_status);
    if (!answer) {
      last_problem = answer.message();
      continue;
    }
    if (http_status == 429 || http_status >= 500) {
      last_problem = "HTTP " + std::to_string(http_status);
      continue;
    }
    const nlohmann::json j = nlohmann::json::parse(*answer, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::error("RPC " + method + ": answer is not JSON (HTTP " +
                           std::to_string(http_status) + ")");
    }
    if (j.contains("error")) {
      const nlohmann::json& e = j["error"];
      std::string text = "RPC " + method + " failed: " + e.value("message", e.dump());
      if (e.contains("data") && e["data"].is_object() && e["data"].contains("err")) {
        text += " (" + e["data"]["err"].dump() + ")";
      }
      return Status::error(text);
    }
    if (!j.contains("result")) return Status::error("RPC " + method + ": answer has no result");
    return j["result"];
  }
  return Status::error(std::string(kUnreachablePrefix) + url_ + " (" + method + " after " +
                       std::to_string(options_.attempts) + " attempts): " + last_problem);
}

Result<LatestBlockhash> RpcClient::latest_blockhash() {
  auto r = call("getLatestBlockhash", nlohmann::json::array({{{"commitment", "finalized"}}}));
  if (!r) return r.status();
  const nlohmann::json& v = (*r)["value"];
  if (!v.is_object() || !v["blockhash"].is_string() ||
      !v["lastValidBlockHeight"].is_number_unsigned()) {
    return Status::error("RPC answer: malformed getLatestBlockhash");
  }
  auto hash = key_field(v["blockhash"], "blockhash");
  if (!hash) return hash.status();
  return LatestBlockhash{hash->bytes, v["lastValidBlockHeight"].get<std::uint64_t>()};
}

Result<std::uint64_t> RpcClient::block_height() {
  auto r = call("getBlockHeight", nlohmann::json::array({{{"commitment", "finalized"}}}));
  if (!r) return r.status();
  if (!r->is_number_unsigned()) return Status::error("RPC answer: malformed getBlockHeight");
  return r->get<std::uint64_t>();
}

Result<Signature> RpcClient::send_transaction(std::span<const std::uint8_t> wire) {
  auto r = call(
      "sendTransaction",
      nlohmann::json::array(
          {to_base64(wire),
           {{"encoding", "base64"}, {"preflightCommitment", "finalized"}, {"maxRetries", 0}}}));
  // Sending the same signed bytes again is how a lost answer is retried; the
  // cluster then reports that it has the transaction already.
  if (!r && r.message().find("AlreadyProcessed") == std::string::npos) return r.status();
  return transaction_signature(wire);
}

Result<std::vector<std::optional<SignatureStatus>>> RpcClient::signature_statuses(
    std::span<const Signature> signatures) {
  std::vector<std::optional<SignatureStatus>> out;
  out.reserve(signatures.size());
  for (std::size_t begin = 0; begin < signatures.size(); begin += 256) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = begin; i < signatures.size() && i < begin + 256; ++i) {
      list.push_back(base58_encode(signatures[i]));
    }
    const std::size_t asked = list.size();
    auto r = call("getSignatureStatuses",
                  nlohmann::json::array({std::move(list), {{"searchTransactionHistory", true}}}));
    if (!r) return r.status();
    const nlohmann::json& v = (*r)["value"];
    if (!v.is_array() || v.size() != asked) {
      return Status::error("RPC answer: malformed getSignatureStatuses");
    }
    for (const nlohmann::json& s : v) {
      if (s.is_null()) {
        out.emplace_back();
        continue;
      }
      SignatureStatus st;
      st.slot = s.value("slot", std::uint64_t{0});
      if (s.contains("err") && !s["err"].is_null()) st.error = s["err"].dump();
      out.emplace_back(std::move(st));
    }
  }
  return out;
}

Result<std::optional<AccountInfo>> RpcClient::account_info(const Pubkey& address) {
  auto r = call("getAccountInfo",
                nlohmann::json::array({address.to_base58(), {{"encoding", "base64"}}}));
  if (!r) return r.status();
  return parse_account((*r)["value"]);
}

Result<std::vector<std::optional<AccountInfo>>> RpcClient::multiple_accounts(
    std::span<const Pubkey> addresses) {
  std::vector<std::optional<AccountInfo>> out;
  out.reserve(addresses.size());
  for (std::size_t begin = 0; begin < addresses.size(); begin += 100) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = begin; i < addresses.size() && i < begin + 100; ++i) {
      list.push_back(addresses[i].to_base58());
    }
    const std::size_t asked = list.size();
    auto r = call("getMultipleAccounts",
                  nlohmann::json::array({std::move(list), {{"encoding", "base64"}}}));
    if (!r) return r.status();
    const nlohmann::json& v = (*r)["value"];
    if (!v.is_array() || v.size() != asked) {
      return Status::error("RPC answer: malformed getMultipleAccounts");
    }
    for (const nlohmann::json& a : v) {
      auto parsed = parse_account(a);
      if (!parsed) return parsed.status();
      out.push_back(std::move(*parsed));
    }
  }
  return out;
}

Result<std::uint64_t> RpcClient::token_account_balance(const Pubkey& address) {
  auto r = call("getTokenAccountBalance", nlohmann::json::array({address.to_base58()}));
  if (!r) return r.status();
  const nlohmann::json& v = (*r)["value"];
  if (!v.is_object() || !v["amount"].is_string()) {
    return Status::error("RPC answer: malformed getTokenAccountBalance");
  }
  try {
    return static_cast<std::uint64_t>(std::stoull(v["amount"].get<std::string>()));
  } catch (const std::exception&) {
    return Status::error("RPC answer: token amount is not a number");
  }
}

Result<std::uint64_t> RpcClient::minimum_balance_for_rent_exemption(std::size_t data_length) {
  auto r = call("getMinimumBalanceForRentExemption", nlohmann::json::array({data_length}));
  if (!r) return r.status();
  if (!r->is_number_unsigned()) return Status::error("RPC answer: malformed rent minimum");
  return r->get<std::uint64_t>();
}

Result<std::uint64_t> RpcClient::balance(const Pubkey& address) {
  auto r = call("getBalance", nlohmann::json::array({address.to_base58()}));
  if (!r) return r.status();
  if (!(*r)["value"].is_number_unsigned()) return Status::error("RPC answer: malformed getBalance");
  return (*r)["value"].get<std::uint64_t>();
}

Result<std::uint64_t> RpcClient::slot(bool processed) {
  auto r = call("getSlot",
                nlohmann::json::array({{{"commitment", processed ? "processed" : "finalized"}}}));
  if (!r) return r.status();
  if (!r->is_number_unsigned()) return Status::error("RPC answer: malformed getSlot");
  return r->get<std::uint64_t>();
}

Result<std::optional<TransactionRecord>> RpcClient::transaction(const Signature& signature) {
  auto r = call("getTransaction", nlohmann::json::array({base58_encode(signature),
                                                         {{"encoding", "base64"},
                                                          {"commitment", "finalized"},
                                                          {"maxSupportedTransactionVersion", 0}}}));
  if (!r) return r.status();
  if (r->is_null()) return std::optional<TransactionRecord>();
  const nlohmann::json& meta = (*r)["meta"];
  const nlohmann::json& tx = (*r)["transaction"];
  if (!meta.is_object() || !tx.is_array() || tx.empty() || !tx[0].is_string()) {
    return Status::error("RPC answer: malformed getTransaction");
  }
  auto wire = from_base64(tx[0].get<std::string>());
  if (!wire) return Status::error("RPC answer: transaction is not base64");
  // Account indexes count the static keys, then loaded writable, then loaded read-only.
  auto keys = message_account_keys(*wire);
  if (!keys) return keys.status();
  for (const char* kind : {"writable", "readonly"}) {
    const nlohmann::json loaded = meta.value("loadedAddresses", nlohmann::json::object());
    for (const nlohmann::json& k : loaded.value(kind, nlohmann::json::array())) {
      auto key = key_field(k, "loaded address");
      if (!key) return key.status();
      keys->push_back(*key);
    }
  }
  TransactionRecord record;
  record.slot = r->value("slot", std::uint64_t{0});
  if (meta.contains("err") && !meta["err"].is_null()) record.error = meta["err"].dump();
  auto read = [&](const char* field, bool after) -> Status {
    for (const nlohmann::json& b : meta.value(field, nlohmann::json::array())) {
      const std::size_t index = b.value("accountIndex", keys->size());
      const nlohmann::json amount = b.value("uiTokenAmount", nlohmann::json::object());
      if (index >= keys->size() || !amount.value("amount", nlohmann::json()).is_string()) {
        return Status::error(std::string("RPC answer: malformed ") + field);
      }
      const std::uint64_t value = std::stoull(amount["amount"].get<std::string>());
      const Pubkey& account = (*keys)[index];
      auto it = std::find_if(record.token_balances.begin(), record.token_balances.end(),
                             [&](const TokenBalanceChange& c) { return c.account == account; });
      if (it == record.token_balances.end()) {
        it = record.token_balances.insert(record.token_balances.end(), {account, 0, 0});
      }
      (after ? it->after : it->before) = value;
    }
    return Status::ok();
  };
  try {
    if (Status s = read("preTokenBalances", false); !s) return s;
    if (Status s = read("postTokenBalances", true); !s) return s;
  } catch (const std::exception&) {
    return Status::error("RPC answer: token amount is not a number");
  }
  return std::optional<TransactionRecord>(std::move(record));
}

}  // namespace flotilla::chain
