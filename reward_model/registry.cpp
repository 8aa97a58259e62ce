#include "reward_model/registry.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include "reward_model/wallet.h"

namespace flotilla::rewards {
namespace {

constexpr std::string_view kHeader = "provider,wallet,gpu_type,gpus,tflops,online_s";

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = line.find(',', pos);
    out.push_back(line.substr(pos, comma - pos));
    if (comma == std::string_view::npos) return out;
    pos = comma + 1;
  }
}

// A whole number without sign; nullopt for "", "-1", "1.5", "1e3", overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "165.2" -> 165200: decimal TFLOPS to thousandths, exactly, no floating point.
std::optional<std::uint64_t> parse_milli(std::string_view s) {
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (frac.size() > 3 || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
  std::optional<std::uint64_t> w = parse_u64(whole);
  std::uint64_t f = 0;
  if (!frac.empty()) {
    std::optional<std::uint64_t> fp = parse_u64(frac);
    if (!fp) return std::nullopt;
    f = *fp;
    for (std::size_t i = frac.size(); i < 3; ++i) f *= 10;
  }
  std::uint64_t milli = 0;
  if (!w || __builtin_mul_overflow(*w, 1000, &milli) || __builtin_add_overflow(milli, f, &milli)) {
    return std::nullopt;
  }
  return milli;
}

}  // namespace

const Provider* Registry::find(std::string_view id) const {
  auto it = index.find(std::string(id));
  return it == index.end() ? nullptr : &providers[it->second];
}

bool valid_provider_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == '@';
  });
}

Result<Registry> parse_registry(std::string_view csv, const std::string& origin) {
  Registry reg;
  reg.origin = origin;
  std::unordered_map<std::string, std::size_t> first_line;
  std::size_t line_no = 0;
  bool header_seen = false;
  std::size_t pos = 0;
  while (pos < csv.size()) {
    std::size_t eol = csv.find('\n', pos);
    if (eol == std::string_view::npos) eol = csv.size();
    std::string_view line = csv.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& what) { return Status::at(origin, line_no, what); };
    if (!header_seen) {
      if (line != kHeader) return fail("expected the header '" + std::string(kHeader) + "'");
      header_seen = true;
      continue;
    }
    const std::vector<std::string_view> f = split(line);
    if (f.size() != 6) {
      return fail("expected 6 fields (" + std::string(kHeader) + "), got " +
                  std::to_string(f.size()));
    }
    Provider p;
    p.line = line_no;
    p.id = std::string(f[0]);
    if (!valid_provider_id(p.id)) {
      return fail("provider id '" + p.id + "' must be 1-128 of A-Z a-z 0-9 - _ . : @");
    }
    p.wallet = std::string(f[1]);
    if (!decode_wallet(p.wallet)) {
      return fail("wallet '" + p.wallet + "' of provider " + p.id +
                  " is not a base58 address of 32 bytes");
    }
    p.gpu_type = std::string(f[2]);
    if (p.gpu_type.empty()) return fail("gpu_type of provider " + p.id + " is empty");
    const std::optional<std::uint64_t> gpus = parse_u64(f[3]);
    if (!gpus || *gpus == 0 || *gpus > std::numeric_limits<std::uint32_t>::max()) {
      return fail("gpus '" + std::string(f[3]) + "' must be a whole number from 1 to 2^32-1");
    }
    p.gpus = static_cast<std::uint32_t>(*gpus);
    if (!f[4].empty()) {
      p.milli_tflops = parse_milli(f[4]);
      if (!p.milli_tflops || *p.milli_tflops == 0) {
        return fail("tflops '" + std::string(f[4]) +
                    "' must be a positive number with at most three decimals");
      }
    }
    const std::optional<std::uint64_t> online = parse_u64(f[5]);
    if (!online) return fail("online_s '" + std::string(f[5]) + "' must be a whole number >= 0");
    p.online_s = *online;
    auto [it, fresh] = first_line.emplace(p.id, line_no);
    if (!fresh) {
      return fail("provider " + p.id + " is registered twice (first at line " +
                  std::to_string(it->second) + ")");
    }
    reg.providers.push_back(std::move(p));
  }
  if (!header_seen) return Status::at(origin, 1, "empty registry: no header");
  std::sort(reg.providers.begin(), reg.providers.end(),
            [](const Provider& a, const Provider& b) { return a.id < b.id; });
  reg.index.reserve(reg.providers.size());
  for (std::size_t i = 0; i < reg.providers.size(); ++i) reg.index.emplace(reg.providers[i].id, i);
  return reg;
}

Result<Registry> read_registry(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_registry(text.str(), path);
}

}  // namespace flotilla::rewards
