#include "scheduler/request.h"

#include <string_view>

namespace flotilla {
namespace {

Status add_types(std::string_view list, char sep, const GpuCatalog& catalog, GpuTypeSet& types,
                 const char* what) {
  while (!list.empty()) {
    const std::size_t cut = list.find(sep);
    const std::string_view name = list.substr(0, cut);
    std::optional<GpuTypeId> id = catalog.find(name);
    if (!id) {
      return Status::error(std::string(what) + ": unknown GPU type '" + std::string(name) + "'");
    }
    types.set(*id);
    list = cut == std::string_view::npos ? std::string_view() : list.substr(cut + 1);
  }
  return Status::ok();
}

std::uint32_t ceil_div(std::uint32_t a, std::uint32_t b) {
  return (a + b - 1) / b;
}

}  // namespace

// The GPU shape, from Slurm's options in this order of precedence:
//   --gpus-per-node G (or --gres=gpu:G): G GPUs on each of --nodes nodes;
//   --gpus-per-task T: T per task; with --ntasks-per-node K that is K*T per
//     node, otherwise the tasks' GPUs are spread over --nodes (an even split
//     when it divides, else as few nodes as fit, at most --nodes);
//   --gpus G: G in all, split the same way;
//   none: only an --exclusive job may hold whole nodes without naming GPUs.
// --constraint may list acceptable GPU types as features ("h100|a100").
Result<PlacementRequest> resolve_placement(const JobRequest& r, const GpuCatalog& catalog) {
  PlacementRequest p;
  for (const std::string& t : r.gpu_types) {
    if (Status s = add_types(t, ',', catalog, p.types, "GPU type"); !s) return s;
  }
  if (!r.constraint.empty()) {
    if (r.constraint.find_first_of("&,*[]()") != std::string::npos) {
      return Status::error("--constraint: only GPU types separated by '|' are supported, got '" +
                           r.constraint + "'");
    }
    GpuTypeSet constrained;
    if (Status s = add_types(r.constraint, '|', catalog, constrained, "--constraint"); !s) return s;
    p.types = p.types.any() ? (p.types & constrained) : constrained;
    if (p.types.none()) {
      return Status::error("--constraint '" + r.constraint + "' excludes every requested GPU type");
    }
  }
  p.min_gpu_mem_gb = r.min_gpu_mem_gb.value_or(0);
  p.exclusive = r.exclusive;
  p.max_switches = r.switches;
  if (r.switches && *r.switches == 0) return Status::error("--switches must be at least 1");

  const std::uint32_t nodes = r.nodes_min.value_or(0);
  auto split = [&](std::uint32_t total) {
    p.total_gpus = total;
    if (nodes > 0 && total % nodes == 0) {
      p.nodes = nodes;
      p.gpus_per_node = total / nodes;
    } else {
      p.nodes = nodes;  // a cap on the node count
      p.gpus_per_node = 0;
    }
  };

  if (r.gpu_milli < 1000) {
    if (r.gpu_milli == 0) return Status::error("a GPU share must be more than 0");
    if (r.gpus.value_or(1) != 1 || r.gpus_per_node || r.gpus_per_task || nodes > 1) {
      return Status::error("a GPU share is one part of one GPU");
    }
    p.nodes = 1;
    p.total_gpus = 1;
    p.gpu_milli = r.gpu_milli;
    return p;
  }
  if (r.gpus_per_node) {
    p.gpus_per_node = *r.gpus_per_node;
    p.nodes = nodes > 0 ? nodes
              : (r.ntasks && r.ntasks_per_node && *r.ntasks_per_node > 0)
                  ? ceil_div(*r.ntasks, *r.ntasks_per_node)
                  : 1;
    p.total_gpus = p.nodes * p.gpus_per_node;
  } else if (r.gpus_per_task) {
    const std::uint32_t per_task = *r.gpus_per_task;
    const std::uint32_t tasks = r.ntasks                           ? *r.ntasks
                                : (nodes > 0 && r.ntasks_per_node) ? nodes * *r.ntasks_per_node
                                                                   : std::max(nodes, 1u);
    if (r.ntasks_per_node && *r.ntasks_per_node > 0) {
      p.gpus_per_node = *r.ntasks_per_node * per_task;
      p.nodes = std::max(nodes, ceil_div(tasks, *r.ntasks_per_node));
      p.total_gpus = p.nodes * p.gpus_per_node;
    } else {
      split(tasks * per_task);
    }
  } else if (r.gpus) {
    split(*r.gpus);
  } else if (r.exclusive) {
    p.nodes = std::max(nodes, 1u);
    p.gpus_per_node = 1;  // any node, held whole
    p.total_gpus = p.nodes;
  } else {
    return Status::error(
        "the job asks for no GPU (use --gpus, --gres=gpu:N, --gpus-per-node, "
        "--gpus-per-task or --exclusive)");
  }
  if (p.total_gpus == 0) return Status::error("the job asks for 0 GPUs");
  return p;
}

}  // namespace flotilla
