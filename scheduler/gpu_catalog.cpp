#include "scheduler/gpu_catalog.h"

#include <toml++/toml.h>
#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <stdexcept>

extern const std::string_view flotilla_gpu_catalog_toml;

namespace flotilla {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status bad(const std::string& origin, const toml::source_region& where, const std::string& what) {
  return Status::at(origin, where.begin.line, what);
}

// Reads a positive number (integer or float) field of one [[gpu]] entry.
Result<double> positive(const toml::table& t, const char* key, const std::string& origin) {
  const toml::node* n = t.get(key);
  if (!n) return bad(origin, t.source(), std::string("missing field '") + key + "'");
  std::optional<double> v = n->value<double>();
  if (!v || !(*v > 0)) {
    return bad(origin, n->source(), std::string("'") + key + "' must be a positive number");
  }
  return *v;
}

// Reads an optional array-of-strings field of one [[gpu]] entry.
Status strings(const toml::table& t, const char* key, const std::string& origin,
               std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::ok();
  const toml::array* list = n->as_array();
  if (!list) return bad(origin, n->source(), std::string(key) + " must be a list of strings");
  for (const toml::node& e : *list) {
    std::optional<std::string> s = e.value<std::string>();
    if (!s) return bad(origin, e.source(), std::string(key) + " must be strings");
    out.push_back(*s);
  }
  return Status::ok();
}

}  // namespace

const GpuCatalog& GpuCatalog::builtin() {
  // The embedded catalog is checked by tests; failing here is a build defect.
  static const GpuCatalog catalog = [] {
    Result<GpuCatalog> c = parse(flotilla_gpu_catalog_toml, "gpu_catalog.toml");
    if (!c) throw std::logic_error("built-in GPU catalog is invalid: " + c.message());
    return std::move(c).value();
  }();
  return catalog;
}

Result<GpuCatalog> GpuCatalog::parse(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return Status::at(origin, e.source().begin.line, std::string(e.description()));
  }
  const toml::array* gpus = root["gpu"].as_array();
  if (!gpus) return Status::at(origin, 1, "no [[gpu]] entries");

  GpuCatalog catalog;
  for (const toml::node& entry : *gpus) {
    const toml::table* t = entry.as_table();
    if (!t) return bad(origin, entry.source(), "[[gpu]] entry must be a table");
    GpuType g;
    std::optional<std::string> name = (*t)["name"].value<std::string>();
    if (!name || name->empty()) return bad(origin, t->source(), "missing field 'name'");
    g.name = *name;
    for (auto [key, list] :
         {std::pair{"aliases", &g.aliases}, std::pair{"cuda_names", &g.cuda_names}}) {
      if (Status s = strings(*t, key, origin, *list); !s) return s;
    }
    for (auto [key, field] :
         {std::pair{"bf16_tflops", &g.bf16_tflops}, std::pair{"mem_gb", &g.mem_gb},
          std::pair{"mem_bw_gbs", &g.mem_bw_gbs}, std::pair{"intra_node_gbs", &g.intra_node_gbs},
          std::pair{"watts", &g.watts}}) {
      Result<double> v = positive(*t, key, origin);
      if (!v) return v.status();
      *field = *v;
    }
    Result<double> price = positive(*t, "price_usd_per_hour", origin);
    if (!price) return price.status();
    g.price_micro_usd_per_hour = static_cast<std::uint64_t>(std::llround(*price * 1e6));
    g.nvlink = (*t)["nvlink"].value_or(false);
    std::optional<std::string> source = (*t)["source"].value<std::string>();
    if (!source || source->empty()) {
      return bad(origin, t->source(), "GPU " + g.name + " has no 'source' for its numbers");
    }
    g.source = *source;
    for (const std::string& n : [&] {
           std::vector<std::string> all{g.name};
           all.insert(all.end(), g.aliases.begin(), g.aliases.end());
           return all;
         }()) {
      if (catalog.find(n)) return bad(origin, t->source(), "GPU name '" + n + "' used twice");
    }
    for (const std::string& n : g.cuda_names) {
      if (catalog.find_cuda_name(n)) {
        return bad(origin, t->source(), "CUDA name '" + n + "' used twice");
      }
    }
    if (catalog.types_.size() == kMaxGpuTypes) {
      return bad(origin, t->source(), "more than " + std::to_string(kMaxGpuTypes) + " GPU types");
    }
    catalog.types_.push_back(std::move(g));
  }
  return catalog;
}

std::optional<GpuTypeId> GpuCatalog::find(std::string_view name) const {
  const std::string key = lower(name);
  for (std::size_t i = 0; i < types_.size(); ++i) {
    if (lower(types_[i].name) == key) return static_cast<GpuTypeId>(i);
    for (const std::string& a : types_[i].aliases) {
      if (lower(a) == key) return static_cast<GpuTypeId>(i);
    }
  }
  return std::nullopt;
}

std::optional<GpuTypeId> GpuCatalog::find_cuda_name(std::string_view cuda_name) const {
  for (std::size_t i = 0; i < types_.size(); ++i) {
    const std::vector<std::string>& names = types_[i].cuda_names;
    if (std::find(names.begin(), names.end(), cuda_name) != names.end()) {
      return static_cast<GpuTypeId>(i);
    }
  }
  return std::nullopt;
}

GpuCatalog GpuCatalog::with_type(GpuTypeId id, GpuType type) const {
  assert(type.name == types_.at(id).name && type.aliases == types_.at(id).aliases &&
         type.cuda_names == types_.at(id).cuda_names);
  GpuCatalog copy = *this;
  copy.types_.at(id) = std::move(type);
  return copy;
}

}  // namespace flotilla
