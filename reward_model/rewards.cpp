#include "reward_model/rewards.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

namespace flotilla::rewards {
namespace {

constexpr std::uint64_t kU64Max = ~std::uint64_t{0};

// What the records of one epoch add up to for one provider.
struct Tally {
  std::uint64_t weight = 0;
  std::uint64_t records = 0;
  std::uint64_t fault_records = 0;
  Uint128 work_gpu_seconds = 0;
  Uint128 fault_gpu_seconds = 0;
};

// The epoch's tie-break between equal remainders: SHA-256(epoch u64 LE ||
// provider id). Keyed by epoch so no provider wins every tie by its name.
Digest tie_key(std::uint64_t epoch, const std::string& provider) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(epoch >> (8 * i));
  return sha256(bytes + provider);
}

}  // namespace

std::string to_decimal(Uint128 v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
  } while ((v /= 10) > 0);
  return digits;
}

Result<MeterLog> read_meter_log(const std::string& path) {
  Result<std::vector<MeterRecord>> records = read_meter_file(path);
  if (!records) return records.status();
  MeterLog log{.origin = path, .records = std::move(records).value(), .lines = {}};
  // read_meter_file skips blank lines and keeps every other line as one record,
  // so the n-th non-blank line is the n-th record.
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) log.lines.push_back(line_no);
  }
  if (log.lines.size() != log.records.size()) {
    return Status::error(path + ": changed while it was being read");
  }
  return log;
}

Result<std::string> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return to_hex(sha256(bytes.str()));
}

Result<Statement> statement_from_files(const EpochFiles& files) {
  Result<Policy> policy = read_policy(files.policy);
  if (!policy) return policy.status();
  Result<Registry> registry = read_registry(files.providers);
  if (!registry) return registry.status();
  Result<MeterLog> meter = read_meter_log(files.meter);
  if (!meter) return meter.status();
  std::optional<Statement> previous;
  EpochInputs in{.epoch = files.epoch,
                 .meter = &*meter,
                 .registry = &*registry,
                 .policy = &*policy,
                 .previous = nullptr,
                 .digests = {}};
  for (auto [path, digest] : {std::pair{&files.meter, &in.digests.meter_sha256},
                              std::pair{&files.providers, &in.digests.providers_sha256},
                              std::pair{&files.policy, &in.digests.policy_sha256}}) {
    Result<std::string> d = file_sha256(*path);
    if (!d) return d.status();
    *digest = *d;
  }
  if (files.carry_from) {
    Result<Statement> prev = read_statement(*files.carry_from);
    if (!prev) return prev.status();
    previous = std::move(prev).value();
    in.previous = &*previous;
    Result<std::string> d = file_sha256(*files.carry_from);
    if (!d) return d.status();
    in.digests.carry_from_sha256 = *d;
  }
  return compute_statement(in);
}

std::uint64_t gpu_seconds_within(const MeterRecord& r, std::int64_t lo, std::int64_t hi) {
  if (r.end == r.start) return r.start >= lo && r.start < hi ? r.gpu_seconds : 0;
  if (r.start >= lo && r.end <= hi) return r.gpu_seconds;  // the usual case: no division
  const std::int64_t a = std::clamp(lo, r.start, r.end);
  const std::int64_t b = std::clamp(hi, r.start, r.end);
  if (b <= a) return 0;
  const auto duration = static_cast<Uint128>(r.end - r.start);
  // The share of gpu_seconds run by time t, rounded down; the difference of two
  // such marks telescopes, so the parts over all epochs add up exactly.
  auto done_by = [&](std::int64_t t) {
    return Uint128{r.gpu_seconds} * static_cast<Uint128>(t - r.start) / duration;
  };
  return static_cast<std::uint64_t>(done_by(b) - done_by(a));
}

std::vector<std::uint64_t> apportion(std::uint64_t pool, const std::vector<std::uint64_t>& scores,
                                     const std::function<Digest(std::size_t)>& tie_key) {
  std::vector<std::uint64_t> shares(scores.size(), 0);
  const Uint128 total = std::accumulate(scores.begin(), scores.end(), Uint128{0});
  if (total == 0) return shares;
  std::vector<Uint128> remainder(scores.size());
  Uint128 given = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const Uint128 exact = Uint128{pool} * scores[i];  // < 2^128: both factors < 2^64
    shares[i] = static_cast<std::uint64_t>(exact / total);
    remainder[i] = exact % total;
    given += shares[i];
  }
  // Fewer units are left than there are positive remainders (they sum to
  // left x total and each is below total).
  const auto left = static_cast<std::size_t>(Uint128{pool} - given);
  if (left == 0) return shares;
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (remainder[i] > 0) order.push_back(i);
  }
  auto larger = [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(left - 1),
                   order.end(), larger);
  const Uint128 cutoff = remainder[order[left - 1]];
  std::vector<std::pair<Digest, std::size_t>> tied;
  std::size_t winners = 0;
  for (const std::size_t i : order) {
    if (remainder[i] > cutoff) {
      ++shares[i];
      ++winners;
    } else if (remainder[i] == cutoff) {
      tied.emplace_back(tie_key(i), i);
    }
  }
  // Keys are only computed for the remainders equal at the cut, usually a handful.
  std::sort(tied.begin(), tied.end());
  for (std::size_t k = 0; k < left - winners; ++k) ++shares[tied[k].second];
  return shares;
}

Result<Statement> compute_statement(const EpochInputs& in) {
  const MeterLog& meter = *in.meter;
  const Registry& registry = *in.registry;
  const Policy& policy = *in.policy;
  auto window = policy.epoch_window(in.epoch);
  if (!window) return window.status();
  const auto [lo, hi] = *window;
  const auto epoch_s = static_cast<std::uint64_t>(policy.epoch_length_s);
  auto at_registry = [&](const Provider& p, const std::string& what) {
    return Status::at(registry.origin, p.line, what);
  };

  Statement s;
  s.epoch = in.epoch;
  s.epoch_start = lo;
  s.epoch_end = hi;
  s.emission = policy.emission_of(in.epoch);
  s.min_payout = policy.min_payout;
  s.inputs = in.digests;

  // Carry from the previous epoch, by provider.
  std::map<std::string, std::uint64_t> carry_in;
  if (in.previous) {
    if (in.previous->epoch + 1 != in.epoch) {
      return Status::error("the carry-from statement is for epoch " +
                           std::to_string(in.previous->epoch) + ", not epoch " +
                           std::to_string(in.epoch) + " - 1");
    }
    for (const Carry& c : in.previous->carry) carry_in.emplace(c.provider, c.amount);
  }
  // Weights and availability come from the registry and the policy alone.
  const std::size_t n = registry.providers.size();
  std::vector<Tally> tally(n);
  std::vector<std::uint64_t> availability(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Provider& p = registry.providers[i];
    if (policy.weight_by == WeightBy::kGpuType) {
      auto w = policy.gpu_type_weights.find(p.gpu_type);
      if (w == policy.gpu_type_weights.end()) {
        return at_registry(p, "gpu_type '" + p.gpu_type + "' of provider " + p.id +
                                  " has no weight in the policy's [weights.gpu_type]");
      }
      tally[i].weight = w->second;
    } else {
      if (!p.milli_tflops) {
        return at_registry(
            p, "provider " + p.id + " has no tflops, and the policy weighs by verified tflops");
      }
      if (*p.milli_tflops > kMaxWeight) {
        return at_registry(p, "tflops of provider " + p.id + " is implausibly large");
      }
      tally[i].weight = *p.milli_tflops;
    }
    if (p.online_s > epoch_s) {
      return at_registry(p, "online_s " + std::to_string(p.online_s) + " of provider " + p.id +
                                " exceeds the epoch length " + std::to_string(epoch_s));
    }
    const Uint128 a = Uint128{tally[i].weight} * p.gpus * p.online_s;
    if (a > kU64Max) return at_registry(p, "availability of provider " + p.id + " overflows");
    availability[i] = static_cast<std::uint64_t>(a);
  }

  std::size_t last = n;  // the provider of the previous record
  for (std::size_t k = 0; k < meter.records.size(); ++k) {
    const MeterRecord& r = meter.records[k];
    const std::size_t line = meter.lines.empty() ? k + 1 : meter.lines[k];
    auto fail = [&](const std::string& what) { return Status::at(meter.origin, line, what); };
    // Records come grouped by node, so most lookups are the previous provider.
    if (last >= n || registry.providers[last].id != r.provider) {
      auto it = registry.index.find(r.provider);
      if (it == registry.index.end()) {
        return fail("unknown provider '" + r.provider + "' (not in " + registry.origin + ")");
      }
      last = it->second;
    }
    const Provider& p = registry.providers[last];
    if (r.gpu_type != p.gpu_type) {
      return fail("job " + r.job_id + " ran on gpu_type '" + r.gpu_type + "' but provider " + p.id +
                  " is registered with '" + p.gpu_type + "'");
    }
    if (r.gpus > p.gpus) {
      return fail("job " + r.job_id + " used " + std::to_string(r.gpus) + " GPUs but provider " +
                  p.id + " is registered with " + std::to_string(p.gpus));
    }
    const bool inside =
        r.start == r.end ? (r.start >= lo && r.start < hi) : (r.start < hi && r.end > lo);
    if (!inside) {
      return fail("job " + r.job_id + " ran from " + std::to_string(r.start) + " to " +
                  std::to_string(r.end) + ", outside epoch " + std::to_string(in.epoch) + " [" +
                  std::to_string(lo) + ", " + std::to_string(hi) + ")");
    }
    Tally& t = tally[last];
    const std::uint64_t part = gpu_seconds_within(r, lo, hi);
    ++t.records;
    if (r.fault == Fault::kProvider) {
      ++t.fault_records;
      t.fault_gpu_seconds += part;
    } else {
      t.work_gpu_seconds += part;
    }
    if (t.work_gpu_seconds + t.fault_gpu_seconds > Uint128{p.gpus} * epoch_s) {
      return fail("provider " + p.id + "'s records add up to more GPU-seconds than its " +
                  std::to_string(p.gpus) + " GPUs have in the epoch (" +
                  to_decimal(Uint128{p.gpus} * epoch_s) + ")");
    }
  }

  // Scores: weight x GPU-seconds, less the provider-fault penalty, never below 0.
  s.accounts.reserve(n);
  std::vector<std::uint64_t> work(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Provider& p = registry.providers[i];
    const Tally& t = tally[i];
    Account& a = s.accounts.emplace_back();
    a.provider = p.id;
    a.wallet = p.wallet;
    a.gpu_type = p.gpu_type;
    a.weight = t.weight;
    a.records = t.records;
    a.fault_records = t.fault_records;
    // Both fit: the GPU-seconds check above bounds them by gpus x epoch length.
    a.work_gpu_seconds = static_cast<std::uint64_t>(t.work_gpu_seconds);
    a.fault_gpu_seconds = static_cast<std::uint64_t>(t.fault_gpu_seconds);
    const Uint128 points = t.work_gpu_seconds * t.weight;
    const Uint128 penalty =
        t.fault_gpu_seconds * t.weight * policy.provider_fault_bps / kBasisPoints;
    const Uint128 score = points > penalty ? points - penalty : 0;
    if (points > kU64Max || penalty > kU64Max) {
      return at_registry(
          p, "work score of provider " + p.id + " overflows 64 bits (" + to_decimal(points) + ")");
    }
    a.penalty = static_cast<std::uint64_t>(points > penalty ? penalty : points);
    a.work_score = work[i] = static_cast<std::uint64_t>(score);
    a.online_gpu_seconds = static_cast<std::uint64_t>(Uint128{p.gpus} * p.online_s);
    a.availability_score = availability[i];
  }

  // The two pools; a pool nobody can earn (no work at all, or nobody online)
  // goes to the other, and only if both are empty is the emission unallocated.
  const bool any_work = std::any_of(work.begin(), work.end(), [](auto v) { return v > 0; });
  const bool any_online =
      std::any_of(availability.begin(), availability.end(), [](auto v) { return v > 0; });
  std::uint64_t work_pool =
      static_cast<std::uint64_t>(Uint128{s.emission} * policy.work_bps / kBasisPoints);
  std::uint64_t online_pool = s.emission - work_pool;
  if (!any_work) {
    online_pool += work_pool;
    work_pool = 0;
  }
  if (!any_online) {
    work_pool += online_pool;
    online_pool = 0;
  }
  if (!any_work && !any_online) s.unallocated = s.emission;

  auto key = [&](std::size_t i) { return tie_key(in.epoch, registry.providers[i].id); };
  const std::vector<std::uint64_t> work_shares = apportion(work_pool, work, key);
  const std::vector<std::uint64_t> online_shares = apportion(online_pool, availability, key);
  const std::uint64_t cap =
      policy.cap_bps
          ? static_cast<std::uint64_t>(Uint128{s.emission} * *policy.cap_bps / kBasisPoints)
          : kU64Max;

  for (const auto& [provider, amount] : carry_in) {
    if (__builtin_add_overflow(s.carry_in, amount, &s.carry_in)) {
      return Status::error("carry coming in overflows 64 bits");
    }
  }

  s.payouts.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Account& a = s.accounts[i];
    a.work_amount = work_shares[i];
    a.availability_amount = online_shares[i];
    const std::uint64_t earned = a.work_amount + a.availability_amount;  // <= emission
    a.capped = earned > cap ? earned - cap : 0;
    a.earned = earned - a.capped;
    s.unallocated += a.capped;
    if (auto c = carry_in.find(a.provider); c != carry_in.end()) {
      a.carry_in = c->second;
      carry_in.erase(c);
    }
    std::uint64_t due = 0;
    if (__builtin_add_overflow(a.earned, a.carry_in, &due)) {
      return Status::error("amount due to " + a.provider + " overflows 64 bits");
    }
    (due >= policy.min_payout ? a.paid : a.carry_out) = due;
    if (a.paid > 0) s.payouts.push_back(Payout{a.provider, a.wallet, a.paid});
  }
  // Carry of providers registered no longer stays held for them, untouched.
  std::map<std::string, std::uint64_t> carry_out;
  for (const Account& a : s.accounts) {
    if (a.carry_out > 0) carry_out.emplace(a.provider, a.carry_out);
  }
  for (const auto& [provider, amount] : carry_in) {
    if (amount > 0) carry_out.emplace(provider, amount);
  }
  for (const auto& [provider, amount] : carry_out) s.carry.push_back(Carry{provider, amount});

  Result<std::vector<Digest>> leaves = payout_leaves(s);
  if (!leaves) return leaves.status();
  s.merkle_root = to_hex(merkle_root(*leaves));
  return s;
}

}  // namespace flotilla::rewards
