// The reward computation: the example epoch checked by hand, small golden
// apportionments, properties over randomized epochs (conservation,
// monotonicity in verified work, minimum payout and carry, determinism), exact
// clipping of jobs that straddle epochs, and bad input refused with its line.
#include "reward_model/rewards.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

namespace flotilla::rewards {
namespace {

const std::string kExamples = FLOTILLA_SOURCE_DIR "/examples/rewards/";

EpochFiles example(std::uint64_t epoch) {
  const std::string e = std::to_string(epoch);
  return EpochFiles{.epoch = epoch,
                    .meter = kExamples + "meter-" + e + ".jsonl",
                    .providers = kExamples + "providers-" + e + ".csv",
                    .policy = kExamples + "policy.toml",
                    .carry_from = std::nullopt};
}

std::uint64_t sum_paid(const Statement& s) {
  std::uint64_t t = 0;
  for (const Payout& p : s.payouts) t += p.amount;
  return t;
}
std::uint64_t sum_carry(const Statement& s) {
  std::uint64_t t = 0;
  for (const Carry& c : s.carry) t += c.amount;
  return t;
}

const Account& account(const Statement& s, const std::string& provider) {
  for (const Account& a : s.accounts) {
    if (a.provider == provider) return a;
  }
  ADD_FAILURE() << "no account " << provider;
  return s.accounts.front();
}

// Amounts worked out independently (integer arithmetic in a Python session,
// from the formulas in reward_model/README.md) for examples/rewards epoch 0:
// work scores 28,483,200 / 594,000 / 82,500 / 21,300; availability scores
// 28,483,200 / 594,000 / 297,000 / 42,600; pools 319,634,700,000 and
// 136,986,300,000; cap 410,958,900,000.
TEST(Rewards, ExampleEpochZeroByHand) {
  Result<Statement> s = statement_from_files(example(0));
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(s->emission, 456621000000u);
  const Account& dc = account(*s, "dc-h100");
  EXPECT_EQ(dc.work_amount, 311991332958u);
  EXPECT_EQ(dc.availability_amount, 132638770368u);
  EXPECT_EQ(dc.capped, 33671203326u);
  EXPECT_EQ(dc.paid, 410958900000u);
  const Account& b = account(*s, "home-4090-b");
  EXPECT_EQ(b.penalty, 82500u);  // half of the 1,000 GPU-s lost to its node x 165
  EXPECT_EQ(b.work_score, 82500u);
  EXPECT_EQ(b.paid, 2286716372u);
  // The straddling job 1003 is paid for its first half only.
  EXPECT_EQ(account(*s, "home-4090-a").work_gpu_seconds, 3600u);
  EXPECT_EQ(account(*s, "home-4090-a").paid, 9272493307u);
  EXPECT_EQ(account(*s, "home-3090").carry_out, 431686995u);  // below 10 IO
  EXPECT_EQ(s->unallocated, 33671203326u);
  ASSERT_EQ(s->payouts.size(), 3u);
  ASSERT_EQ(s->carry.size(), 1u);
  EXPECT_EQ(sum_paid(*s) + sum_carry(*s) + s->unallocated, s->emission);
  EXPECT_TRUE(check_statement(*s, "x"));
  // Recomputed from the payouts by a separate Python script that follows only
  // the encoding in reward_model/README.md.
  EXPECT_EQ(s->merkle_root, "fed7006917ae33589a8f2ae64f34cf9a070cdfee158c2cb64bb6e101749d9755");
}

TEST(Rewards, CarryReachesTheProviderTheNextEpoch) {
  Result<Statement> s0 = statement_from_files(example(0));
  ASSERT_TRUE(s0);
  EpochInputs in;
  Result<Policy> policy = read_policy(kExamples + "policy.toml");
  Result<Registry> reg = read_registry(kExamples + "providers-1.csv");
  Result<MeterLog> meter = read_meter_log(kExamples + "meter-1.jsonl");
  ASSERT_TRUE(policy && reg && meter) << meter.message();
  in = EpochInputs{.epoch = 1,
                   .meter = &*meter,
                   .registry = &*reg,
                   .policy = &*policy,
                   .previous = &*s0,
                   .digests = {}};
  Result<Statement> s1 = compute_statement(in);
  ASSERT_TRUE(s1) << s1.message();
  EXPECT_EQ(s1->carry_in, 431686995u);
  const Account& a = account(*s1, "home-3090");
  EXPECT_EQ(a.carry_in, 431686995u);
  EXPECT_EQ(a.paid, a.earned + a.carry_in);
  EXPECT_EQ(a.carry_out, 0u);
  // Job 1003's second half lands here: 1,800 of its 3,600 GPU-seconds.
  EXPECT_EQ(account(*s1, "home-4090-a").work_gpu_seconds, 1800u);
  EXPECT_EQ(sum_paid(*s1) + sum_carry(*s1) + s1->unallocated, s1->emission + s1->carry_in);
  // A statement of another epoch is no carry source.
  in.epoch = 2;
  Result<Statement> wrong = compute_statement(in);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.message().find("carry-from statement is for epoch 0"), std::string::npos);
}

// Metering records that carry energy_j (the live controller writes it where
// NVML measured it) are read as before: energy earns nothing by itself.
TEST(Rewards, EnergyInTheMeterRecordsChangesNoAmount) {
  const EpochFiles plain = example(0);
  EpochFiles with_energy = plain;
  with_energy.meter = (std::filesystem::temp_directory_path() /
                       ("rewards_energy_" + std::to_string(::getpid()) + ".jsonl"))
                          .string();
  {
    std::ifstream in(plain.meter);
    std::ofstream out(with_energy.meter);
    std::uint64_t joules = 1000;
    for (std::string line; std::getline(in, line);) {
      if (line.find('{') != std::string::npos) {
        line.insert(line.rfind('}'), ",\"energy_j\":" + std::to_string(joules++));
      }
      out << line << '\n';
    }
  }
  Result<Statement> a = statement_from_files(plain);
  Result<Statement> b = statement_from_files(with_energy);
  std::filesystem::remove(with_energy.meter);
  ASSERT_TRUE(a) << a.message();
  ASSERT_TRUE(b) << b.message();
  EXPECT_EQ(b->merkle_root, a->merkle_root);
  EXPECT_EQ(sum_paid(*b), sum_paid(*a));
  EXPECT_EQ(sum_carry(*b), sum_carry(*a));
}

Digest by_index(std::size_t i) {
  Digest d{};
  d[0] = static_cast<std::uint8_t>(i);
  return d;
}

TEST(RewardApportion, SmallCasesByHand) {
  // 10 x 1/3 = 3.33, 10 x 2/3 = 6.67: floors 3 + 6, the unit left goes to 2/3.
  EXPECT_EQ(apportion(10, {1, 2}, by_index), (std::vector<std::uint64_t>{3, 7}));
  // 3 over two equal scores: 1 each, the last unit to the smaller tie key.
  EXPECT_EQ(apportion(3, {5, 5}, by_index), (std::vector<std::uint64_t>{2, 1}));
  EXPECT_EQ(apportion(3, {5, 5}, [](std::size_t i) { return by_index(9 - i); }),
            (std::vector<std::uint64_t>{1, 2}));
  // 7 over 1:1:1:1 -> 1.75 each: the three smallest keys get 2.
  EXPECT_EQ(apportion(7, {1, 1, 1, 1}, by_index), (std::vector<std::uint64_t>{2, 2, 2, 1}));
  // Nobody scored: nobody gets anything, no division by zero.
  EXPECT_EQ(apportion(5, {0, 0}, by_index), (std::vector<std::uint64_t>{0, 0}));
  // Extremes: the whole 64-bit range, exactly.
  const std::uint64_t max = ~std::uint64_t{0};
  const std::vector<std::uint64_t> big = apportion(max, {max, max, 1}, by_index);
  // Exact shares (2^63 - 1) + 1/2 twice and 1/2 - 1/(2 max + 1): the one unit
  // left goes to the largest remainder, the third.
  EXPECT_EQ(big, (std::vector<std::uint64_t>{max / 2, max / 2, 1}));
}

TEST(Rewards, StraddlingJobIsSplitExactlyAcrossEpochs) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    MeterRecord r;
    r.gpus = 1 + static_cast<std::uint32_t>(rng() % 8);
    r.start = static_cast<std::int64_t>(rng() % 100000);
    r.end = r.start + static_cast<std::int64_t>(rng() % 20000);
    r.gpu_seconds =
        r.end == r.start ? 0 : rng() % (r.gpus * static_cast<std::uint64_t>(r.end - r.start) + 1);
    const std::int64_t length = 1 + static_cast<std::int64_t>(rng() % 5000);
    std::uint64_t total = 0;
    for (std::int64_t lo = 0; lo < 130000; lo += length)
      total += gpu_seconds_within(r, lo, lo + length);
    ASSERT_EQ(total, r.gpu_seconds) << r.start << " " << r.end << " " << length;
  }
}

// A random epoch that satisfies every check, built in memory.
struct World {
  Policy policy;
  Registry registry;
  MeterLog meter;
};

World random_world(std::mt19937_64& rng) {
  World w;
  w.policy.genesis = 1'000'000;
  w.policy.epoch_length_s = 3600;
  w.policy.emission.first = rng() % 2 == 0 ? rng() % 1000 : rng() % 1'000'000'000'000;
  w.policy.gpu_type_weights = {{"A", 1 + rng() % 1000}, {"B", 1 + rng() % 1000}};
  w.policy.work_bps = rng() % (kBasisPoints + 1);
  w.policy.provider_fault_bps = rng() % (2 * kBasisPoints);
  w.policy.min_payout = 1 + rng() % (w.policy.emission.first / 8 + 1);
  if (rng() % 3 == 0) w.policy.cap_bps = 1 + rng() % kBasisPoints;
  w.registry.origin = "r.csv";
  w.meter.origin = "m.jsonl";
  const std::size_t n = 1 + rng() % 25;
  const std::int64_t lo = 1'000'000 + 3600 * 5;  // epoch 5
  for (std::size_t i = 0; i < n; ++i) {
    Provider p;
    p.id = "p" + std::to_string(i);
    p.wallet = "11111111111111111111111111111111";
    p.gpu_type = rng() % 2 ? "A" : "B";
    p.gpus = 1 + static_cast<std::uint32_t>(rng() % 8);
    p.online_s = rng() % 4 == 0 ? 0 : rng() % 3601;
    p.line = i + 2;
    // At most one record per GPU, one GPU each, so no provider claims more
    // GPU-seconds than it has.
    const std::uint32_t jobs = static_cast<std::uint32_t>(rng() % (p.gpus + 1));
    for (std::uint32_t j = 0; j < jobs; ++j) {
      MeterRecord r;
      r.job_id = std::to_string(i) + "_" + std::to_string(j);
      r.provider = p.id;
      r.node = p.id;
      r.gpu_type = p.gpu_type;
      r.gpus = 1;
      r.start = lo - 1800 + static_cast<std::int64_t>(rng() % 5000);
      r.end = r.start + 1 + static_cast<std::int64_t>(rng() % 3000);
      if (r.end <= lo) r.end = lo + 1;
      r.gpu_seconds = rng() % static_cast<std::uint64_t>(r.end - r.start + 1);
      const int f = static_cast<int>(rng() % 4);
      r.outcome = f == 0 ? JobEndState::kNodeFail : JobEndState::kCompleted;
      r.fault = f == 0 ? Fault::kProvider : Fault::kNone;
      w.meter.records.push_back(r);
    }
    w.registry.providers.push_back(p);
  }
  std::sort(w.registry.providers.begin(), w.registry.providers.end(),
            [](const Provider& a, const Provider& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < n; ++i) w.registry.index.emplace(w.registry.providers[i].id, i);
  return w;
}

Result<Statement> run(const World& w, std::uint64_t epoch = 5,
                      const Statement* previous = nullptr) {
  return compute_statement(EpochInputs{.epoch = epoch,
                                       .meter = &w.meter,
                                       .registry = &w.registry,
                                       .policy = &w.policy,
                                       .previous = previous,
                                       .digests = {}});
}

TEST(RewardsProperty, ConservationMinimumAndDeterminism) {
  std::mt19937_64 rng(2026);
  for (int trial = 0; trial < 300; ++trial) {
    World w = random_world(rng);
    Result<Statement> s = run(w);
    ASSERT_TRUE(s) << s.message();
    ASSERT_TRUE(check_statement(*s, "s")) << check_statement(*s, "s").message();
    EXPECT_EQ(sum_paid(*s) + sum_carry(*s) + s->unallocated, s->emission + s->carry_in);
    for (const Payout& p : s->payouts) EXPECT_GE(p.amount, w.policy.min_payout);
    for (const Account& a : s->accounts) {
      // No work earns nothing from the work pool, only what availability earns.
      EXPECT_TRUE(a.work_score > 0 || a.work_amount == 0) << a.provider;
      EXPECT_TRUE(a.availability_score > 0 || a.availability_amount == 0) << a.provider;
    }
    // Same inputs, records in another order: the same bytes.
    std::shuffle(w.meter.records.begin(), w.meter.records.end(), rng);
    Result<Statement> again = run(w);
    ASSERT_TRUE(again);
    EXPECT_EQ(statement_json(*again), statement_json(*s));
  }
}

TEST(RewardsProperty, MoreVerifiedWorkNeverEarnsLess) {
  std::mt19937_64 rng(99);
  int raised = 0;
  for (int trial = 0; trial < 400; ++trial) {
    World w = random_world(rng);
    std::vector<std::size_t> credited;
    for (std::size_t k = 0; k < w.meter.records.size(); ++k) {
      if (w.meter.records[k].fault == Fault::kNone) credited.push_back(k);
    }
    if (credited.empty()) continue;
    Result<Statement> before = run(w);
    ASSERT_TRUE(before);
    MeterRecord& r = w.meter.records[credited[rng() % credited.size()]];
    const auto room = static_cast<std::uint64_t>(r.end - r.start) - r.gpu_seconds;
    if (room == 0) continue;
    r.gpu_seconds += 1 + rng() % room;
    Result<Statement> after = run(w);
    ASSERT_TRUE(after);
    const Account& a = account(*before, r.provider);
    const Account& b = account(*after, r.provider);
    EXPECT_GE(b.earned, a.earned) << "trial " << trial;
    EXPECT_GE(b.work_score, a.work_score);
    ++raised;
  }
  EXPECT_GT(raised, 100);
}

TEST(RewardsProperty, CarryAccumulatesUntilPaidInFull) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    World w = random_world(rng);
    w.policy.min_payout = 1 + w.policy.emission.first / 3;
    w.policy.cap_bps.reset();
    std::map<std::string, std::uint64_t> earned, paid;
    std::optional<Statement> previous;
    for (std::uint64_t epoch = 5; epoch < 5 + 12; ++epoch) {
      for (MeterRecord& r : w.meter.records) {
        r.start += 3600;
        r.end += 3600;
      }
      Result<Statement> s = run(w, epoch + 1, previous ? &*previous : nullptr);
      ASSERT_TRUE(s) << s.message();
      for (const Account& a : s->accounts) earned[a.provider] += a.earned;
      for (const Payout& p : s->payouts) {
        EXPECT_GE(p.amount, w.policy.min_payout);
        paid[p.provider] += p.amount;
      }
      EXPECT_EQ(sum_paid(*s) + sum_carry(*s) + s->unallocated, s->emission + s->carry_in);
      previous = std::move(s).value();
    }
    // What every provider earned is either paid or still held for it: nothing lost.
    for (const auto& [provider, e] : earned) {
      std::uint64_t held = 0;
      for (const Carry& c : previous->carry) {
        if (c.provider == provider) held = c.amount;
      }
      EXPECT_EQ(paid[provider] + held, e) << provider;
      EXPECT_LT(held, w.policy.min_payout);
    }
  }
}

// Bad input: each refused with the file and line of the record or row.
TEST(Rewards, RefusesRecordsThatDoNotBelong) {
  std::mt19937_64 rng(1);
  World w = random_world(rng);
  while (w.meter.records.empty()) w = random_world(rng);
  const MeterRecord good = w.meter.records.front();
  w.meter.lines.assign(w.meter.records.size(), 0);
  std::iota(w.meter.lines.begin(), w.meter.lines.end(), std::size_t{10});
  const Provider& p = *w.registry.find(good.provider);
  struct Case {
    std::function<void(MeterRecord&, MeterLog&)> change;
    std::string message;
  };
  const std::int64_t lo = 1'000'000 + 5 * 3600;
  const Case cases[] = {
      {[&](MeterRecord& r, MeterLog&) { r.start = lo - 100, r.end = lo, r.gpu_seconds = 0; },
       "m.jsonl:10: job " + good.job_id + " ran from"},
      {[&](MeterRecord& r, MeterLog&) {
         r.start = lo + 3600, r.end = lo + 3700, r.gpu_seconds = 0;
       },
       "outside epoch 5"},
      {[](MeterRecord& r, MeterLog&) { r.provider = "ghost"; },
       "m.jsonl:10: unknown provider 'ghost'"},
      {[](MeterRecord& r, MeterLog&) { r.gpu_type = r.gpu_type == "A" ? "B" : "A"; },
       "m.jsonl:10: job " + good.job_id + " ran on gpu_type"},
      {[&](MeterRecord& r, MeterLog&) { r.gpus = p.gpus + 1; }, "GPUs but provider " + p.id},
      {[&](MeterRecord& r, MeterLog& log) {
         // All its GPUs for the whole epoch, then the same claim again on another node.
         r.gpus = p.gpus;
         r.start = lo, r.end = lo + 3600;
         r.gpu_seconds = std::uint64_t{p.gpus} * 3600;
         MeterRecord twin = r;
         twin.node = "twin";
         log.records = {r, twin};
         log.lines = {10, 99};
       },
       "m.jsonl:99: provider " + p.id + "'s records add up to more GPU-seconds than its"},
  };
  for (const Case& c : cases) {
    World copy = w;
    c.change(copy.meter.records.front(), copy.meter);
    Result<Statement> s = run(copy);
    ASSERT_FALSE(s) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind("m.jsonl:", 0), 0u) << s.message();
  }
}

TEST(Rewards, RefusesRegistryRowsThePolicyCannotWeigh) {
  std::mt19937_64 rng(3);
  World w = random_world(rng);
  w.registry.providers.front().gpu_type = "C";
  w.meter.records.clear();
  Result<Statement> s = run(w);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "r.csv:" + std::to_string(w.registry.providers.front().line) +
                             ": gpu_type 'C' of provider " + w.registry.providers.front().id +
                             " has no weight in the policy's [weights.gpu_type]");
  w = random_world(rng);
  w.registry.providers.back().online_s = 3601;
  s = run(w);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("exceeds the epoch length 3600"), std::string::npos);
  w = random_world(rng);
  w.policy.weight_by = WeightBy::kTflops;
  s = run(w);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("has no tflops"), std::string::npos);
}

TEST(Rewards, NobodyThereLeavesTheEmissionUnallocated) {
  std::mt19937_64 rng(11);
  World w = random_world(rng);
  w.meter.records.clear();
  for (Provider& p : w.registry.providers) p.online_s = 0;
  Result<Statement> s = run(w);
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(s->payouts.empty());
  EXPECT_EQ(s->unallocated, s->emission);
  EXPECT_EQ(s->merkle_root, std::string(64, '0'));
}

}  // namespace
}  // namespace flotilla::rewards
