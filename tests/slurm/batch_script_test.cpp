#include "slurm/batch_script.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flotilla::slurm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> split(std::string_view rest) {
  Result<std::vector<std::string>> r = split_directive(rest, "job.sh", 3);
  EXPECT_TRUE(r.is_ok()) << r.message();
  return r.is_ok() ? *r : std::vector<std::string>{};
}

std::vector<std::string> texts(const BatchScript& s) {
  std::vector<std::string> out;
  for (const SbatchArgument& a : s.arguments) out.push_back(a.text);
  return out;
}

std::vector<std::size_t> lines(const BatchScript& s) {
  std::vector<std::size_t> out;
  for (const SbatchArgument& a : s.arguments) out.push_back(a.line);
  return out;
}

BatchScript parse(std::string_view text) {
  Result<BatchScript> r = parse_batch_script(text, "job.sh");
  EXPECT_TRUE(r.is_ok()) << r.message();
  return r.is_ok() ? *r : BatchScript{};
}

std::string parse_error(std::string_view text) {
  Result<BatchScript> r = parse_batch_script(text, "job.sh");
  EXPECT_FALSE(r.is_ok());
  return r.message();
}

// --- splitting one directive line (sbatch's get_argument) ---

TEST(SplitDirective, WhiteSpaceSeparates) {
  EXPECT_THAT(split("  -N 2\t--time=10  "), ElementsAre("-N", "2", "--time=10"));
}

TEST(SplitDirective, QuotesGroupAndDisappear) {
  EXPECT_THAT(split(R"(--job-name="my job" --comment='a b'c)"),
              ElementsAre("--job-name=my job", "--comment=a bc"));
  // One kind of quote is literal inside the other.
  EXPECT_THAT(split(R"(--comment="it's")"), ElementsAre("--comment=it's"));
}

TEST(SplitDirective, BackslashTakesTheNextCharacter) {
  EXPECT_THAT(split(R"(--job-name=a\ b --comment=\"x\")"),
              ElementsAre("--job-name=a b", R"(--comment="x")"));
  // Unlike a shell, the backslash also escapes inside single quotes.
  EXPECT_THAT(split(R"('a\'b')"), ElementsAre("a'b"));
  EXPECT_THAT(split(R"(a\#b)"), ElementsAre("a#b"));
  // A trailing backslash just disappears.
  EXPECT_THAT(split(R"(abc\)"), ElementsAre("abc"));
}

TEST(SplitDirective, BackslashBeforeTabDoesNotJoin) {
  // sbatch only joins on an escaped blank; before a tab the backslash is
  // dropped and the tab still separates.
  EXPECT_THAT(split("a\\\tb"), ElementsAre("a", "b"));
  EXPECT_THAT(split("\"a\\\tb\""), ElementsAre("a\tb"));
}

TEST(SplitDirective, UnquotedHashEndsTheLine) {
  EXPECT_THAT(split("--partition=gpum#x"), ElementsAre("--partition=gpum"));
  EXPECT_THAT(split("-N 2 # two nodes"), ElementsAre("-N", "2"));
  EXPECT_THAT(split("#--time=5"), ElementsAre());
  EXPECT_THAT(split(R"(--comment="a#b" -N1)"), ElementsAre("--comment=a#b", "-N1"));
}

TEST(SplitDirective, EmptyQuotesEndTheLineLikeSbatch) {
  // get_argument returns no argument for "", and sbatch stops reading the line.
  EXPECT_THAT(split(R"(-N 2 "" --time=5)"), ElementsAre("-N", "2"));
  EXPECT_THAT(split(R"('' -N 2)"), ElementsAre());
  // Quotes that are part of a longer argument are fine.
  EXPECT_THAT(split(R"(--comment="" -N 2)"), ElementsAre("--comment=", "-N", "2"));
}

TEST(SplitDirective, HetjobWordEndsTheLine) {
  EXPECT_THAT(split("--comment HetJob -N 2"), ElementsAre("--comment"));
  EXPECT_THAT(split("--comment hetjobs"), ElementsAre("--comment", "hetjobs"));
}

TEST(SplitDirective, UnmatchedQuoteIsAnErrorNamingFileAndLine) {
  Result<std::vector<std::string>> r = split_directive(R"(--job-name="oops)", "job.sh", 7);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.message(), "job.sh:7: unmatched \" in directive");
  r = split_directive("--comment='x", "job.sh", 2);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.message(), "job.sh:2: unmatched ' in directive");
}

TEST(SplitDirective, ArgumentStartingWithColonIsAnError) {
  Result<std::vector<std::string>> r = split_directive("-N 2 :x", "job.sh", 4);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.message(), "job.sh:4: unexpected ':' in directive");
}

// --- the whole script ---

TEST(BatchScript, CollectsDirectivesWithTheirLines) {
  const BatchScript s = parse(
      "#!/bin/bash\n"
      "#SBATCH -N 2\n"
      "\n"
      "# a comment\n"
      "#SBATCH --time=10 --job-name=x\n"
      "   \t\n"
      "srun hostname\n");
  EXPECT_THAT(texts(s), ElementsAre("-N", "2", "--time=10", "--job-name=x"));
  EXPECT_THAT(lines(s), ElementsAre(2, 2, 5, 5));
  EXPECT_EQ(s.body_line, 7u);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(BatchScript, StopsAtTheFirstCommand) {
  const BatchScript s = parse(
      "#!/bin/bash\n"
      "#SBATCH -N 2\n"
      "module load cuda\n"
      "#SBATCH --time=10\n");
  EXPECT_THAT(texts(s), ElementsAre("-N", "2"));
  EXPECT_EQ(s.body_line, 3u);
}

TEST(BatchScript, IndentedCommandAlsoStops) {
  const BatchScript s = parse("#!/bin/sh\n  echo hi\n#SBATCH -N 2\n");
  EXPECT_TRUE(s.arguments.empty());
  EXPECT_EQ(s.body_line, 2u);
}

TEST(BatchScript, IndentedSbatchIsAComment) {
  // The magic word must start the line.
  const BatchScript s = parse("#!/bin/sh\n  #SBATCH -N 4\n\t#SBATCH -N 5\n#SBATCH -N 2\n");
  EXPECT_THAT(texts(s), ElementsAre("-N", "2"));
  EXPECT_THAT(lines(s), ElementsAre(4, 4));
}

TEST(BatchScript, MagicWordIsCaseSensitive) {
  const BatchScript s = parse("#!/bin/sh\n#sbatch -N 4\n#Sbatch -N 5\n");
  EXPECT_TRUE(s.arguments.empty());
}

TEST(BatchScript, MagicWordNeedsNoSpaceAfterIt) {
  const BatchScript s = parse("#!/bin/sh\n#SBATCH--time=5\n");
  EXPECT_THAT(texts(s), ElementsAre("--time=5"));
}

TEST(BatchScript, DeprecatedSlurmPrefixWorksAndWarnsOnce) {
  const BatchScript s = parse("#!/bin/sh\n#SLURM -N 3\n#SLURM -n 6\n");
  EXPECT_THAT(texts(s), ElementsAre("-N", "3", "-n", "6"));
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_THAT(s.warnings[0], HasSubstr("job.sh:2: #SLURM is deprecated"));
}

TEST(BatchScript, NoTrailingNewlineIsFine) {
  const BatchScript s = parse("#!/bin/sh\n#SBATCH -N 3");
  EXPECT_THAT(texts(s), ElementsAre("-N", "3"));
  EXPECT_EQ(s.body_line, 0u);
}

TEST(BatchScript, MissingShebangIsAnError) {
  EXPECT_THAT(parse_error("#SBATCH -N 2\nsrun x\n"),
              HasSubstr("job.sh:1: first line must start with #!"));
  EXPECT_THAT(parse_error(" #!/bin/sh\n"), HasSubstr("job.sh:1: first line must start with #!"));
}

TEST(BatchScript, EmptyWhiteSpaceNulAndDosScriptsAreErrors) {
  EXPECT_EQ(parse_error(""), "job.sh:1: batch script is empty");
  EXPECT_EQ(parse_error(" \n\t\n"), "job.sh:1: batch script contains only white space");
  EXPECT_EQ(parse_error(std::string("#!/bin/sh\necho\0x\n", 18)),
            "job.sh:2: batch script contains a NUL character");
  EXPECT_THAT(parse_error("#!/bin/sh\n#SBATCH -N 1\r\n"),
              HasSubstr("job.sh:2: batch script has DOS"));
}

TEST(BatchScript, UnmatchedQuoteNamesTheLine) {
  EXPECT_EQ(parse_error("#!/bin/sh\n#SBATCH -N 1\n#SBATCH -J 'x\n"),
            "job.sh:3: unmatched ' in directive");
}

TEST(BatchScript, HetjobIsRefused) {
  EXPECT_THAT(parse_error("#!/bin/sh\n#SBATCH -N 1\n#SBATCH hetjob\n#SBATCH -N 2\n"),
              HasSubstr("job.sh:3: heterogeneous jobs"));
}

// --- script + options: sbatch_job() ---

SbatchJob job_of(std::string_view text, std::vector<SbatchArgument> cli = {}) {
  Result<BatchScript> s = parse_batch_script(text, "job.sh");
  EXPECT_TRUE(s.is_ok()) << s.message();
  if (!s) return {};
  Result<SbatchJob> j = sbatch_job(*s, cli);
  EXPECT_TRUE(j.is_ok()) << j.message();
  return j.is_ok() ? *j : SbatchJob{};
}

std::string job_error(std::string_view text, std::vector<SbatchArgument> cli = {}) {
  Result<BatchScript> s = parse_batch_script(text, "job.sh");
  if (!s) return s.message();
  Result<SbatchJob> j = sbatch_job(*s, cli);
  EXPECT_FALSE(j.is_ok());
  return j.message();
}

TEST(SbatchJob, HashMidValueCutsThePartition) {
  EXPECT_EQ(job_of("#!/bin/sh\n#SBATCH --partition=gpum#x\n").request.partition, "gpum");
}

TEST(SbatchJob, QuotedValuesKeepSpaces) {
  EXPECT_EQ(job_of("#!/bin/sh\n#SBATCH --job-name=\"big run\"\n").request.job_name, "big run");
  EXPECT_EQ(job_of("#!/bin/sh\n#SBATCH -J big\\ run\n").request.job_name, "big run");
}

TEST(SbatchJob, UnknownDirectiveNamesFileLineAndOption) {
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -N 2\n\n#SBATCH --foo\n"),
            "job.sh:4: invalid directive --foo (not an sbatch option)");
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH --foo=bar\n"),
            "job.sh:2: invalid directive --foo (not an sbatch option)");
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -z\n"),
            "job.sh:2: invalid directive -z (not an sbatch option)");
}

TEST(SbatchJob, NonOptionWordIsAnInvalidDirective) {
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -N 2\n#SBATCH gpu\n"),
            "job.sh:3: invalid directive 'gpu' (not an option; sbatch stops reading options here)");
  // "#SBATCHING" is the magic word followed by the word "ING".
  EXPECT_THAT(job_error("#!/bin/sh\n#SBATCHING\n"), HasSubstr("job.sh:2: invalid directive 'ING'"));
}

TEST(SbatchJob, ValueErrorsNameTheOptionsLine) {
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -J a\n#SBATCH --nodes=abc\n"),
            "job.sh:3: invalid value 'abc' for --nodes: not a node count (N or MIN-MAX)");
  EXPECT_THAT(job_error("#!/bin/sh\n#SBATCH --time=1:2:3:4\n"),
              HasSubstr("job.sh:2: invalid value '1:2:3:4' for --time"));
  EXPECT_THAT(job_error("#!/bin/sh\n#SBATCH --gpus=h100:x\n"),
              HasSubstr("job.sh:2: invalid value 'h100:x' for --gpus"));
}

TEST(SbatchJob, AValueCanComeFromTheNextDirectiveLine) {
  // sbatch joins all directives into one argv, so getopt takes the next
  // argument as the value, even from the next line.
  const SbatchJob j = job_of("#!/bin/sh\n#SBATCH --job-name\n#SBATCH trial-7\n#SBATCH -N 2\n");
  EXPECT_EQ(j.request.job_name, "trial-7");
  EXPECT_EQ(j.request.nodes_min, 2u);
  // ... including something that looks like an option.
  EXPECT_EQ(job_of("#!/bin/sh\n#SBATCH --job-name\n#SBATCH -N\n").request.job_name, "-N");
}

TEST(SbatchJob, MissingValueAtTheEndIsAnError) {
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -N 2\n#SBATCH --time\n"),
            "job.sh:3: directive --time needs a value");
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -t\n"), "job.sh:2: directive -t (--time) needs a value");
}

TEST(SbatchJob, DoubleDashEndsTheDirectives) {
  // getopt consumes "--"; a directive after it is no option any more.
  EXPECT_EQ(job_of("#!/bin/sh\n#SBATCH -N 2 --\n").request.nodes_min, 2u);
  EXPECT_THAT(job_error("#!/bin/sh\n#SBATCH -N 2 --\n#SBATCH -n 4\n"),
              HasSubstr("job.sh:3: invalid directive '-n'"));
}

TEST(SbatchJob, CommandLineOverridesDirectives) {
  const SbatchJob j = job_of("#!/bin/sh\n#SBATCH -N 2\n#SBATCH --time=10\n#SBATCH -p gpu\n",
                             {{"-N", 0}, {"4", 0}, {"--time=1:00:00", 0}});
  EXPECT_EQ(j.request.nodes_min, 4u);
  EXPECT_EQ(j.request.nodes_max, 4u);
  EXPECT_EQ(j.request.time_limit, Seconds{3600});
  EXPECT_EQ(j.request.partition, "gpu");
}

TEST(SbatchJob, CommandLineValueErrorsNameTheCommandLine) {
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH -N 2\n", {{"--ntasks=0", 0}}),
            "command line: invalid value '0' for --ntasks: not a positive integer");
  EXPECT_EQ(job_error("#!/bin/sh\n", {{"--bogus", 0}}),
            "command line: invalid option --bogus (not an sbatch option)");
}

TEST(SbatchJob, MutuallyExclusiveAcrossScriptAndCommandLine) {
  // Slurm counts directives and command-line options alike here.
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH --mem=4G\n", {{"--mem-per-gpu=8G", 0}}),
            "command line: --mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive");
  EXPECT_EQ(job_error("#!/bin/sh\n#SBATCH --mem-per-cpu=1G\n#SBATCH --mem=4G\n"),
            "job.sh:3: --mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive");
}

TEST(SbatchJob, ScriptWarningsComeFirst) {
  const SbatchJob j = job_of("#!/bin/sh\n#SLURM --switches=2@UNLIMITED\n");
  ASSERT_EQ(j.warnings.size(), 2u);
  EXPECT_THAT(j.warnings[0], HasSubstr("#SLURM is deprecated"));
  EXPECT_THAT(j.warnings[1], HasSubstr("job.sh:2: --switches wait UNLIMITED"));
  EXPECT_EQ(j.request.switches, 2u);
  EXPECT_FALSE(j.request.switches_wait);
}

}  // namespace
}  // namespace flotilla::slurm
