#include "scheduler/gpu_catalog.h"

#include <gtest/gtest.h>

namespace flotilla {
namespace {

TEST(GpuCatalog, BuiltinHasTheReferenceGpusWithSources) {
  const GpuCatalog& c = GpuCatalog::builtin();
  for (const char* name :
       {"H100-SXM", "H100-PCIe", "H200", "A100-SXM-80GB", "L40S", "RTX4090", "RTX3090", "RTX-A6000",
        "P100", "T4", "V100-SXM2-16GB", "V100-SXM2-32GB", "A10", "G2", "G3"}) {
    std::optional<GpuTypeId> id = c.find(name);
    ASSERT_TRUE(id) << name;
    EXPECT_FALSE(c.at(*id).source.empty()) << name;
  }
  const GpuType& h100 = c.at(*c.find("h100"));
  EXPECT_EQ(h100.name, "H100-SXM");
  EXPECT_DOUBLE_EQ(h100.bf16_tflops, 989);
  EXPECT_EQ(h100.price_micro_usd_per_hour, 2'400'000u);
  const GpuType& rtx = c.at(*c.find("RTX4090"));
  EXPECT_DOUBLE_EQ(rtx.bf16_tflops, 165.2);
  EXPECT_FALSE(rtx.nvlink);
}

TEST(GpuCatalog, LookupIsCaseInsensitiveOverAliases) {
  const GpuCatalog& c = GpuCatalog::builtin();
  EXPECT_EQ(c.find("V100M32"), c.find("v100-sxm2-32gb"));
  EXPECT_FALSE(c.find("B200"));
}

TEST(GpuCatalog, CudaNamesFindTheirTypeExactly) {
  const GpuCatalog& c = GpuCatalog::builtin();
  EXPECT_EQ(c.find_cuda_name("NVIDIA H100 80GB HBM3"), c.find("H100-SXM"));
  EXPECT_EQ(c.find_cuda_name("NVIDIA H100 PCIe"), c.find("H100-PCIe"));
  EXPECT_EQ(c.find_cuda_name("NVIDIA GeForce RTX 4090"), c.find("RTX4090"));
  EXPECT_EQ(c.find_cuda_name("Tesla V100-SXM2-32GB"), c.find("V100-SXM2-32GB"));
  // No near misses: another case, a MIG slice, an unlisted model.
  EXPECT_FALSE(c.find_cuda_name("nvidia h100 80gb hbm3"));
  EXPECT_FALSE(c.find_cuda_name("NVIDIA H100 80GB HBM3 MIG 1g.10gb"));
  EXPECT_FALSE(c.find_cuda_name("NVIDIA B200"));
  // Every model the trace names has one; G2 and G3 are unnamed in the trace.
  for (const GpuType& t : c.types()) {
    EXPECT_EQ(t.cuda_names.empty(), t.name == "G2" || t.name == "G3") << t.name;
  }
}

TEST(GpuCatalog, WithTypeChangesOneTypesFiguresOnly) {
  const GpuCatalog& c = GpuCatalog::builtin();
  const GpuTypeId h100 = *c.find("H100-SXM");
  GpuType slower = c.at(h100);
  slower.bf16_tflops = 500;
  const GpuCatalog copy = c.with_type(h100, slower);
  EXPECT_EQ(copy.at(h100).bf16_tflops, 500);
  EXPECT_EQ(c.at(h100).bf16_tflops, 989);  // the original stays
  EXPECT_EQ(copy.find("h100"), h100);
  EXPECT_EQ(copy.find_cuda_name("NVIDIA H100 80GB HBM3"), h100);
  EXPECT_EQ(copy.size(), c.size());
}

TEST(GpuCatalog, RefusesACudaNameGivenTwiceOrNotAString) {
  const std::string entry = R"(
bf16_tflops = 1
mem_gb = 1
mem_bw_gbs = 1
intra_node_gbs = 1
watts = 1
price_usd_per_hour = 1
source = "test"
)";
  Result<GpuCatalog> twice =
      GpuCatalog::parse("[[gpu]]\nname = \"A\"\ncuda_names = [\"NVIDIA X\"]" + entry +
                            "[[gpu]]\nname = \"B\"\ncuda_names = [\"NVIDIA X\"]" + entry,
                        "c.toml");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.message(), "c.toml:11: CUDA name 'NVIDIA X' used twice");
  Result<GpuCatalog> number =
      GpuCatalog::parse("[[gpu]]\nname = \"A\"\ncuda_names = [4090]" + entry, "c.toml");
  ASSERT_FALSE(number);
  EXPECT_EQ(number.message(), "c.toml:3: cuda_names must be strings");
}

TEST(GpuCatalog, RefusesEntriesWithoutSourceOrWithBadNumbers) {
  Result<GpuCatalog> no_source = GpuCatalog::parse(R"([[gpu]]
name = "X"
bf16_tflops = 1
mem_gb = 1
mem_bw_gbs = 1
intra_node_gbs = 1
watts = 1
price_usd_per_hour = 1
)",
                                                   "c.toml");
  ASSERT_FALSE(no_source);
  EXPECT_EQ(no_source.message(), "c.toml:1: GPU X has no 'source' for its numbers");

  Result<GpuCatalog> negative = GpuCatalog::parse(R"([[gpu]]
name = "X"
bf16_tflops = 1
mem_gb = -24
)",
                                                  "c.toml");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.message(), "c.toml:4: 'mem_gb' must be a positive number");

  Result<GpuCatalog> syntax = GpuCatalog::parse("[[gpu]\nname=", "c.toml");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.message().rfind("c.toml:1: ", 0), 0u) << syntax.message();
}

}  // namespace
}  // namespace flotilla
