// slurm/slurm_conf.h: slurm.conf, gres.conf and topology.conf as Slurm reads
// them, and the fleet they describe. The realistic cluster lives in
// tests/slurm/data/cluster/ (its shape is documented there); edge cases are
// written inline.
#include "slurm/slurm_conf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scheduler/fleet_file.h"

namespace flotilla {
namespace {

const std::string kData = std::string(FLOTILLA_SOURCE_DIR) + "/tests/slurm/data/cluster/";

class SlurmConfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("slurm_conf_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

Result<Fleet> fleet_of(const SlurmCluster& c, const std::string& provider = "") {
  Result<FleetExport> e = slurm_fleet_toml(c, {provider});
  if (!e) return e.status();
  return parse_fleet(e->toml, "imported");
}

TEST_F(SlurmConfTest, RealisticClusterNodesGresPartitionsAndIgnoredSettings) {
  Result<SlurmCluster> c = read_slurm_cluster({kData + "slurm.conf", kData + "gres.conf", ""});
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->cluster_name, "gpufarm");
  EXPECT_EQ(c->scheduler_type, "sched/backfill");
  EXPECT_EQ(c->priority_type, "priority/multifactor");
  ASSERT_EQ(c->nodes.size(), 13u);  // 8 HGX + 4 A100 from the Include, 1 login
  const SlurmNode& hgx = c->nodes[0];
  EXPECT_EQ(hgx.name, "hgx001");
  EXPECT_EQ(hgx.gpu_type, "h100");
  EXPECT_EQ(hgx.gpus, 8u);
  EXPECT_EQ(hgx.cpus, 128u);  // DEFAULT: 2 sockets x 32 cores x 2 threads
  EXPECT_EQ(hgx.real_memory_mb, 1031000u);
  EXPECT_EQ(hgx.state, "UNKNOWN");  // from the continued DEFAULT line
  EXPECT_EQ(hgx.weight, 10u);
  EXPECT_EQ(hgx.features, (std::vector<std::string>{"h100", "ib400"}));
  EXPECT_EQ(hgx.origin.file, kData + "nodes.conf");
  EXPECT_EQ(hgx.origin.line, 2u);
  const SlurmNode& a100 = c->nodes[8];
  EXPECT_EQ(a100.name, "a100-01");
  EXPECT_EQ(a100.gpu_type, "a100");  // the type comes from gres.conf
  EXPECT_EQ(a100.gpus, 4u);
  EXPECT_EQ(a100.cpus, 128u);  // CPUs= wins over the DEFAULT socket layout
  EXPECT_EQ(c->nodes[12].name, "login01");
  EXPECT_EQ(c->nodes[12].gpus, 0u);

  ASSERT_EQ(c->partitions.size(), 3u);
  EXPECT_EQ(c->partitions[0].name, "gpu");
  EXPECT_TRUE(c->partitions[0].is_default);
  EXPECT_EQ(c->partitions[0].nodes.size(), 12u);
  EXPECT_EQ(c->partitions[0].max_time, "2-00:00:00");  // PartitionName=DEFAULT
  EXPECT_EQ(c->partitions[1].max_time, "UNLIMITED");
  EXPECT_EQ(c->partitions[2].state, "DOWN");

  // Everything not used is listed with its line, never dropped silently.
  auto ignored = [&](const std::string& setting) {
    for (const IgnoredSetting& i : c->ignored) {
      if (i.setting == setting) return i.origin.where();
    }
    return std::string();
  };
  EXPECT_EQ(ignored("SlurmctldPort=6817"), kData + "slurm.conf:7");
  EXPECT_EQ(ignored("SchedulerParameters=bf_continue,bf_max_job_test=500"),
            kData + "slurm.conf:15");
  EXPECT_EQ(ignored("PartitionName=h100: PriorityTier=2"), kData + "slurm.conf:31");
  EXPECT_EQ(ignored("AutoDetect=off"), kData + "gres.conf:2");
  EXPECT_EQ(ignored("Cores=0-63"), kData + "gres.conf:4");
}

TEST_F(SlurmConfTest, SwitchTreeBecomesSitesAndSwitches) {
  Result<SlurmCluster> c =
      read_slurm_cluster({kData + "slurm.conf", kData + "gres.conf", kData + "topology.conf"});
  ASSERT_TRUE(c) << c.message();
  Result<FleetExport> e = slurm_fleet_toml(*c, {});
  ASSERT_TRUE(e) << e.message();
  EXPECT_EQ(e->cpu_only_nodes, 1u);
  Result<Fleet> f = parse_fleet(e->toml, "imported");
  ASSERT_TRUE(f) << f.message() << "\n" << e->toml;
  EXPECT_EQ(f->name(), "gpufarm");
  EXPECT_EQ(f->nodes().size(), 12u);
  EXPECT_EQ(f->total_gpus(), 8u * 8 + 4 * 4);
  ASSERT_EQ(f->sites().size(), 2u);
  EXPECT_EQ(f->sites()[0].name, "spine1");
  EXPECT_EQ(f->sites()[0].num_switches, 2u);
  EXPECT_EQ(f->sites()[1].name, "spine2");
  ASSERT_EQ(f->switches().size(), 3u);
  EXPECT_EQ(f->switches()[0].name, "leaf1");
  const std::uint32_t n1 = *f->find_node("hgx001"), n5 = *f->find_node("hgx005");
  const std::uint32_t a1 = *f->find_node("a100-01");
  EXPECT_EQ(f->common_level(n1, *f->find_node("hgx004")), Level::kSwitch);
  EXPECT_EQ(f->common_level(n1, n5), Level::kSite);
  EXPECT_EQ(f->common_level(n1, a1), Level::kRegion);
  EXPECT_EQ(f->catalog().at(f->node_at(n1).gpu_type).name, "H100-SXM");
  EXPECT_EQ(f->catalog().at(f->node_at(a1).gpu_type).name, "A100-SXM-80GB");
  EXPECT_EQ(f->providers(), std::vector<std::string>{"gpufarm"});
  // Slurm's facts the fleet has no field for stay in the file as comments.
  EXPECT_NE(e->toml.find("CPUs=128 RealMemory=1031000 Weight=10 Features=h100,ib400"),
            std::string::npos);
  EXPECT_NE(e->toml.find("# partition h100"), std::string::npos);
  EXPECT_NE(e->toml.find("SchedulerType=sched/backfill (flotilla sim --policy conservative)"),
            std::string::npos);
  EXPECT_NE(e->toml.find("slurm.conf:7: SlurmctldPort=6817"), std::string::npos);
}

TEST_F(SlurmConfTest, BlockTopologyGivesOneSwitchPerBlock) {
  Result<SlurmCluster> c = read_slurm_cluster(
      {kData + "slurm.conf", kData + "gres.conf", kData + "topology-block.conf"});
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->block_sizes, (std::vector<std::uint32_t>{4, 8}));
  Result<Fleet> f = fleet_of(*c, "acme");
  ASSERT_TRUE(f) << f.message();
  ASSERT_EQ(f->switches().size(), 2u);
  EXPECT_EQ(f->switches()[1].name, "b2");
  EXPECT_EQ(f->switches()[1].num_nodes, 8u);
  EXPECT_EQ(f->providers(), std::vector<std::string>{"acme"});
}

TEST_F(SlurmConfTest, NoTopologyFileGivesOneSwitchAndWeightOrder) {
  const std::string conf = write("slurm.conf",
                                 "NodeName=heavy[1-2] Gres=gpu:rtx_4090:1 Weight=50\n"
                                 "NodeName=light[1-2] Gres=gpu:rtx_4090:1 Weight=5\n");
  Result<SlurmCluster> c = read_slurm_cluster({conf, "", ""});
  ASSERT_TRUE(c) << c.message();
  Result<Fleet> f = fleet_of(*c);
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->name(), "cluster");
  ASSERT_EQ(f->switches().size(), 1u);
  // Slurm allocates lower Weight first: those nodes come first in the fleet.
  EXPECT_EQ(f->node_name(0), "light1");
  EXPECT_EQ(f->node_name(2), "heavy1");
}

TEST_F(SlurmConfTest, QuotesEscapedHashAndNodeSets) {
  const std::string conf = write("slurm.conf",
                                 "ClusterName=\"lab\"  # the name\n"
                                 "SlurmctldParameters=\"a b\\#c\"\n"
                                 "NodeName=g[1-4] Gres=gpu:l40s:2,nvme:1 Features=fast\n"
                                 "NodeSet=fastset Feature=fast\n"
                                 "PartitionName=p Nodes=fastset\n");
  Result<SlurmCluster> c = read_slurm_cluster({conf, "", ""});
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->cluster_name, "lab");
  ASSERT_FALSE(c->ignored.empty());
  EXPECT_EQ(c->ignored[0].setting, "SlurmctldParameters=a b#c");
  EXPECT_EQ(c->ignored[1].setting, "Gres=nvme:1 (not a GPU)");
  EXPECT_EQ(c->nodes[0].gpus, 2u);
  EXPECT_EQ(c->partitions[0].nodes.size(), 4u);
}

// Each bad input names its file and line; nothing crashes, nothing is dropped.
TEST_F(SlurmConfTest, BadInputIsReportedWithFileAndLine) {
  struct Case {
    std::string text, gres, want;
  };
  const std::vector<Case> cases = {
      {"NodeName=n1 Gres=gpu:h100:8\nbogus line\n", "",
       "slurm.conf:2: expected Key=Value, got 'bogus'"},
      {"NodeName=n[1-\n", "", "slurm.conf:1: NodeName: bad hostlist"},
      {"NodeName=n1 CPUs=many Gres=gpu:h100:1\n", "",
       "slurm.conf:1: CPUs: expected a whole number, got 'many'"},
      {"NodeName=n1 Gres=gpu:h100:1\nNodeName=n1 Gres=gpu:h100:1\n", "",
       "slurm.conf:2: duplicate node n1 (first at "},
      {"NodeName=n1 Gres=gpu:h100:1\nPartitionName=p Nodes=n2\n", "",
       "slurm.conf:2: partition p: node n2 has no NodeName line"},
      {"NodeName=n1 Gres=gpu:h100:4,gpu:a100:4\n", "",
       "slurm.conf:1: Gres: node has two GPU types (h100, a100)"},
      {"ClusterName=\"open\n", "", "slurm.conf:1: ClusterName: unterminated quote"},
      {"Include missing.conf\n", "", "slurm.conf:1: cannot read "},
      {"Include slurm.conf\n", "", "slurm.conf:1: Include loop through "},
      {"NodeName=n[1-2] Gres=gpu:h100:8\n",
       "NodeName=n[1-2] Name=gpu Type=h100 File=/dev/nvidia[0-3]\n",
       "gres.conf:1: gres.conf gives n1 4 GPUs, but "},
      {"NodeName=n1 Gres=gpu:h100:8\n", "Name=gpu Type=a100 File=/dev/nvidia[0-7]\n",
       "gres.conf:1: Type=a100 for n1, but "},
  };
  for (const Case& k : cases) {
    const std::string conf = write("slurm.conf", k.text);
    const std::string gres = k.gres.empty() ? "" : write("gres.conf", k.gres);
    Result<SlurmCluster> c = read_slurm_cluster({conf, gres, ""});
    ASSERT_FALSE(c) << k.text;
    EXPECT_NE(c.message().find(k.want), std::string::npos) << c.message();
  }
}

TEST_F(SlurmConfTest, UnmappableGpusAreErrorsWithTheLine) {
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases = {
      {"\nNodeName=n1 Gres=gpu:tesla_k80:4\n",
       "slurm.conf:2: n1: GPU type 'tesla_k80' is not in the GPU catalog"},
      {"NodeName=n1 Gres=gpu:4\n", "slurm.conf:1: n1: no GPU type"},
      {"NodeName=n1 Gres=gpu:h100:32\n",
       "slurm.conf:1: n1: 32 GPUs; a fleet node holds at most 16"},
      {"NodeName=n1 CPUs=4\n", "no node has GPUs"},
  };
  for (const Case& k : cases) {
    Result<SlurmCluster> c = read_slurm_cluster({write("slurm.conf", k.text), "", ""});
    ASSERT_TRUE(c) << c.message();
    Result<FleetExport> e = slurm_fleet_toml(*c, {});
    ASSERT_FALSE(e) << k.text;
    EXPECT_NE(e.message().find(k.want), std::string::npos) << e.message();
  }
}

TEST_F(SlurmConfTest, BadTopologyIsReportedWithTheLine) {
  const std::string conf = write("slurm.conf", "NodeName=n[1-2] Gres=gpu:h100:8\n");
  struct Case {
    std::string topo, want;
  };
  const std::vector<Case> cases = {
      {"SwitchName=s1 Nodes=n[1-3]\n", "topology.conf:1: s1: node n3 has no NodeName line"},
      {"SwitchName=s1 Nodes=n1\nSwitchName=top Switches=s[1-2]\n",
       "topology.conf:2: top: switch s2 has no SwitchName line"},
      {"SwitchName=a Switches=b Nodes=n1\nSwitchName=b Switches=a\n",
       "topology.conf:1: a: switch tree has a cycle"},
      {"SwitchName=s1 Nodes=n[1-2]\nSwitchName=s2 Nodes=n2\n",
       "topology.conf:2: s2: node n2 is already under another switch"},
      {"Bogus=1\n", "topology.conf:1: expected SwitchName=, BlockName= or BlockSizes=, got Bogus"},
  };
  for (const Case& k : cases) {
    Result<SlurmCluster> c = read_slurm_cluster({conf, "", write("topology.conf", k.topo)});
    Status s = c ? slurm_fleet_toml(*c, {}).status() : c.status();
    ASSERT_FALSE(s) << k.topo;
    EXPECT_NE(s.message().find(k.want), std::string::npos) << s.message();
  }
}

// The fleet file without its comments (which name the files read).
std::string without_comments(const std::string& toml) {
  std::istringstream in(toml);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    const std::size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line[first] != '#') out += line + "\n";
  }
  return out;
}

// topology.yaml (Slurm 24.11+, topology.yaml(5)) holding the tree of
// data/cluster/topology.conf as the cluster default and the blocks of
// topology-block.conf as a second topology.
const std::string kTopologyYaml =
    "# data/cluster's fabric, as topology.yaml\n"
    "---\n"
    "- topology: blocks\n"
    "  block:\n"
    "    block_sizes:\n"
    "      - 4\n"
    "      - 8\n"
    "    blocks:\n"
    "      - block: b1\n"
    "        nodes: hgx[001-004]\n"
    "      - block: b2\n"
    "        nodes: [\"hgx[005-008]\", \"a100-[01-04]\"]\n"
    "- topology: fabric\n"
    "  cluster_default: true\n"
    "  tree:\n"
    "    switches:\n"
    "      - switch: leaf1\n"
    "        nodes: hgx[001-004]\n"
    "      - switch: leaf2\n"
    "        nodes: hgx[005-008]\n"
    "      - switch: leaf3\n"
    "        nodes: a100-[01-04]\n"
    "      - switch: spine1\n"
    "        children: leaf[1-2]\n"
    "      - switch: spine2\n"
    "        children: leaf3\n";

TEST_F(SlurmConfTest, TopologyYamlTreeGivesTheFleetTopologyConfGives) {
  Result<SlurmCluster> from_conf =
      read_slurm_cluster({kData + "slurm.conf", kData + "gres.conf", kData + "topology.conf"});
  Result<SlurmCluster> from_yaml = read_slurm_cluster(
      {kData + "slurm.conf", kData + "gres.conf", write("topology.yaml", kTopologyYaml)});
  ASSERT_TRUE(from_conf) << from_conf.message();
  ASSERT_TRUE(from_yaml) << from_yaml.message();
  EXPECT_TRUE(from_yaml->blocks.empty());
  ASSERT_EQ(from_yaml->switches.size(), 5u);
  EXPECT_EQ(from_yaml->switches[3].name, "spine1");
  EXPECT_EQ(from_yaml->switches[3].switches, (std::vector<std::string>{"leaf1", "leaf2"}));
  EXPECT_EQ(from_yaml->switches[3].origin.line, 23u);
  Result<FleetExport> conf_fleet = slurm_fleet_toml(*from_conf, {});
  Result<FleetExport> yaml_fleet = slurm_fleet_toml(*from_yaml, {});
  ASSERT_TRUE(conf_fleet) << conf_fleet.message();
  ASSERT_TRUE(yaml_fleet) << yaml_fleet.message();
  EXPECT_EQ(without_comments(yaml_fleet->toml), without_comments(conf_fleet->toml));
  // The topology that is not the cluster default is listed, with its line.
  bool listed = false;
  for (const IgnoredSetting& i : from_yaml->ignored) {
    listed = listed || (i.setting == "topology blocks (block): not the cluster default" &&
                        i.origin.line == 3);
  }
  EXPECT_TRUE(listed);
}

TEST_F(SlurmConfTest, TopologyYamlBlocksGiveTheBlocksOfTopologyConf) {
  // Without cluster_default the first topology is the cluster's.
  std::string yaml = kTopologyYaml;
  yaml.erase(yaml.find("  cluster_default: true\n"), 24);
  Result<SlurmCluster> from_yaml =
      read_slurm_cluster({kData + "slurm.conf", kData + "gres.conf", write("topology.yml", yaml)});
  Result<SlurmCluster> from_conf = read_slurm_cluster(
      {kData + "slurm.conf", kData + "gres.conf", kData + "topology-block.conf"});
  ASSERT_TRUE(from_yaml) << from_yaml.message();
  ASSERT_TRUE(from_conf) << from_conf.message();
  EXPECT_TRUE(from_yaml->switches.empty());
  EXPECT_EQ(from_yaml->block_sizes, from_conf->block_sizes);
  ASSERT_EQ(from_yaml->blocks.size(), 2u);
  EXPECT_EQ(from_yaml->blocks[1].nodes, from_conf->blocks[1].nodes);
  Result<FleetExport> a = slurm_fleet_toml(*from_yaml, {}), b = slurm_fleet_toml(*from_conf, {});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(without_comments(a->toml), without_comments(b->toml));
}

TEST_F(SlurmConfTest, TopologyYamlFlatAndRingGiveOneSwitch) {
  const std::string conf = write("slurm.conf", "NodeName=n[1-4] Gres=gpu:h100:8\n");
  for (const std::string kind : {"flat: true",
                                 "ring:\n    rings:\n      - ring: r0\n"
                                 "        nodes: n[1-4]"}) {
    Result<SlurmCluster> c =
        read_slurm_cluster({conf, "", write("topology.yaml", "- topology: t\n  " + kind + "\n")});
    ASSERT_TRUE(c) << c.message();
    EXPECT_TRUE(c->switches.empty() && c->blocks.empty());
    Result<Fleet> f = fleet_of(*c);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->switches().size(), 1u);
  }
}

TEST_F(SlurmConfTest, BadTopologyYamlIsReportedWithTheLine) {
  const std::string conf = write("slurm.conf", "NodeName=n[1-2] Gres=gpu:h100:8\n");
  struct Case {
    std::string yaml, want;
  };
  const std::string tree = "- topology: t\n  tree:\n    switches:\n";
  const std::vector<Case> cases = {
      {"", "topology.yaml:1: no topologies"},
      {"topology: t\n", "topology.yaml:1: expected a list of topologies"},
      {"- tree:\n    switches: []\n  topology: t\n",
       "topology.yaml:1: a topology's first attribute must be \"topology: NAME\""},
      {"- topology: t\n  cluster_default: maybe\n  flat: true\n",
       "topology.yaml:2: cluster_default: expected true or false, got 'maybe'"},
      {"- topology: t\n  flat: true\n  tree:\n    switches: []\n",
       "topology.yaml:3: topology t: both flat and tree"},
      {"- topology: t\n  cluster_default: true\n", "topology.yaml:1: topology t: no type"},
      {"- topology: t\n  flat: true\n- topology: t\n  flat: true\n",
       "topology.yaml:3: duplicate topology t (first at "},
      {"- topology: t\n  tree:\n    links: []\n", "topology.yaml:3: topology t: no switches:"},
      {tree + "      - switch: s1\n        nodes: n[1-3]\n",
       "topology.yaml:4: s1: node n3 has no NodeName line"},
      {tree + "      - nodes: n1\n",
       "topology.yaml:4: switches: an entry without \"switch: NAME\""},
      {tree + "      - switch: s1\n        nodes: n1\n      - switch: s1\n        nodes: n2\n",
       "topology.yaml:6: duplicate switch s1 (first at "},
      {tree + "      - switch: s1\n        nodes: n[1-\n", "topology.yaml:5: nodes: "},
      {tree + "      - switch: s1\n        nodes: {a: 1}\n",
       "topology.yaml:5: nodes: expected a single value"},
      {tree + "      - switch: top\n        children: s9\n",
       "topology.yaml:4: top: switch s9 has no SwitchName line"},
      {"- topology: t\n  block:\n    block_sizes: [4, x]\n    blocks: []\n",
       "topology.yaml:3: block_sizes: expected a whole number, got 'x'"},
      {"- topology: t\n  tree: [\n", "topology.yaml:3: YAML: "},
  };
  for (const Case& k : cases) {
    Result<SlurmCluster> c = read_slurm_cluster({conf, "", write("topology.yaml", k.yaml)});
    Status s = c ? slurm_fleet_toml(*c, {}).status() : c.status();
    ASSERT_FALSE(s) << k.yaml;
    EXPECT_NE(s.message().find(k.want), std::string::npos) << k.yaml << "\n" << s.message();
  }
}

}  // namespace
}  // namespace flotilla
