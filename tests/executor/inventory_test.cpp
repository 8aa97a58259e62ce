// Host inventory: hwloc's cores and memory agree with what the kernel says,
// the GPUs are NVML's where it is (the stand-in of fake_nvml.cpp, as CI
// machines have no NVIDIA driver), and without NVML the fleet file's GPUs stand.
#include "executor/inventory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/executor/fake_nvml.h"

namespace flotilla::executor {
namespace {

TEST(Inventory, CoresAndMemoryFromHwlocMatchTheKernel) {
  Result<HostInventory> inv = read_host_inventory(Nvml::open());
  ASSERT_TRUE(inv) << inv.message();
  EXPECT_GT(inv->cores, 0u);
  EXPECT_LE(inv->cores, inv->cpus);
  EXPECT_EQ(inv->cpus, static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  const std::uint64_t kernel = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                               static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_GT(inv->memory_bytes, 0u);
  EXPECT_LE(inv->memory_bytes, kernel);
  // hwloc counts the memory of the NUMA nodes, which some virtual machines
  // report below the kernel's total: compare with the kernel's own per-node figures.
  std::uint64_t numa_kib = 0;
  for (const auto& node : std::filesystem::directory_iterator("/sys/devices/system/node")) {
    if (node.path().filename().string().rfind("node", 0) != 0) continue;
    std::ifstream in(node.path() / "meminfo");
    for (std::string word; in >> word;) {
      if (word == "MemTotal:") {
        std::uint64_t kib = 0;
        in >> kib;
        numa_kib += kib;
      }
    }
  }
  EXPECT_EQ(inv->memory_bytes, numa_kib ? numa_kib * 1024 : kernel);
}

TEST(Inventory, WithoutNvmlTheDeclaredGpusStand) {
  Result<HostInventory> inv = read_host_inventory(Nvml::open("libflotilla-no-such-nvml.so.1"));
  ASSERT_TRUE(inv) << inv.message();
  EXPECT_TRUE(inv->gpus.empty());
  EXPECT_EQ(inv->gpu_source,
            "declared (NVML: libflotilla-no-such-nvml.so.1 not found (no NVIDIA driver))");
}

TEST(Inventory, WithNvmlItsGpusAreListed) {
  testing::script_fake_nvml(0, true);
  Result<HostInventory> inv = read_host_inventory(Nvml::open(testing::kFakeNvml));
  ASSERT_TRUE(inv) << inv.message();
  EXPECT_EQ(inv->gpu_source, "nvml");
  EXPECT_EQ(inv->gpus, std::vector<std::string>(4, "NVIDIA H100 80GB HBM3"));
}

}  // namespace
}  // namespace flotilla::executor
