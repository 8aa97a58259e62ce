// Alibaba v2023 pod and node list readers; the mapping is documented in alibaba.h.
#include "traces/alibaba.h"

#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "traces/text_input.h"

namespace flotilla {
namespace {

using trace_input::parse_int;

using trace_input::bad_field;

bool non_negative(std::string_view s, std::int64_t& out) {
  return parse_int(s, out) && out >= 0;
}

}  // namespace

Result<Trace> read_alibaba_pods(const std::string& path) {
  auto opened = trace_input::open_csv(path, kAlibabaPodHeader);
  if (!opened) return opened.status();
  trace_input::LineReader& in = **opened;

  const GpuCatalog& catalog = GpuCatalog::builtin();
  const GpuTypeId g2 = catalog.find("G2").value();
  Trace trace;
  trace.origin = path;
  trace.qos.clear();  // the trace names its own classes
  std::vector<std::string_view> f, types;
  std::uint64_t row = 0;
  while (true) {
    Result<bool> more = trace_input::next_row(in, 11, f);
    if (!more) return more.status();
    if (!*more) break;
    const std::uint64_t id = row++;
    std::int64_t cpu = 0, mem = 0, num_gpu = 0, milli = 0, created = 0, deleted = 0;
    if (trace_input::trim(f[0]).empty()) return bad_field(in, "name", "expected a pod name", f[0]);
    if (!non_negative(f[1], cpu))
      return bad_field(in, "cpu_milli", "expected an integer >= 0", f[1]);
    if (!non_negative(f[2], mem))
      return bad_field(in, "memory_mib", "expected an integer >= 0", f[2]);
    if (!non_negative(f[3], num_gpu) || num_gpu > 1'000'000) {
      return bad_field(in, "num_gpu", "expected an integer >= 0", f[3]);
    }
    if (!non_negative(f[4], milli) || milli > 1000) {
      return bad_field(in, "gpu_milli", "expected an integer 0..1000", f[4]);
    }
    const std::string_view phase = f[7];
    if (phase != "Pending" && phase != "Running" && phase != "Succeeded" && phase != "Failed") {
      return bad_field(in, "pod_phase", "expected Pending, Running, Succeeded or Failed", phase);
    }
    if (!non_negative(f[8], created)) {
      return bad_field(in, "creation_time", "expected seconds >= 0", f[8]);
    }
    if (!non_negative(f[9], deleted)) {
      return bad_field(in, "deletion_time", "expected seconds >= 0", f[9]);
    }
    std::optional<std::int64_t> scheduled;
    if (!f[10].empty()) {
      std::int64_t s = 0;
      if (!non_negative(f[10], s))
        return bad_field(in, "scheduled_time", "expected seconds >= 0", f[10]);
      scheduled = s;
    }
    if (trace_input::trim(f[6]).empty()) return bad_field(in, "qos", "expected a QoS class", f[6]);

    if (num_gpu == 0) {  // CPU-only pod: not GPU work (alibaba.h)
      ++trace.skipped_records;
      continue;
    }
    TraceJob job;
    job.id = id;
    job.source_line = static_cast<std::uint32_t>(in.line_number());
    job.submit = Seconds{created};
    if (milli == 0) return bad_field(in, "gpu_milli", "expected 1..1000 for a GPU pod", f[4]);
    if (milli < 1000 && num_gpu != 1) {
      return bad_field(in, "gpu_milli", "a share of a GPU needs num_gpu 1", f[4]);
    }
    job.shape.total_gpus = static_cast<std::uint32_t>(num_gpu);
    job.shape.gpu_milli = static_cast<std::uint16_t>(milli);
    std::optional<GpuTypeId> only_type;
    if (!f[5].empty()) {
      trace_input::split(f[5], '|', types);
      for (std::string_view name : types) {
        const std::optional<GpuTypeId> t = catalog.find(name);
        if (!t)
          return bad_field(in, "gpu_spec", "unknown GPU model '" + std::string(name) + "'", f[5]);
        job.shape.types.set(*t);
        only_type = types.size() == 1 ? t : std::nullopt;
      }
    }
    job.work.reference_gpu = only_type.value_or(g2);
    const std::int64_t start = scheduled.value_or(created);
    if (deleted < start) {
      return bad_field(in, "deletion_time",
                       std::string("before ") + (scheduled ? "scheduled_time" : "creation_time"),
                       f[9]);
    }
    job.work.reference_runtime = Seconds{deleted - start};
    const std::uint32_t q = Trace::intern(trace.qos, f[6]);
    if (q > UINT8_MAX) return bad_field(in, "qos", "more than 256 QoS classes", f[6]);
    job.qos = static_cast<std::uint8_t>(q);
    trace.jobs.push_back(std::move(job));
  }
  if (trace.qos.empty()) trace.qos.emplace_back("normal");
  trace_input::sort_jobs(trace.jobs);
  return trace;
}

Result<Fleet> read_alibaba_nodes(const std::string& path) {
  auto opened = trace_input::open_csv(path, kAlibabaNodeHeader);
  if (!opened) return opened.status();
  trace_input::LineReader& in = **opened;

  const GpuCatalog& catalog = GpuCatalog::builtin();
  // ASSUMED link speeds (alibaba.h): the trace publishes no network.
  constexpr Link kNodeLink{100, 1}, kSwitchLink{3200, 2}, kSiteLink{3200, 5};
  FleetBuilder builder("alibaba-v2023", catalog);
  builder.add_region("alibaba", kSiteLink);
  builder.add_site("alibaba-dc", kSiteLink);
  std::uint32_t in_switch = kAlibabaNodesPerSwitch, switches = 0;
  std::vector<std::string_view> f;
  while (true) {
    Result<bool> more = trace_input::next_row(in, 5, f);
    if (!more) return more.status();
    if (!*more) break;
    std::int64_t cpu = 0, mem = 0, gpus = 0;
    if (trace_input::trim(f[0]).empty()) return bad_field(in, "sn", "expected a node name", f[0]);
    if (!non_negative(f[1], cpu))
      return bad_field(in, "cpu_milli", "expected an integer >= 0", f[1]);
    if (!non_negative(f[2], mem))
      return bad_field(in, "memory_mib", "expected an integer >= 0", f[2]);
    if (!non_negative(f[3], gpus) || gpus > kMaxGpusPerNode) {
      return bad_field(in, "gpu", "expected an integer 0.." + std::to_string(kMaxGpusPerNode),
                       f[3]);
    }
    if (gpus == 0) continue;  // CPU-only node: not part of a GPU fleet (alibaba.h)
    const std::optional<GpuTypeId> type = catalog.find(f[4]);
    if (!type) return bad_field(in, "model", "unknown GPU model", f[4]);
    if (in_switch == kAlibabaNodesPerSwitch) {
      char name[16];
      std::snprintf(name, sizeof name, "sw%03u", switches++);
      builder.add_switch(name, kSwitchLink);
      in_switch = 0;
    }
    ++in_switch;
    const GpuType& info = catalog.at(*type);
    Node node;
    node.gpu_type = *type;
    node.gpu_count = static_cast<std::uint8_t>(gpus);
    node.nvlink_domain_size = info.nvlink ? node.gpu_count : 1;
    node.price_micro_usd_per_gpu_hour = info.price_micro_usd_per_hour;
    node.watts = static_cast<std::uint32_t>(std::llround(info.watts * static_cast<double>(gpus)));
    node.uplink = kNodeLink;
    if (Status s = builder.add_node(std::string(f[0]), node, "alibaba"); !s) {
      return Status::at(path, in.line_number(), s.message());
    }
  }
  if (switches == 0) return Status::at(path, in.line_number(), "no GPU nodes");
  return builder.build();
}

}  // namespace flotilla
