#include "reward_model/policy.h"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

#include "reward_model/try_assign.h"

namespace flotilla::rewards {
namespace {

std::size_t line_of(const toml::source_region& r) {
  return r.begin.line == 0 ? 1 : r.begin.line;
}

// Reads one policy file, naming file and line in every error.
class Reader {
 public:
  explicit Reader(const std::string& origin) : origin_(origin) {}

  Status at(const toml::node& n, const std::string& what) const {
    return Status::at(origin_, line_of(n.source()), what);
  }

  Status check_keys(const toml::table& t, const std::string& where,
                    std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, value] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        return Status::at(origin_, line_of(key.source()),
                          "unknown key '" + std::string(key.str()) + "' in " + where);
      }
    }
    return Status::ok();
  }

  Result<const toml::table*> table(const toml::table& parent, std::string_view key,
                                   bool required) const {
    const toml::node* n = parent.get(key);
    if (!n) {
      if (!required) return static_cast<const toml::table*>(nullptr);
      return Status::at(origin_, 1, "missing table [" + std::string(key) + "]");
    }
    if (!n->is_table()) return at(*n, "'" + std::string(key) + "' must be a table");
    return n->as_table();
  }

  // A whole number in [lo, hi]; nullopt when absent and not required.
  Result<std::optional<std::int64_t>> integer(const toml::table& t, const std::string& where,
                                              std::string_view key, std::int64_t lo,
                                              std::int64_t hi, bool required) const {
    const toml::node* n = t.get(key);
    if (!n) {
      if (!required) return std::optional<std::int64_t>();
      return at(t, "missing '" + std::string(key) + "' in " + where);
    }
    const std::string name = "'" + std::string(key) + "'";
    if (!n->is_integer()) return at(*n, name + " must be a whole number");
    const std::int64_t v = n->as_integer()->get();
    if (v < 0 && lo >= 0) return at(*n, name + " must not be negative");
    if (v < lo || v > hi) {
      return at(*n, name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                        ", got " + std::to_string(v));
    }
    return std::optional<std::int64_t>(v);
  }

  Result<std::string> string(const toml::table& t, const std::string& where,
                             std::string_view key) const {
    const toml::node* n = t.get(key);
    if (!n) return at(t, "missing '" + std::string(key) + "' in " + where);
    if (!n->is_string()) return at(*n, "'" + std::string(key) + "' must be a string");
    return n->as_string()->get();
  }

 private:
  const std::string& origin_;
};

constexpr std::int64_t kMaxU = std::numeric_limits<std::int64_t>::max();

}  // namespace

Result<std::pair<std::int64_t, std::int64_t>> Policy::epoch_window(std::uint64_t epoch) const {
  std::int64_t offset = 0, start = 0, end = 0;
  if (epoch > static_cast<std::uint64_t>(kMaxU) ||
      __builtin_mul_overflow(static_cast<std::int64_t>(epoch), epoch_length_s, &offset) ||
      __builtin_add_overflow(genesis, offset, &start) ||
      __builtin_add_overflow(start, epoch_length_s, &end)) {
    return Status::error("epoch " + std::to_string(epoch) + " lies past the 64-bit clock");
  }
  return std::pair{start, end};
}

std::uint64_t Policy::emission_of(std::uint64_t epoch) const {
  if (emission.kind == EmissionSchedule::Kind::kFixed) return emission.first;
  if (emission.epochs && epoch >= *emission.epochs) return 0;
  std::uint64_t amount = emission.first;
  // Step by step rather than a power, so every intermediate is rounded down the
  // same documented way; a few thousand steps at most, and it stops at zero.
  __extension__ using Uint128 = unsigned __int128;
  for (std::uint64_t step = epoch / emission.step_epochs; step > 0 && amount > 0; --step) {
    amount = static_cast<std::uint64_t>(Uint128{amount} * (kPartsPerMillion - emission.decay_ppm) /
                                        kPartsPerMillion);
  }
  return amount;
}

Result<Policy> parse_policy(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    std::replace(what.begin(), what.end(), '\n', ' ');
    return Status::at(origin, line_of(e.source()), what);
  }
  const Reader r(origin);
  Policy p;
  if (Status s = r.check_keys(root, "the top level",
                              {"epoch", "emission", "weights", "split", "penalty", "payout"});
      !s) {
    return s;
  }

  const toml::table* t = nullptr;
  std::optional<std::int64_t> v;
  FLOTILLA_TRY_ASSIGN(t, r.table(root, "epoch", true));
  if (Status s = r.check_keys(*t, "[epoch]", {"genesis", "length_s"}); !s) return s;
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[epoch]", "genesis", 0, kMaxU, true));
  p.genesis = *v;
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[epoch]", "length_s", 1, 366LL * 24 * 3600, true));
  p.epoch_length_s = *v;

  FLOTILLA_TRY_ASSIGN(t, r.table(root, "emission", true));
  std::string schedule;
  FLOTILLA_TRY_ASSIGN(schedule, r.string(*t, "[emission]", "schedule"));
  if (schedule == "fixed") {
    if (Status s = r.check_keys(*t, "[emission] (fixed)", {"schedule", "amount"}); !s) return s;
    FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[emission]", "amount", 0, kMaxU, true));
    p.emission.first = static_cast<std::uint64_t>(*v);
  } else if (schedule == "decaying") {
    if (Status s = r.check_keys(*t, "[emission] (decaying)",
                                {"schedule", "first", "step_epochs", "decay_ppm", "epochs"});
        !s) {
      return s;
    }
    p.emission.kind = EmissionSchedule::Kind::kDecaying;
    FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[emission]", "first", 0, kMaxU, true));
    p.emission.first = static_cast<std::uint64_t>(*v);
    FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[emission]", "step_epochs", 1, kMaxU, true));
    p.emission.step_epochs = static_cast<std::uint64_t>(*v);
    FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[emission]", "decay_ppm", 0, kPartsPerMillion - 1, true));
    p.emission.decay_ppm = static_cast<std::uint64_t>(*v);
    FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[emission]", "epochs", 1, kMaxU, false));
    if (v) p.emission.epochs = static_cast<std::uint64_t>(*v);
  } else {
    return r.at(*t->get("schedule"),
                "'schedule' must be \"fixed\" or \"decaying\", got \"" + schedule + "\"");
  }

  FLOTILLA_TRY_ASSIGN(t, r.table(root, "weights", true));
  if (Status s = r.check_keys(*t, "[weights]", {"by", "gpu_type"}); !s) return s;
  std::string by;
  FLOTILLA_TRY_ASSIGN(by, r.string(*t, "[weights]", "by"));
  const toml::table* types = nullptr;
  FLOTILLA_TRY_ASSIGN(types, r.table(*t, "gpu_type", false));
  if (by == "gpu_type") {
    if (!types || types->empty()) {
      return r.at(*t, "weights by gpu_type need a non-empty [weights.gpu_type] table");
    }
    for (auto&& [key, value] : *types) {
      FLOTILLA_TRY_ASSIGN(v, r.integer(*types, "[weights.gpu_type]", key.str(), 1,
                                       static_cast<std::int64_t>(kMaxWeight), true));
      p.gpu_type_weights.emplace(std::string(key.str()), static_cast<std::uint64_t>(*v));
    }
  } else if (by == "tflops") {
    p.weight_by = WeightBy::kTflops;
    if (types) {
      return r.at(*types, "[weights.gpu_type] has no effect when weights are by tflops");
    }
  } else {
    return r.at(*t->get("by"), "'by' must be \"gpu_type\" or \"tflops\", got \"" + by + "\"");
  }

  FLOTILLA_TRY_ASSIGN(t, r.table(root, "split", true));
  if (Status s = r.check_keys(*t, "[split]", {"work_bps", "availability_bps"}); !s) return s;
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[split]", "work_bps", 0, kBasisPoints, true));
  p.work_bps = static_cast<std::uint64_t>(*v);
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[split]", "availability_bps", 0, kBasisPoints, true));
  if (p.work_bps + static_cast<std::uint64_t>(*v) != kBasisPoints) {
    return r.at(*t->get("availability_bps"),
                "work_bps + availability_bps must be 10000 (100%), got " +
                    std::to_string(p.work_bps + static_cast<std::uint64_t>(*v)));
  }

  FLOTILLA_TRY_ASSIGN(t, r.table(root, "penalty", false));
  if (t) {
    if (Status s = r.check_keys(*t, "[penalty]", {"provider_fault_bps"}); !s) return s;
    FLOTILLA_TRY_ASSIGN(
        v, r.integer(*t, "[penalty]", "provider_fault_bps", 0, 10 * kBasisPoints, true));
    p.provider_fault_bps = static_cast<std::uint64_t>(*v);
  }

  FLOTILLA_TRY_ASSIGN(t, r.table(root, "payout", true));
  if (Status s = r.check_keys(*t, "[payout]", {"min_payout", "cap_bps"}); !s) return s;
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[payout]", "min_payout", 1, kMaxU, true));
  p.min_payout = static_cast<std::uint64_t>(*v);
  FLOTILLA_TRY_ASSIGN(v, r.integer(*t, "[payout]", "cap_bps", 1, kBasisPoints, false));
  if (v) p.cap_bps = static_cast<std::uint64_t>(*v);
  return p;
}

Result<Policy> read_policy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_policy(text.str(), path);
}

}  // namespace flotilla::rewards
