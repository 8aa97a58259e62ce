// Runs the flotilla binary on the example job scripts and on broken ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/run_flotilla.h"

namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

struct Outcome {
  int code = -1;
  std::string out;  // stdout, followed by stderr when merged
};

Outcome run(const std::string& args, bool merge_stderr = false) {
  const flotilla::testing::CommandOutcome r = flotilla::testing::run_flotilla(args);
  return {r.exit_code, merge_stderr ? r.out + r.err : r.out};
}

std::string example(const std::string& name) {
  return std::string(FLOTILLA_SOURCE_DIR) + "/examples/jobs/" + name;
}

Json parse_example(const std::string& name, const std::string& extra = "") {
  const Outcome r = run("sbatch --parse-only --json " + extra + " " + example(name));
  EXPECT_EQ(r.code, 0) << r.out;
  return Json::parse(r.out);
}

// A temporary script that removes itself.
class ScriptFile {
 public:
  explicit ScriptFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("flotilla_sbatch_cli_" + std::to_string(::getpid()) + "_" + std::to_string(count_++) +
             ".sh");
    std::ofstream(path_) << text;
  }
  ~ScriptFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int count_ = 0;
  std::filesystem::path path_;
};

TEST(SbatchCli, SingleGpuFineTune) {
  const Json j = parse_example("finetune-1gpu.sbatch");
  EXPECT_EQ(j["job_name"], "llama7b-lora");
  EXPECT_EQ(j["nodes"], 1);
  EXPECT_EQ(j["ntasks"], 1);
  EXPECT_EQ(j["cpus_per_task"], 8);
  EXPECT_EQ(j["gpus_per_node"], 1);
  EXPECT_EQ(j["gpu_types"], Json::array());
  EXPECT_EQ(j["mem_mb"], 64 * 1024);
  EXPECT_EQ(j["time_limit_s"], 6 * 3600);
  EXPECT_EQ(j["time_unlimited"], false);
  EXPECT_EQ(j["partition"], "gpu");
  EXPECT_EQ(j["account"], "ml-research");
  EXPECT_EQ(j["mail_type"], "END,FAIL");
  EXPECT_EQ(j["requeue"], true);
  EXPECT_TRUE(j["qos"].is_null());
  EXPECT_TRUE(j["gpus"].is_null());
  ASSERT_EQ(j["ignored_options"].size(), 1u);
  EXPECT_EQ(j["ignored_options"][0]["option"], "--chdir");
  EXPECT_EQ(j["ignored_options"][0]["value"], "/scratch/ml/llama7b");
}

TEST(SbatchCli, EightH100NvlinkNode) {
  const Json j = parse_example("nvlink-8xh100.sbatch");
  EXPECT_EQ(j["job_name"], "mixtral-tp8");
  EXPECT_EQ(j["nodes"], 1);
  EXPECT_EQ(j["nodes_max"], 1);
  EXPECT_EQ(j["ntasks_per_node"], 8);
  EXPECT_EQ(j["gpus_per_node"], 8);
  EXPECT_EQ(j["gpu_types"], Json::array());
  EXPECT_EQ(j["mem_per_gpu_mb"], 120 * 1024);
  EXPECT_EQ(j["exclusive"], true);
  EXPECT_EQ(j["time_limit_s"], 2 * 86400);
  EXPECT_EQ(j["constraint"], "h100|h200");
  EXPECT_EQ(j["signal"], "B:USR1@300");
  EXPECT_EQ(j["open_mode"], "append");
  EXPECT_TRUE(j["requeue"].is_null());
}

TEST(SbatchCli, FourNodes32GpusOnOneSwitch) {
  const Json j = parse_example("multinode-32gpu.sbatch");
  EXPECT_EQ(j["nodes"], 4);
  EXPECT_EQ(j["gpus"], 32);
  EXPECT_EQ(j["gpus_per_node"], 8);
  EXPECT_EQ(j["gpu_types"], Json::array({"h100"}));
  EXPECT_EQ(j["switches"], 1);
  EXPECT_EQ(j["switches_wait_s"], 3600);
  EXPECT_EQ(j["mem_mb"], 0);
  EXPECT_EQ(j["time_limit_s"], 3 * 86400);
  EXPECT_EQ(j["qos"], "high");
  EXPECT_EQ(j["dependency"], "afterok:4242");
  EXPECT_EQ(j["requeue"], false);
}

TEST(SbatchCli, ArraySweep) {
  const Json j = parse_example("sweep-array.sbatch");
  EXPECT_EQ(j["array"], "0-63%8");
  EXPECT_EQ(j["gpus"], 1);
  EXPECT_EQ(j["ntasks"], 1);
  EXPECT_EQ(j["cpus_per_task"], 4);
  EXPECT_EQ(j["mem_per_cpu_mb"], 4096);
  EXPECT_EQ(j["time_limit_s"], 45 * 60);
  EXPECT_EQ(j["overcommit"], true);
  EXPECT_EQ(j["output"], "sweep/%A_%a.out");
}

TEST(SbatchCli, CommandLineOptionsOverrideDirectives) {
  const Json j = parse_example("multinode-32gpu.sbatch", "-N 8 --time=12:00:00 -J short");
  EXPECT_EQ(j["nodes"], 8);
  EXPECT_EQ(j["time_limit_s"], 12 * 3600);
  EXPECT_EQ(j["job_name"], "short");
  EXPECT_EQ(j["gpus"], 32);  // untouched directives stay
}

TEST(SbatchCli, UnnamedJobIsNamedAfterItsScript) {
  const ScriptFile f("#!/bin/sh\n#SBATCH -N 1\n");
  const Outcome r = run("sbatch --parse-only --json " + f.path());
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(Json::parse(r.out)["job_name"], std::filesystem::path(f.path()).filename().string());
}

TEST(SbatchCli, ScriptArgumentsAreKept) {
  const ScriptFile f("#!/bin/sh\n");
  const Outcome r = run("sbatch --parse-only --json " + f.path() + " --lr 0.1");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(Json::parse(r.out)["script_args"], Json::array({"--lr", "0.1"}));
}

TEST(SbatchCli, ReadableListingWithoutJson) {
  const Outcome r = run("sbatch --parse-only " + example("nvlink-8xh100.sbatch"));
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("gpus_per_node: 8\n"));
  EXPECT_THAT(r.out, HasSubstr("gpu_types: -\n"));
  EXPECT_THAT(r.out, HasSubstr("constraint: h100|h200\n"));
  EXPECT_THAT(r.out, HasSubstr("qos: -\n"));
}

TEST(SbatchCli, UnknownDirectiveIsOneLineAndExitOne) {
  const ScriptFile f("#!/bin/bash\n#SBATCH -N 2\n\n#SBATCH --foo\nsrun x\n");
  const Outcome r = run("sbatch --parse-only --json " + f.path(), true);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, f.path() + ":4: invalid directive --foo (not an sbatch option)\n");
}

TEST(SbatchCli, BadValueAndMissingShebangExitOne) {
  const ScriptFile bad("#!/bin/bash\n#SBATCH --time=1:2:3:4\n");
  Outcome r = run("sbatch --parse-only " + bad.path(), true);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr(bad.path() + ":2: invalid value '1:2:3:4' for --time"));
  const ScriptFile no_shebang("#SBATCH -N 1\nsrun x\n");
  r = run("sbatch --parse-only " + no_shebang.path(), true);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr(no_shebang.path() + ":1: first line must start with #!"));
}

// Without --parse-only sbatch submits to `flotilla ctld`; with no controller
// to reach it says where it looked, in one line.
TEST(SbatchCli, WithoutParseOnlyItSubmitsAndSaysWhenNoControllerAnswers) {
  const std::filesystem::path script =
      std::filesystem::temp_directory_path() / ("sbatch_cli_" + std::to_string(::getpid()));
  std::filesystem::copy_file(example("sweep-array.sbatch"), script,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(script, std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  const std::string missing = script.string() + ".sock";
  const Outcome r = run("sbatch --socket '" + missing + "' '" + script.string() + "'", true);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "flotilla sbatch: error: cannot reach the controller at " + missing +
                       ": No such file or directory\n");
  ::unsetenv("FLOTILLA_SOCKET");
  const Outcome none = run("sbatch '" + script.string() + "'", true);
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.out, HasSubstr("give --socket PATH or set FLOTILLA_SOCKET"));
  std::filesystem::remove(script);
}

TEST(SbatchCli, UsageErrors) {
  EXPECT_EQ(run("sbatch --parse-only").code, 2);
  const Outcome r = run("sbatch --parse-only --bogus " + example("sweep-array.sbatch"), true);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("invalid option --bogus (not an sbatch option)"));
  const Outcome help = run("sbatch --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--parse-only"));
}

}  // namespace
