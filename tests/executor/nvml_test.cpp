// The NVML loader against the stand-in library of fake_nvml.cpp (no NVIDIA
// driver on CI machines) and against libraries that are no NVML.
#include "executor/nvml.h"

#include <gtest/gtest.h>

#include "tests/executor/fake_nvml.h"

namespace flotilla::executor {
namespace {

using testing::fake_nvml_rise_mj;
using testing::kFakeNvml;
using testing::script_fake_nvml;

TEST(Nvml, AMissingLibraryMeansNoDriver) {
  Result<std::unique_ptr<Nvml>> nvml = Nvml::open("libflotilla-no-such-nvml.so.1");
  ASSERT_FALSE(nvml);
  EXPECT_EQ(nvml.message(), "libflotilla-no-such-nvml.so.1 not found (no NVIDIA driver)");
}

TEST(Nvml, ALibraryWithoutItsEntryPointsIsADriverTooOld) {
  Result<std::unique_ptr<Nvml>> nvml = Nvml::open("libc.so.6");
  ASSERT_FALSE(nvml);
  EXPECT_EQ(nvml.message(), "libc.so.6 lacks nvmlInit_v2 (driver too old)");
}

TEST(Nvml, AFailedInitSaysWhyInNvmlsWords) {
  script_fake_nvml(/*NVML_ERROR_DRIVER_NOT_LOADED*/ 9, true);
  Result<std::unique_ptr<Nvml>> nvml = Nvml::open(kFakeNvml);
  script_fake_nvml(0, true);
  ASSERT_FALSE(nvml);
  EXPECT_EQ(nvml.message(), "nvmlInit: Driver Not Loaded");
}

TEST(Nvml, ReadsDevicesAndTheirEnergyCounters) {
  script_fake_nvml(0, true);
  Result<std::unique_ptr<Nvml>> opened = Nvml::open(kFakeNvml);
  ASSERT_TRUE(opened) << opened.message();
  const Nvml& nvml = **opened;
  EXPECT_EQ(nvml.driver_version(), "580.65.06");
  Result<unsigned> count = nvml.device_count();
  ASSERT_TRUE(count) << count.message();
  EXPECT_EQ(*count, 4u);
  Result<Nvml::Device> gpu2 = nvml.device_at(2);
  ASSERT_TRUE(gpu2) << gpu2.message();
  EXPECT_EQ(nvml.name(*gpu2), "NVIDIA H100 80GB HBM3");
  Result<Nvml::Device> by_bus = nvml.device_by_pci_bus_id("0000:12:00.0");
  ASSERT_TRUE(by_bus) << by_bus.message();
  EXPECT_EQ(*by_bus, *gpu2);
  EXPECT_EQ(nvml.device_at(4).message(), "NVML has no GPU 4: Invalid Argument");
  EXPECT_FALSE(nvml.device_by_pci_bus_id("0000:99:00.0"));
  // What the board cannot say is absent, not zero.
  EXPECT_EQ(nvml.max_clock_mhz(*gpu2, Nvml::Clock::kSm), std::nullopt);
  EXPECT_EQ(nvml.pcie_link(*gpu2, Nvml::PcieLink::kMaxWidth), std::nullopt);
  EXPECT_EQ(nvml.active_nvlinks(*gpu2), 0u);

  const std::optional<std::uint64_t> first = nvml.total_energy_mj(*gpu2);
  const std::optional<std::uint64_t> second = nvml.total_energy_mj(*gpu2);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*second - *first, fake_nvml_rise_mj(2));
  script_fake_nvml(0, false);
  EXPECT_EQ(nvml.total_energy_mj(*gpu2), std::nullopt) << "a board before Volta";
  script_fake_nvml(0, true);
}

}  // namespace
}  // namespace flotilla::executor
