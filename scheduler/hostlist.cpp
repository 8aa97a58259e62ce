#include "scheduler/hostlist.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <tuple>

namespace flotilla {
namespace {

// Bounds have at most this many digits, so they and their differences fit
// comfortably in 64 bits.
constexpr std::size_t kMaxDigits = 18;

struct Range {
  std::uint64_t lo = 0, hi = 0;
  unsigned width = 0;  // digits of the low bound as written; shorter numbers are zero-padded
};

// A literal followed by one bracket group (absent for the last piece).
struct Piece {
  std::string_view literal;
  std::vector<Range> ranges;
  std::uint64_t count = 1;  // names the group stands for (1 without a group)
};

// One comma-free item, e.g. "r[1-2]-n[01-03]".
struct Pattern {
  std::vector<Piece> pieces;  // the last piece has no ranges
  std::uint64_t count = 1;    // saturates at kMaxHostlistNames + 1
};

constexpr std::uint64_t kSaturated = kMaxHostlistNames + 1;

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > kSaturated / b) return kSaturated;
  return std::min(a * b, kSaturated);
}

Status bad(std::string_view hostlist, const std::string& what) {
  return Status::error("bad hostlist \"" + std::string(hostlist) + "\": " + what);
}

Result<std::uint64_t> parse_bound(std::string_view all, std::string_view digits, unsigned* width) {
  if (digits.empty()) return bad(all, "empty range bound");
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return bad(all, "range bound \"" + std::string(digits) + "\" is not a number");
    }
  }
  if (digits.size() > kMaxDigits) {
    return bad(all, "range bound \"" + std::string(digits) + "\" has more than " +
                        std::to_string(kMaxDigits) + " digits");
  }
  std::uint64_t v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (width) *width = static_cast<unsigned>(digits.size());
  return v;
}

// Parses the inside of one bracket group: "1-3,5".
Status parse_group(std::string_view all, std::string_view inside, Piece* piece) {
  if (inside.empty()) return bad(all, "empty brackets []");
  std::uint64_t count = 0;
  std::size_t start = 0;
  while (start <= inside.size()) {
    std::size_t comma = inside.find(',', start);
    if (comma == std::string_view::npos) comma = inside.size();
    std::string_view item = inside.substr(start, comma - start);
    if (item.empty()) return bad(all, "empty range in [" + std::string(inside) + "]");
    Range r;
    const std::size_t dash = item.find('-');
    Result<std::uint64_t> lo = parse_bound(all, item.substr(0, dash), &r.width);
    if (!lo) return lo.status();
    r.lo = r.hi = *lo;
    if (dash != std::string_view::npos) {
      Result<std::uint64_t> hi = parse_bound(all, item.substr(dash + 1), nullptr);
      if (!hi) return hi.status();
      r.hi = *hi;
      if (r.hi < r.lo) {
        return bad(all, "range " + std::string(item) + " runs backwards");
      }
    }
    count = std::min(count + std::min(r.hi - r.lo + 1, kSaturated), kSaturated);
    piece->ranges.push_back(r);
    start = comma + 1;
  }
  piece->count = count;
  return Status::ok();
}

// Parses one comma-free item of `all` into literals and bracket groups.
Result<Pattern> parse_item(std::string_view all, std::string_view item) {
  if (item.empty()) return bad(all, "empty host name");
  Pattern p;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = item.find('[', pos);
    Piece piece;
    piece.literal = item.substr(pos, open == std::string_view::npos ? open : open - pos);
    if (open == std::string_view::npos) {
      p.pieces.push_back(piece);
      break;
    }
    const std::size_t close = item.find(']', open);  // nesting was ruled out by split
    Status s = parse_group(all, item.substr(open + 1, close - open - 1), &piece);
    if (!s) return s;
    p.count = saturating_mul(p.count, piece.count);
    p.pieces.push_back(std::move(piece));
    pos = close + 1;
  }
  return p;
}

// Splits at top-level commas and checks the brackets and characters.
Result<std::vector<Pattern>> parse(std::string_view all) {
  if (all.empty()) return bad(all, "empty hostlist");
  std::vector<Pattern> patterns;
  std::size_t start = 0;
  bool in_brackets = false;
  for (std::size_t i = 0; i <= all.size(); ++i) {
    const char c = i < all.size() ? all[i] : ',';
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return bad(all, "white space or control character at position " + std::to_string(i + 1));
    }
    if (c == '[') {
      if (in_brackets) return bad(all, "nested '[' at position " + std::to_string(i + 1));
      in_brackets = true;
    } else if (c == ']') {
      if (!in_brackets) return bad(all, "unmatched ']' at position " + std::to_string(i + 1));
      in_brackets = false;
    } else if (c == ',' && !in_brackets) {
      Result<Pattern> p = parse_item(all, all.substr(start, i - start));
      if (!p) return p.status();
      patterns.push_back(std::move(p).value());
      start = i + 1;
    }
  }
  if (in_brackets) return bad(all, "unclosed '['");
  return patterns;
}

std::uint64_t total_count(const std::vector<Pattern>& patterns) {
  std::uint64_t n = 0;
  for (const Pattern& p : patterns) n = std::min(n + p.count, kSaturated);
  return n;
}

void append_number(std::string& out, std::uint64_t v, unsigned width) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  const auto len = static_cast<unsigned>(end - digits);
  if (len < width) out.append(width - len, '0');
  out.append(digits, len);
}

// Appends every name of `p` from piece `i` on, `buf` holding the prefix so far.
void generate(const Pattern& p, std::size_t i, std::string& buf, std::vector<std::string>& out) {
  const Piece& piece = p.pieces[i];
  const std::size_t base = buf.size();
  buf.append(piece.literal);
  if (piece.ranges.empty()) {  // the last piece
    out.push_back(buf);
  } else {
    const std::size_t mark = buf.size();
    for (const Range& r : piece.ranges) {
      for (std::uint64_t v = r.lo;; ++v) {
        append_number(buf, v, r.width);
        generate(p, i + 1, buf, out);
        buf.resize(mark);
        if (v == r.hi) break;
      }
    }
  }
  buf.resize(base);
}

// A name split into prefix and trailing number, for compression.
struct Split {
  std::string_view prefix;
  std::optional<std::uint64_t> number;
  unsigned digits = 0;  // as written, leading zeros included
  std::string_view name;
};

Split split_name(std::string_view name) {
  std::size_t i = name.size();
  while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') --i;
  Split s{.prefix = name, .number = std::nullopt, .digits = 0, .name = name};
  const std::size_t digits = name.size() - i;
  if (digits == 0 || digits > kMaxDigits) return s;
  std::uint64_t v = 0;
  std::from_chars(name.data() + i, name.data() + name.size(), v);
  s.prefix = name.substr(0, i);
  s.number = v;
  s.digits = static_cast<unsigned>(digits);
  return s;
}

unsigned natural_digits(std::uint64_t v) {
  unsigned n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

}  // namespace

Result<std::uint64_t> hostlist_size(std::string_view hostlist) {
  Result<std::vector<Pattern>> patterns = parse(hostlist);
  if (!patterns) return patterns.status();
  return total_count(*patterns);
}

Result<std::vector<std::string>> expand_hostlist(std::string_view hostlist, std::size_t max_names) {
  Result<std::vector<Pattern>> patterns = parse(hostlist);
  if (!patterns) return patterns.status();
  const std::uint64_t count = total_count(*patterns);
  const std::size_t limit = std::min(max_names, kMaxHostlistNames);
  if (count > limit) {
    return bad(hostlist, "more than " + std::to_string(limit) + " names");
  }
  std::vector<std::string> out;
  out.reserve(count);
  std::string buf;
  for (const Pattern& p : *patterns) generate(p, 0, buf, out);
  return out;
}

std::string compress_hostlist(std::span<const std::string> names) {
  std::vector<Split> splits;
  splits.reserve(names.size());
  for (const std::string& n : names) splits.push_back(split_name(n));
  // Names without a number sort before numbered ones of the same prefix.
  auto key = [](const Split& s) {
    return std::tuple(s.prefix, s.number.has_value(), s.number.value_or(0), s.digits);
  };
  std::sort(splits.begin(), splits.end(),
            [&](const Split& a, const Split& b) { return key(a) < key(b); });
  splits.erase(std::unique(splits.begin(), splits.end(),
                           [](const Split& a, const Split& b) { return a.name == b.name; }),
               splits.end());

  std::string out;
  std::size_t i = 0;
  while (i < splits.size()) {
    if (!out.empty()) out += ',';
    if (!splits[i].number) {
      out.append(splits[i].name);
      ++i;
      continue;
    }
    // All numbered names of this prefix: one bracket group of ranges.
    std::size_t end = i;
    while (end < splits.size() && splits[end].prefix == splits[i].prefix) ++end;
    out.append(splits[i].prefix);
    if (end - i == 1) {  // a single host is written plainly, as Slurm does
      append_number(out, *splits[i].number, splits[i].digits);
      i = end;
      continue;
    }
    out += '[';
    bool first = true;
    while (i < end) {
      // A run continues while the next number is one more and is written at
      // the run's width (the width of its first name).
      const unsigned width = splits[i].digits;
      const std::uint64_t lo = *splits[i].number;
      std::uint64_t hi = lo;
      ++i;
      while (i < end && *splits[i].number == hi + 1 &&
             splits[i].digits == std::max(width, natural_digits(*splits[i].number))) {
        hi = *splits[i].number;
        ++i;
      }
      if (!first) out += ',';
      first = false;
      append_number(out, lo, width);
      if (hi != lo) {
        out += '-';
        append_number(out, hi, width);
      }
    }
    out += ']';
  }
  return out;
}

}  // namespace flotilla
