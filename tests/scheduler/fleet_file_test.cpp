#include "scheduler/fleet_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace flotilla {
namespace {

const std::string kExamples = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/";

// Lines 1-11 of a one-switch fleet; the node group's keys start at line 12.
const std::string kHead = R"(name = "t"
[[region]]
name = "r1"
uplink_gbps = 1
  [[region.site]]
  name = "s1"
  uplink_gbps = 10
    [[region.site.switch]]
    name = "w1"
    uplink_gbps = 100
      [[region.site.switch.nodes]]
)";

Result<Fleet> parse(const std::string& text) {
  return parse_fleet(text, "t.toml");
}

std::string error_of(const std::string& text) {
  Result<Fleet> f = parse(text);
  EXPECT_FALSE(f) << text;
  return f.message();
}

// `text` with the first `from` replaced by `to` (which must be there).
std::string with(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string group(const std::string& extra = "") {
  return kHead + "hosts = \"n[1-2]\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n" + extra;
}

TEST(FleetFile, ParsesTheTreeWithCatalogDefaults) {
  Result<Fleet> f = parse(group());
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->name(), "t");
  ASSERT_EQ(f->nodes().size(), 2u);
  EXPECT_EQ(f->total_gpus(), 16u);
  const Node& n = f->node_at(1);
  EXPECT_EQ(f->node_name(1), "n2");
  EXPECT_EQ(f->catalog().at(n.gpu_type).name, "H100-SXM");
  EXPECT_EQ(n.gpu_count, 8);
  EXPECT_EQ(n.nvlink_domain_size, 8);                     // catalog: nvlink
  EXPECT_EQ(n.price_micro_usd_per_gpu_hour, 2'400'000u);  // catalog price
  EXPECT_EQ(n.watts, 5600u);                              // 8 x 700 W
  EXPECT_DOUBLE_EQ(n.uplink.gbps, 400);
  EXPECT_EQ(n.uplink.latency_us, 0);
  ASSERT_EQ(f->providers().size(), 1u);
  EXPECT_EQ(f->providers()[0], "s1");  // default provider: the site
  EXPECT_DOUBLE_EQ(f->regions()[0].uplink.gbps, 1);
  EXPECT_DOUBLE_EQ(f->sites()[0].uplink.gbps, 10);
  EXPECT_DOUBLE_EQ(f->switches()[0].uplink.gbps, 100);
}

TEST(FleetFile, GpusWithoutNvlinkDefaultToOneGpuDomains) {
  Result<Fleet> f = parse(kHead + "hosts = \"a\"\ngpu = \"4090\"\ngpus = 4\nuplink_gbps = 1\n");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->node_at(0).nvlink_domain_size, 1);
  EXPECT_EQ(f->node_at(0).watts, 1800u);
}

TEST(FleetFile, ExplicitValuesOverrideDefaults) {
  Result<Fleet> f =
      parse(group("nvlink_domain = 4\nprice_usd_per_gpu_hour = 1.234567\nwatts = 6000.4\n"
                  "provider = \"acme\"\nlatency_ms = 0.0015\n"));
  ASSERT_TRUE(f) << f.message();
  const Node& n = f->node_at(0);
  EXPECT_EQ(n.nvlink_domain_size, 4);
  EXPECT_EQ(n.price_micro_usd_per_gpu_hour, 1'234'567u);
  EXPECT_EQ(n.watts, 6000u);
  EXPECT_EQ(n.uplink.latency_us, 2);  // 1.5 us rounds to 2
  EXPECT_EQ(f->providers()[0], "acme");
  Result<Fleet> us = parse(group("latency_us = 12\n"));
  ASSERT_TRUE(us) << us.message();
  EXPECT_EQ(us->node_at(0).uplink.latency_us, 12);
}

TEST(FleetFile, ReplicatesEntriesAndSubstitutesPlaceholders) {
  Result<Fleet> f = parse(R"(name = "rep"
[[region]]
name = "r[1-2]"
uplink_gbps = 1
latency_ms = [0, 40.25]
  [[region.site]]
  name = "{region}-s"
  uplink_gbps = 10
    [[region.site.switch]]
    name = "{site}-w[1-3]"
    uplink_gbps = [100, 200]
      [[region.site.switch.nodes]]
      hosts = "{switch}-n[1-2]"
      gpu = "RTX4090"
      gpus = [1, 2, 4]
      provider = "{region}/{switch}"
      uplink_gbps = [0.0226, 0.105]
      [[region.site.switch.nodes]]
      hosts = "{switch}-home"
      gpu = "rtx3090"
      gpus = 2
      provider = "{node}@{site}"
      uplink_gbps = 1
)");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->regions().size(), 2u);
  EXPECT_EQ(f->sites().size(), 2u);
  ASSERT_EQ(f->switches().size(), 6u);
  ASSERT_EQ(f->nodes().size(), 18u);  // 6 switches x (2 + 1)
  EXPECT_EQ(f->regions()[1].name, "r2");
  EXPECT_EQ(f->regions()[0].uplink.latency_us, 0);
  EXPECT_EQ(f->regions()[1].uplink.latency_us, 40'250);
  EXPECT_EQ(f->sites()[1].name, "r2-s");
  EXPECT_EQ(f->switches()[4].name, "r2-s-w2");
  EXPECT_DOUBLE_EQ(f->switches()[0].uplink.gbps, 100);
  EXPECT_DOUBLE_EQ(f->switches()[1].uplink.gbps, 200);
  EXPECT_DOUBLE_EQ(f->switches()[2].uplink.gbps, 100);
  EXPECT_EQ(f->node_name(0), "r1-s-w1-n1");
  EXPECT_EQ(f->node_name(2), "r1-s-w1-home");
  EXPECT_EQ(f->node_name(17), "r2-s-w3-home");
  EXPECT_TRUE(f->find_node("r2-s-w3-n2"));
  // gpus [1, 2, 4] cycles over each group's hosts; uplinks likewise.
  EXPECT_EQ(f->node_at(0).gpu_count, 1);
  EXPECT_EQ(f->node_at(1).gpu_count, 2);
  EXPECT_DOUBLE_EQ(f->node_at(0).uplink.gbps, 0.0226);
  EXPECT_DOUBLE_EQ(f->node_at(1).uplink.gbps, 0.105);
  EXPECT_EQ(f->total_gpus(), 6u * (1 + 2 + 2));
  // One provider per (region, switch) for the first group, one per node for the second.
  std::set<std::string> providers(f->providers().begin(), f->providers().end());
  EXPECT_EQ(providers.size(), 12u);
  EXPECT_TRUE(providers.count("r1/r1-s-w2"));
  EXPECT_TRUE(providers.count("r2-s-w1-home@r2-s"));
  EXPECT_EQ(f->providers()[f->node_at(0).provider], "r1/r1-s-w1");
}

TEST(FleetFile, AcceptsInlineNodeGroups) {
  Result<Fleet> f = parse(R"(name = "inline"
[[region]]
name = "r"
uplink_gbps = 1
site = [{ name = "s", uplink_gbps = 1, switch = [{ name = "w", uplink_gbps = 1, nodes = [
  { hosts = "a[1-3]", gpu = "l40s", gpus = 8, uplink_gbps = 100 },
  { hosts = "b1", gpu = "a6000", gpus = 4, nvlink_domain = 2, uplink_gbps = 1 },
] }] }]
)");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->nodes().size(), 4u);
  EXPECT_EQ(f->total_gpus(), 28u);
  EXPECT_EQ(f->node_at(3).nvlink_domain_size, 2);
}

TEST(FleetFile, RefusesTomlSyntaxErrorsWithTheirLine) {
  const std::string e = error_of("name = \"t\"\n[[region]\nname = \"x\"\n");
  EXPECT_EQ(e.rfind("t.toml:2: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  const std::string e2 = error_of("name = \"t\"\n\nname = \"again\"\n");
  EXPECT_EQ(e2.rfind("t.toml:3: ", 0), 0u) << e2;
}

TEST(FleetFile, RefusesUnknownGpuTypesByName) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"B300\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:13: unknown GPU type 'B300'");
}

TEST(FleetFile, RefusesBadHostlists) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n[3-1]\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:12: bad hostlist \"n[3-1]\": range 3-1 runs backwards");
  EXPECT_EQ(error_of(kHead + "hosts = \"{switch}-n[01-0x]\"\ngpu = \"h100\"\ngpus = 8\n"
                             "uplink_gbps = 400\n"),
            "t.toml:12: bad hostlist \"{switch}-n[01-0x]\": range bound \"0x\" is not a number");
  EXPECT_EQ(error_of(with(kHead, "\"w1\"", "\"w[1-2\"") +
                     "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:9: bad hostlist \"w[1-2\": unclosed '['");
}

TEST(FleetFile, RefusesZeroOrNegativeBandwidthAndNegativeLatency) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 0\n"),
            "t.toml:15: 'uplink_gbps' must be positive, got 0");
  EXPECT_EQ(error_of(with(group(), "uplink_gbps = 1\n", "uplink_gbps = -2.5\n")),
            "t.toml:4: 'uplink_gbps' must be positive, got -2.5");
  EXPECT_EQ(error_of(group("latency_ms = -1\n")),
            "t.toml:16: 'latency_ms' must not be negative, got -1");
  EXPECT_EQ(error_of(group("latency_us = [1, -3]\n")),
            "t.toml:16: 'latency_us' must not be negative, got -3");
  EXPECT_EQ(error_of(group("latency_ms = nan\n")),
            "t.toml:16: 'latency_ms' must be a finite number");
  EXPECT_EQ(error_of(group("latency_ms = 1\nlatency_us = 1\n")),
            "t.toml:17: give 'latency_ms' or 'latency_us', not both");
}

TEST(FleetFile, RefusesDuplicateHostsNamingThem) {
  EXPECT_EQ(error_of(group("[[region.site.switch.nodes]]\nhosts = \"m1,n2\"\ngpu = \"h100\"\n"
                           "gpus = 8\nuplink_gbps = 400\n")),
            "t.toml:17: duplicate host n2");
  // Replicated switches without {switch} in hosts repeat the same names.
  EXPECT_EQ(error_of(with(group(), "\"w1\"", "\"w[1-2]\"")), "t.toml:12: duplicate host n1");
}

TEST(FleetFile, RefusesMissingRequiredFieldsNamingThem) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:11: missing required field 'gpu' in [[region.site.switch.nodes]]");
  EXPECT_EQ(error_of(kHead + "gpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:11: missing required field 'hosts' in [[region.site.switch.nodes]]");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\nuplink_gbps = 400\n"),
            "t.toml:11: missing required field 'gpus' in [[region.site.switch.nodes]]");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8\n"),
            "t.toml:11: missing required field 'uplink_gbps' in [[region.site.switch.nodes]]");
  EXPECT_EQ(error_of(with(group(), "  uplink_gbps = 10\n", "")),
            "t.toml:5: missing required field 'uplink_gbps' in [[region.site]]");
  EXPECT_EQ(error_of(with(group(), "name = \"r1\"\n", "")),
            "t.toml:2: missing required field 'name' in [[region]]");
  EXPECT_EQ(error_of("[[region]]\nname = \"r\"\n"),
            "t.toml:1: missing required field 'name' at the top level");
}

TEST(FleetFile, RefusesUnknownKeysSoTyposAreNotIgnored) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8\nuplink_gpbs = 400\n"),
            "t.toml:15: unknown key 'uplink_gpbs' in [[region.site.switch.nodes]]");
  EXPECT_EQ(error_of("nmae = \"t\"\n"), "t.toml:1: unknown key 'nmae' in the top level");
  EXPECT_EQ(error_of(with(group(), "    uplink_gbps = 100\n",
                          "    uplink_gbps = 100\n    latency = 3\n")),
            "t.toml:11: unknown key 'latency' in [[region.site.switch]]");
}

TEST(FleetFile, RefusesGpuCountsOutsideOneToSixteen) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 0\nuplink_gbps = 400\n"),
            "t.toml:14: 'gpus' must be 1..16, got 0");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 17\nuplink_gbps = 400\n"),
            "t.toml:14: 'gpus' must be 1..16, got 17");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = [\n  1,\n  -4,\n]\n"
                             "uplink_gbps = 400\n"),
            "t.toml:16: 'gpus' must be 1..16, got -4");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = []\nuplink_gbps = 400\n"),
            "t.toml:14: 'gpus' list is empty");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8.0\nuplink_gbps = 400\n"),
            "t.toml:14: 'gpus' must be an integer or a list of integers");
}

TEST(FleetFile, RefusesNvlinkDomainsThatDoNotDivideTheGpus) {
  EXPECT_EQ(error_of(group("nvlink_domain = 3\n")),
            "t.toml:16: 'nvlink_domain' = 3 does not divide 'gpus' = 8");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"3090\"\ngpus = [2, 4, 1]\n"
                             "nvlink_domain = 2\nuplink_gbps = 1\n"),
            "t.toml:15: 'nvlink_domain' = 2 does not divide 'gpus' = 1");
  EXPECT_EQ(error_of(group("nvlink_domain = 0\n")),
            "t.toml:16: 'nvlink_domain' must be 1..16, got 0");
}

TEST(FleetFile, RefusesEmptyRegionsSitesAndSwitches) {
  EXPECT_EQ(error_of("name = \"t\"\n[[region]]\nname = \"r1\"\nuplink_gbps = 1\n"),
            "t.toml:2: region 'r1' has no sites ([[region.site]])");
  EXPECT_EQ(error_of("name = \"t\"\n[[region]]\nname = \"r1\"\nuplink_gbps = 1\n"
                     "[[region.site]]\nname = \"{region}-s\"\nuplink_gbps = 1\n"),
            "t.toml:5: site '{region}-s' has no switches ([[region.site.switch]])");
  EXPECT_EQ(error_of(kHead.substr(0, kHead.find("      [[region.site.switch.nodes]]"))),
            "t.toml:8: switch 'w1' has no node groups ([[region.site.switch.nodes]])");
  EXPECT_EQ(error_of("name = \"t\"\n"), "t.toml:1: fleet has no regions ([[region]])");
  EXPECT_EQ(error_of("name = \"t\"\nregion = []\n"), "t.toml:1: fleet has no regions ([[region]])");
  EXPECT_EQ(error_of("name = \"t\"\nregion = 3\n"),
            "t.toml:2: 'region' must be an array of tables ([[region]])");
}

TEST(FleetFile, RefusesMisplacedOrUnknownPlaceholders) {
  EXPECT_EQ(error_of(kHead + "hosts = \"{node}-x\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:12: placeholder {node} cannot be used in 'hosts' of "
            "[[region.site.switch.nodes]]");
  EXPECT_EQ(error_of(group("provider = \"{owner}\"\n")),
            "t.toml:16: unknown placeholder {owner} in 'provider' (known: {region} {site} "
            "{switch} {node})");
  EXPECT_EQ(error_of(group("provider = \"{node\"\n")), "t.toml:16: unclosed '{' in 'provider'");
  EXPECT_EQ(error_of(with(group(), "\"r1\"", "\"{site}\"")),
            "t.toml:3: placeholder {site} cannot be used in 'name' of [[region]]");
}

TEST(FleetFile, RefusesWrongTypesAndOutOfRangeMoney) {
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = \"8\"\nuplink_gbps = 400\n"),
            "t.toml:14: 'gpus' must be an integer or a list of integers");
  EXPECT_EQ(error_of(kHead + "hosts = 5\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = 400\n"),
            "t.toml:12: 'hosts' must be a string");
  EXPECT_EQ(error_of(kHead + "hosts = \"n1\"\ngpu = \"h100\"\ngpus = 8\nuplink_gbps = \"fast\"\n"),
            "t.toml:15: 'uplink_gbps' must be a number or a list of numbers");
  EXPECT_EQ(error_of(group("price_usd_per_gpu_hour = -1\n")),
            "t.toml:16: 'price_usd_per_gpu_hour' must be 0..10000, got -1");
  EXPECT_EQ(error_of(group("watts = 0\n")),
            "t.toml:16: 'watts' must be positive and at most 100000, got 0");
}

TEST(FleetFile, RefusesReplicationThatWouldExplodeBeforeBuildingIt) {
  const std::string huge =
      with(with(group(), "\"w1\"", "\"w[1-3000]\""), "\"n[1-2]\"", "\"{switch}-n[1-1000]\"");
  EXPECT_EQ(error_of(huge), "t.toml:2: fleet has more than 2000000 nodes (replication typo?)");
  EXPECT_EQ(error_of(with(group(), "\"r1\"", "\"r[1-999999999999999999]\"")),
            "t.toml:2: fleet has more than 2000000 nodes (replication typo?)");
}

TEST(FleetFile, LoadFileNamesTheFileInErrors) {
  Result<Fleet> missing = load_fleet_file("/nonexistent/fleet.toml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), "/nonexistent/fleet.toml: cannot open fleet file");
  Result<Fleet> dir = load_fleet_file(kExamples);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.message(), kExamples + ": is a directory, not a fleet file");
}

// Nothing crashes: every prefix and many random corruptions of a real fleet
// file either load or give one "t.toml:LINE: " line.
TEST(FleetFile, NoInputCrashesTheLoader) {
  std::ifstream in(kExamples + "800xRTX4090-home.toml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string good = text.str();
  ASSERT_GT(good.size(), 1000u);
  auto check = [](const std::string& input) {
    Result<Fleet> f = parse(input);
    if (!f) {
      EXPECT_EQ(f.message().rfind("t.toml:", 0), 0u) << f.message();
      EXPECT_EQ(f.message().find('\n'), std::string::npos) << f.message();
    }
  };
  for (std::size_t n = 0; n <= good.size(); n += 7) check(good.substr(0, n));
  std::mt19937 rng(42);
  const std::string alphabet = "[]{}-,=\"'#\n 0123456789.x";
  for (int i = 0; i < 1500; ++i) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) {
      bad[rng() % bad.size()] = alphabet[rng() % alphabet.size()];
    }
    check(bad);
  }
}

std::map<std::string, std::uint32_t> gpus_by_type(const Fleet& f) {
  std::map<std::string, std::uint32_t> out;
  for (const Node& n : f.nodes()) out[f.catalog().at(n.gpu_type).name] += n.gpu_count;
  return out;
}

TEST(ExampleFleets, EightH100IsOneNvlinkBox) {
  Result<Fleet> f = load_fleet_file(kExamples + "8xH100.toml");
  ASSERT_TRUE(f) << f.message();
  ASSERT_EQ(f->nodes().size(), 1u);
  EXPECT_EQ(f->total_gpus(), 8u);
  EXPECT_EQ(gpus_by_type(*f), (std::map<std::string, std::uint32_t>{{"H100-SXM", 8}}));
  EXPECT_EQ(f->node_at(0).nvlink_domain_size, 8);
  EXPECT_DOUBLE_EQ(f->node_at(0).uplink.gbps, 3200);  // 8 x 400 Gb/s InfiniBand
  EXPECT_EQ(f->providers().size(), 1u);
}

TEST(ExampleFleets, HomeFleetIs800CardsFrom400HomesInThreeRegions) {
  Result<Fleet> f = load_fleet_file(kExamples + "800xRTX4090-home.toml");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->total_gpus(), 800u);
  EXPECT_EQ(gpus_by_type(*f), (std::map<std::string, std::uint32_t>{{"RTX4090", 800}}));
  EXPECT_EQ(f->nodes().size(), 400u);
  EXPECT_EQ(f->providers().size(), 400u);  // one provider per home machine
  ASSERT_EQ(f->regions().size(), 3u);
  std::map<int, int> cards;
  for (const Node& n : f->nodes()) {
    cards[n.gpu_count]++;
    EXPECT_EQ(n.nvlink_domain_size, 1);
    EXPECT_LE(n.uplink.gbps, 0.143);
    EXPECT_EQ(n.uplink.latency_us, 7000);
  }
  EXPECT_EQ(cards, (std::map<int, int>{{1, 200}, {2, 100}, {4, 100}}));
  // us-east to eu-west: two 7 ms home links plus eu-west's 40.25 ms = 80.5 ms round trip / 2.
  const std::uint32_t a = *f->find_node("us-east-home001");
  const std::uint32_t b = *f->find_node("eu-west-home001");
  EXPECT_EQ(f->path(a, b).latency_us, 7000 + 7000 + 40'250);
  EXPECT_DOUBLE_EQ(f->path(a, b).gbps, 0.0226);
  EXPECT_EQ(f->path(a, *f->find_node("ap-northeast-fibre001")).latency_us, 14'000 + 72'500);
}

TEST(ExampleFleets, DataCentre4090sAre100EightCardBoxes) {
  Result<Fleet> f = load_fleet_file(kExamples + "800xRTX4090-dc.toml");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->nodes().size(), 100u);
  EXPECT_EQ(f->total_gpus(), 800u);
  EXPECT_EQ(f->sites().size(), 1u);
  EXPECT_EQ(f->switches().size(), 4u);
  for (const Node& n : f->nodes()) {
    EXPECT_EQ(n.gpu_count, 8);
    EXPECT_EQ(n.nvlink_domain_size, 1);
    EXPECT_DOUBLE_EQ(n.uplink.gbps, 25);
  }
}

TEST(ExampleFleets, IoNetScaleIs800kGpusOn180kNodes) {
  Result<Fleet> f = load_fleet_file(kExamples + "ionet-scale.toml");
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->nodes().size(), 180'000u);
  EXPECT_EQ(f->total_gpus(), 800'000u);
  EXPECT_EQ(f->regions().size(), 4u);
  EXPECT_EQ(f->sites().size(), 16u);
  EXPECT_EQ(f->switches().size(), 3'180u);
  EXPECT_EQ(f->providers().size(), 101'984u);
  EXPECT_EQ(gpus_by_type(*f), (std::map<std::string, std::uint32_t>{{"A100-SXM-80GB", 51'200},
                                                                    {"H100-SXM", 51'200},
                                                                    {"H200", 25'600},
                                                                    {"L40S", 76'800},
                                                                    {"RTX-A6000", 40'000},
                                                                    {"RTX3090", 277'600},
                                                                    {"RTX4090", 277'600}}));
  // Data-centre switches hold 32-48 nodes.
  for (const Switch& s : f->switches()) {
    if (f->sites()[s.site].name.ends_with("-dc")) {
      EXPECT_GE(s.num_nodes, 32u);
      EXPECT_LE(s.num_nodes, 48u);
    }
  }
  EXPECT_EQ(f->regions()[3].name, "ap-northeast");
  EXPECT_EQ(f->regions()[3].uplink.latency_us, 72'500);
}

}  // namespace
}  // namespace flotilla
