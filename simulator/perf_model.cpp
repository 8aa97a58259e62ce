#include "simulator/perf_model.h"

#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <boost/container/small_vector.hpp>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <vector>

extern const std::string_view flotilla_perf_model_toml;

namespace flotilla {
namespace {

// The names perf_model.toml uses for the classes, in enum order (the same
// spelling as workload_class_name(), which lives in traces/ and is not needed
// here).
constexpr std::array<std::string_view, kWorkloadClasses> kClassNames = {
    "unknown",        "inference", "lora-finetune", "full-finetune",
    "small-training", "hpo-sweep", "pretraining"};

Status bad(const std::string& origin, const toml::source_region& where, const std::string& what) {
  return Status::at(origin, where.begin.line == 0 ? 1 : where.begin.line, what);
}

// Keys of `t` not in `allowed` are an error at the key's line.
Status only_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 const std::string& origin, std::string_view where) {
  for (auto&& [key, value] : t) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
      return bad(origin, key.source(),
                 "unknown key '" + std::string(key.str()) + "' in " + std::string(where));
    }
  }
  return Status::ok();
}

// A number in [lo, hi] (lo excluded when `open_lo`).
Status number(const toml::table& t, std::string_view key, double lo, double hi, bool open_lo,
              const std::string& origin, double& out) {
  const toml::node* n = t.get(key);
  if (!n) return bad(origin, t.source(), "missing field '" + std::string(key) + "'");
  std::optional<double> v = n->value<double>();
  const bool ok = v && std::isfinite(*v) && (open_lo ? *v > lo : *v >= lo) && *v <= hi;
  if (!ok) {
    char range[96];
    std::snprintf(range, sizeof range, "%s%g, %g]", open_lo ? "(" : "[", lo, hi);
    return bad(origin, n->source(), "'" + std::string(key) + "' must be a number in " + range);
  }
  out = *v;
  return Status::ok();
}

const toml::table* sub_table(const toml::table& root, std::string_view key) {
  return root.get(key) ? root.get(key)->as_table() : nullptr;
}

// "1,190": whole number with thousands separators.
std::string grouped(double v) {
  const std::string digits = std::to_string(static_cast<long long>(std::llround(v)));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "70B", "1.3B", "350M".
std::string params_name(double n) {
  const bool billions = n >= 1e9;
  const double v = n / (billions ? 1e9 : 1e6);
  char buf[32];
  if (std::abs(v - std::round(v)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, billions ? "B" : "M");
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, billions ? "B" : "M");
  }
  return buf;
}

std::string gb_name(double gb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", gb);
  return buf;
}

// Width and depth of a transformer with N parameters: N = 12 L d^2, d = w L.
struct Arch {
  double layers = 1;
  double width = 1;
};
Arch arch_of(double params, double width_per_layer) {
  const double d = std::cbrt(params * width_per_layer / 12.0);
  return Arch{.layers = std::max(1.0, d / width_per_layer), .width = d};
}

// One GPU of the job, in rank order.
struct Rank {
  std::uint32_t node = 0;
  unsigned local = 0;  // index inside the node
};

// Computed for every job start, so jobs of up to 16 GPUs (most) need no heap.
using Ranks = boost::container::small_vector<Rank, 16>;

Ranks ranks_of(const Placement& p) {
  Ranks ranks;
  for (const NodeAlloc& a : p.allocs) {
    for (std::uint16_t m = a.gpu_mask; m != 0; m &= static_cast<std::uint16_t>(m - 1)) {
      ranks.push_back(Rank{.node = a.node, .local = static_cast<unsigned>(std::countr_zero(m))});
    }
  }
  return ranks;
}

// A transfer's bandwidth (bytes/s) and one-way latency (s).
struct Hop {
  double bytes_per_s = std::numeric_limits<double>::infinity();
  double latency_s = 0;
};

// Ring all-reduce of `bytes` over `n` ranks whose slowest ring link is `h`
// ([NCCL] in perf_model.toml).
double ring_allreduce_s(double bytes, double n, const Hop& h) {
  if (n <= 1) return 0;
  return 2 * (n - 1) / n * bytes / h.bytes_per_s + 2 * (n - 1) * h.latency_s;
}

// Slowest bandwidth and largest latency of two hops, for rings and pipelines.
Hop worst(const Hop& a, const Hop& b) {
  return Hop{.bytes_per_s = std::min(a.bytes_per_s, b.bytes_per_s),
             .latency_s = std::max(a.latency_s, b.latency_s)};
}

// The GPUs of one placement as the step costing sees them: ranks, the hop
// between two ranks, NVLink groups. An ideal Costing stands for every
// placement of `size` GPUs of one type at once: hops cost nothing and any
// group may be an NVLink group, so no placement costs less (min_runtime()).
class Costing {
 public:
  Costing(const PerfConstants& c, const Fleet& fleet, const Placement& p)
      : c_(c),
        fleet_(&fleet),
        type_(fleet.catalog().at(p.gpu_type)),
        ranks_(ranks_of(p)),
        size_(ranks_.size()) {
    // A share of one GPU runs at that share of its speed.
    if (p.allocs.size() == 1 && p.allocs[0].milli < 1000) share_ = p.allocs[0].milli / 1000.0;
  }
  Costing(const PerfConstants& c, const GpuType& type, std::size_t size, double share)
      : c_(c), type_(type), size_(size), share_(share) {}

  std::size_t size() const { return size_; }
  const GpuType& type() const { return type_; }
  double share() const { return share_; }

  Hop hop(std::size_t a, std::size_t b) const {
    if (!fleet_) return Hop{};
    const Rank& x = ranks_[a];
    const Rank& y = ranks_[b];
    if (x.node == y.node) {
      if (x.local == y.local) return Hop{};
      const unsigned domain = fleet_->node_at(x.node).nvlink_domain_size;
      const bool same_domain = domain > 1 && x.local / domain == y.local / domain;
      const double gbs =
          same_domain ? type_.intra_node_gbs : std::min(type_.intra_node_gbs, c_.pcie_gbs);
      return Hop{.bytes_per_s = gbs * 1e9, .latency_s = 0};
    }
    const Link l = fleet_->path(x.node, y.node);
    return Hop{.bytes_per_s = l.gbps * 1e9 / 8,
               .latency_s = static_cast<double>(l.latency_us) * 1e-6};
  }

  // Ranks [first, first + t) share one node and one NVLink domain.
  bool nvlink_group(std::size_t first, unsigned t) const {
    if (t == 1) return true;
    if (!type_.nvlink) return false;
    if (!fleet_) return true;
    const Rank& r0 = ranks_[first];
    const unsigned domain = fleet_->node_at(r0.node).nvlink_domain_size;
    if (domain < t) return false;
    for (std::size_t i = first + 1; i < first + t; ++i) {
      if (ranks_[i].node != r0.node || ranks_[i].local / domain != r0.local / domain) return false;
    }
    return true;
  }

 private:
  const PerfConstants& c_;
  const Fleet* fleet_ = nullptr;  // null: ideal
  const GpuType& type_;
  Ranks ranks_;
  std::size_t size_ = 0;
  double share_ = 1.0;
};

std::size_t rank_index(const ParallelLayout& l, unsigned tp, unsigned stage, unsigned replica) {
  const std::size_t t = l.tensor, p = l.pipeline, d = l.data;
  return l.stage_major ? (stage * d + replica) * t + tp : (replica * p + stage) * t + tp;
}

// Layouts worth costing: tensor groups inside NVLink domains, every
// (pipeline, data) split of the rest, both nestings.
// Enumerated for every job start; a few dozen fit without the heap.
using Layouts = boost::container::small_vector<ParallelLayout, 48>;

Layouts layouts(const Costing& k, bool shardable) {
  Layouts out;
  const std::size_t n = k.size();
  for (unsigned t = 1; t <= kMaxGpusPerNode && t <= n; t *= 2) {
    if (n % t != 0) continue;
    if (!shardable && t > 1) break;
    bool ok = true;
    for (std::size_t first = 0; ok && first < n; first += t) ok = k.nvlink_group(first, t);
    if (!ok) continue;
    const std::size_t rest = n / t;
    for (std::size_t p = 1; p <= rest; ++p) {
      if (rest % p != 0) continue;
      if (!shardable && p > 1) break;
      const unsigned d = static_cast<unsigned>(rest / p);
      out.push_back(ParallelLayout{
          .tensor = t, .pipeline = static_cast<unsigned>(p), .data = d, .stage_major = true});
      if (p > 1 && d > 1) {
        out.push_back(ParallelLayout{
            .tensor = t, .pipeline = static_cast<unsigned>(p), .data = d, .stage_major = false});
      }
    }
  }
  return out;
}

// Activations of one micro-batch (or decode batch) over each pipeline
// boundary: the slowest boundary of all replicas, and the slowest replica's
// summed latency through all stages.
struct Boundaries {
  Hop slowest;
  double path_s = 0;  // bytes over every boundary of the slowest replica, in sequence
};
Boundaries boundaries(const Costing& k, const ParallelLayout& l, double bytes) {
  Boundaries b;
  for (unsigned r = 0; r < l.data; ++r) {
    double path = 0;
    for (unsigned s = 0; s + 1 < l.pipeline; ++s) {
      const Hop h = k.hop(rank_index(l, 0, s, r), rank_index(l, 0, s + 1, r));
      b.slowest = worst(b.slowest, h);
      path += bytes / h.bytes_per_s + h.latency_s;
    }
    b.path_s = std::max(b.path_s, path);
  }
  return b;
}

// Slowest data-parallel ring of all (stage, tensor rank) groups.
Hop slowest_ring(const Costing& k, const ParallelLayout& l) {
  Hop w;
  if (l.data <= 1) return w;
  for (unsigned s = 0; s < l.pipeline; ++s) {
    for (unsigned tp = 0; tp < l.tensor; ++tp) {
      for (unsigned r = 0; r < l.data; ++r) {
        const unsigned next = (r + 1) % l.data;
        w = worst(w, k.hop(rank_index(l, tp, s, r), rank_index(l, tp, s, next)));
      }
    }
  }
  return w;
}

double state_bytes_per_param(const PerfConstants& c, const ModelWork& w, WorkloadClass cls) {
  if (!w.training) return c.inference.weight_bytes_per_param;
  return cls == WorkloadClass::kLoraFinetune ? c.training.lora_bytes_per_param
                                             : c.training.state_bytes_per_param;
}

double kv_bytes_per_token(const PerfConstants& c, const Arch& a) {
  return 2 * a.layers * a.width * c.inference.kv_head_fraction * c.inference.kv_bytes_per_value;
}

// Bytes a job needs before it can start: training state, or inference weights
// plus the KV cache of one full sequence.
double needed_bytes(const PerfConstants& c, const ModelWork& w, WorkloadClass cls) {
  double bytes = w.params * state_bytes_per_param(c, w, cls);
  if (!w.training) {
    bytes += w.seq_len * kv_bytes_per_token(c, arch_of(w.params, c.width_per_layer));
  }
  return bytes;
}

std::optional<StepEstimate> training_step(const PerfConstants& c, const Costing& k,
                                          const ModelWork& w, WorkloadClass cls,
                                          const ParallelLayout& l) {
  const GpuType& g = k.type();
  const double n_model = l.tensor * l.pipeline;
  if (w.params * state_bytes_per_param(c, w, cls) / n_model > g.mem_gb * 1e9) return std::nullopt;
  const double batch = w.global_batch > 0 ? w.global_batch : static_cast<double>(k.size());
  const double micro_batches = batch / l.data / c.training.micro_batch_sequences;
  if (micro_batches < 1) return std::nullopt;

  const Arch a = arch_of(w.params, c.width_per_layer);
  const double tokens_mb = c.training.micro_batch_sequences * w.seq_len;
  const double peak = g.bf16_tflops * 1e12 * c.training.mfu * k.share();
  StepEstimate e;
  e.layout = l;
  // Forward and backward of one micro-batch on one stage: FLOPs, or the
  // stage's weights read three times, whichever takes longer.
  const double flops = 6 * w.params / l.pipeline * tokens_mb;
  const double weight_reads = 3 * 2 * w.params / n_model;
  e.compute_s = std::max(flops / (l.tensor * peak),
                         weight_reads / (g.mem_bw_gbs * 1e9 * c.inference.mem_bw_efficiency));
  // Megatron tensor parallel: two all-reduces of the layer's activations
  // forward and two backward, per layer of the stage, over NVLink.
  const double act_bytes = tokens_mb * a.width * c.training.activation_bytes_per_value;
  if (l.tensor > 1) {
    const Hop nvlink{.bytes_per_s = g.intra_node_gbs * 1e9, .latency_s = 0};
    e.tensor_comm_s = 4 * (a.layers / l.pipeline) * ring_allreduce_s(act_bytes, l.tensor, nvlink);
  }
  // Activations forward and their gradients backward go opposite ways on
  // full-duplex links, overlapping compute of other micro-batches; each tensor
  // rank sends its 1/t slice.
  const Boundaries b = boundaries(k, l, act_bytes / l.tensor);
  if (l.pipeline > 1) {
    e.activation_s = act_bytes / l.tensor / b.slowest.bytes_per_s + b.slowest.latency_s;
  }
  const double slot = std::max(e.compute_s + e.tensor_comm_s, e.activation_s);
  // (m + p - 1) slots: the bubble is (p - 1) / (m + p - 1) of the step.
  e.pipeline_s = (micro_batches + l.pipeline - 1) * slot;
  // Gradients of one stage's tensor slice, after the last micro-batch.
  const double grad_bytes = c.training.gradient_bytes_per_param * w.params / n_model;
  e.data_comm_s = ring_allreduce_s(grad_bytes, l.data, slowest_ring(k, l));
  e.step_s = e.pipeline_s + e.data_comm_s;
  e.steps = w.tokens / (batch * w.seq_len);
  e.tokens_per_s = batch * w.seq_len / e.step_s;
  return e;
}

std::optional<StepEstimate> inference_step(const PerfConstants& c, const Costing& k,
                                           const ModelWork& w, const ParallelLayout& l) {
  const GpuType& g = k.type();
  const auto& ci = c.inference;
  const double per_replica = l.tensor * l.pipeline;
  const Arch a = arch_of(w.params, c.width_per_layer);
  const double weights = ci.weight_bytes_per_param * w.params;
  const double kv_token = kv_bytes_per_token(c, a);
  const double kv_seq = kv_token * w.seq_len;
  // The job must hold its weights and one full sequence (as rejection() says);
  // the server then fills its memory share with as many sequences as fit.
  if (weights + kv_seq > per_replica * g.mem_gb * 1e9) return std::nullopt;
  const double room = per_replica * g.mem_gb * 1e9 * ci.memory_utilization - weights;
  double seqs = std::clamp(std::floor(room / kv_seq), 1.0, ci.max_sequences);
  if (w.global_batch > 0)
    seqs = std::min(seqs, std::ceil(static_cast<double>(w.global_batch) / l.data));

  StepEstimate e;
  e.layout = l;
  e.sequences = seqs;
  const double peak = g.bf16_tflops * 1e12 * ci.mfu * k.share();
  // Decode: one token for each sequence; every stage's weights and the KV
  // cache (prompt plus half the generated tokens, on average) are read.
  const double context = w.seq_len * (ci.prompt_fraction + (1 - ci.prompt_fraction) / 2);
  const double compute = 2 * w.params * seqs / (per_replica * peak);
  const double memory = (weights + seqs * context * kv_token) /
                        (per_replica * g.mem_bw_gbs * 1e9 * ci.mem_bw_efficiency * k.share());
  const double act_bytes = seqs * a.width * c.training.activation_bytes_per_value;
  if (l.tensor > 1) {
    const Hop nvlink{.bytes_per_s = g.intra_node_gbs * 1e9, .latency_s = 0};
    // Two all-reduces a layer, forward only.
    e.tensor_comm_s = 2 * (a.layers / l.pipeline) * ring_allreduce_s(act_bytes, l.tensor, nvlink);
  }
  e.compute_s = std::max(compute, memory);
  // A token must pass every stage before the sequence's next one starts.
  const Boundaries b = boundaries(k, l, act_bytes / l.tensor);
  e.activation_s = b.path_s;
  e.step_s = std::max(e.compute_s + e.tensor_comm_s, e.activation_s);
  const double decode_rate = seqs / e.step_s;
  const double prefill_rate = per_replica * peak / (2 * w.params);
  const double s_per_token =
      ci.prompt_fraction / prefill_rate + (1 - ci.prompt_fraction) / decode_rate;
  e.tokens_per_s = l.data / s_per_token;
  return e;
}

Result<Seconds> to_seconds(double s) {
  if (!std::isfinite(s) || s < 0 || s > 1e15) {
    return Status::error("performance model gives no finite runtime (" + std::to_string(s) + " s)");
  }
  return Seconds{s > 0 ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(s))) : 0};
}

}  // namespace

const PerfModel& PerfModel::builtin() {
  // The embedded model is checked by tests; failing here is a build defect.
  static const PerfModel model = [] {
    Result<PerfModel> m = parse(flotilla_perf_model_toml, "perf_model.toml");
    if (!m) throw std::logic_error("built-in performance model is invalid: " + m.message());
    return std::move(m).value();
  }();
  return model;
}

Result<PerfModel> PerfModel::parse(std::string_view toml_text, const std::string& origin,
                                   const GpuCatalog& catalog) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return Status::at(origin, e.source().begin.line, std::string(e.description()));
  }
  if (Status s = only_keys(
          root, {"reference_gpu", "training", "inference", "calibration", "architecture", "class"},
          origin, "the model file");
      !s) {
    return s;
  }
  PerfModel m;
  m.catalog_ = &catalog;
  m.trace_catalog_ = &catalog;
  PerfConstants& c = m.c_;

  const toml::node* ref = root.get("reference_gpu");
  std::optional<std::string> ref_name = ref ? ref->value<std::string>() : std::nullopt;
  if (!ref_name)
    return Status::at(origin, ref ? ref->source().begin.line : 1, "missing 'reference_gpu'");
  std::optional<GpuTypeId> ref_id = catalog.find(*ref_name);
  if (!ref_id) return bad(origin, ref->source(), "unknown GPU type '" + *ref_name + "'");
  c.reference_gpu = *ref_id;

  struct Field {
    std::string_view key;
    double* out;
    double lo, hi;
    bool open_lo;
  };
  auto read_table = [&](std::string_view name, std::initializer_list<Field> fields) -> Status {
    const toml::table* t = sub_table(root, name);
    if (!t) return Status::at(origin, 1, "missing table [" + std::string(name) + "]");
    std::vector<std::string_view> keys;
    for (const Field& f : fields) keys.push_back(f.key);
    for (auto&& [key, value] : *t) {
      if (std::find(keys.begin(), keys.end(), key.str()) == keys.end()) {
        return bad(origin, key.source(),
                   "unknown key '" + std::string(key.str()) + "' in [" + std::string(name) + "]");
      }
    }
    for (const Field& f : fields) {
      if (Status s = number(*t, f.key, f.lo, f.hi, f.open_lo, origin, *f.out); !s) return s;
    }
    return Status::ok();
  };
  auto& tr = c.training;
  if (Status s = read_table(
          "training", {{"mfu", &tr.mfu, 0, 1, true},
                       {"state_bytes_per_param", &tr.state_bytes_per_param, 0, 64, true},
                       {"lora_bytes_per_param", &tr.lora_bytes_per_param, 0, 64, true},
                       {"gradient_bytes_per_param", &tr.gradient_bytes_per_param, 0, 8, true},
                       {"activation_bytes_per_value", &tr.activation_bytes_per_value, 0, 8, true},
                       {"micro_batch_sequences", &tr.micro_batch_sequences, 0, 1e6, true}});
      !s) {
    return s;
  }
  auto& in = c.inference;
  if (Status s = read_table("inference",
                            {{"mfu", &in.mfu, 0, 1, true},
                             {"mem_bw_efficiency", &in.mem_bw_efficiency, 0, 1, true},
                             {"weight_bytes_per_param", &in.weight_bytes_per_param, 0, 8, true},
                             {"kv_bytes_per_value", &in.kv_bytes_per_value, 0, 8, true},
                             {"kv_head_fraction", &in.kv_head_fraction, 0, 1, true},
                             {"memory_utilization", &in.memory_utilization, 0, 1, true},
                             {"max_sequences", &in.max_sequences, 1, 1e6, false},
                             {"prompt_fraction", &in.prompt_fraction, 0, 1, false}});
      !s) {
    return s;
  }
  if (Status s = read_table("calibration",
                            {{"gemm_fraction_of_peak", &c.gemm_fraction_of_peak, 0, 1, true}});
      !s) {
    return s;
  }
  if (Status s = read_table("architecture", {{"width_per_layer", &c.width_per_layer, 1, 1e4, false},
                                             {"pcie_gbs", &c.pcie_gbs, 0, 1e4, true}});
      !s) {
    return s;
  }

  const toml::array* classes = root.get("class") ? root.get("class")->as_array() : nullptr;
  if (!classes) return Status::at(origin, 1, "no [[class]] entries");
  std::array<bool, kWorkloadClasses> seen{};
  for (const toml::node& entry : *classes) {
    const toml::table* t = entry.as_table();
    if (!t) return bad(origin, entry.source(), "[[class]] entry must be a table");
    if (Status s = only_keys(
            *t, {"name", "compute_fraction", "trains", "gradient_gb_per_step", "step_s", "source"},
            origin, "[[class]]");
        !s) {
      return s;
    }
    std::optional<std::string> name = (*t)["name"].value<std::string>();
    if (!name) return bad(origin, t->source(), "missing field 'name'");
    auto it = std::find(kClassNames.begin(), kClassNames.end(), *name);
    if (it == kClassNames.end()) {
      return bad(origin, t->get("name")->source(), "unknown workload class '" + *name + "'");
    }
    const auto idx = static_cast<std::size_t>(it - kClassNames.begin());
    if (seen[idx]) return bad(origin, t->source(), "class '" + *name + "' given twice");
    seen[idx] = true;
    PerfConstants::Class& k = c.classes[idx];
    if (Status s = number(*t, "compute_fraction", 0, 1, false, origin, k.compute_fraction); !s)
      return s;
    if (Status s =
            number(*t, "gradient_gb_per_step", 0, 1e6, false, origin, k.gradient_gb_per_step);
        !s) {
      return s;
    }
    if (Status s = number(*t, "step_s", 0, 1e6, true, origin, k.step_s); !s) return s;
    const toml::node* trains = t->get("trains");
    if (!trains || !trains->is_boolean()) {
      return bad(origin, trains ? trains->source() : t->source(), "'trains' must be true or false");
    }
    k.trains = trains->as_boolean()->get();
    std::optional<std::string> source = (*t)["source"].value<std::string>();
    if (!source || source->empty()) {
      return bad(origin, t->source(), "class '" + *name + "' has no 'source' for its numbers");
    }
    k.source = *source;
  }
  for (std::size_t i = 0; i < kWorkloadClasses; ++i) {
    if (!seen[i]) {
      return bad(origin, classes->source(),
                 "no [[class]] entry for '" + std::string(kClassNames[i]) + "'");
    }
  }
  return m;
}

PerfModel PerfModel::on_catalog(const GpuCatalog& measured) const {
  assert(measured.size() == catalog_->size());
  PerfModel m = *this;
  m.catalog_ = &measured;
  return m;
}

double PerfModel::speed(WorkloadClass cls, const GpuType& g) const {
  // c is the compute-bound share of the class's time on the reference GPU;
  // each share scales with the matching catalog rate.
  const PerfConstants::Class& k = c_.classes[static_cast<std::size_t>(cls)];
  const GpuType& ref = trace_catalog_->at(c_.reference_gpu);
  const double time = k.compute_fraction * ref.bf16_tflops / g.bf16_tflops +
                      (1 - k.compute_fraction) * ref.mem_bw_gbs / g.mem_bw_gbs;
  return 1 / time;
}

double PerfModel::relative_speed(WorkloadClass cls, GpuTypeId type) const {
  return speed(cls, catalog_->at(type));
}

double PerfModel::gpu_watts(GpuTypeId type) const {
  return catalog_->at(type).watts;
}

double PerfModel::energy_joules(const Placement& p, const Fleet& fleet, Seconds runtime) {
  double watts = 0;
  for (const NodeAlloc& a : p.allocs) {
    const Node& n = fleet.node_at(a.node);
    watts += n.watts * (static_cast<double>(std::popcount(a.gpu_mask)) / n.gpu_count) *
             (a.milli / 1000.0);
  }
  return watts * static_cast<double>(runtime.count());
}

std::optional<std::string> PerfModel::rejection(const TraceJob& job, GpuTypeId type,
                                                unsigned gpus) const {
  if (!job.work.model) return std::nullopt;
  const ModelWork& w = *job.work.model;
  const double need = needed_bytes(c_, w, job.workload);
  const double mem = catalog_->at(type).mem_gb;
  const unsigned holders = w.shardable ? std::max(gpus, 1u) : 1;
  if (need <= holders * mem * 1e9) return std::nullopt;

  std::string what = "training";
  if (!w.training) {
    what = "inference";
  } else if (job.workload == WorkloadClass::kFullFinetune) {
    what = "full fine-tune";
  } else if (job.workload == WorkloadClass::kLoraFinetune) {
    what = "LoRA fine-tune";
  } else if (job.workload == WorkloadClass::kPretraining) {
    what = "pre-training";
  }
  std::string msg = what + " of " + params_name(w.params) + " needs " + grouped(need / 1e9) +
                    " GB of " + (w.training ? "model state" : "weights and KV cache") + ", ";
  if (w.shardable) {
    msg += std::to_string(holders) + " x " + gb_name(mem) + " GB GPU" +
           (holders == 1 ? " holds " : "s hold ") + grouped(holders * mem) + " GB";
  } else {
    msg +=
        "one " + gb_name(mem) + " GB GPU holds " + gb_name(mem) + " GB (the job cannot be sharded)";
  }
  return msg;
}

unsigned PerfModel::min_gpus(const TraceJob& job, GpuTypeId type) const {
  if (!job.work.model) return 1;
  const ModelWork& w = *job.work.model;
  const double need = needed_bytes(c_, w, job.workload);
  const double mem = catalog_->at(type).mem_gb * 1e9;
  if (need <= mem) return 1;
  if (!w.shardable) return 0;
  // Guard against rounding: the smallest count that rejection() accepts.
  auto n = static_cast<unsigned>(std::ceil(need / mem));
  while (n > 1 && need <= (n - 1) * mem) --n;
  while (need > n * mem) ++n;
  return n;
}

namespace {

// The fastest layout of a model job on `k` (the most tokens per second for
// inference), or nullopt when none fits.
std::optional<StepEstimate> fastest_layout(const PerfConstants& c, const Costing& k,
                                           const ModelWork& work, WorkloadClass cls) {
  std::optional<StepEstimate> best;
  for (const ParallelLayout& l : layouts(k, work.shardable)) {
    std::optional<StepEstimate> e =
        work.training ? training_step(c, k, work, cls, l) : inference_step(c, k, work, l);
    if (!e) continue;
    const bool better =
        !best || (work.training ? e->step_s < best->step_s : e->tokens_per_s > best->tokens_per_s);
    if (better) best = e;
  }
  return best;
}

// Seconds the whole model job takes at the pace of `e`.
double model_seconds(const ModelWork& w, const StepEstimate& e) {
  return w.training ? e.steps * e.step_s : w.tokens / e.tokens_per_s;
}

Status check_model(const ModelWork& work) {
  if (!(work.params > 0) || work.seq_len == 0) {
    return Status::error("model job needs params > 0 and seq_len > 0");
  }
  return Status::ok();
}

}  // namespace

Result<StepEstimate> PerfModel::model_step(const ModelWork& work, WorkloadClass cls,
                                           const Placement& p, const Fleet& fleet) const {
  if (p.allocs.empty()) return Status::error("empty placement");
  if (Status s = check_model(work); !s) return s;
  const Costing k(c_, fleet, p);
  if (k.size() == 0) return Status::error("placement holds no GPU");
  std::optional<StepEstimate> best = fastest_layout(c_, k, work, cls);
  if (!best) {
    return Status::error("no parallel layout of " + params_name(work.params) + " fits " +
                         std::to_string(k.size()) + " x " + k.type().name);
  }
  return *best;
}

double PerfModel::compute_seconds(const TraceJob& job, GpuTypeId type) const {
  const double ref_s = static_cast<double>(job.work.reference_runtime.count());
  return ref_s * speed(job.workload, trace_catalog_->at(job.work.reference_gpu)) /
         relative_speed(job.workload, type);
}

Result<Seconds> PerfModel::runtime(const TraceJob& job, const Placement& p,
                                   const Fleet& fleet) const {
  if (p.allocs.empty()) return Status::error("job " + std::to_string(job.id) + ": empty placement");
  if (const std::optional<ModelWork>& w = job.work.model) {
    const unsigned gpus = std::max(p.gpus(), 1u);
    if (std::optional<std::string> why = rejection(job, p.gpu_type, gpus)) {
      return Status::error("job " + std::to_string(job.id) + ": " + *why);
    }
    Result<StepEstimate> e = model_step(*w, job.workload, p, fleet);
    if (!e) return Status::error("job " + std::to_string(job.id) + ": " + e.message());
    return to_seconds(model_seconds(*w, *e));
  }

  // Trace job: the reference runtime at this GPU's speed for the class...
  const double compute_s = compute_seconds(job, p.gpu_type);
  // ...plus a ring all-reduce of the class's gradients every step between the
  // nodes (inside a node the reference runtime already holds it).
  const PerfConstants::Class& k = c_.classes[static_cast<std::size_t>(job.workload)];
  double comm_s = 0;
  if (k.trains && p.allocs.size() > 1 && k.gradient_gb_per_step > 0) {
    Hop ring;
    const std::size_t n = p.allocs.size();
    for (std::size_t i = 0; i < n; ++i) {
      const Link l = fleet.path(p.allocs[i].node, p.allocs[(i + 1) % n].node);
      ring = worst(ring, Hop{.bytes_per_s = l.gbps * 1e9 / 8,
                             .latency_s = static_cast<double>(l.latency_us) * 1e-6});
    }
    comm_s = compute_s / k.step_s * ring_allreduce_s(k.gradient_gb_per_step * 1e9, n, ring);
  }
  return to_seconds(compute_s + comm_s);
}

Result<Seconds> PerfModel::min_runtime(const TraceJob& job, GpuTypeId type, unsigned gpus,
                                       std::uint16_t milli) const {
  if (!job.work.model) return to_seconds(compute_seconds(job, type));  // no transfers at all
  const ModelWork& w = *job.work.model;
  const unsigned holders = milli < 1000 ? 1 : std::max(gpus, 1u);  // as runtime() counts
  if (std::optional<std::string> why = rejection(job, type, holders)) return Status::error(*why);
  if (Status s = check_model(w); !s) return s;
  const Costing ideal(c_, catalog_->at(type), holders, milli < 1000 ? milli / 1000.0 : 1.0);
  std::optional<StepEstimate> best = fastest_layout(c_, ideal, w, job.workload);
  if (!best) return Status::error("no parallel layout of " + params_name(w.params) + " fits");
  return to_seconds(model_seconds(w, *best));
}

}  // namespace flotilla
