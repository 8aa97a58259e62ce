// Reading slurm.conf, gres.conf and topology.conf or topology.yaml, and
// writing the fleet file.
#include "slurm/slurm_conf.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include <yaml.h>

#include "scheduler/fleet.h"
#include "scheduler/hostlist.h"

namespace flotilla {
namespace {

// One "Key=Value ..." line after joining continuations and dropping comments.
struct ConfRecord {
  ConfOrigin origin;
  std::vector<std::pair<std::string, std::string>> pairs;  // keys as written
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Drops a '#' comment (Slurm keeps "\#" as a literal '#').
std::string strip_comment(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '#') {
      out += '#';
      ++i;
    } else if (line[i] == '#') {
      break;
    } else {
      out += line[i];
    }
  }
  return out;
}

// Splits "A=1 B="two words" C=x" into pairs; quotes group, as in Slurm.
Status split_pairs(std::string_view text, const ConfOrigin& at, ConfRecord& out) {
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size()) return Status::ok();
    const std::size_t key_start = i;
    while (i < text.size() && text[i] != '=' && !std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    const std::string key(text.substr(key_start, i - key_start));
    if (i == text.size() || text[i] != '=') {
      return Status::at(at.file, at.line, "expected Key=Value, got '" + key + "'");
    }
    ++i;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return Status::at(at.file, at.line, key + ": unterminated quote");
      }
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      const std::size_t start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      value = std::string(text.substr(start, i - start));
    }
    out.pairs.emplace_back(key, std::move(value));
  }
}

// Reads `path` into records, following Include lines; `open` guards loops.
Status read_records(const std::string& path, std::vector<std::string>& open,
                    std::vector<ConfRecord>& out, const ConfOrigin* included_from) {
  if (std::find(open.begin(), open.end(), path) != open.end()) {
    return Status::at(included_from->file, included_from->line, "Include loop through " + path);
  }
  std::ifstream in(path);
  if (!in) {
    const std::string what = "cannot read " + path;
    return included_from ? Status::at(included_from->file, included_from->line, what)
                         : Status::error(what);
  }
  open.push_back(path);
  std::string raw, joined;
  std::size_t line = 0, first_line = 0;
  while (std::getline(in, raw)) {
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string text = strip_comment(raw);
    if (joined.empty()) first_line = line;
    // A trailing backslash continues the record on the next line.
    const std::string_view t = trim(text);
    if (!t.empty() && t.back() == '\\') {
      joined += std::string(t.substr(0, t.size() - 1)) + ' ';
      continue;
    }
    joined += text;
    const std::string_view record = trim(joined);
    const ConfOrigin at{path, first_line};
    if (record.empty()) {
      joined.clear();
      continue;
    }
    // "Include FILE": relative to this file's folder.
    const std::size_t space = record.find_first_of(" \t");
    if (space != std::string_view::npos && iequals(record.substr(0, space), "include")) {
      std::filesystem::path inc(std::string(trim(record.substr(space))));
      if (inc.is_relative()) inc = std::filesystem::path(path).parent_path() / inc;
      if (Status s = read_records(inc.string(), open, out, &at); !s) return s;
      joined.clear();
      continue;
    }
    ConfRecord r{at, {}};
    if (Status s = split_pairs(record, at, r); !s) return s;
    out.push_back(std::move(r));
    joined.clear();
  }
  open.pop_back();
  return Status::ok();
}

Status bad(const ConfOrigin& at, std::string_view key, std::string_view what,
           std::string_view value) {
  return Status::at(
      at.file, at.line,
      std::string(key) + ": " + std::string(what) + ", got '" + std::string(value) + "'");
}

// Whole number with Slurm's optional K/M/G (x1024) suffix, as gres counts use.
bool parse_count(std::string_view s, std::uint64_t& out) {
  std::uint64_t scale = 1;
  if (!s.empty()) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
    if (c == 'K' || c == 'M' || c == 'G') {
      scale = c == 'K' ? 1024 : c == 'M' ? 1024 * 1024 : 1024ull * 1024 * 1024;
      s.remove_suffix(1);
    }
  }
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return false;
  out = v * scale;
  return true;
}

Result<std::uint32_t> parse_u32(const ConfOrigin& at, std::string_view key, std::string_view v) {
  std::uint64_t n = 0;
  if (!parse_count(v, n) || n > UINT32_MAX) return bad(at, key, "expected a whole number", v);
  return static_cast<std::uint32_t>(n);
}

Result<std::vector<std::string>> hosts(const ConfOrigin& at, std::string_view key,
                                       std::string_view v) {
  Result<std::vector<std::string>> names = expand_hostlist(v);
  if (!names) return Status::at(at.file, at.line, std::string(key) + ": " + names.message());
  return names;
}

// The GPU part of a Gres= value: "gpu:h100:8", "gpu:8", "gpu:a100:4(S:0-1),nvme:1".
Status parse_gres(const ConfOrigin& at, std::string_view value, SlurmNode& node,
                  std::vector<IgnoredSetting>& ignored) {
  node.gpu_type.clear();
  node.gpus = 0;
  if (iequals(value, "(null)") || value.empty()) return Status::ok();
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    // Commas inside "(S:0,1)" belong to the socket list.
    const std::size_t paren = value.find('(', start);
    if (paren != std::string_view::npos && paren < comma) {
      const std::size_t close = value.find(')', paren);
      comma = close == std::string_view::npos ? std::string_view::npos : value.find(',', close);
    }
    std::string_view entry = value.substr(start, comma - start);
    if (const std::size_t p = entry.find('('); p != std::string_view::npos) {
      entry = entry.substr(0, p);
    }
    std::vector<std::string_view> parts;
    for (std::size_t s = 0;;) {
      const std::size_t colon = entry.find(':', s);
      parts.push_back(entry.substr(s, colon - s));
      if (colon == std::string_view::npos) break;
      s = colon + 1;
    }
    if (!iequals(parts[0], "gpu")) {
      ignored.push_back({at, "Gres=" + std::string(entry) + " (not a GPU)"});
    } else {
      std::string type;
      std::uint64_t count = 1;
      if (parts.size() > 3) return bad(at, "Gres", "expected gpu[:TYPE][:COUNT]", entry);
      if (parts.size() == 2) {
        if (!parse_count(parts[1], count)) type = std::string(parts[1]);
      } else if (parts.size() == 3) {
        type = std::string(parts[1]);
        if (!parse_count(parts[2], count)) return bad(at, "Gres", "bad GPU count", entry);
      }
      if (!node.gpu_type.empty() && !type.empty() && !iequals(node.gpu_type, type)) {
        return Status::at(at.file, at.line,
                          "Gres: node has two GPU types (" + node.gpu_type + ", " + type +
                              "); a fleet node holds one");
      }
      if (!type.empty()) node.gpu_type = type;
      if (count > UINT32_MAX - node.gpus) return bad(at, "Gres", "GPU count too large", entry);
      node.gpus += static_cast<std::uint32_t>(count);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::ok();
}

// Node fields a NodeName line may set (also through NodeName=DEFAULT).
struct NodeFields {
  SlurmNode node;
  std::optional<std::uint32_t> cpus;
  std::uint32_t boards = 1, sockets = 1, cores = 1, threads = 1;
};

Status apply_node_key(const ConfOrigin& at, const std::string& key, const std::string& value,
                      NodeFields& f, std::vector<IgnoredSetting>& ignored) {
  const std::string k = lower(key);
  auto u32 = [&](std::uint32_t& out) -> Status {
    Result<std::uint32_t> n = parse_u32(at, key, value);
    if (!n) return n.status();
    out = *n;
    return Status::ok();
  };
  if (k == "cpus" || k == "procs") {
    std::uint32_t n = 0;
    if (Status s = u32(n); !s) return s;
    f.cpus = n;
    return Status::ok();
  }
  if (k == "boards") return u32(f.boards);
  if (k == "sockets" || k == "socketsperboard") return u32(f.sockets);
  if (k == "corespersocket") return u32(f.cores);
  if (k == "threadspercore") return u32(f.threads);
  if (k == "weight") return u32(f.node.weight);
  if (k == "realmemory") {
    std::uint64_t mb = 0;
    if (!parse_count(value, mb)) return bad(at, key, "expected megabytes", value);
    f.node.real_memory_mb = mb;
    return Status::ok();
  }
  if (k == "features" || k == "feature") {
    f.node.features.clear();
    std::stringstream ss(value);
    for (std::string item; std::getline(ss, item, ',');) {
      if (!item.empty()) f.node.features.push_back(item);
    }
    return Status::ok();
  }
  if (k == "gres") return parse_gres(at, value, f.node, ignored);
  if (k == "state") {
    f.node.state = value;
    return Status::ok();
  }
  ignored.push_back({at, key + "=" + value});
  return Status::ok();
}

struct GresConfLine {
  ConfOrigin origin;
  std::optional<std::vector<std::string>> nodes;  // unset: every node (the local one)
  std::string type;
  std::uint64_t count = 0;
};

// gres.conf: the GPU lines (Name=gpu), per node.
Status read_gres_conf(const std::string& path, SlurmCluster& cluster) {
  std::vector<ConfRecord> records;
  std::vector<std::string> open;
  if (Status s = read_records(path, open, records, nullptr); !s) return s;
  std::vector<GresConfLine> lines;
  for (const ConfRecord& r : records) {
    GresConfLine g{r.origin, std::nullopt, "", 0};
    bool gpu = false, has_count = false;
    std::optional<std::uint64_t> files;
    for (const auto& [key, value] : r.pairs) {
      const std::string k = lower(key);
      if (k == "nodename") {
        Result<std::vector<std::string>> names = hosts(r.origin, key, value);
        if (!names) return names.status();
        g.nodes = std::move(*names);
      } else if (k == "name") {
        gpu = iequals(value, "gpu");
      } else if (k == "type") {
        g.type = value;
      } else if (k == "count") {
        if (!parse_count(value, g.count)) return bad(r.origin, key, "bad count", value);
        has_count = true;
      } else if (k == "file" || k == "multiple_files") {
        Result<std::uint64_t> n = hostlist_size(value);
        if (!n) return Status::at(r.origin.file, r.origin.line, key + ": " + n.message());
        files = *n;
      } else {
        cluster.ignored.push_back({r.origin, key + "=" + value});
      }
    }
    if (!gpu) continue;
    if (!has_count) g.count = files.value_or(1);
    lines.push_back(std::move(g));
  }
  for (SlurmNode& node : cluster.nodes) {
    if (node.gpus == 0) continue;
    std::uint64_t count = 0;
    const GresConfLine* first = nullptr;
    for (const GresConfLine& g : lines) {
      if (g.nodes && std::find(g.nodes->begin(), g.nodes->end(), node.name) == g.nodes->end()) {
        continue;
      }
      if (!first) first = &g;
      if (!g.type.empty()) {
        if (node.gpu_type.empty()) {
          node.gpu_type = g.type;
        } else if (!iequals(node.gpu_type, g.type)) {
          return Status::at(g.origin.file, g.origin.line,
                            "Type=" + g.type + " for " + node.name + ", but " +
                                node.origin.where() + " says gpu:" + node.gpu_type);
        }
      }
      count += g.count;
    }
    if (first && count != node.gpus) {
      return Status::at(first->origin.file, first->origin.line,
                        "gres.conf gives " + node.name + " " + std::to_string(count) +
                            " GPUs, but " + node.origin.where() + " says " +
                            std::to_string(node.gpus));
    }
  }
  return Status::ok();
}

// Appends a switch or block; its name must be new ("duplicate WHAT NAME").
Status add_unique(std::vector<SlurmSwitch>& list, SlurmSwitch sw, const std::string& what) {
  for (const SlurmSwitch& other : list) {
    if (other.name == sw.name) {
      return Status::at(
          sw.origin.file, sw.origin.line,
          "duplicate " + what + " " + sw.name + " (first at " + other.origin.where() + ")");
    }
  }
  list.push_back(std::move(sw));
  return Status::ok();
}

Status read_topology_conf(const std::string& path, SlurmCluster& cluster) {
  std::vector<ConfRecord> records;
  std::vector<std::string> open;
  if (Status s = read_records(path, open, records, nullptr); !s) return s;
  for (const ConfRecord& r : records) {
    const std::string first = lower(r.pairs.front().first);
    if (first == "blocksizes") {
      std::stringstream ss(r.pairs.front().second);
      for (std::string item; std::getline(ss, item, ',');) {
        Result<std::uint32_t> n = parse_u32(r.origin, "BlockSizes", item);
        if (!n) return n.status();
        cluster.block_sizes.push_back(*n);
      }
      continue;
    }
    if (first != "switchname" && first != "blockname") {
      return Status::at(
          r.origin.file, r.origin.line,
          "expected SwitchName=, BlockName= or BlockSizes=, got " + r.pairs.front().first);
    }
    SlurmSwitch sw{r.pairs.front().second, {}, {}, "", r.origin};
    for (std::size_t i = 1; i < r.pairs.size(); ++i) {
      const auto& [key, value] = r.pairs[i];
      const std::string k = lower(key);
      if (k == "nodes" || (k == "switches" && first == "switchname")) {
        Result<std::vector<std::string>> names = hosts(r.origin, key, value);
        if (!names) return names.status();
        (k == "nodes" ? sw.nodes : sw.switches) = std::move(*names);
      } else if (k == "linkspeed") {
        sw.link_speed = value;
      } else {
        cluster.ignored.push_back({r.origin, key + "=" + value});
      }
    }
    auto& list = first == "switchname" ? cluster.switches : cluster.blocks;
    if (Status s = add_unique(list, std::move(sw), r.pairs.front().first); !s) return s;
  }
  return Status::ok();
}

// topology.yaml (Slurm 24.11+, topology.yaml(5)): a list of named topologies,
// each "topology: NAME", optional "cluster_default: BOOL" and exactly one of
// tree (switches: [{switch, children, nodes}]), block (block_sizes: [...],
// blocks: [{block, nodes}]), flat, ring or torus3d. Slurm uses the first
// topology marked cluster_default for the cluster as a whole; so does the
// fleet (the first topology when none is marked), and the others are listed
// as ignored. libyaml builds the node tree (with lines); this walks the part
// Slurm documents. Owns the loaded document; one per read, single-threaded.
class TopologyYaml {
 public:
  explicit TopologyYaml(std::string path) : path_(std::move(path)) {}
  TopologyYaml(const TopologyYaml&) = delete;
  TopologyYaml& operator=(const TopologyYaml&) = delete;
  ~TopologyYaml() {
    if (loaded_) yaml_document_delete(&doc_);
  }

  Status read(SlurmCluster& cluster) {
    if (Status s = load(); !s) return s;
    yaml_node_t* root = yaml_document_get_root_node(&doc_);
    if (!root) return Status::at(path_, 1, "no topologies (the file is empty)");
    if (root->type != YAML_SEQUENCE_NODE) {
      return error(root, "expected a list of topologies (\"- topology: NAME\")");
    }
    struct Topology {
      std::string name, kind;
      yaml_node_t* node = nullptr;  // the kind's value
      ConfOrigin origin;
      bool cluster_default = false;
    };
    std::vector<Topology> topologies;
    for (yaml_node_t* item : items(root)) {
      if (item->type != YAML_MAPPING_NODE) return error(item, "expected \"topology: NAME\"");
      const auto fields = entries(item);
      if (!fields) return fields.status();
      if (fields->empty() || fields->front().key != "topology") {
        return error(item, "a topology's first attribute must be \"topology: NAME\"");
      }
      Topology t{"", "", nullptr, origin(item), false};
      for (const auto& [key, value, at] : *fields) {
        if (key == "topology") {
          Result<std::string> name = text(key, value);
          if (!name) return name.status();
          t.name = *name;
        } else if (key == "cluster_default") {
          Result<std::string> v = text(key, value);
          if (!v) return v.status();
          if (lower(*v) != "true" && lower(*v) != "false") {
            return bad(origin(value), key, "expected true or false", *v);
          }
          t.cluster_default = lower(*v) == "true";
        } else if (key == "tree" || key == "block" || key == "flat" || key == "ring" ||
                   key == "torus3d") {
          if (!t.kind.empty()) {
            return Status::at(at.file, at.line,
                              "topology " + t.name + ": both " + t.kind + " and " + key +
                                  "; give exactly one of block, flat, ring, torus3d, tree");
          }
          t.kind = key;
          t.node = value;
        } else {
          cluster.ignored.push_back({at, "topology " + t.name + ": " + key});
        }
      }
      if (t.kind.empty()) {
        return Status::at(t.origin.file, t.origin.line,
                          "topology " + t.name +
                              ": no type; give exactly one of block, flat, ring, torus3d, tree");
      }
      for (const Topology& other : topologies) {
        if (other.name == t.name) {
          return Status::at(
              t.origin.file, t.origin.line,
              "duplicate topology " + t.name + " (first at " + other.origin.where() + ")");
        }
      }
      topologies.push_back(std::move(t));
    }
    if (topologies.empty()) return error(root, "no topologies (an empty list)");
    auto chosen = std::find_if(topologies.begin(), topologies.end(),
                               [](const Topology& t) { return t.cluster_default; });
    if (chosen == topologies.end()) chosen = topologies.begin();
    for (const Topology& t : topologies) {
      if (&t != &*chosen) {
        cluster.ignored.push_back(
            {t.origin, "topology " + t.name + " (" + t.kind + "): not the cluster default"});
      }
    }
    if (chosen->kind == "tree") {
      return read_members(chosen->name, chosen->node, "switches", "switch", cluster.switches,
                          cluster);
    }
    if (chosen->kind == "block") {
      return read_members(chosen->name, chosen->node, "blocks", "block", cluster.blocks, cluster);
    }
    if (chosen->kind != "flat") {
      cluster.ignored.push_back({chosen->origin, "topology " + chosen->name + " (" + chosen->kind +
                                                     "): not modelled; one switch for all nodes"});
    }
    return Status::ok();
  }

 private:
  Status load() {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path_.c_str(), "rb"), &std::fclose);
    if (!file) return Status::error(path_ + ": cannot read");
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return Status::error(path_ + ": out of memory");
    yaml_parser_set_input_file(&parser, file.get());
    loaded_ = yaml_parser_load(&parser, &doc_) != 0;
    Status s = Status::ok();
    if (!loaded_) {
      s = Status::at(path_, parser.problem_mark.line + 1,
                     std::string("YAML: ") + (parser.problem ? parser.problem : "unreadable"));
    }
    yaml_parser_delete(&parser);
    return s;
  }

  ConfOrigin origin(const yaml_node_t* n) const { return {path_, n->start_mark.line + 1}; }
  Status error(const yaml_node_t* n, const std::string& what) const {
    return Status::at(path_, n->start_mark.line + 1, what);
  }

  std::vector<yaml_node_t*> items(yaml_node_t* seq) {
    std::vector<yaml_node_t*> out;
    for (yaml_node_item_t* i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         ++i) {
      out.push_back(yaml_document_get_node(&doc_, *i));
    }
    return out;
  }

  // One "key: value" of a mapping; `at` is the key's line.
  struct Entry {
    std::string key;
    yaml_node_t* value;
    ConfOrigin at;
  };

  // A mapping's entries in file order; keys must be plain scalars.
  Result<std::vector<Entry>> entries(yaml_node_t* map) {
    std::vector<Entry> out;
    for (yaml_node_pair_t* p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         ++p) {
      yaml_node_t* key = yaml_document_get_node(&doc_, p->key);
      if (key->type != YAML_SCALAR_NODE) return error(key, "expected a name before ':'");
      out.push_back({scalar(key), yaml_document_get_node(&doc_, p->value), origin(key)});
    }
    return out;
  }

  static std::string scalar(const yaml_node_t* n) {
    return {reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length};
  }

  Result<std::string> text(const std::string& key, const yaml_node_t* n) const {
    if (n->type != YAML_SCALAR_NODE) return error(n, key + ": expected a single value");
    return scalar(n);
  }

  // A hostlist ("n[01-04]") or a list of them.
  Result<std::vector<std::string>> names(const std::string& key, yaml_node_t* n) {
    std::vector<yaml_node_t*> parts =
        n->type == YAML_SEQUENCE_NODE ? items(n) : std::vector<yaml_node_t*>{n};
    std::vector<std::string> out;
    for (yaml_node_t* part : parts) {
      Result<std::string> v = text(key, part);
      if (!v) return v.status();
      Result<std::vector<std::string>> expanded = hosts(origin(part), key, *v);
      if (!expanded) return expanded.status();
      out.insert(out.end(), expanded->begin(), expanded->end());
    }
    return out;
  }

  // The list under `key` of a topology type's mapping; each item a mapping
  // whose `name_key` (switch, block) is required.
  Status read_members(const std::string& topology, yaml_node_t* type, const std::string& key,
                      const std::string& name_key, std::vector<SlurmSwitch>& list,
                      SlurmCluster& cluster) {
    if (type->type != YAML_MAPPING_NODE)
      return error(type, "topology " + topology + ": expected " + key + ":");
    const auto fields = entries(type);
    if (!fields) return fields.status();
    bool found = false;
    for (const auto& [field, value, at] : *fields) {
      if (field == "block_sizes" && name_key == "block") {
        for (yaml_node_t* size :
             value->type == YAML_SEQUENCE_NODE ? items(value) : std::vector<yaml_node_t*>{value}) {
          Result<std::string> v = text(field, size);
          if (!v) return v.status();
          Result<std::uint32_t> n = parse_u32(origin(size), field, *v);
          if (!n) return n.status();
          cluster.block_sizes.push_back(*n);
        }
        continue;
      }
      if (field != key) {
        cluster.ignored.push_back({at, "topology " + topology + ": " + field});
        continue;
      }
      found = true;
      if (value->type != YAML_SEQUENCE_NODE) return error(value, key + ": expected a list");
      for (yaml_node_t* item : items(value)) {
        if (item->type != YAML_MAPPING_NODE)
          return error(item, key + ": expected \"- " + name_key + ": NAME\"");
        const auto member = entries(item);
        if (!member) return member.status();
        SlurmSwitch sw{"", {}, {}, "", origin(item)};
        for (const auto& [k, v, k_at] : *member) {
          if (k == name_key) {
            Result<std::string> name = text(k, v);
            if (!name) return name.status();
            sw.name = *name;
          } else if (k == "nodes" || (k == "children" && name_key == "switch")) {
            Result<std::vector<std::string>> n = names(k, v);
            if (!n) return n.status();
            (k == "nodes" ? sw.nodes : sw.switches) = std::move(*n);
          } else {
            cluster.ignored.push_back({k_at, name_key + " " + sw.name + ": " + k});
          }
        }
        if (sw.name.empty())
          return error(item, key + ": an entry without \"" + name_key + ": NAME\"");
        // Slurm's limit on switch names (topology.yaml(5)).
        if (name_key == "switch" && sw.name.size() > 64) {
          return error(item, "switch " + sw.name + ": longer than 64 characters");
        }
        if (Status s = add_unique(list, std::move(sw), name_key); !s) return s;
      }
    }
    if (!found) return error(type, "topology " + topology + ": no " + key + ":");
    return Status::ok();
  }

  std::string path_;
  yaml_document_t doc_{};
  bool loaded_ = false;
};

}  // namespace

Result<SlurmCluster> read_slurm_cluster(const SlurmConfPaths& paths) {
  std::vector<ConfRecord> records;
  std::vector<std::string> open;
  if (Status s = read_records(paths.slurm_conf, open, records, nullptr); !s) return s;

  SlurmCluster c;
  c.slurm_conf = paths.slurm_conf;
  c.cluster_name = "cluster";
  c.scheduler_type = "sched/backfill";
  c.priority_type = "priority/basic";
  NodeFields node_default;
  SlurmPartition partition_default;
  std::unordered_map<std::string, std::size_t> node_index;
  std::map<std::string, std::vector<std::string>> node_sets;
  // Partitions name nodes that may be declared later; resolved at the end.
  std::vector<std::pair<std::size_t, std::string>> partition_nodes;

  for (const ConfRecord& r : records) {
    const auto& [key0, value0] = r.pairs.front();
    const std::string k0 = lower(key0);
    if (k0 == "nodename") {
      const bool is_default = iequals(value0, "DEFAULT");
      NodeFields f = node_default;
      for (std::size_t i = 1; i < r.pairs.size(); ++i) {
        if (Status s = apply_node_key(r.origin, r.pairs[i].first, r.pairs[i].second, f, c.ignored);
            !s) {
          return s;
        }
      }
      if (is_default) {
        node_default = f;
        continue;
      }
      Result<std::vector<std::string>> names = hosts(r.origin, key0, value0);
      if (!names) return names.status();
      f.node.cpus = f.cpus.value_or(f.boards * f.sockets * f.cores * f.threads);
      f.node.origin = r.origin;
      for (const std::string& name : *names) {
        if (auto it = node_index.find(name); it != node_index.end()) {
          return Status::at(
              r.origin.file, r.origin.line,
              "duplicate node " + name + " (first at " + c.nodes[it->second].origin.where() + ")");
        }
        node_index.emplace(name, c.nodes.size());
        c.nodes.push_back(f.node);
        c.nodes.back().name = name;
      }
    } else if (k0 == "partitionname") {
      const bool is_default = iequals(value0, "DEFAULT");
      SlurmPartition p = partition_default;
      std::string nodes_spec;
      for (std::size_t i = 1; i < r.pairs.size(); ++i) {
        const auto& [key, value] = r.pairs[i];
        const std::string k = lower(key);
        if (k == "nodes") {
          nodes_spec = value;
        } else if (k == "default") {
          p.is_default = iequals(value, "YES");
        } else if (k == "maxtime") {
          p.max_time = value;
        } else if (k == "state") {
          p.state = value;
        } else {
          c.ignored.push_back({r.origin, key0 + "=" + value0 + ": " + key + "=" + value});
        }
      }
      if (is_default) {
        partition_default = p;
        continue;
      }
      p.name = value0;
      p.origin = r.origin;
      for (const SlurmPartition& other : c.partitions) {
        if (other.name == p.name) {
          return Status::at(
              r.origin.file, r.origin.line,
              "duplicate partition " + p.name + " (first at " + other.origin.where() + ")");
        }
      }
      partition_nodes.emplace_back(c.partitions.size(), nodes_spec);
      c.partitions.push_back(std::move(p));
    } else if (k0 == "nodeset") {
      // NodeSet=NAME Nodes=LIST or Feature=F; partitions may name the set.
      std::vector<std::string>& set = node_sets[value0];
      for (std::size_t i = 1; i < r.pairs.size(); ++i) {
        const auto& [key, value] = r.pairs[i];
        if (iequals(key, "Nodes")) {
          Result<std::vector<std::string>> names = hosts(r.origin, key, value);
          if (!names) return names.status();
          set.insert(set.end(), names->begin(), names->end());
        } else if (iequals(key, "Feature")) {
          for (const SlurmNode& n : c.nodes) {
            if (std::find(n.features.begin(), n.features.end(), value) != n.features.end()) {
              set.push_back(n.name);
            }
          }
        } else {
          return bad(r.origin, key, "expected Nodes= or Feature= in a NodeSet", value);
        }
      }
    } else {
      // Plain settings; several may share a line.
      for (const auto& [key, value] : r.pairs) {
        const std::string k = lower(key);
        if (k == "clustername") {
          c.cluster_name = value;
        } else if (k == "selecttype") {
          c.select_type = value;
        } else if (k == "schedulertype") {
          c.scheduler_type = value;
        } else if (k == "prioritytype") {
          c.priority_type = value;
        } else if (k == "topologyplugin") {
          c.topology_plugin = value;
        } else {
          c.ignored.push_back({r.origin, key + "=" + value});
        }
      }
    }
  }

  for (const auto& [index, spec] : partition_nodes) {
    SlurmPartition& p = c.partitions[index];
    if (spec.empty()) continue;
    if (iequals(spec, "ALL")) {
      for (const SlurmNode& n : c.nodes) p.nodes.push_back(n.name);
      continue;
    }
    // Set names and hostlists may be mixed: "ns1,n[1-4]". Split at top-level commas.
    std::vector<std::string> items;
    std::string item;
    int depth = 0;
    for (char ch : spec) {
      if (ch == '[') ++depth;
      if (ch == ']') --depth;
      if (ch == ',' && depth == 0) {
        items.push_back(item);
        item.clear();
      } else {
        item += ch;
      }
    }
    items.push_back(item);
    for (const std::string& it : items) {
      if (auto set = node_sets.find(it); set != node_sets.end()) {
        p.nodes.insert(p.nodes.end(), set->second.begin(), set->second.end());
        continue;
      }
      Result<std::vector<std::string>> names = hosts(p.origin, "Nodes", it);
      if (!names) return names.status();
      for (const std::string& name : *names) {
        if (!node_index.count(name)) {
          return Status::at(p.origin.file, p.origin.line,
                            "partition " + p.name + ": node " + name + " has no NodeName line");
        }
        p.nodes.push_back(name);
      }
    }
  }

  if (!paths.gres_conf.empty()) {
    if (Status s = read_gres_conf(paths.gres_conf, c); !s) return s;
  }
  if (!paths.topology_conf.empty()) {
    // Slurm tells the two apart by name (topology.yaml is read first).
    const std::string ext = std::filesystem::path(paths.topology_conf).extension().string();
    if (Status s = ext == ".yaml" || ext == ".yml" ? TopologyYaml(paths.topology_conf).read(c)
                                                   : read_topology_conf(paths.topology_conf, c);
        !s) {
      return s;
    }
    for (const auto* list : {&c.switches, &c.blocks}) {
      for (const SlurmSwitch& sw : *list) {
        for (const std::string& name : sw.nodes) {
          if (!node_index.count(name)) {
            return Status::at(sw.origin.file, sw.origin.line,
                              sw.name + ": node " + name + " has no NodeName line");
          }
        }
      }
    }
  }
  return c;
}

namespace {

// Assumed links, since Slurm's files carry no bandwidth (LinkSpeed is unitless):
// 400 Gb/s InfiniBand per GPU (Llama 3, arXiv 2407.21783, 3.3.1; REFERENCE.md)
// and a non-blocking tree, so each uplink carries the sum of what is below it.
constexpr double kGbpsPerGpu = 400;
constexpr double kRegionUplinkGbps = 100;  // one region: the link is never used

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + '"';
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

// A fleet-file entry name must not replicate or substitute.
Status plain_name(const ConfOrigin& at, const std::string& name) {
  if (name.find_first_of("[],{}\"\\") != std::string::npos || name.empty()) {
    return Status::at(at.file, at.line, "name '" + name + "' cannot be a fleet entry name");
  }
  return Status::ok();
}

struct Leaf {
  std::string name;
  ConfOrigin origin;
  std::vector<std::size_t> nodes;  // indexes into SlurmCluster::nodes
};
struct SiteOut {
  std::string name;
  ConfOrigin origin;  // the switch it is named after
  std::vector<Leaf> leaves;
};

}  // namespace

Result<FleetExport> slurm_fleet_toml(const SlurmCluster& c, const FleetExportOptions& options,
                                     const GpuCatalog& catalog) {
  FleetExport out;
  const std::string provider = options.provider.empty() ? c.cluster_name : options.provider;
  const ConfOrigin cluster_origin{c.slurm_conf, 0};
  if (Status s = plain_name(cluster_origin, c.cluster_name); !s) {
    return Status::error("ClusterName '" + c.cluster_name + "' cannot be a fleet name");
  }

  // GPU types and counts first, so every unknown type is caught with its line.
  std::vector<GpuTypeId> type_of(c.nodes.size(), 0);
  std::vector<bool> has_gpus(c.nodes.size(), false);
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    const SlurmNode& n = c.nodes[i];
    if (n.gpus == 0) {
      ++out.cpu_only_nodes;
      out.notes.push_back(n.origin.where() + ": " + n.name + " has no GPUs, left out of the fleet");
      continue;
    }
    if (n.gpu_type.empty()) {
      return Status::at(n.origin.file, n.origin.line,
                        n.name + ": no GPU type (write Gres=gpu:TYPE:N, or Type= in gres.conf)");
    }
    const std::optional<GpuTypeId> t = catalog.find(n.gpu_type);
    if (!t) {
      return Status::at(n.origin.file, n.origin.line,
                        n.name + ": GPU type '" + n.gpu_type +
                            "' is not in the GPU catalog (scheduler/gpu_catalog.toml)");
    }
    if (n.gpus > kMaxGpusPerNode) {
      return Status::at(n.origin.file, n.origin.line,
                        n.name + ": " + std::to_string(n.gpus) +
                            " GPUs; a fleet node holds at most " + std::to_string(kMaxGpusPerNode));
    }
    type_of[i] = *t;
    has_gpus[i] = true;
  }
  if (out.cpu_only_nodes == c.nodes.size()) {
    return Status::error(c.nodes.empty() ? "no NodeName lines" : "no node has GPUs (Gres=gpu:...)");
  }

  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < c.nodes.size(); ++i) index.emplace(c.nodes[i].name, i);
  std::vector<SiteOut> sites;
  std::vector<bool> placed(c.nodes.size(), false);
  auto take_nodes = [&](const SlurmSwitch& sw, Leaf& leaf) -> Status {
    for (const std::string& name : sw.nodes) {
      const std::size_t i = index.at(name);
      if (placed[i]) {
        return Status::at(sw.origin.file, sw.origin.line,
                          sw.name + ": node " + name + " is already under another switch");
      }
      placed[i] = true;
      if (has_gpus[i]) leaf.nodes.push_back(i);
    }
    return Status::ok();
  };

  if (!c.switches.empty()) {
    std::unordered_map<std::string, const SlurmSwitch*> by_name;
    std::unordered_map<std::string, std::string> parent;
    for (const SlurmSwitch& sw : c.switches) by_name.emplace(sw.name, &sw);
    for (const SlurmSwitch& sw : c.switches) {
      for (const std::string& child : sw.switches) {
        if (!by_name.count(child)) {
          return Status::at(sw.origin.file, sw.origin.line,
                            sw.name + ": switch " + child + " has no SwitchName line");
        }
        if (!parent.emplace(child, sw.name).second) {
          return Status::at(sw.origin.file, sw.origin.line,
                            sw.name + ": switch " + child + " already has a parent");
        }
      }
    }
    // A cycle has no root above it: walking up never ends.
    for (const SlurmSwitch& sw : c.switches) {
      std::string at = sw.name;
      for (std::size_t steps = 0; parent.count(at); ++steps) {
        if (steps > c.switches.size()) {
          return Status::at(sw.origin.file, sw.origin.line, sw.name + ": switch tree has a cycle");
        }
        at = parent.at(at);
      }
    }
    for (const SlurmSwitch& sw : c.switches) {
      if (sw.nodes.empty()) continue;
      // The site is the switch one level up (a lone leaf is its own site).
      const std::string site = parent.count(sw.name) ? parent.at(sw.name) : sw.name;
      auto it = std::find_if(sites.begin(), sites.end(),
                             [&](const SiteOut& s) { return s.name == site; });
      if (it == sites.end()) {
        sites.push_back({site, sw.origin, {}});
        it = sites.end() - 1;
      }
      Leaf leaf{sw.name, sw.origin, {}};
      if (Status s = take_nodes(sw, leaf); !s) return s;
      if (!leaf.nodes.empty()) it->leaves.push_back(std::move(leaf));
      if (!sw.switches.empty()) {
        out.notes.push_back(sw.origin.where() + ": " + sw.name +
                            " has both Nodes= and Switches=; its nodes form one leaf");
      }
    }
    // Deeper trees: levels above the leaves' parents fold into the region.
    for (const SiteOut& s : sites) {
      if (parent.count(s.name)) {
        out.notes.push_back(by_name.at(s.name)->origin.where() + ": switches above " + s.name +
                            " are folded into the one region");
        break;
      }
    }
  } else if (!c.blocks.empty()) {
    sites.push_back({c.cluster_name, cluster_origin, {}});
    for (const SlurmSwitch& b : c.blocks) {
      Leaf leaf{b.name, b.origin, {}};
      if (Status s = take_nodes(b, leaf); !s) return s;
      if (!leaf.nodes.empty()) sites.back().leaves.push_back(std::move(leaf));
    }
    if (!c.block_sizes.empty()) {
      out.notes.push_back(c.blocks.front().origin.where() +
                          ": BlockSizes are not modelled; each block is one switch");
    }
  }
  // Nodes no switch names (or every node, without a topology file).
  Leaf rest{c.cluster_name + (sites.empty() ? "" : "-unswitched"), cluster_origin, {}};
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    if (placed[i] || !has_gpus[i]) continue;
    rest.nodes.push_back(i);
    if (!sites.empty()) {
      out.notes.push_back(c.nodes[i].origin.where() + ": " + c.nodes[i].name +
                          " is under no switch; put in " + rest.name);
    }
  }
  if (!rest.nodes.empty()) sites.push_back({rest.name, cluster_origin, {std::move(rest)}});

  std::ostringstream t;
  t << "# Imported from " << c.slurm_conf
    << " by `flotilla fleet import-slurm`.\n"
       "# Links are assumed (Slurm's files carry no bandwidth): 400 Gb/s per GPU\n"
       "# (Llama 3, arXiv 2407.21783, 3.3.1) and non-blocking switches above.\n"
       "# Prices, watts and NVLink domains come from the GPU catalog.\n";
  t << "# SchedulerType=" << c.scheduler_type << " ("
    << (c.scheduler_type == "sched/builtin" ? "flotilla sim --policy fcfs"
                                            : "flotilla sim --policy conservative")
    << "), PriorityType=" << c.priority_type;
  if (!c.select_type.empty()) t << ", SelectType=" << c.select_type;
  if (!c.topology_plugin.empty()) t << ", TopologyPlugin=" << c.topology_plugin;
  t << "\n";
  for (const SlurmPartition& p : c.partitions) {
    std::vector<std::string> names = p.nodes;
    t << "# partition " << p.name << " (" << p.origin.where()
      << "): Nodes=" << compress_hostlist(names);
    if (p.is_default) t << " Default=YES";
    if (!p.max_time.empty()) t << " MaxTime=" << p.max_time;
    if (!p.state.empty()) t << " State=" << p.state;
    t << '\n';
  }
  t << "name = " << toml_string(c.cluster_name)
    << "\n\n[[region]]\nname = " << toml_string(c.cluster_name)
    << "\nuplink_gbps = " << kRegionUplinkGbps << "\n";

  for (const SiteOut& site : sites) {
    if (Status s = plain_name(site.origin, site.name); !s) return s;
    double site_gbps = 0;
    std::vector<double> leaf_gbps;
    for (const Leaf& leaf : site.leaves) {
      double g = 0;
      for (std::size_t i : leaf.nodes) g += kGbpsPerGpu * c.nodes[i].gpus;
      leaf_gbps.push_back(g);
      site_gbps += g;
    }
    t << "\n  [[region.site]]\n  name = " << toml_string(site.name)
      << "\n  uplink_gbps = " << site_gbps << "\n";
    for (std::size_t l = 0; l < site.leaves.size(); ++l) {
      const Leaf& leaf = site.leaves[l];
      if (Status s = plain_name(leaf.origin, leaf.name); !s) return s;
      t << "\n    [[region.site.switch]]\n    name = " << toml_string(leaf.name)
        << "\n    uplink_gbps = " << leaf_gbps[l] << "\n";
      // Slurm allocates lower Weight first, then in slurm.conf order.
      std::vector<std::size_t> order = leaf.nodes;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return c.nodes[a].weight < c.nodes[b].weight;
      });
      // One node group per run of nodes from the same NodeName line.
      for (std::size_t g = 0; g < order.size();) {
        const SlurmNode& first = c.nodes[order[g]];
        std::vector<std::string> names;
        std::size_t e = g;
        while (e < order.size() && c.nodes[order[e]].origin.file == first.origin.file &&
               c.nodes[order[e]].origin.line == first.origin.line &&
               c.nodes[order[e]].weight == first.weight) {
          names.push_back(c.nodes[order[e]].name);
          ++e;
        }
        t << "\n      # " << first.origin.where() << ": CPUs=" << first.cpus
          << " RealMemory=" << first.real_memory_mb << " Weight=" << first.weight;
        if (!first.features.empty()) t << " Features=" << join(first.features, ",");
        if (!first.state.empty()) t << " State=" << first.state;
        t << " Gres=gpu:" << first.gpu_type << ":" << first.gpus << "\n";
        t << "      [[region.site.switch.nodes]]\n      hosts = "
          << toml_string(compress_hostlist(names))
          << "\n      gpu = " << toml_string(catalog.at(type_of[order[g]]).name)
          << "\n      gpus = " << first.gpus << "\n      provider = " << toml_string(provider)
          << "\n      uplink_gbps = " << kGbpsPerGpu * first.gpus << "\n";
        g = e;
      }
    }
  }
  if (!c.ignored.empty()) t << "\n# Settings that do not shape the fleet (ignored):\n";
  for (const IgnoredSetting& i : c.ignored)
    t << "#   " << i.origin.where() << ": " << i.setting << '\n';
  out.toml = t.str();
  return out;
}

}  // namespace flotilla
