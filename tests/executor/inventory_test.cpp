// Host inventory: hwloc's cores and memory agree with what the kernel says,
// and without NVML the fleet file's GPUs stand.
#include "executor/inventory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace flotilla::executor {
namespace {

TEST(Inventory, CoresAndMemoryFromHwlocMatchTheKernel) {
  Result<HostInventory> inv = read_host_inventory();
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
  Result<HostInventory> inv = read_host_inventory("libflotilla-no-such-nvml.so.1");
  ASSERT_TRUE(inv) << inv.message();
  EXPECT_TRUE(inv->gpus.empty());
  EXPECT_EQ(inv->gpu_source.rfind("declared (NVML: libflotilla-no-such-nvml.so.1 not found", 0), 0u)
      << inv->gpu_source;
  Result<std::vector<std::string>> names = nvml_gpu_names("libflotilla-no-such-nvml.so.1");
  EXPECT_FALSE(names);
}

}  // namespace
}  // namespace flotilla::executor
