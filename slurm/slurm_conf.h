// A Slurm cluster as its administrator wrote it down: slurm.conf (nodes,
// partitions, node sets, the scheduling plugins), gres.conf (GPU types and
// device files) and topology.conf or topology.yaml (switch trees or blocks),
// read the way Slurm's own parser (src/common/parse_config.c, read_config.c,
// gres.c, src/plugins/topology/tree/switch_record.c, topology/block;
// topology.yaml(5) for the YAML form) reads them, and turned into a flotilla
// fleet file.
//
// File syntax as Slurm takes it: one "Key=Value ..." record per line, keys
// case-insensitive, values optionally in double quotes, '#' starts a comment
// unless written "\#", a trailing '\' joins the next line, and "Include FILE"
// (relative paths from the including file's folder) reads another file in
// place. "NodeName=DEFAULT" / "PartitionName=DEFAULT" lines set defaults for
// the lines after them, as in Slurm.
//
// Nothing is dropped silently: a key that does not shape the fleet is listed
// in SlurmCluster::ignored with its file and line; what cannot be represented
// (an unknown GPU type, a node with two GPU types or more than 16 GPUs, a
// switch naming an unknown switch) is an error "FILE:LINE: what".
// Pure functions apart from reading the named files; no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/status.h"

namespace flotilla {

// Where a record came from, for "FILE:LINE: what".
struct ConfOrigin {
  std::string file;
  std::size_t line = 0;
  std::string where() const { return file + ":" + std::to_string(line); }
};

struct SlurmNode {
  std::string name;
  std::string gpu_type;  // as written in Gres= or gres.conf Type=; empty: none given
  std::uint32_t gpus = 0;
  std::uint32_t cpus = 1;
  std::uint64_t real_memory_mb = 1;  // Slurm's default RealMemory is 1
  std::vector<std::string> features;
  std::uint32_t weight = 1;  // lower weights are allocated first
  std::string state;         // State= as written, empty when not given
  ConfOrigin origin;         // the NodeName line
};

struct SlurmPartition {
  std::string name;
  std::vector<std::string> nodes;  // expanded, in the order written
  bool is_default = false;
  std::string max_time;  // as written ("UNLIMITED", "1-00:00:00"), empty when unset
  std::string state;
  ConfOrigin origin;
};

// A topology.conf switch or a block of topology/block.
struct SlurmSwitch {
  std::string name;
  std::vector<std::string> nodes;     // Nodes=, expanded
  std::vector<std::string> switches;  // Switches=, expanded (tree only)
  std::string link_speed;             // LinkSpeed= as written (unitless in Slurm)
  ConfOrigin origin;
};

// One ignored setting, e.g. {slurm.conf:12, "SlurmctldPort=6817"}.
struct IgnoredSetting {
  ConfOrigin origin;
  std::string setting;
};

struct SlurmCluster {
  std::string slurm_conf;        // the path it was read from
  std::string cluster_name;      // ClusterName=, default "cluster"
  std::string select_type;       // SelectType=, e.g. "select/cons_tres"
  std::string scheduler_type;    // SchedulerType=, Slurm's default "sched/backfill"
  std::string priority_type;     // PriorityType=, default "priority/basic"
  std::string topology_plugin;   // TopologyPlugin=, e.g. "topology/tree"
  std::vector<SlurmNode> nodes;  // in slurm.conf order
  std::vector<SlurmPartition> partitions;
  std::vector<SlurmSwitch> switches;  // topology.conf SwitchName= lines, in order
  std::vector<SlurmSwitch> blocks;    // topology.conf BlockName= lines, in order
  std::vector<std::uint32_t> block_sizes;
  std::vector<IgnoredSetting> ignored;
};

struct SlurmConfPaths {
  std::string slurm_conf;
  std::string gres_conf;  // optional
  // optional; topology.conf (SwitchName=/BlockName= lines), or, when the name
  // ends in .yaml/.yml, topology.yaml (the cluster_default topology's tree or
  // blocks; the other topologies, ring and torus3d are listed as ignored)
  std::string topology_conf;
};

// Reads the files. Errors ("FILE:LINE: what", the first problem only): a file
// that cannot be read, a token that is not Key=Value, a malformed number,
// hostlist, Gres= or time, an unterminated quote, a duplicate node, switch or
// partition, a partition or switch naming a node that no NodeName line
// declares, an Include loop, a GPU count in gres.conf that does not match
// slurm.conf; in topology.yaml also YAML syntax, a topology without a type
// or with two, a switch or block without a name, a value of the wrong shape.
Result<SlurmCluster> read_slurm_cluster(const SlurmConfPaths& paths);

struct FleetExport {
  std::string toml;                  // a fleet file (scheduler/fleet_file.h)
  std::vector<std::string> notes;    // "FILE:LINE: what" for things mapped approximately
  std::uint64_t cpu_only_nodes = 0;  // nodes without GPUs: listed in notes, not in the fleet
};

struct FleetExportOptions {
  std::string provider;  // who gets paid for every node; default the cluster name
};

// The fleet: region = the cluster; site = the parent of a leaf switch (or the
// cluster when there is no tree); switch = a leaf switch (or a block, or one
// switch for the whole cluster); nodes in Weight order, then as written.
// CPUs, RealMemory, Features, Weight and partitions are kept as comments.
// Errors "FILE:LINE: what": a GPU type the catalog does not know (or none
// given), a node with more GPUs than a fleet node holds, a fleet without GPUs,
// a switch tree with a cycle or an unknown switch.
Result<FleetExport> slurm_fleet_toml(const SlurmCluster& cluster, const FleetExportOptions& options,
                                     const GpuCatalog& catalog = GpuCatalog::builtin());

}  // namespace flotilla
