// Fleet files: a Fleet written in TOML, short enough that 800,000 GPUs fit in a
// few dozen lines. Reading only; the result is an ordinary immutable Fleet.
//
//   name = "lab"                          # required
//
//   [[region]]                            # one or more; link = region <-> the rest
//   name = "us-east"                      #   required; a hostlist replicates the entry
//   uplink_gbps = 1.2                     #   required, > 0, Gb/s
//   latency_ms = 0                        #   optional, >= 0, one-way (or latency_us)
//
//     [[region.site]]                     # one or more per region; link = site <-> region
//     name = "{region}-dc"                #   same keys as a region
//     uplink_gbps = 100
//
//       [[region.site.switch]]            # one or more per site; link = switch <-> site
//       name = "{site}-leaf[001-250]"     #   250 switches, each with the nodes below
//       uplink_gbps = 102400
//
//         [[region.site.switch.nodes]]    # one or more node groups per switch
//         hosts = "{switch}-n[01-32]"     #   required hostlist (see hostlist.h)
//         gpu = "h100"                    #   required, catalog name or alias
//         gpus = 8                        #   required, 1..16 per node, or a list
//                                         #   cycled over the hosts: [1, 2, 4, 1]
//         nvlink_domain = 8               #   GPUs per NVLink/P2P domain; must divide
//                                         #   gpus; default all GPUs of the node if
//                                         #   the catalog says nvlink, else 1
//         provider = "{site}"             #   who gets paid; default "{site}"
//         price_usd_per_gpu_hour = 2.4    #   default: the catalog price
//         watts = 5600                    #   whole node at full load; default
//                                         #   gpus x catalog watts
//         uplink_gbps = 3200              #   required, node <-> switch
//         latency_us = 1                  #   optional
//
// Replication: a region, site or switch `name` that is a hostlist
// ("leaf[001-100]", "a,b") stands for one copy of the entry, children
// included, per name. Placeholders are replaced per copy: `{region}` in site
// names, `{region}` `{site}` in switch names, `{region}` `{site}` `{switch}` in
// hosts, and all of those plus `{node}` (the host's own name) in `provider`.
// Lists: `uplink_gbps`, `latency_ms` and `latency_us` of any entry, and `gpus`
// of a node group, may be lists, cycled over the entry's copies (or the group's
// hosts): name = "us-east,eu-west" with latency_ms = [0, 40.25].
// Latency: the one-way latency of the link to the parent; the latency between
// two nodes is the sum of the links climbed from both ends (Fleet::path).
//
// Errors: the first problem only, as "FILE:LINE: what" (see status.h), the line
// being that of the offending key or, for a replicated entry, of the entry as
// written: TOML syntax, unknown keys, missing or mistyped fields, unknown GPU
// type, bad hostlist, bandwidth <= 0, negative latency, GPU count outside
// 1..16, nvlink_domain not dividing the GPU count, duplicate host, an entry
// without children, and fleets over kMaxFleetNodes nodes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "scheduler/fleet.h"
#include "scheduler/gpu_catalog.h"
#include "scheduler/status.h"

namespace flotilla {

// More nodes than this are refused (about 200 bytes each once built), so a
// replication typo cannot exhaust memory. io.net's claimed scale is 180,000.
constexpr std::size_t kMaxFleetNodes = 2'000'000;

// Reads and parses the file at `path`; errors name `path`.
Result<Fleet> load_fleet_file(const std::string& path,
                              const GpuCatalog& catalog = GpuCatalog::builtin());

// Parses fleet TOML text; `origin` names it in errors. `catalog` must outlive
// the Fleet.
Result<Fleet> parse_fleet(std::string_view toml, const std::string& origin,
                          const GpuCatalog& catalog = GpuCatalog::builtin());

}  // namespace flotilla
