#include "scheduler/fleet_file.h"

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <vector>

#include "scheduler/hostlist.h"

namespace flotilla {
namespace {

// The four kinds of table, outermost first.
enum Kind : unsigned { kRegion = 0, kSite = 1, kSwitch = 2, kNodes = 3 };
constexpr std::array<std::string_view, 4> kTableName = {
    "[[region]]", "[[region.site]]", "[[region.site.switch]]", "[[region.site.switch.nodes]]"};
constexpr std::array<std::string_view, 3> kKindWord = {"region", "site", "switch"};
// The key holding each kind's children, and how "no children" is reported.
constexpr std::array<std::string_view, 3> kChildKey = {"site", "switch", "nodes"};
constexpr std::array<std::string_view, 3> kChildrenWord = {"sites", "switches", "node groups"};

// Placeholders, and which of them each templated field may use.
constexpr unsigned kPRegion = 1, kPSite = 2, kPSwitch = 4, kPNode = 8;
constexpr unsigned kNameAllows[3] = {0, kPRegion, kPRegion | kPSite};
constexpr unsigned kHostsAllows = kPRegion | kPSite | kPSwitch;
constexpr unsigned kProviderAllows = kPRegion | kPSite | kPSwitch | kPNode;

// Bounds that keep the integer conversions defined and the sums in range.
constexpr double kMaxLatencyUs = 1e9;    // about 17 minutes
constexpr double kMaxGbps = 1e9;         // a petabit per second
constexpr double kMaxPriceUsd = 10'000;  // per GPU-hour
constexpr double kMaxNodeWatts = 100'000;

// Link figures as written; a list is cycled over the replicas (or hosts).
struct LinkSpec {
  std::vector<double> gbps;
  std::vector<std::int64_t> latency_us{0};
  Link at(std::size_t i) const {
    return Link{.gbps = gbps[i % gbps.size()], .latency_us = latency_us[i % latency_us.size()]};
  }
};

struct GroupSpec {
  std::string hosts;
  std::size_t hosts_line = 0;
  std::uint64_t count = 0;  // hosts per copy of the switch
  GpuTypeId gpu = 0;
  std::vector<std::uint8_t> gpus;     // cycled over the hosts
  std::vector<std::uint8_t> domains;  // NVLink domain size for each entry of gpus
  std::string provider = "{site}";
  std::optional<std::uint64_t> price_micro_usd;
  std::optional<std::uint32_t> watts;
  LinkSpec uplink;
};

// A region, site or switch as written (before replication).
struct EntrySpec {
  std::size_t line = 0;
  std::string name;
  std::size_t name_line = 0;
  std::uint64_t copies = 0;  // names the (templated) name stands for
  LinkSpec uplink;
  std::vector<EntrySpec> children;  // sites of a region, switches of a site
  std::vector<GroupSpec> groups;    // node groups of a switch
};

std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::size_t line_of(const toml::source_region& r) {
  return r.begin.line == 0 ? 1 : r.begin.line;
}

// The names substituted for placeholders in one replica.
struct Names {
  std::string_view region, site, sw, node;
};

// Replaces {region} {site} {switch} {node}; the text was checked by Reader.
std::string substitute(std::string_view text, const Names& names) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find('{', pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open);
    out.append(text.substr(pos, open - pos));
    const std::string_view what = text.substr(open + 1, close - open - 1);
    out.append(what == "region"   ? names.region
               : what == "site"   ? names.site
               : what == "switch" ? names.sw
                                  : names.node);
    pos = close + 1;
  }
  out.append(text.substr(pos));
  return out;
}

// Turns TOML into specs, checking everything that does not depend on
// replication. Errors are "origin:line: what".
class Reader {
 public:
  Reader(const std::string& origin, const GpuCatalog& catalog)
      : origin_(origin), catalog_(catalog) {}

  Status at(std::size_t line, const std::string& what) const {
    return Status::at(origin_, line, what);
  }
  Status at(const toml::node& n, const std::string& what) const {
    return at(line_of(n.source()), what);
  }

  Status check_keys(const toml::table& t, std::string_view table,
                    std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, value] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        return at(line_of(key.source()),
                  "unknown key '" + std::string(key.str()) + "' in " + std::string(table));
      }
    }
    return Status::ok();
  }

  Status missing(const toml::table& t, std::string_view table, std::string_view key) const {
    return at(t, "missing required field '" + std::string(key) + "' in " + std::string(table));
  }

  // A non-empty string field; nullopt when absent.
  Result<std::optional<std::string>> string_field(const toml::table& t, std::string_view key,
                                                  std::size_t* line) const {
    const toml::node* n = t.get(key);
    if (!n) return std::optional<std::string>();
    const std::optional<std::string> s = n->value<std::string>();
    if (!n->is_string() || !s) return at(*n, "'" + std::string(key) + "' must be a string");
    if (s->empty()) return at(*n, "'" + std::string(key) + "' must not be empty");
    if (line) *line = line_of(n->source());
    return std::optional<std::string>(*s);
  }

  // A finite number (integer or float); nullopt when absent.
  Result<std::optional<double>> number_field(const toml::table& t, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (!n) return std::optional<double>();
    if (!n->is_number()) return at(*n, "'" + std::string(key) + "' must be a number");
    const double v = n->value<double>().value_or(NAN);
    if (!std::isfinite(v)) return at(*n, "'" + std::string(key) + "' must be a finite number");
    return std::optional<double>(v);
  }

  // A number or a non-empty list of numbers (cycled over replicas), each
  // checked by `check`, which returns an error message or "".
  template <class Check>
  Result<std::vector<double>> numbers(const toml::node& n, std::string_view key,
                                      Check check) const {
    std::vector<const toml::node*> items;
    if (const toml::array* list = n.as_array()) {
      if (list->empty()) return at(n, "'" + std::string(key) + "' list is empty");
      for (const toml::node& item : *list) items.push_back(&item);
    } else {
      items.push_back(&n);
    }
    std::vector<double> out;
    for (const toml::node* item : items) {
      if (!item->is_number()) {
        return at(*item, "'" + std::string(key) + "' must be a number or a list of numbers");
      }
      const double v = item->value<double>().value_or(NAN);
      if (!std::isfinite(v)) {
        return at(*item, "'" + std::string(key) + "' must be a finite number");
      }
      const std::string problem = check(v);
      if (!problem.empty()) return at(*item, "'" + std::string(key) + "' " + problem);
      out.push_back(v);
    }
    return out;
  }

  // uplink_gbps (required) and latency_ms / latency_us (optional, default 0);
  // either may be a list, cycled over the entry's replicas or hosts.
  Result<LinkSpec> link(const toml::table& t, std::string_view table) const {
    LinkSpec l;
    const toml::node* gbps = t.get("uplink_gbps");
    if (!gbps) return missing(t, table, "uplink_gbps");
    Result<std::vector<double>> g = numbers(*gbps, "uplink_gbps", [](double v) {
      if (!(v > 0)) return "must be positive, got " + show(v);
      if (v > kMaxGbps) return "must be at most " + show(kMaxGbps) + ", got " + show(v);
      return std::string();
    });
    if (!g) return g.status();
    l.gbps = std::move(g).value();
    if (t.contains("latency_ms") && t.contains("latency_us")) {
      return at(*t.get("latency_us"), "give 'latency_ms' or 'latency_us', not both");
    }
    for (auto [key, scale] : {std::pair{"latency_ms", 1000.0}, std::pair{"latency_us", 1.0}}) {
      const toml::node* n = t.get(key);
      if (!n) continue;
      Result<std::vector<double>> v = numbers(*n, key, [scale](double x) {
        if (x < 0) return "must not be negative, got " + show(x);
        if (x * scale > kMaxLatencyUs) return "must be at most " + show(kMaxLatencyUs / scale);
        return std::string();
      });
      if (!v) return v.status();
      l.latency_us.clear();
      for (double x : *v) l.latency_us.push_back(std::llround(x * scale));
    }
    return l;
  }

  // Checks that `text` uses only the placeholders in `allowed`.
  Status check_placeholders(const toml::node& n, std::string_view key, std::string_view table,
                            std::string_view text, unsigned allowed) const {
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t open = text.find_first_of("{}", pos);
      if (open == std::string_view::npos) break;
      if (text[open] == '}') return at(n, "unmatched '}' in '" + std::string(key) + "'");
      const std::size_t close = text.find_first_of("{}", open + 1);
      if (close == std::string_view::npos || text[close] == '{') {
        return at(n, "unclosed '{' in '" + std::string(key) + "'");
      }
      const std::string_view what = text.substr(open + 1, close - open - 1);
      const unsigned p = what == "region"   ? kPRegion
                         : what == "site"   ? kPSite
                         : what == "switch" ? kPSwitch
                         : what == "node"   ? kPNode
                                            : 0;
      if (p == 0) {
        return at(n, "unknown placeholder {" + std::string(what) + "} in '" + std::string(key) +
                         "' (known: {region} {site} {switch} {node})");
      }
      if (!(allowed & p)) {
        return at(n, "placeholder {" + std::string(what) + "} cannot be used in '" +
                         std::string(key) + "' of " + std::string(table));
      }
      pos = close + 1;
    }
    return Status::ok();
  }

  // The array of tables under `key` of `parent`, as written under `table`.
  Result<const toml::array*> tables(const toml::table& parent, std::string_view key,
                                    std::string_view table) const {
    const toml::node* n = parent.get(key);
    if (!n) return static_cast<const toml::array*>(nullptr);
    const toml::array* a = n->as_array();
    if (a && a->empty()) return a;  // reported as "has no ..." by the caller
    if (!a || !a->is_array_of_tables()) {
      return at(
          *n, "'" + std::string(key) + "' must be an array of tables (" + std::string(table) + ")");
    }
    return a;
  }

  Result<EntrySpec> entry(const toml::table& t, Kind kind) const {
    const std::string_view table = kTableName[kind];
    const std::string_view child_key = kChildKey[kind];
    Status s = check_keys(t, table, {"name", "uplink_gbps", "latency_ms", "latency_us", child_key});
    if (!s) return s;
    EntrySpec e;
    e.line = line_of(t.source());
    Result<std::optional<std::string>> name = string_field(t, "name", &e.name_line);
    if (!name) return name.status();
    if (!*name) return missing(t, table, "name");
    e.name = **name;
    s = check_placeholders(*t.get("name"), "name", table, e.name, kNameAllows[kind]);
    if (!s) return s;
    // Placeholders stand for plain names, so they never change the count.
    Result<std::uint64_t> copies = hostlist_size(e.name);
    if (!copies) return at(e.name_line, copies.message());
    e.copies = *copies;
    Result<LinkSpec> l = link(t, table);
    if (!l) return l.status();
    e.uplink = std::move(l).value();

    Result<const toml::array*> children = tables(t, child_key, kTableName[kind + 1]);
    if (!children) return children.status();
    if (!*children || (*children)->empty()) {
      return at(t, std::string(kKindWord[kind]) + " '" + e.name + "' has no " +
                       std::string(kChildrenWord[kind]) + " (" + std::string(kTableName[kind + 1]) +
                       ")");
    }
    for (const toml::node& c : **children) {
      const toml::table& ct = *c.as_table();
      if (kind == kSwitch) {
        Result<GroupSpec> g = group(ct);
        if (!g) return g.status();
        e.groups.push_back(std::move(g).value());
      } else {
        Result<EntrySpec> child = entry(ct, static_cast<Kind>(kind + 1));
        if (!child) return child.status();
        e.children.push_back(std::move(child).value());
      }
    }
    return e;
  }

  // A GPU count: an integer 1..16.
  Result<std::uint8_t> gpu_count(const toml::node& n) const {
    if (!n.is_integer()) return at(n, "'gpus' must be an integer or a list of integers");
    const std::int64_t v = n.value<std::int64_t>().value_or(0);
    if (v < 1 || v > static_cast<std::int64_t>(kMaxGpusPerNode)) {
      return at(
          n, "'gpus' must be 1.." + std::to_string(kMaxGpusPerNode) + ", got " + std::to_string(v));
    }
    return static_cast<std::uint8_t>(v);
  }

  Result<GroupSpec> group(const toml::table& t) const {
    const std::string_view table = kTableName[kNodes];
    Status s =
        check_keys(t, table,
                   {"hosts", "gpu", "gpus", "nvlink_domain", "provider", "price_usd_per_gpu_hour",
                    "watts", "uplink_gbps", "latency_ms", "latency_us"});
    if (!s) return s;
    GroupSpec g;

    Result<std::optional<std::string>> hosts = string_field(t, "hosts", &g.hosts_line);
    if (!hosts) return hosts.status();
    if (!*hosts) return missing(t, table, "hosts");
    g.hosts = **hosts;
    s = check_placeholders(*t.get("hosts"), "hosts", table, g.hosts, kHostsAllows);
    if (!s) return s;
    Result<std::uint64_t> count = hostlist_size(g.hosts);
    if (!count) return at(g.hosts_line, count.message());
    g.count = *count;

    Result<std::optional<std::string>> gpu = string_field(t, "gpu", nullptr);
    if (!gpu) return gpu.status();
    if (!*gpu) return missing(t, table, "gpu");
    const std::optional<GpuTypeId> type = catalog_.find(**gpu);
    if (!type) return at(*t.get("gpu"), "unknown GPU type '" + **gpu + "'");
    g.gpu = *type;
    const GpuType& info = catalog_.at(g.gpu);

    const toml::node* gpus = t.get("gpus");
    if (!gpus) return missing(t, table, "gpus");
    if (const toml::array* list = gpus->as_array()) {
      if (list->empty()) return at(*gpus, "'gpus' list is empty");
      for (const toml::node& n : *list) {
        Result<std::uint8_t> c = gpu_count(n);
        if (!c) return c.status();
        g.gpus.push_back(*c);
      }
    } else {
      Result<std::uint8_t> c = gpu_count(*gpus);
      if (!c) return c.status();
      g.gpus.push_back(*c);
    }

    if (const toml::node* d = t.get("nvlink_domain")) {
      if (!d->is_integer()) return at(*d, "'nvlink_domain' must be an integer");
      const std::int64_t v = d->value<std::int64_t>().value_or(0);
      if (v < 1 || v > static_cast<std::int64_t>(kMaxGpusPerNode)) {
        return at(*d, "'nvlink_domain' must be 1.." + std::to_string(kMaxGpusPerNode) + ", got " +
                          std::to_string(v));
      }
      for (std::uint8_t c : g.gpus) {
        if (c % v != 0) {
          return at(*d, "'nvlink_domain' = " + std::to_string(v) +
                            " does not divide 'gpus' = " + std::to_string(c));
        }
        g.domains.push_back(static_cast<std::uint8_t>(v));
      }
    } else {
      for (std::uint8_t c : g.gpus) g.domains.push_back(info.nvlink ? c : 1);
    }

    std::size_t provider_line = 0;
    Result<std::optional<std::string>> provider = string_field(t, "provider", &provider_line);
    if (!provider) return provider.status();
    if (*provider) {
      g.provider = **provider;
      s = check_placeholders(*t.get("provider"), "provider", table, g.provider, kProviderAllows);
      if (!s) return s;
    }

    Result<std::optional<double>> price = number_field(t, "price_usd_per_gpu_hour");
    if (!price) return price.status();
    if (*price) {
      if (**price < 0 || **price > kMaxPriceUsd) {
        return at(
            *t.get("price_usd_per_gpu_hour"),
            "'price_usd_per_gpu_hour' must be 0.." + show(kMaxPriceUsd) + ", got " + show(**price));
      }
      g.price_micro_usd = static_cast<std::uint64_t>(std::llround(**price * 1e6));
    }

    Result<std::optional<double>> watts = number_field(t, "watts");
    if (!watts) return watts.status();
    if (*watts) {
      if (!(**watts > 0) || **watts > kMaxNodeWatts) {
        return at(*t.get("watts"), "'watts' must be positive and at most " + show(kMaxNodeWatts) +
                                       ", got " + show(**watts));
      }
      g.watts = static_cast<std::uint32_t>(std::llround(**watts));
    }

    Result<LinkSpec> l = link(t, table);
    if (!l) return l.status();
    g.uplink = std::move(l).value();
    return g;
  }

 private:
  const std::string& origin_;
  const GpuCatalog& catalog_;
};

// Replicates the specs into a FleetBuilder, depth-first.
class Expander {
 public:
  Expander(const Reader& reader, const GpuCatalog& catalog, FleetBuilder& builder)
      : reader_(reader), catalog_(catalog), builder_(builder) {}

  // The names an entry's templated name or hosts stands for in one replica.
  Result<std::vector<std::string>> names(std::string_view text, std::size_t line,
                                         const Names& names) const {
    Result<std::vector<std::string>> out = expand_hostlist(
        text.find('{') == std::string_view::npos ? std::string(text) : substitute(text, names));
    if (!out) return reader_.at(line, out.message());
    return out;
  }

  Status region(const EntrySpec& spec) {
    Result<std::vector<std::string>> list = names(spec.name, spec.name_line, Names{});
    if (!list) return list.status();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& r = (*list)[i];
      builder_.add_region(r, spec.uplink.at(i));
      for (const EntrySpec& site_spec : spec.children) {
        Status s = site(site_spec, r);
        if (!s) return s;
      }
    }
    return Status::ok();
  }

  Status site(const EntrySpec& spec, std::string_view region) {
    Result<std::vector<std::string>> list =
        names(spec.name, spec.name_line, Names{.region = region, .site = {}, .sw = {}, .node = {}});
    if (!list) return list.status();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& s_name = (*list)[i];
      builder_.add_site(s_name, spec.uplink.at(i));
      for (const EntrySpec& switch_spec : spec.children) {
        Status s = sw(switch_spec, region, s_name);
        if (!s) return s;
      }
    }
    return Status::ok();
  }

  Status sw(const EntrySpec& spec, std::string_view region, std::string_view site) {
    Result<std::vector<std::string>> list = names(
        spec.name, spec.name_line, Names{.region = region, .site = site, .sw = {}, .node = {}});
    if (!list) return list.status();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& w = (*list)[i];
      builder_.add_switch(w, spec.uplink.at(i));
      for (const GroupSpec& g : spec.groups) {
        Status s = group(g, Names{.region = region, .site = site, .sw = w, .node = {}});
        if (!s) return s;
      }
    }
    return Status::ok();
  }

  Status group(const GroupSpec& g, Names names_here) {
    Result<std::vector<std::string>> hosts = names(g.hosts, g.hosts_line, names_here);
    if (!hosts) return hosts.status();
    const GpuType& info = catalog_.at(g.gpu);
    const bool per_node_provider = g.provider.find("{node}") != std::string::npos;
    const std::string shared_provider = per_node_provider ? "" : substitute(g.provider, names_here);
    Node node;
    node.gpu_type = g.gpu;
    node.price_micro_usd_per_gpu_hour = g.price_micro_usd.value_or(info.price_micro_usd_per_hour);
    for (std::size_t i = 0; i < hosts->size(); ++i) {
      std::string& host = (*hosts)[i];
      const std::size_t k = i % g.gpus.size();
      node.gpu_count = g.gpus[k];
      node.nvlink_domain_size = g.domains[k];
      node.uplink = g.uplink.at(i);
      node.watts =
          g.watts.value_or(static_cast<std::uint32_t>(std::llround(info.watts * node.gpu_count)));
      std::string provider;
      if (per_node_provider) {
        names_here.node = host;
        provider = g.provider == "{node}" ? host : substitute(g.provider, names_here);
      }
      Status s =
          builder_.add_node(std::move(host), node, per_node_provider ? provider : shared_provider);
      if (!s) return reader_.at(g.hosts_line, s.message());
    }
    return Status::ok();
  }

 private:
  const Reader& reader_;
  const GpuCatalog& catalog_;
  FleetBuilder& builder_;
};

// Nodes a spec stands for, saturating far above kMaxFleetNodes.
std::uint64_t node_count(const EntrySpec& e) {
  constexpr std::uint64_t kCap = std::uint64_t{1} << 40;
  std::uint64_t per_copy = 0;
  for (const EntrySpec& c : e.children) per_copy = std::min(per_copy + node_count(c), kCap);
  for (const GroupSpec& g : e.groups) per_copy = std::min(per_copy + g.count, kCap);
  return per_copy != 0 && e.copies > kCap / per_copy ? kCap : std::min(e.copies * per_copy, kCap);
}

}  // namespace

Result<Fleet> parse_fleet(std::string_view toml_text, const std::string& origin,
                          const GpuCatalog& catalog) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    std::replace(what.begin(), what.end(), '\n', ' ');
    return Status::at(origin, line_of(e.source()), what);
  }
  const Reader reader(origin, catalog);
  Status s = reader.check_keys(root, "the top level", {"name", "region"});
  if (!s) return s;
  Result<std::optional<std::string>> name = reader.string_field(root, "name", nullptr);
  if (!name) return name.status();
  if (!*name) return reader.at(1, "missing required field 'name' at the top level");
  Result<const toml::array*> regions = reader.tables(root, "region", kTableName[kRegion]);
  if (!regions) return regions.status();
  if (!*regions || (*regions)->empty()) return reader.at(1, "fleet has no regions ([[region]])");

  std::vector<EntrySpec> specs;
  std::uint64_t nodes = 0;
  for (const toml::node& r : **regions) {
    Result<EntrySpec> spec = reader.entry(*r.as_table(), kRegion);
    if (!spec) return spec.status();
    // Refused before building anything, so a replication typo costs nothing.
    nodes += node_count(*spec);
    if (nodes > kMaxFleetNodes) {
      return reader.at(spec->line, "fleet has more than " + std::to_string(kMaxFleetNodes) +
                                       " nodes (replication typo?)");
    }
    specs.push_back(std::move(spec).value());
  }

  FleetBuilder builder(**name, catalog);
  builder.reserve(nodes);
  Expander expander(reader, catalog, builder);
  for (const EntrySpec& spec : specs) {
    s = expander.region(spec);
    if (!s) return s;
  }
  Result<Fleet> fleet = builder.build();
  if (!fleet) return reader.at(1, fleet.message());
  return fleet;
}

Result<Fleet> load_fleet_file(const std::string& path, const GpuCatalog& catalog) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::error(path + ": is a directory, not a fleet file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open fleet file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::error(path + ": cannot read fleet file");
  return parse_fleet(text.str(), path, catalog);
}

}  // namespace flotilla
