#include "slurm/sbatch_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace flotilla::slurm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<SbatchArgument> argv(const std::vector<std::string>& words) {
  std::vector<SbatchArgument> out;
  for (const std::string& w : words) out.push_back({w, 0});
  return out;
}

// Applies `words` as a command line and finishes; every word must be used.
SbatchJob job(const std::vector<std::string>& words) {
  SbatchOptions o;
  const std::vector<SbatchArgument> args = argv(words);
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli");
  EXPECT_TRUE(c.is_ok()) << c.message();
  if (!c) return {};
  EXPECT_EQ(c->next, args.size()) << "stopped at a non-option";
  Result<SbatchJob> j = o.finish();
  EXPECT_TRUE(j.is_ok()) << j.message();
  return j.is_ok() ? *j : SbatchJob{};
}

std::string error(const std::vector<std::string>& words) {
  SbatchOptions o;
  const std::vector<SbatchArgument> args = argv(words);
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli");
  if (!c) return c.message();
  Result<SbatchJob> j = o.finish();
  EXPECT_FALSE(j.is_ok()) << "no error for " << testing::PrintToString(words);
  return j.message();
}

// --- --time ---

struct TimeCase {
  const char* text;
  std::int64_t seconds;  // -1: unlimited
};

TEST(TimeLimit, EveryFormatGivesSlurmsValue) {
  const TimeCase cases[] = {
      {"45", 45 * 60},                                 // M
      {"1:30", 2 * 60},                                // M:S, 90 s rounds up to 2 min
      {"2:00", 2 * 60},                                // M:S exact
      {"0:30", 60},                                    // 30 s is one minute
      {"1:00:00", 3600},                               // H:M:S
      {"1:00:01", 3660},                               // a second over rounds up
      {"36:00:00", 36 * 3600},                         // hours above 24
      {"2-12", 2 * 86400 + 12 * 3600},                 // D-H
      {"1-", 86400},                                   // D- (hours omitted)
      {"1-2:30", 86400 + 2 * 3600 + 30 * 60},          // D-H:M
      {"1-2:30:15", 86400 + 2 * 3600 + 30 * 60 + 60},  // D-H:M:S, 15 s rounds up
      {"0-0:0:59", 60},
      {"UNLIMITED", -1},
      {"unlimited", -1},
      {"INFINITE", -1},
      {"-1", -1},
      {"0", -1},  // zero minutes means no limit in sbatch
      {"0:0:0", -1},
      {"0-0", -1},
  };
  for (const TimeCase& c : cases) {
    std::optional<SlurmDuration> d = parse_time_limit(c.text);
    ASSERT_TRUE(d) << c.text;
    if (c.seconds < 0) {
      EXPECT_TRUE(d->unlimited) << c.text;
    } else {
      EXPECT_FALSE(d->unlimited) << c.text;
      EXPECT_EQ(d->value.count(), c.seconds) << c.text;
    }
  }
}

TEST(TimeLimit, DurationsKeepExactSeconds) {
  EXPECT_EQ(parse_slurm_duration("1:30")->value.count(), 90);
  EXPECT_EQ(parse_slurm_duration("1-2:30:15")->value.count(), 95415);
  EXPECT_EQ(parse_slurm_duration("0")->value.count(), 0);
  EXPECT_FALSE(parse_slurm_duration("0")->unlimited);
}

TEST(TimeLimit, MalformedTimesAreRejected) {
  for (const char* bad : {"1:2:3:4", "abc", "1:", ":5", "1-2-3", "1:-2", "", "5m", "1.5", " 5",
                          "1-2:", "1-:5", "-5", "99999999999", "1-2:3:4:5"}) {
    EXPECT_FALSE(parse_time_limit(bad)) << bad;
  }
}

TEST(TimeLimit, OptionSetsLimitOrUnlimited) {
  SbatchJob j = job({"--time=1:00:00"});
  EXPECT_EQ(j.request.time_limit, Seconds{3600});
  EXPECT_FALSE(j.request.time_unlimited);
  j = job({"-t", "10", "--time=UNLIMITED"});
  EXPECT_FALSE(j.request.time_limit);
  EXPECT_TRUE(j.request.time_unlimited);
  j = job({"--time=UNLIMITED", "-t5"});
  EXPECT_EQ(j.request.time_limit, Seconds{300});
  EXPECT_FALSE(j.request.time_unlimited);
  EXPECT_FALSE(job({}).request.time_limit);
  EXPECT_EQ(error({"--time=1:2:3:4"}),
            "cli: invalid value '1:2:3:4' for --time: not a time (M, M:S, H:M:S, D-H, D-H:M, "
            "D-H:M:S or UNLIMITED)");
}

// --- getopt_long behaviour ---

TEST(Getopt, LongFormWithEqualsOrSeparateValue) {
  EXPECT_EQ(job({"--nodes=3"}).request.nodes_min, 3u);
  EXPECT_EQ(job({"--nodes", "3"}).request.nodes_min, 3u);
  EXPECT_EQ(job({"--partition", "-weird"}).request.partition, "-weird");
}

TEST(Getopt, ShortFormsAttachedAndDetached) {
  EXPECT_EQ(job({"-N2"}).request.nodes_min, 2u);
  EXPECT_EQ(job({"-N", "2"}).request.nodes_min, 2u);
  EXPECT_EQ(job({"-Jtrain"}).request.job_name, "train");
  EXPECT_EQ(job({"-c", "8"}).request.cpus_per_task, 8u);
  // "-N=2" hands "=2" to --nodes, as getopt does.
  EXPECT_THAT(error({"-N=2"}), HasSubstr("invalid value '=2' for --nodes"));
}

TEST(Getopt, ShortOptionsCluster) {
  const SbatchJob j = job({"-ON4", "-vJ", "x"});
  EXPECT_TRUE(j.request.overcommit);
  EXPECT_EQ(j.request.nodes_min, 4u);
  EXPECT_EQ(j.request.job_name, "x");
  ASSERT_EQ(j.ignored_options.size(), 1u);
  EXPECT_EQ(j.ignored_options[0].option, "--verbose");
}

TEST(Getopt, SingleDashLongNameIsAShortCluster) {
  // getopt_long (not _only): -partition=gpu is -p with "artition=gpu".
  EXPECT_EQ(job({"-partition=gpu"}).request.partition, "artition=gpu");
}

TEST(Getopt, UnambiguousPrefixesAreAccepted) {
  EXPECT_EQ(job({"--part=gpu"}).request.partition, "gpu");
  EXPECT_EQ(job({"--ntasks-per-n", "4"}).request.ntasks_per_node, 4u);
  EXPECT_EQ(job({"--gpus-per-n=2"}).request.gpus_per_node, 2u);
  EXPECT_EQ(job({"--mem-per-g=1G"}).request.mem_per_gpu_mb, 1024u);
  EXPECT_TRUE(job({"--exclusiv"}).request.exclusive);
  // An exact name wins over longer names it prefixes.
  EXPECT_EQ(job({"--time=5"}).request.time_limit, Seconds{300});
  EXPECT_EQ(job({"--gpus=2"}).request.gpus, 2u);
}

TEST(Getopt, PrefixesOfOneOptionAreNotAmbiguous) {
  // --tasks-per-node is another name of --ntasks-per-node.
  EXPECT_EQ(job({"--tasks=4"}).request.ntasks_per_node, 4u);
  EXPECT_EQ(job({"--tasks-per-node=6"}).request.ntasks_per_node, 6u);
}

TEST(Getopt, AmbiguousPrefixIsAnError) {
  EXPECT_EQ(error({"--cpu=2"}),
            "cli: ambiguous option --cpu (could be --cpu-freq, --cpus-per-gpu, --cpus-per-task)");
  EXPECT_THAT(error({"--nod", "3"}), HasSubstr("ambiguous option --nod (could be --nodefile, "
                                               "--nodelist, --nodes)"));
  EXPECT_THAT(error({"--ti=5"}), HasSubstr("ambiguous option --ti"));
}

TEST(Getopt, LaterOccurrencesOverride) {
  SbatchJob j = job({"-N", "2", "--nodes=3", "-p", "a", "--partition=b", "-J", "x", "-Jy"});
  EXPECT_EQ(j.request.nodes_min, 3u);
  EXPECT_EQ(j.request.partition, "b");
  EXPECT_EQ(j.request.job_name, "y");
  j = job({"--requeue", "--no-requeue"});
  EXPECT_EQ(j.requeue, false);
  j = job({"--no-requeue", "--requeue"});
  EXPECT_EQ(j.requeue, true);
  EXPECT_TRUE(j.request.requeue);
}

TEST(Getopt, ValueRules) {
  EXPECT_EQ(error({"--overcommit=yes"}), "cli: option --overcommit takes no value (got 'yes')");
  EXPECT_EQ(error({"--nodes"}), "cli: option --nodes needs a value");
  EXPECT_EQ(error({"-N"}), "cli: option -N (--nodes) needs a value");
  EXPECT_EQ(error({"--bogus"}), "cli: invalid option --bogus (not an sbatch option)");
  EXPECT_EQ(error({"-y"}), "cli: invalid option -y (not an sbatch option)");
}

TEST(Getopt, OptionalValuesMustBeAttached) {
  // "--exclusive user": the optional value is not taken; "user" is the first
  // non-option (in a script, an invalid directive).
  SbatchOptions o;
  const std::vector<SbatchArgument> args = argv({"--exclusive", "user"});
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->next, 1u);
  EXPECT_EQ(o.finish()->share_mode, "exclusive");
}

TEST(Getopt, StopsAtFirstNonOptionAndConsumesDoubleDash) {
  SbatchOptions o;
  std::vector<SbatchArgument> args = argv({"-N", "2", "job.sh", "-N", "9"});
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->next, 2u);
  EXPECT_EQ(o.finish()->request.nodes_min, 2u);

  SbatchOptions o2;
  args = argv({"-N", "2", "--", "-x"});
  c = o2.apply(args, "cli");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->next, 3u);
  // A lone "-" is a non-option too.
  args = argv({"-"});
  EXPECT_EQ(SbatchOptions().apply(args, "cli")->next, 0u);
}

TEST(Getopt, HostFlagsAreReportedNotApplied) {
  SbatchOptions o;
  const std::vector<SbatchArgument> args =
      argv({"--json", "-N", "2", "--parse-only", "-J", "--json", "job.sh"});
  static constexpr std::string_view kHost[] = {"json", "parse-only"};
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli", kHost);
  ASSERT_TRUE(c.is_ok()) << c.message();
  EXPECT_EQ(c->next, 6u);
  EXPECT_THAT(c->host_flags, ElementsAre("--json", "--parse-only"));
  // The value of -J is a value, not a host flag.
  EXPECT_EQ(o.finish()->request.job_name, "--json");
  // Host flags match exactly; a prefix of one is read as an sbatch option.
  SbatchOptions o2;
  const std::vector<SbatchArgument> prefix = argv({"--pars"});
  Result<SbatchOptions::Consumed> c2 = o2.apply(prefix, "cli", kHost);
  ASSERT_TRUE(c2.is_ok()) << c2.message();
  EXPECT_TRUE(c2->host_flags.empty());
  EXPECT_EQ(o2.finish()->ignored_options.at(0).option, "--parsable");
}

// --- nodes, tasks, cpus ---

TEST(Nodes, Forms) {
  SbatchJob j = job({"-N", "2"});
  EXPECT_EQ(j.request.nodes_min, 2u);
  EXPECT_EQ(j.request.nodes_max, 2u);
  j = job({"--nodes=2-4"});
  EXPECT_EQ(j.request.nodes_min, 2u);
  EXPECT_EQ(j.request.nodes_max, 4u);
  j = job({"--nodes=-4"});  // Slurm reads a missing minimum as 1
  EXPECT_EQ(j.request.nodes_min, 1u);
  EXPECT_EQ(j.request.nodes_max, 4u);
  j = job({"--nodes=1k"});
  EXPECT_EQ(j.request.nodes_min, 1024u);
  j = job({"--nodes=2-0"});  // max 0: no maximum
  EXPECT_EQ(j.request.nodes_min, 2u);
  EXPECT_FALSE(j.request.nodes_max);
  j = job({"--nodes=1,4,8"});  // a set of sizes spans lowest to highest
  EXPECT_EQ(j.request.nodes_min, 1u);
  EXPECT_EQ(j.request.nodes_max, 8u);
  j = job({"--nodes=2-9:3"});  // 2, 5, 8
  EXPECT_EQ(j.request.nodes_min, 2u);
  EXPECT_EQ(j.request.nodes_max, 8u);
  j = job({"--nodes=0"});
  EXPECT_EQ(j.request.nodes_min, 0u);
}

TEST(Nodes, BadCounts) {
  for (const char* bad : {"abc", "2x", "", "2-", "-", "1-a"}) {
    EXPECT_THAT(error({std::string("--nodes=") + bad}),
                HasSubstr("invalid value '" + std::string(bad) + "' for --nodes"))
        << bad;
  }
  EXPECT_EQ(error({"--nodes=4-2"}),
            "cli: invalid value '4-2' for --nodes: maximum node count is less than the minimum");
}

TEST(Tasks, PositiveIntegers) {
  EXPECT_EQ(job({"-n", "16"}).request.ntasks, 16u);
  EXPECT_EQ(job({"--ntasks= 4"}).request.ntasks, 4u);  // strtol skips leading space
  EXPECT_EQ(job({"--ntasks-per-node=8"}).request.ntasks_per_node, 8u);
  EXPECT_EQ(job({"-c8"}).request.cpus_per_task, 8u);
  EXPECT_EQ(error({"-n", "0"}), "cli: invalid value '0' for --ntasks: not a positive integer");
  EXPECT_THAT(error({"-n", "-3"}), HasSubstr("not a positive integer"));
  EXPECT_THAT(error({"-n", "4 "}), HasSubstr("not a positive integer"));
  EXPECT_THAT(error({"-c", "two"}), HasSubstr("invalid value 'two' for --cpus-per-task"));
  EXPECT_THAT(error({"-n", "99999999999"}), HasSubstr("too large"));
}

// --- GPUs ---

TEST(Gres, GpuForms) {
  SbatchJob j = job({"--gres=gpu"});
  EXPECT_EQ(j.request.gpus_per_node, 1u);
  EXPECT_TRUE(j.request.gpu_types.empty());
  j = job({"--gres=gpu:4"});
  EXPECT_EQ(j.request.gpus_per_node, 4u);
  j = job({"--gres=gpu:h100:8"});
  EXPECT_EQ(j.request.gpus_per_node, 8u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("h100"));
  j = job({"--gres=gpu:a100"});  // a type with the implicit count 1
  EXPECT_EQ(j.request.gpus_per_node, 1u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("a100"));
  j = job({"--gres=gpu:a100=2"});
  EXPECT_EQ(j.request.gpus_per_node, 2u);
  j = job({"--gres=gres/gpu:2"});
  EXPECT_EQ(j.request.gpus_per_node, 2u);
  j = job({"--gres=gpu:1k"});  // Slurm's count suffixes
  EXPECT_EQ(j.request.gpus_per_node, 1024u);
}

TEST(Gres, OtherResourcesAreRecordedAsIgnored) {
  const SbatchJob j = job({"--gres=gpu:2,nvme:1,,shard:4"});
  EXPECT_EQ(j.request.gpus_per_node, 2u);
  EXPECT_THAT(j.ignored_gres, ElementsAre("nvme:1", "shard:4"));
}

TEST(Gres, LaterGresReplacesEarlierAndZeroOrNoneClears) {
  SbatchJob j = job({"--gres=gpu:2", "--gres=nvme:1"});
  EXPECT_FALSE(j.request.gpus_per_node);
  EXPECT_THAT(j.ignored_gres, ElementsAre("nvme:1"));
  j = job({"--gres=gpu:2,nvme:1", "--gres=none"});
  EXPECT_FALSE(j.request.gpus_per_node);
  EXPECT_TRUE(j.ignored_gres.empty());
  j = job({"--gres=gpu:h100:0"});
  EXPECT_FALSE(j.request.gpus_per_node);
  EXPECT_TRUE(j.request.gpu_types.empty());
}

TEST(Gres, BadForms) {
  EXPECT_EQ(error({"--gres=gpu:h100:x"}),
            "cli: invalid value 'gpu:h100:x' for --gres: 'x' is not a count");
  EXPECT_EQ(error({"--gres=gpu:"}),
            "cli: invalid value 'gpu:' for --gres: missing count after ':'");
  EXPECT_EQ(error({"--gres=gpu=x"}), "cli: invalid value 'gpu=x' for --gres: 'x' is not a count");
  EXPECT_THAT(error({"--gres=2"}), HasSubstr("a count without a resource name"));
  EXPECT_THAT(error({"--gres=:2"}), HasSubstr("a resource without a name"));
  EXPECT_THAT(error({"--gres=gpu:1,gpu:h100:2"}), HasSubstr("more than one gpu entry"));
}

TEST(Gpus, TypeAndCountForms) {
  SbatchJob j = job({"--gpus=4"});
  EXPECT_EQ(j.request.gpus, 4u);
  EXPECT_TRUE(j.request.gpu_types.empty());
  j = job({"-G", "h100:8"});
  EXPECT_EQ(j.request.gpus, 8u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("h100"));
  j = job({"--gpus=l40s"});  // a type alone is one GPU of it, as in Slurm
  EXPECT_EQ(j.request.gpus, 1u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("l40s"));
  j = job({"--gpus-per-node=a100:4"});
  EXPECT_EQ(j.request.gpus_per_node, 4u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("a100"));
  j = job({"--gpus-per-task=2"});
  EXPECT_EQ(j.request.gpus_per_task, 2u);
  j = job({"--gpus=8", "--gpus=0"});  // zero drops the request
  EXPECT_FALSE(j.request.gpus);
}

TEST(Gpus, BadForms) {
  EXPECT_EQ(error({"--gpus=h100:x"}), "cli: invalid value 'h100:x' for --gpus: 'x' is not a count");
  EXPECT_THAT(error({"--gpus-per-node=h100:"}), HasSubstr("missing count after ':'"));
  EXPECT_THAT(error({"--gpus=h100:2,a100:2"}), HasSubstr("more than one GPU entry"));
}

TEST(Gpus, SameTypeFromSeveralOptionsIsFine) {
  const SbatchJob j = job({"--gpus=h100:32", "--gpus-per-node=8", "--gpus-per-task=h100:1"});
  EXPECT_EQ(j.request.gpus, 32u);
  EXPECT_EQ(j.request.gpus_per_node, 8u);
  EXPECT_EQ(j.request.gpus_per_task, 1u);
  EXPECT_THAT(j.request.gpu_types, ElementsAre("h100"));
}

TEST(Gpus, ConflictsAreErrors) {
  EXPECT_THAT(error({"--gpus=h100:8", "--gpus-per-node=a100:8"}),
              HasSubstr("conflicting GPU types 'h100' and 'a100'"));
  EXPECT_EQ(error({"--gpus-per-node=4", "--gres=gpu:4"}),
            "cli: --gpus-per-node and --gres=gpu are mutually exclusive");
  // Non-GPU gres does not conflict.
  EXPECT_EQ(job({"--gpus-per-node=4", "--gres=nvme:1"}).request.gpus_per_node, 4u);
}

// --- memory ---

TEST(Memory, SizesInMegabytes) {
  EXPECT_EQ(job({"--mem=100"}).request.mem_mb, 100u);
  EXPECT_EQ(job({"--mem=4G"}).request.mem_mb, 4096u);
  EXPECT_EQ(job({"--mem=4gb"}).request.mem_mb, 4096u);
  EXPECT_EQ(job({"--mem=2T"}).request.mem_mb, 2u * 1024 * 1024);
  EXPECT_EQ(job({"--mem=512M"}).request.mem_mb, 512u);
  EXPECT_EQ(job({"--mem=1500K"}).request.mem_mb, 2u);  // KiB round up to MiB
  EXPECT_EQ(job({"--mem=0"}).request.mem_mb, 0u);      // all of each node's memory
  EXPECT_EQ(job({"--mem-per-gpu=80G"}).request.mem_per_gpu_mb, 81920u);
  EXPECT_EQ(job({"--mem-per-cpu=2048"}).request.mem_per_cpu_mb, 2048u);
}

TEST(Memory, BadSizes) {
  for (const char* bad : {"-1", "4X", "4GiB", "G", "", "4 G"}) {
    EXPECT_THAT(error({std::string("--mem=") + bad}),
                HasSubstr("invalid value '" + std::string(bad) + "' for --mem"))
        << bad;
  }
}

TEST(Memory, OptionsAreMutuallyExclusive) {
  EXPECT_EQ(error({"--mem=4G", "--mem-per-cpu=1G"}),
            "cli: --mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive");
}

// --- the rest of the modelled options ---

TEST(Exclusive, Modes) {
  SbatchJob j = job({"--exclusive"});
  EXPECT_TRUE(j.request.exclusive);
  EXPECT_EQ(j.share_mode, "exclusive");
  j = job({"--exclusive=user"});
  EXPECT_FALSE(j.request.exclusive);
  EXPECT_EQ(j.share_mode, "user");
  EXPECT_EQ(job({"--exclusive=MCS"}).share_mode, "mcs");
  EXPECT_EQ(job({"--exclusive=topo"}).share_mode, "topo");
  EXPECT_TRUE(job({"--exclusive=allocation"}).request.exclusive);
  EXPECT_EQ(job({"-s"}).share_mode, "oversubscribe");
  EXPECT_FALSE(job({}).request.exclusive);
  EXPECT_THAT(error({"--exclusive=bogus"}), HasSubstr("invalid value 'bogus' for --exclusive"));
  EXPECT_EQ(error({"--exclusive", "--oversubscribe"}),
            "cli: --exclusive and --oversubscribe are mutually exclusive");
}

TEST(Switches, CountAndWait) {
  SbatchJob j = job({"--switches=1@1:00:00"});
  EXPECT_EQ(j.request.switches, 1u);
  EXPECT_EQ(j.request.switches_wait, Seconds{3600});
  j = job({"--switches=2"});
  EXPECT_EQ(j.request.switches, 2u);
  EXPECT_FALSE(j.request.switches_wait);
  // The wait is a Slurm time: a bare number is minutes, and seconds are kept.
  EXPECT_EQ(job({"--switches=1@30"}).request.switches_wait, Seconds{1800});
  EXPECT_EQ(job({"--switches=1@0:30"}).request.switches_wait, Seconds{30});
  EXPECT_THAT(error({"--switches=0"}), HasSubstr("switch count not a positive integer"));
  EXPECT_THAT(error({"--switches=1@soon"}), HasSubstr("wait after '@' is not a time"));
  EXPECT_THAT(error({"--switches=@1:00"}), HasSubstr("invalid value '@1:00' for --switches"));
}

TEST(Requeue, ValuesAndDefault) {
  EXPECT_FALSE(job({}).requeue);
  EXPECT_EQ(job({"--requeue"}).requeue, true);
  const SbatchJob j = job({"--requeue=expedite"});
  EXPECT_EQ(j.requeue, true);
  ASSERT_EQ(j.warnings.size(), 1u);
  EXPECT_THAT(j.warnings[0], HasSubstr("expedite"));
  EXPECT_THAT(error({"--requeue=always"}), HasSubstr("invalid value 'always' for --requeue"));
}

TEST(Signal, SlurmForms) {
  for (const char* ok : {"USR1", "USR1@120", "B:USR1@300", "SIGTERM", "10", "R:15", "BR:INT@5",
                         "sigusr2", "USR1@" /* strtol of "" is 0 s, accepted by Slurm */}) {
    EXPECT_EQ(job({std::string("--signal=") + ok}).request.signal, ok) << ok;
  }
  for (const char* bad : {"FOO", "USR1@abc", "USR1@70000", "0", "USR1@-1", "X:USR1", "USR1@5s"}) {
    EXPECT_THAT(error({std::string("--signal=") + bad}), HasSubstr("for --signal")) << bad;
  }
}

TEST(MailType, KnownWordsAndSlurmsLeniency) {
  EXPECT_EQ(job({"--mail-type=END,FAIL"}).request.mail_type, "END,FAIL");
  EXPECT_EQ(job({"--mail-type=begin,BOGUS"}).request.mail_type,
            "begin,BOGUS");  // one known is enough
  EXPECT_EQ(job({"--mail-type=NONE"}).request.mail_type, "NONE");
  EXPECT_THAT(error({"--mail-type=BOGUS"}), HasSubstr("invalid value 'BOGUS' for --mail-type"));
  EXPECT_EQ(job({"--mail-user=a@b.org"}).request.mail_user, "a@b.org");
}

TEST(OpenMode, FirstLetterDecides) {
  EXPECT_EQ(job({"--open-mode=append"}).request.open_mode, "append");
  EXPECT_EQ(job({"--open-mode=A"}).request.open_mode, "append");
  EXPECT_EQ(job({"--open-mode=truncate"}).request.open_mode, "truncate");
  EXPECT_THAT(error({"--open-mode=x"}), HasSubstr("invalid value 'x' for --open-mode"));
}

TEST(Array, IndexLists) {
  EXPECT_EQ(job({"--array=0-63%8"}).request.array, "0-63%8");
  EXPECT_EQ(job({"-a", "1,3,5"}).request.array, "1,3,5");
  EXPECT_EQ(job({"--array=0-99:2"}).request.array, "0-99:2");
  for (const char* bad : {"x", "5-1", "1-", "1%", "0-9:0", ",1"}) {
    EXPECT_THAT(error({std::string("--array=") + bad}), HasSubstr("for --array")) << bad;
  }
}

TEST(Strings, StoredAsGiven) {
  const SbatchJob j = job({"-A", "proj", "-q", "high", "-C", "nvlink&sxm5", "-d", "afterok:12",
                           "-o", "out-%j.log", "-e", "err-%j.log", "--overcommit"});
  EXPECT_EQ(j.request.account, "proj");
  EXPECT_EQ(j.request.qos, "high");
  EXPECT_EQ(j.request.constraint, "nvlink&sxm5");
  EXPECT_EQ(j.request.dependency, "afterok:12");
  EXPECT_EQ(j.request.output, "out-%j.log");
  EXPECT_EQ(j.request.error, "err-%j.log");
  EXPECT_TRUE(j.request.overcommit);
}

// --- options flotilla does not model ---

TEST(Ignored, RecordedWithCanonicalNameValueAndLine) {
  SbatchOptions o;
  const std::vector<SbatchArgument> args{{"-D", 3},     {"/scratch", 3}, {"--hold", 4},
                                         {"--nice", 5}, {"--nice=5", 6}, {"--export=ALL", 7}};
  ASSERT_TRUE(o.apply(args, "job.sh").is_ok());
  const SbatchJob j = *o.finish();
  ASSERT_EQ(j.ignored_options.size(), 5u);
  EXPECT_EQ(j.ignored_options[0].option, "--chdir");
  EXPECT_EQ(j.ignored_options[0].value, "/scratch");
  EXPECT_EQ(j.ignored_options[0].line, 3u);
  EXPECT_EQ(j.ignored_options[1].option, "--hold");
  EXPECT_FALSE(j.ignored_options[1].value);
  EXPECT_EQ(j.ignored_options[2].option, "--nice");
  EXPECT_FALSE(j.ignored_options[2].value);
  EXPECT_EQ(j.ignored_options[3].value, "5");
  EXPECT_EQ(j.ignored_options[4].option, "--export");
  EXPECT_EQ(j.ignored_options[4].line, 7u);
}

TEST(Ignored, EveryRealSbatchOptionIsAccepted) {
  const std::set<std::string_view> modelled{"nodes",
                                            "ntasks",
                                            "ntasks-per-node",
                                            "tasks-per-node",
                                            "cpus-per-task",
                                            "gres",
                                            "gpus",
                                            "gpus-per-node",
                                            "gpus-per-task",
                                            "mem",
                                            "mem-per-gpu",
                                            "mem-per-cpu",
                                            "time",
                                            "partition",
                                            "account",
                                            "qos",
                                            "constraint",
                                            "exclusive",
                                            "oversubscribe",
                                            "switches",
                                            "dependency",
                                            "array",
                                            "job-name",
                                            "output",
                                            "error",
                                            "requeue",
                                            "no-requeue",
                                            "signal",
                                            "mail-type",
                                            "mail-user",
                                            "open-mode",
                                            "overcommit"};
  std::size_t ignored = 0;
  for (const SbatchOptionSpec& spec : sbatch_option_table()) {
    if (modelled.count(spec.name)) continue;
    std::vector<std::string> words{"--" + std::string(spec.name)};
    if (spec.arg == ArgKind::kRequired) words.push_back("1");
    if (spec.arg == ArgKind::kOptional) words[0] += "=1";
    const SbatchJob j = job(words);
    ASSERT_EQ(j.ignored_options.size(), 1u) << spec.name;
    EXPECT_EQ(j.ignored_options[0].option, "--" + std::string(spec.name));
    ++ignored;
    if (spec.short_name != 0) {
      std::vector<std::string> short_words{std::string("-") + spec.short_name};
      if (spec.arg == ArgKind::kRequired) short_words.push_back("1");
      EXPECT_EQ(job(short_words).ignored_options.at(0).option, "--" + std::string(spec.name));
    }
  }
  EXPECT_EQ(ignored, sbatch_option_table().size() - modelled.size());
}

TEST(Ignored, TableMatchesSlurmForWellKnownOptions) {
  auto find = [](std::string_view name) -> const SbatchOptionSpec* {
    for (const SbatchOptionSpec& s : sbatch_option_table()) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  struct Expect {
    const char* name;
    ArgKind arg;
    char short_name;
  };
  for (const Expect& e :
       {Expect{"chdir", ArgKind::kRequired, 'D'}, Expect{"export", ArgKind::kRequired, 0},
        Expect{"nice", ArgKind::kOptional, 0}, Expect{"hint", ArgKind::kRequired, 0},
        Expect{"gpu-bind", ArgKind::kRequired, 0}, Expect{"begin", ArgKind::kRequired, 'b'},
        Expect{"nodelist", ArgKind::kRequired, 'w'}, Expect{"exclude", ArgKind::kRequired, 'x'},
        Expect{"licenses", ArgKind::kRequired, 'L'}, Expect{"comment", ArgKind::kRequired, 0},
        Expect{"wait", ArgKind::kNone, 'W'}, Expect{"reservation", ArgKind::kRequired, 0},
        Expect{"no-kill", ArgKind::kOptional, 'k'}, Expect{"exclusive", ArgKind::kOptional, 0},
        Expect{"requeue", ArgKind::kOptional, 0}, Expect{"overcommit", ArgKind::kNone, 'O'}}) {
    const SbatchOptionSpec* s = find(e.name);
    ASSERT_NE(s, nullptr) << e.name;
    EXPECT_EQ(s->arg, e.arg) << e.name;
    EXPECT_EQ(s->short_name, e.short_name) << e.name;
  }
  // srun/salloc-only options are not sbatch's.
  for (const char* not_sbatch : {"cpu-bind", "label", "pty", "x11", "multi-prog", "bell"}) {
    EXPECT_EQ(find(not_sbatch), nullptr) << not_sbatch;
  }
  EXPECT_EQ(error({"--cpu-bind=cores"}), "cli: invalid option --cpu-bind (not an sbatch option)");
}

TEST(Ignored, OptionalValueIsNotTakenFromNextArgument) {
  SbatchOptions o;
  const std::vector<SbatchArgument> args = argv({"--nice", "5"});
  Result<SbatchOptions::Consumed> c = o.apply(args, "cli");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->next, 1u);  // "5" is a non-option
}

}  // namespace
}  // namespace flotilla::slurm
