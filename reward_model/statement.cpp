#include "reward_model/statement.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "reward_model/try_assign.h"
#include "reward_model/wallet.h"

namespace flotilla::rewards {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr const char* kFormat = "flotilla-statement-1";

// The account fields in the order they are written; one table drives both the
// writer and the reader so the two cannot drift apart.
constexpr std::pair<const char*, std::uint64_t Account::*> kAccountNumbers[] = {
    {"weight", &Account::weight},
    {"records", &Account::records},
    {"fault_records", &Account::fault_records},
    {"work_gpu_seconds", &Account::work_gpu_seconds},
    {"fault_gpu_seconds", &Account::fault_gpu_seconds},
    {"penalty", &Account::penalty},
    {"work_score", &Account::work_score},
    {"online_gpu_seconds", &Account::online_gpu_seconds},
    {"availability_score", &Account::availability_score},
    {"work_amount", &Account::work_amount},
    {"availability_amount", &Account::availability_amount},
    {"capped", &Account::capped},
    {"earned", &Account::earned},
    {"carry_in", &Account::carry_in},
    {"paid", &Account::paid},
    {"carry_out", &Account::carry_out},
};

constexpr std::pair<const char*, std::uint64_t Statement::*> kStatementNumbers[] = {
    {"carry_in", &Statement::carry_in},
    {"unallocated", &Statement::unallocated},
    {"min_payout", &Statement::min_payout},
};

// Reads fields of one JSON object, naming the path in every error.
class Fields {
 public:
  Fields(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status error(const std::string& key, const std::string& what) const {
    return Status::error(path_ + (path_.empty() ? "" : ".") + key + ": " + what);
  }

  Result<const Json*> get(const std::string& key) const {
    if (!j_.is_object()) return Status::error(path_ + ": expected an object");
    auto it = j_.find(key);
    if (it == j_.end()) return error(key, "missing");
    return &*it;
  }

  Result<std::uint64_t> u64(const std::string& key) const {
    Result<const Json*> v = get(key);
    if (!v) return v.status();
    if (!(*v)->is_number_unsigned()) return error(key, "must be a whole number >= 0 below 2^64");
    return (*v)->get<std::uint64_t>();
  }

  Result<std::int64_t> i64(const std::string& key) const {
    Result<const Json*> v = get(key);
    if (!v) return v.status();
    if (!(*v)->is_number_integer() ||
        ((*v)->is_number_unsigned() && (*v)->get<std::uint64_t>() > INT64_MAX)) {
      return error(key, "must be a whole number in 64 bits");
    }
    return (*v)->get<std::int64_t>();
  }

  Result<std::string> str(const std::string& key) const {
    Result<const Json*> v = get(key);
    if (!v) return v.status();
    if (!(*v)->is_string()) return error(key, "must be a string");
    return (*v)->get<std::string>();
  }

  Result<const Json*> array(const std::string& key) const {
    Result<const Json*> v = get(key);
    if (!v) return v.status();
    if (!(*v)->is_array()) return error(key, "must be an array");
    return *v;
  }

 private:
  const Json& j_;
  std::string path_;
};

// The five contract fields are required; the rest (the audit trail) default
// to empty so that a minimal statement written by hand still reads.
Result<Statement> from_json(const Json& j) {
  if (!j.is_object()) return Status::error("expected a JSON object");
  Fields top(j, "");
  Statement s;
  if (j.contains("format")) {
    std::string format;
    FLOTILLA_TRY_ASSIGN(format, top.str("format"));
    if (format != kFormat) return top.error("format", "expected '" + std::string(kFormat) + "'");
  }
  FLOTILLA_TRY_ASSIGN(s.epoch, top.u64("epoch"));
  FLOTILLA_TRY_ASSIGN(s.emission, top.u64("emission"));
  if (j.contains("epoch_start")) FLOTILLA_TRY_ASSIGN(s.epoch_start, top.i64("epoch_start"));
  if (j.contains("epoch_end")) FLOTILLA_TRY_ASSIGN(s.epoch_end, top.i64("epoch_end"));
  for (const auto& [key, member] : kStatementNumbers) {
    if (j.contains(key)) FLOTILLA_TRY_ASSIGN(s.*member, top.u64(key));
  }

  const Json* list = nullptr;
  FLOTILLA_TRY_ASSIGN(list, top.array("payouts"));
  for (std::size_t i = 0; i < list->size(); ++i) {
    Fields f((*list)[i], "payouts[" + std::to_string(i) + "]");
    Payout p;
    FLOTILLA_TRY_ASSIGN(p.provider, f.str("provider"));
    FLOTILLA_TRY_ASSIGN(p.wallet, f.str("wallet"));
    FLOTILLA_TRY_ASSIGN(p.amount, f.u64("amount"));
    s.payouts.push_back(std::move(p));
  }
  FLOTILLA_TRY_ASSIGN(list, top.array("carry"));
  for (std::size_t i = 0; i < list->size(); ++i) {
    Fields f((*list)[i], "carry[" + std::to_string(i) + "]");
    Carry c;
    FLOTILLA_TRY_ASSIGN(c.provider, f.str("provider"));
    FLOTILLA_TRY_ASSIGN(c.amount, f.u64("amount"));
    s.carry.push_back(std::move(c));
  }
  FLOTILLA_TRY_ASSIGN(s.merkle_root, top.str("merkle_root"));

  if (j.contains("inputs")) {
    const Json* inputs = nullptr;
    FLOTILLA_TRY_ASSIGN(inputs, top.get("inputs"));
    Fields in(*inputs, "inputs");
    FLOTILLA_TRY_ASSIGN(s.inputs.meter_sha256, in.str("meter_sha256"));
    FLOTILLA_TRY_ASSIGN(s.inputs.providers_sha256, in.str("providers_sha256"));
    FLOTILLA_TRY_ASSIGN(s.inputs.policy_sha256, in.str("policy_sha256"));
    if (inputs->contains("carry_from_sha256") && !(*inputs)["carry_from_sha256"].is_null()) {
      FLOTILLA_TRY_ASSIGN(s.inputs.carry_from_sha256, in.str("carry_from_sha256"));
    }
  }

  if (j.contains("accounts")) {
    FLOTILLA_TRY_ASSIGN(list, top.array("accounts"));
    for (std::size_t i = 0; i < list->size(); ++i) {
      Fields f((*list)[i], "accounts[" + std::to_string(i) + "]");
      Account a;
      FLOTILLA_TRY_ASSIGN(a.provider, f.str("provider"));
      FLOTILLA_TRY_ASSIGN(a.wallet, f.str("wallet"));
      FLOTILLA_TRY_ASSIGN(a.gpu_type, f.str("gpu_type"));
      for (const auto& [key, member] : kAccountNumbers) FLOTILLA_TRY_ASSIGN(a.*member, f.u64(key));
      s.accounts.push_back(std::move(a));
    }
  }
  return s;
}

// Adds with a check; false on overflow.
bool add(std::uint64_t& sum, std::uint64_t v) {
  return !__builtin_add_overflow(sum, v, &sum);
}

}  // namespace

Result<std::vector<Digest>> payout_leaves(const Statement& s) {
  std::vector<Digest> leaves;
  leaves.reserve(s.payouts.size());
  for (const Payout& p : s.payouts) {
    std::optional<WalletKey> key = decode_wallet(p.wallet);
    if (!key) {
      return Status::error("wallet '" + p.wallet + "' of provider " + p.provider +
                           " is not base58 of 32 bytes");
    }
    leaves.push_back(payout_leaf(s.epoch, *key, p.amount, p.provider));
  }
  return leaves;
}

Status check_statement(const Statement& s, const std::string& origin) {
  auto fail = [&](const std::string& what) { return Status::error(origin + ": " + what); };
  std::uint64_t out = s.unallocated;
  for (std::size_t i = 0; i < s.payouts.size(); ++i) {
    const Payout& p = s.payouts[i];
    if (p.provider.empty()) return fail("payouts[" + std::to_string(i) + "] has no provider");
    if (i > 0 && !(s.payouts[i - 1].provider < p.provider)) {
      return fail("payouts are not sorted by provider without repeats at " + p.provider);
    }
    if (p.amount == 0) return fail("payout to " + p.provider + " is zero");
    if (!add(out, p.amount)) return fail("payouts overflow 64 bits");
  }
  for (std::size_t i = 0; i < s.carry.size(); ++i) {
    const Carry& c = s.carry[i];
    if (i > 0 && !(s.carry[i - 1].provider < c.provider)) {
      return fail("carry is not sorted by provider without repeats at " + c.provider);
    }
    if (c.amount == 0) return fail("carry of " + c.provider + " is zero");
    if (!add(out, c.amount)) return fail("carry overflows 64 bits");
  }
  std::uint64_t in = s.emission;
  if (!add(in, s.carry_in)) return fail("emission + carry_in overflows 64 bits");
  if (in != out) {
    return fail("payouts + carry + unallocated = " + std::to_string(out) +
                " but emission + carry_in = " + std::to_string(in));
  }
  // The audit trail, where present, must lead to exactly these payouts.
  std::size_t paid = 0;
  for (const Account& a : s.accounts) {
    std::uint64_t gross = 0, due = 0, settled = 0;
    if (__builtin_add_overflow(a.work_amount, a.availability_amount, &gross) ||
        gross != a.earned + a.capped || a.capped > gross ||
        __builtin_add_overflow(a.earned, a.carry_in, &due) ||
        __builtin_add_overflow(a.paid, a.carry_out, &settled) || due != settled ||
        (a.paid > 0 && a.carry_out > 0)) {
      return fail("account of " + a.provider + " does not add up");
    }
    if (a.paid == 0) continue;
    if (paid == s.payouts.size() || s.payouts[paid].provider != a.provider ||
        s.payouts[paid].wallet != a.wallet || s.payouts[paid].amount != a.paid) {
      return fail("account of " + a.provider + " does not match the payouts");
    }
    ++paid;
  }
  if (!s.accounts.empty() && paid != s.payouts.size()) {
    return fail("payouts to providers without an account");
  }
  Result<std::vector<Digest>> leaves = payout_leaves(s);
  if (!leaves) return fail(leaves.message());
  const std::string root = to_hex(merkle_root(*leaves));
  if (s.merkle_root != root) {
    return fail("merkle_root " + s.merkle_root + " does not match the payouts (" + root + ")");
  }
  return Status::ok();
}

std::string statement_json(const Statement& s) {
  // One payout, carry or account per line: a statement of 180,000 providers
  // stays readable and diffable, and the bytes depend only on the values.
  OrderedJson head;
  head["format"] = kFormat;
  head["epoch"] = s.epoch;
  head["epoch_start"] = s.epoch_start;
  head["epoch_end"] = s.epoch_end;
  head["emission"] = s.emission;
  for (const auto& [key, member] : kStatementNumbers) head[key] = s.*member;
  std::string out = "{\n";
  for (auto it = head.begin(); it != head.end(); ++it) {
    out += "  " + Json(it.key()).dump() + ": " + it.value().dump() + ",\n";
  }
  auto lines = [&](const char* key, const auto& items, auto to_json) {
    out += "  \"" + std::string(key) + "\": [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      out += (i == 0 ? "\n    " : ",\n    ") + to_json(items[i]).dump();
    }
    out += items.empty() ? "],\n" : "\n  ],\n";
  };
  lines("payouts", s.payouts, [](const Payout& p) {
    OrderedJson j;
    j["provider"] = p.provider;
    j["wallet"] = p.wallet;
    j["amount"] = p.amount;
    return j;
  });
  lines("carry", s.carry, [](const Carry& c) {
    OrderedJson j;
    j["provider"] = c.provider;
    j["amount"] = c.amount;
    return j;
  });
  out += "  \"merkle_root\": " + Json(s.merkle_root).dump() + ",\n";
  OrderedJson inputs;
  inputs["meter_sha256"] = s.inputs.meter_sha256;
  inputs["providers_sha256"] = s.inputs.providers_sha256;
  inputs["policy_sha256"] = s.inputs.policy_sha256;
  inputs["carry_from_sha256"] =
      s.inputs.carry_from_sha256 ? OrderedJson(*s.inputs.carry_from_sha256) : OrderedJson();
  out += "  \"inputs\": " + inputs.dump() + ",\n";
  lines("accounts", s.accounts, [](const Account& a) {
    OrderedJson j;
    j["provider"] = a.provider;
    j["wallet"] = a.wallet;
    j["gpu_type"] = a.gpu_type;
    for (const auto& [key, member] : kAccountNumbers) j[key] = a.*member;
    return j;
  });
  // The last array must not end in a comma.
  out.resize(out.size() - 2);
  out += "\n}\n";
  return out;
}

std::string statement_csv(const Statement& s) {
  // Merge the two sorted lists so each provider appears once.
  std::string out = "provider,wallet,amount,carry\n";
  std::size_t p = 0, c = 0;
  while (p < s.payouts.size() || c < s.carry.size()) {
    const bool take_payout = c == s.carry.size() ||
                             (p < s.payouts.size() && s.payouts[p].provider <= s.carry[c].provider);
    const bool same =
        take_payout && c < s.carry.size() && s.payouts[p].provider == s.carry[c].provider;
    if (take_payout) {
      out += s.payouts[p].provider + "," + s.payouts[p].wallet + "," +
             std::to_string(s.payouts[p].amount) + "," +
             std::to_string(same ? s.carry[c].amount : 0) + "\n";
      ++p;
      if (same) ++c;
    } else {
      out += s.carry[c].provider + ",,0," + std::to_string(s.carry[c].amount) + "\n";
      ++c;
    }
  }
  return out;
}

Result<Statement> read_statement(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error(path + ": not valid JSON");
  Result<Statement> s = from_json(j);
  if (!s) return Status::error(path + ": " + s.message());
  if (Status st = check_statement(*s, path); !st) return st;
  return s;
}

Status check_immutable(const std::string& path, const std::string& bytes) {
  if (!std::filesystem::exists(path)) return Status::ok();
  std::ifstream old(path, std::ios::binary);
  if (!old) return Status::error(path + ": exists and cannot be read");
  const std::string existing((std::istreambuf_iterator<char>(old)),
                             std::istreambuf_iterator<char>());
  if (existing == bytes) return Status::ok();
  return Status::error(path +
                       ": already exists with different content; a statement once written "
                       "is never replaced");
}

Status write_immutable(const std::string& path, const std::string& bytes) {
  if (Status st = check_immutable(path, bytes); !st) return st;
  if (std::filesystem::exists(path)) return Status::ok();  // the same bytes
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(tmp + ": cannot create");
    out << bytes;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Status::error(tmp + ": write error");
    }
  }
  // link() fails if `path` appeared meanwhile, so two writers racing on the same
  // epoch cannot replace each other's statement the way rename() would.
  std::error_code ec;
  std::filesystem::create_hard_link(tmp, path, ec);
  std::remove(tmp.c_str());
  if (ec) return Status::error(path + ": cannot create: " + ec.message());
  return Status::ok();
}

Status write_statement(const std::string& path, const Statement& s) {
  if (Status st = check_statement(s, path); !st) return st;
  return write_immutable(path, statement_json(s));
}

}  // namespace flotilla::rewards
