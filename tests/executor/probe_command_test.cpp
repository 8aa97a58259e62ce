// `flotilla probe` where it cannot measure anything: built without CUDA, CUDA
// module missing, no driver, no GPU. Each must be one clear line and exit 1,
// never a crash. GPUs are hidden (CUDA_VISIBLE_DEVICES=""), so the test means
// the same on a machine that has some.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/run_flotilla.h"

namespace {

using flotilla::testing::run_flotilla;

class ProbeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("CUDA_VISIBLE_DEVICES", "", 1); }
  void TearDown() override { ::unsetenv("CUDA_VISIBLE_DEVICES"); }
};

// One line on stderr, "flotilla probe: ...", nothing on stdout.
void expect_one_line_error(const flotilla::testing::CommandOutcome& r) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("flotilla probe: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST_F(ProbeCommandTest, IsListedAndHasHelp) {
  EXPECT_NE(run_flotilla("--help").out.find("probe"), std::string::npos);
  const auto help = run_flotilla("probe --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--prove"), std::string::npos);
  EXPECT_EQ(run_flotilla("probe --no-such-option").exit_code, 2);
}

TEST_F(ProbeCommandTest, WithoutAGpuSaysWhyInOneLine) {
  for (const char* args : {"probe", "probe --json", "probe --prove --n 1024"}) {
    SCOPED_TRACE(args);
    const auto r = run_flotilla(args);
    expect_one_line_error(r);
#ifdef FLOTILLA_PROBE_MODULE_FILE
    // No driver on a build machine, or no visible GPU where there is one.
    EXPECT_TRUE(r.err.find("driver") != std::string::npos || r.err.find("GPU") != std::string::npos)
        << r.err;
#else
    EXPECT_NE(r.err.find("built without CUDA"), std::string::npos) << r.err;
#endif
  }
}

#ifdef FLOTILLA_PROBE_MODULE_FILE
TEST_F(ProbeCommandTest, AMissingCudaModuleIsOneLineNotALoaderCrash) {
  // A copy of the program in a folder without libflotilla_probe_cuda.so.
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("flotilla_probe_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path copy = dir / "flotilla";
  std::filesystem::copy_file(FLOTILLA_BINARY, copy,
                             std::filesystem::copy_options::overwrite_existing);
  const std::filesystem::path err = dir / "err";
  const int status =
      std::system(("'" + copy.string() + "' probe 2>'" + err.string() + "' >/dev/null").c_str());
  std::stringstream text;
  text << std::ifstream(err).rdbuf();
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(text.str().rfind("flotilla probe: cannot load the CUDA probe module", 0), 0u)
      << text.str();
  EXPECT_EQ(text.str().find('\n'), text.str().size() - 1) << text.str();
}
#endif

}  // namespace
