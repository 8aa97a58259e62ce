#include "slurm/sbatch_options.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <initializer_list>
#include <limits>
#include <utility>

namespace flotilla::slurm {

namespace {

using enum ArgKind;

// sbatch's options: the entries of Slurm's common_options table that sbatch
// enables (a set_func or set_func_sbatch), with has_arg and short letter.
constexpr std::array kTable{
    SbatchOptionSpec{"account", kRequired, 'A'},
    SbatchOptionSpec{"acctg-freq", kRequired, 0},
    SbatchOptionSpec{"array", kRequired, 'a'},
    SbatchOptionSpec{"autocomplete", kRequired, 0},
    SbatchOptionSpec{"batch", kRequired, 0},
    SbatchOptionSpec{"begin", kRequired, 'b'},
    SbatchOptionSpec{"bb", kRequired, 0},
    SbatchOptionSpec{"bbf", kRequired, 0},
    SbatchOptionSpec{"cluster-constraint", kRequired, 0},
    SbatchOptionSpec{"chdir", kRequired, 'D'},
    SbatchOptionSpec{"cluster", kRequired, 0},
    SbatchOptionSpec{"clusters", kRequired, 'M'},
    SbatchOptionSpec{"comment", kRequired, 0},
    SbatchOptionSpec{"consolidate-segments", kNone, 0},
    SbatchOptionSpec{"container", kRequired, 0},
    SbatchOptionSpec{"container-id", kRequired, 0},
    SbatchOptionSpec{"context", kRequired, 0},
    SbatchOptionSpec{"contiguous", kNone, 0},
    SbatchOptionSpec{"constraint", kRequired, 'C'},
    SbatchOptionSpec{"core-spec", kRequired, 'S'},
    SbatchOptionSpec{"cores-per-socket", kRequired, 0},
    SbatchOptionSpec{"cpu-freq", kRequired, 0},
    SbatchOptionSpec{"cpus-per-gpu", kRequired, 0},
    SbatchOptionSpec{"cpus-per-task", kRequired, 'c'},
    SbatchOptionSpec{"deadline", kRequired, 0},
    SbatchOptionSpec{"delay-boot", kRequired, 0},
    SbatchOptionSpec{"dependency", kRequired, 'd'},
    SbatchOptionSpec{"distribution", kRequired, 'm'},
    SbatchOptionSpec{"error", kRequired, 'e'},
    SbatchOptionSpec{"exclude", kRequired, 'x'},
    SbatchOptionSpec{"exclusive", kOptional, 0},
    SbatchOptionSpec{"export", kRequired, 0},
    SbatchOptionSpec{"export-file", kRequired, 0},
    SbatchOptionSpec{"external", kNone, 0},
    SbatchOptionSpec{"extra", kRequired, 0},
    SbatchOptionSpec{"extra-node-info", kRequired, 'B'},
    SbatchOptionSpec{"get-user-env", kNone, 0},
    SbatchOptionSpec{"gid", kRequired, 0},
    SbatchOptionSpec{"gpu-bind", kRequired, 0},
    SbatchOptionSpec{"gpu-freq", kRequired, 0},
    SbatchOptionSpec{"gpus", kRequired, 'G'},
    SbatchOptionSpec{"gpus-per-node", kRequired, 0},
    SbatchOptionSpec{"gpus-per-socket", kRequired, 0},
    SbatchOptionSpec{"gpus-per-task", kRequired, 0},
    SbatchOptionSpec{"gres", kRequired, 0},
    SbatchOptionSpec{"gres-flags", kRequired, 0},
    SbatchOptionSpec{"help", kNone, 'h'},
    SbatchOptionSpec{"hint", kRequired, 0},
    SbatchOptionSpec{"hold", kNone, 'H'},
    SbatchOptionSpec{"ignore-pbs", kNone, 0},
    SbatchOptionSpec{"input", kRequired, 'i'},
    SbatchOptionSpec{"job-name", kRequired, 'J'},
    SbatchOptionSpec{"kill-on-invalid-dep", kRequired, 0},
    SbatchOptionSpec{"licenses", kRequired, 'L'},
    SbatchOptionSpec{"mail-type", kRequired, 0},
    SbatchOptionSpec{"mail-user", kRequired, 0},
    SbatchOptionSpec{"mcs-label", kRequired, 0},
    SbatchOptionSpec{"mem", kRequired, 0},
    SbatchOptionSpec{"mem-bind", kRequired, 0},
    SbatchOptionSpec{"mem-per-cpu", kRequired, 0},
    SbatchOptionSpec{"mem-per-gpu", kRequired, 0},
    SbatchOptionSpec{"mem-update", kRequired, 0},
    SbatchOptionSpec{"mincpus", kRequired, 0},
    SbatchOptionSpec{"network", kRequired, 0},
    SbatchOptionSpec{"nice", kOptional, 0},
    SbatchOptionSpec{"no-kill", kOptional, 'k'},
    SbatchOptionSpec{"no-requeue", kNone, 0},
    SbatchOptionSpec{"nodefile", kRequired, 'F'},
    SbatchOptionSpec{"nodelist", kRequired, 'w'},
    SbatchOptionSpec{"nodes", kRequired, 'N'},
    SbatchOptionSpec{"ntasks", kRequired, 'n'},
    SbatchOptionSpec{"ntasks-per-core", kRequired, 0},
    SbatchOptionSpec{"ntasks-per-gpu", kRequired, 0},
    SbatchOptionSpec{"ntasks-per-node", kRequired, 0},
    SbatchOptionSpec{"ntasks-per-socket", kRequired, 0},
    SbatchOptionSpec{"ntasks-per-tres", kRequired, 0},
    SbatchOptionSpec{"oom-kill-step", kOptional, 0},
    SbatchOptionSpec{"open-mode", kRequired, 0},
    SbatchOptionSpec{"output", kRequired, 'o'},
    SbatchOptionSpec{"overcommit", kNone, 'O'},
    SbatchOptionSpec{"oversubscribe", kNone, 's'},
    SbatchOptionSpec{"parsable", kNone, 0},
    SbatchOptionSpec{"partition", kRequired, 'p'},
    SbatchOptionSpec{"prefer", kRequired, 0},
    SbatchOptionSpec{"priority", kRequired, 0},
    SbatchOptionSpec{"profile", kRequired, 0},
    SbatchOptionSpec{"propagate", kOptional, 0},
    SbatchOptionSpec{"qos", kRequired, 'q'},
    SbatchOptionSpec{"quiet", kNone, 'Q'},
    SbatchOptionSpec{"reboot", kNone, 0},
    SbatchOptionSpec{"requeue", kOptional, 0},
    SbatchOptionSpec{"resources", kRequired, 0},
    SbatchOptionSpec{"reservation", kRequired, 0},
    SbatchOptionSpec{"resv-ports", kOptional, 0},
    SbatchOptionSpec{"runtime", kRequired, 0},
    SbatchOptionSpec{"segment", kRequired, 0},
    SbatchOptionSpec{"signal", kRequired, 0},
    SbatchOptionSpec{"sockets-per-node", kRequired, 0},
    SbatchOptionSpec{"spread-job", kNone, 0},
    SbatchOptionSpec{"spread-segments", kNone, 0},
    SbatchOptionSpec{"stepmgr", kNone, 0},
    SbatchOptionSpec{"switches", kRequired, 0},
    SbatchOptionSpec{"tasks-per-node", kRequired, 0},
    SbatchOptionSpec{"test-only", kNone, 0},
    SbatchOptionSpec{"thread-spec", kRequired, 0},
    SbatchOptionSpec{"threads-per-core", kRequired, 0},
    SbatchOptionSpec{"time", kRequired, 't'},
    SbatchOptionSpec{"time-min", kRequired, 0},
    SbatchOptionSpec{"tmp", kRequired, 0},
    SbatchOptionSpec{"tres-bind", kRequired, 0},
    SbatchOptionSpec{"tres-per-task", kRequired, 0},
    SbatchOptionSpec{"uid", kRequired, 0},
    SbatchOptionSpec{"use-min-nodes", kNone, 0},
    SbatchOptionSpec{"verbose", kNone, 'v'},
    SbatchOptionSpec{"version", kNone, 'V'},
    SbatchOptionSpec{"usage", kNone, 0},
    SbatchOptionSpec{"wait", kNone, 'W'},
    SbatchOptionSpec{"wait-all-nodes", kRequired, 0},
    SbatchOptionSpec{"wckey", kRequired, 0},
    SbatchOptionSpec{"wrap", kRequired, 0},
};

// Two table entries that are the same option (Slurm gives them one value).
std::string_view canonical(std::string_view name) {
  return name == "tasks-per-node" ? std::string_view("ntasks-per-node") : name;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool all_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_space);
}

// strtoll: leading white space, an optional sign, then decimal digits. Empty
// when there are no digits; `end` is the index after the last digit.
struct CNumber {
  long long value = 0;
  std::size_t end = 0;
  bool overflow = false;
};
std::optional<CNumber> c_strtoll(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i >= s.size() || !is_digit(s[i])) return std::nullopt;
  CNumber n;
  unsigned long long magnitude = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    const unsigned digit = static_cast<unsigned>(s[i] - '0');
    if (magnitude > (static_cast<unsigned long long>(LLONG_MAX) - digit) / 10) n.overflow = true;
    if (!n.overflow) magnitude = magnitude * 10 + digit;
  }
  n.end = i;
  if (n.overflow) {
    n.value = negative ? LLONG_MIN : LLONG_MAX;
  } else {
    n.value = negative ? -static_cast<long long>(magnitude) : static_cast<long long>(magnitude);
  }
  return n;
}

// Slurm's parse_int: the whole value is a number; `positive` requires > 0.
std::optional<std::uint32_t> parse_int(std::string_view s, bool positive, std::string& why) {
  const std::optional<CNumber> n = c_strtoll(s);
  if (!n || n->end != s.size() || n->value < 0 || (positive && n->value == 0)) {
    why = positive ? "not a positive integer" : "not a non-negative integer";
    return std::nullopt;
  }
  if (n->overflow || n->value >= INT_MAX) {
    why = "too large";
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(n->value);
}

// Slurm's str_to_mbytes: a count of megabytes, or K/M/G/T (optionally followed
// by B) for KiB (rounded up to MiB), MiB, GiB, TiB.
std::optional<std::uint64_t> parse_mbytes(std::string_view s, std::string& why) {
  why = "not a memory size (N[K|M|G|T], megabytes by default)";
  const std::optional<CNumber> n = c_strtoll(s);
  if (!n || n->overflow || n->value < 0) return std::nullopt;
  const std::string_view suffix = s.substr(n->end);
  const auto v = static_cast<std::uint64_t>(n->value);
  if (suffix.empty()) return v;
  const bool unit_only =
      suffix.size() == 1 || (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b'));
  if (!unit_only) return std::nullopt;
  std::uint64_t multiplier = 0;
  switch (suffix[0]) {
    case 'k':
    case 'K':
      return (v + 1023) / 1024;
    case 'm':
    case 'M':
      return v;
    case 'g':
    case 'G':
      multiplier = 1024;
      break;
    case 't':
    case 'T':
      multiplier = 1024 * 1024;
      break;
    default:
      return std::nullopt;
  }
  if (v > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    why = "too large";
    return std::nullopt;
  }
  return v * multiplier;
}

// Slurm's str_to_nodes: a number with optional K then M multipliers; -1 when
// there is no number or it is out of range. `rest` is what follows.
long long str_to_nodes(std::string_view s, std::string_view& rest) {
  const std::optional<CNumber> n = c_strtoll(s);
  if (!n) {
    rest = s;
    return -1;
  }
  long long num = n->overflow ? LLONG_MAX / (1024LL * 1024 * 1024) : n->value;
  std::size_t i = n->end;
  if (i < s.size() && (s[i] == 'k' || s[i] == 'K')) {
    num *= 1024;
    ++i;
  }
  if (i < s.size() && (s[i] == 'm' || s[i] == 'M')) {
    num *= 1024 * 1024;
    ++i;
  }
  rest = s.substr(i);
  if (num < 0 || num > INT_MAX) return -1;
  return num;
}

std::vector<std::string_view> split_nonempty(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<std::uint64_t> plain_number(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit) || s.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// Slurm's verify_node_count: N, MIN-MAX, or a list of sizes (N,M,A-B:STEP).
// Returns {min, max}; max 0 means no maximum.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_node_count(std::string_view s,
                                                                        std::string& why) {
  why = "not a node count (N or MIN-MAX)";
  if (s.find_first_of(",:") != std::string_view::npos) {
    // A set of acceptable sizes; the request spans its lowest to its highest.
    constexpr std::uint64_t kMaxJobSize = 64 * 1024;
    std::optional<std::uint64_t> lo, hi;
    for (std::string_view item : split_nonempty(s, ',')) {
      std::string_view range = item, step_text;
      if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
        range = item.substr(0, colon);
        step_text = item.substr(colon + 1);
      }
      const std::size_t dash = range.find('-');
      const std::optional<std::uint64_t> a = plain_number(range.substr(0, dash));
      const std::optional<std::uint64_t> b =
          dash == std::string_view::npos ? a : plain_number(range.substr(dash + 1));
      std::optional<std::uint64_t> step = std::uint64_t{1};
      if (!step_text.empty() || item.find(':') != std::string_view::npos) {
        step = plain_number(step_text);
      }
      if (!a || !b || !step || *step == 0 || *a > *b || *b >= kMaxJobSize) return std::nullopt;
      const std::uint64_t last = *a + (*b - *a) / *step * *step;
      lo = lo ? std::min(*lo, *a) : *a;
      hi = hi ? std::max(*hi, last) : last;
    }
    if (!lo) return std::nullopt;
    return std::pair{static_cast<std::uint32_t>(*lo), static_cast<std::uint32_t>(*hi)};
  }
  long long min_nodes = 0, max_nodes = 0;
  std::string_view rest;
  if (const std::size_t dash = s.find('-'); dash != std::string_view::npos) {
    min_nodes = str_to_nodes(s.substr(0, dash), rest);
    if (!all_space(rest)) return std::nullopt;
    if (min_nodes < 0) min_nodes = 1;  // "-4" is 1-4, as in Slurm
    max_nodes = str_to_nodes(s.substr(dash + 1), rest);
    if (!all_space(rest)) return std::nullopt;
  } else {
    min_nodes = max_nodes = str_to_nodes(s, rest);
    if (!all_space(rest) || min_nodes < 0) return std::nullopt;
  }
  if (max_nodes != 0 && max_nodes < min_nodes) {
    why = "maximum node count is less than the minimum";
    return std::nullopt;
  }
  return std::pair{static_cast<std::uint32_t>(min_nodes), static_cast<std::uint32_t>(max_nodes)};
}

// Slurm's _is_valid_number for TRES counts: digits with an optional unit
// (k, kib, kb, m, ... p, pib, pb).
std::optional<std::uint64_t> tres_count(std::string_view s) {
  if (s.empty() || !is_digit(s[0])) return std::nullopt;
  std::size_t i = 0;
  std::uint64_t v = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<unsigned>(s[i] - '0'), &v)) {
      return std::nullopt;
    }
  }
  const std::string_view suffix = s.substr(i);
  if (suffix.empty()) return v;
  static constexpr std::array<std::string_view, 5> kUnits{"k", "m", "g", "t", "p"};
  std::uint64_t binary = 1, decimal = 1;
  for (std::string_view unit : kUnits) {
    binary *= 1024;
    decimal *= 1000;
    std::uint64_t multiplier = 0;
    if (iequals(suffix, unit) || iequals(suffix, std::string(unit) + "ib")) {
      multiplier = binary;
    } else if (iequals(suffix, std::string(unit) + "b")) {
      multiplier = decimal;
    } else {
      continue;
    }
    if (__builtin_mul_overflow(v, multiplier, &v)) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

struct GresEntry {
  std::string name, type;
  std::uint64_t count = 1;
};

// One `name[:type][:count]` (or `name[:type]=count`) entry, as Slurm's
// slurm_get_next_tres reads it: a last part that is not a number is a type
// with an implicit count of 1, so "gpu:h100" is one H100.
std::optional<GresEntry> parse_gres_entry(std::string_view entry, std::string& why) {
  GresEntry e;
  std::string_view name = entry;
  std::size_t sep = entry.rfind('=');
  if (sep == std::string_view::npos) sep = entry.rfind(':');
  if (sep != std::string_view::npos) {
    const std::string_view tail = entry.substr(sep + 1);
    name = entry.substr(0, sep);
    if (tail.empty()) {
      why = "missing count after '" + std::string(1, entry[sep]) + "'";
      return std::nullopt;
    }
    if (std::optional<std::uint64_t> n = tres_count(tail)) {
      e.count = *n;
    } else if (entry[sep] == '=') {
      why = "'" + std::string(tail) + "' is not a count";
      return std::nullopt;
    } else {
      e.type = std::string(tail);
    }
  } else if (tres_count(entry)) {
    why = "a count without a resource name";
    return std::nullopt;
  }
  if (const std::size_t colon = name.find(':'); colon != std::string_view::npos) {
    if (!e.type.empty()) {
      why = "'" + e.type + "' is not a count";
      return std::nullopt;
    }
    e.type = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
  }
  if (name.empty()) {
    why = "a resource without a name";
    return std::nullopt;
  }
  e.name = std::string(name);
  return e;
}

// --gpus, --gpus-per-node, --gpus-per-task: a comma list of [type:]count, each
// read as the GRES "gpu:[type:]count". Entries with count 0 drop out, as in
// Slurm; an empty result clears the option.
std::optional<std::optional<std::pair<std::uint32_t, std::string>>> parse_gpu_list(
    std::string_view value, std::string& why) {
  std::optional<std::pair<std::uint32_t, std::string>> result;
  std::size_t kept = 0;
  for (std::string_view token : split_nonempty(value, ',')) {
    std::optional<GresEntry> e = parse_gres_entry("gpu:" + std::string(token), why);
    if (!e) return std::nullopt;
    if (e->count == 0) continue;
    if (e->count > std::numeric_limits<std::uint32_t>::max()) {
      why = "too many GPUs";
      return std::nullopt;
    }
    if (++kept > 1) {
      why = "more than one GPU entry (Slurm requires all of them; flotilla models one GPU type)";
      return std::nullopt;
    }
    result = std::pair{static_cast<std::uint32_t>(e->count), e->type};
  }
  return result;
}

// Slurm's sig_name2num: a number, or a name from its short list with an
// optional SIG prefix.
long signal_number(std::string_view s) {
  if (const std::optional<CNumber> n = c_strtoll(s)) {
    return all_space(s.substr(n->end)) && !n->overflow ? static_cast<long>(n->value) : 0;
  }
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  s.remove_prefix(i);
  if (s.size() >= 3 && iequals(s.substr(0, 3), "SIG")) s.remove_prefix(3);
  static constexpr std::array<std::pair<std::string_view, int>, 18> kSignals{{
      {"HUP", 1},
      {"INT", 2},
      {"QUIT", 3},
      {"ABRT", 6},
      {"KILL", 9},
      {"ALRM", 14},
      {"TERM", 15},
      {"CHLD", 17},
      {"USR1", 10},
      {"USR2", 12},
      {"PIPE", 13},
      {"URG", 23},
      {"CONT", 18},
      {"STOP", 19},
      {"TSTP", 20},
      {"TTIN", 21},
      {"TTOU", 22},
      {"XCPU", 24},
  }};
  for (const auto& [name, number] : kSignals) {
    if (s.size() >= name.size() && iequals(s.substr(0, name.size()), name) &&
        all_space(s.substr(name.size()))) {
      return number;
    }
  }
  return 0;
}

// Slurm's get_signal_opts: [{R|B|RB|BR}[:]]SIG[@SECONDS].
bool valid_signal(std::string_view s) {
  auto skip_letter = [&s](char upper) {
    if (!s.empty() && std::toupper(static_cast<unsigned char>(s[0])) == upper) s.remove_prefix(1);
  };
  skip_letter('R');
  skip_letter('B');
  skip_letter('R');
  if (!s.empty() && s[0] == ':') s.remove_prefix(1);
  const std::size_t at = s.find('@');
  const long number = signal_number(s.substr(0, at));
  if (number < 1 || number > 0xffff) return false;
  if (at == std::string_view::npos) return true;
  const std::string_view when = s.substr(at + 1);
  const std::optional<CNumber> n = c_strtoll(when);
  const long long seconds = n ? n->value : 0;  // strtol of no digits is 0
  const std::size_t end = n ? n->end : 0;
  return !(n && n->overflow) && seconds >= 0 && seconds <= 0xffff && end == when.size();
}

// Slurm's parse_mail_type: unknown words are skipped, but at least one must
// be known.
bool valid_mail_type(std::string_view s) {
  static constexpr std::array<std::string_view, 13> kKnown{
      "NONE",           "ARRAY_TASKS",   "BEGIN",        "END",       "FAIL",
      "INVALID_DEPEND", "REQUEUE",       "ALL",          "STAGE_OUT", "TIME_LIMIT",
      "TIME_LIMIT_90",  "TIME_LIMIT_80", "TIME_LIMIT_50"};
  for (std::string_view word : split_nonempty(s, ',')) {
    for (std::string_view known : kKnown) {
      if (iequals(word, known)) return true;
    }
  }
  return false;
}

// --array: INDEXES[%MAX_RUNNING], INDEXES a comma list of N, N-M or N-M:STEP.
bool valid_array(std::string_view s) {
  if (const std::size_t pct = s.find('%'); pct != std::string_view::npos) {
    if (!plain_number(s.substr(pct + 1))) return false;
    s = s.substr(0, pct);
  }
  if (s.empty() || s.front() == ',' || s.back() == ',') return false;
  for (std::string_view item : split_nonempty(s, ',')) {
    std::string_view range = item;
    if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
      const std::optional<std::uint64_t> step = plain_number(item.substr(colon + 1));
      if (!step || *step == 0) return false;
      range = item.substr(0, colon);
      if (range.find('-') == std::string_view::npos) return false;
    }
    const std::size_t dash = range.find('-');
    const std::optional<std::uint64_t> a = plain_number(range.substr(0, dash));
    if (!a) return false;
    if (dash != std::string_view::npos) {
      const std::optional<std::uint64_t> b = plain_number(range.substr(dash + 1));
      if (!b || *b < *a) return false;
    }
  }
  return true;
}

// Slurm's _is_valid_timespec: only digits, '-' and ':'; at most one '-',
// before any ':'; at most two ':'; enough digit groups for the colons.
bool valid_timespec(std::string_view s) {
  int digits = 0, dashes = 0, colons = 0;
  bool in_digits = false;
  for (char c : s) {
    if (is_digit(c)) {
      if (!in_digits) ++digits;
      in_digits = true;
    } else if (c == '-') {
      in_digits = false;
      ++dashes;
      if (colons) return false;
    } else if (c == ':') {
      in_digits = false;
      ++colons;
    } else {
      return false;
    }
  }
  if (!digits || dashes > 1 || colons > 2) return false;
  const int needed = colons == 0 ? 0 : colons + 1 + (dashes ? 1 : 0);
  return digits >= needed;
}

}  // namespace

std::span<const SbatchOptionSpec> sbatch_option_table() {
  return kTable;
}

std::optional<SlurmDuration> parse_slurm_duration(std::string_view text) {
  if (text == "-1" || iequals(text, "INFINITE") || iequals(text, "UNLIMITED")) {
    return SlurmDuration{Seconds{0}, true};
  }
  if (!valid_timespec(text)) return std::nullopt;
  // After validation the fields are digit runs separated as the format says;
  // missing trailing fields are 0 (sscanf stops at the first one it lacks).
  std::int64_t days = 0, hours = 0, minutes = 0, seconds = 0;
  auto number = [](std::string_view s) -> std::optional<std::int64_t> {
    if (s.empty()) return 0;
    const std::optional<std::uint64_t> v = s.size() > 10 ? std::nullopt : plain_number(s);
    if (!v || *v > INT_MAX) return std::nullopt;  // beyond sscanf's int
    return static_cast<std::int64_t>(*v);
  };
  if (const std::size_t dash = text.find('-'); dash != std::string_view::npos) {
    if (dash == 0) {
      // "-N": sscanf reads a negative day count.
      std::optional<std::int64_t> d = number(text.substr(1));
      if (!d) return std::nullopt;
      days = -*d;
    } else {
      std::optional<std::int64_t> d = number(text.substr(0, dash));
      if (!d) return std::nullopt;
      days = *d;
      std::vector<std::string_view> parts = split_nonempty(text.substr(dash + 1), ':');
      std::int64_t* slots[] = {&hours, &minutes, &seconds};
      for (std::size_t i = 0; i < parts.size(); ++i) {
        std::optional<std::int64_t> v = number(parts[i]);
        if (!v) return std::nullopt;
        *slots[i] = *v;
      }
    }
  } else {
    std::vector<std::string_view> parts = split_nonempty(text, ':');
    std::vector<std::int64_t> v;
    for (std::string_view p : parts) {
      std::optional<std::int64_t> n = number(p);
      if (!n) return std::nullopt;
      v.push_back(*n);
    }
    if (v.size() == 3) {
      hours = v[0];
      minutes = v[1];
      seconds = v[2];
    } else {
      minutes = v[0];
      seconds = v.size() == 2 ? v[1] : 0;
    }
  }
  const std::int64_t total = days * 86400 + hours * 3600 + minutes * 60 + seconds;
  // Slurm adds these in an int; beyond that (or negative) is no duration.
  if (total < 0 || total > INT_MAX) return std::nullopt;
  return SlurmDuration{Seconds{total}, false};
}

std::optional<SlurmDuration> parse_time_limit(std::string_view text) {
  std::optional<SlurmDuration> d = parse_slurm_duration(text);
  if (!d || d->unlimited) return d;
  const std::int64_t minutes = (d->value.count() + 59) / 60;
  if (minutes == 0) return SlurmDuration{Seconds{0}, true};
  return SlurmDuration{Seconds{minutes * 60}, false};
}

Status SbatchOptions::error_at(const Where& where, const std::string& what) const {
  if (where.line > 0) return Status::at(where.origin, where.line, what);
  return Status::error(where.origin + ": " + what);
}

// The options flotilla models. Each reads `value` (absent only for options
// without one) and returns why it is invalid, or "" when it is fine.
struct OptionHandlers {
  using Where = SbatchOptions::Where;
  using Fn = std::string (*)(SbatchOptions&, const std::optional<std::string>&, const Where&);

  static std::string text(std::string& field, const std::optional<std::string>& v) {
    field = v.value_or("");
    return "";
  }
  static std::string count(std::optional<std::uint32_t>& field,
                           const std::optional<std::string>& v) {
    std::string why;
    std::optional<std::uint32_t> n = parse_int(*v, true, why);
    if (!n) return why;
    field = n;
    return "";
  }
  static std::string mbytes(std::optional<std::uint64_t>& field,
                            const std::optional<std::string>& v) {
    std::string why;
    std::optional<std::uint64_t> n = parse_mbytes(*v, why);
    if (!n) return why;
    field = n;
    return "";
  }
  static std::string gpus(std::optional<SbatchOptions::GpuAsk>& field,
                          const std::optional<std::string>& v) {
    std::string why;
    auto parsed = parse_gpu_list(*v, why);
    if (!parsed) return why;
    field.reset();
    if (*parsed) field = SbatchOptions::GpuAsk{(*parsed)->first, (*parsed)->second};
    return "";
  }

  static std::string nodes(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    std::string why;
    auto range = parse_node_count(*v, why);
    if (!range) return why;
    o.job_.request.nodes_min = range->first;
    o.job_.request.nodes_max =
        range->second == 0 ? std::nullopt : std::optional<std::uint32_t>(range->second);
    return "";
  }
  static std::string ntasks(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return count(o.job_.request.ntasks, v);
  }
  static std::string ntasks_per_node(SbatchOptions& o, const std::optional<std::string>& v,
                                     const Where&) {
    return count(o.job_.request.ntasks_per_node, v);
  }
  static std::string cpus_per_task(SbatchOptions& o, const std::optional<std::string>& v,
                                   const Where&) {
    return count(o.job_.request.cpus_per_task, v);
  }
  static std::string gres(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    // Each --gres replaces the previous one entirely.
    o.gres_gpu_.reset();
    o.gres_mentions_gpu_ = false;
    o.job_.ignored_gres.clear();
    if (iequals(*v, "none")) return "";
    std::size_t gpu_entries = 0;
    for (std::string_view entry : split_nonempty(*v, ',')) {
      if (entry.starts_with("gres/")) entry.remove_prefix(5);
      if (entry.empty()) continue;
      std::string why;
      std::optional<GresEntry> e = parse_gres_entry(entry, why);
      if (!e) return why;
      if (e->name.starts_with("gpu")) o.gres_mentions_gpu_ = true;
      if (e->name != "gpu") {
        if (e->count > 0) o.job_.ignored_gres.emplace_back(entry);
        continue;
      }
      if (++gpu_entries > 1) {
        return "more than one gpu entry (Slurm requires all of them; flotilla models one GPU type)";
      }
      if (e->count == 0) continue;
      if (e->count > std::numeric_limits<std::uint32_t>::max()) return "too many GPUs";
      o.gres_gpu_ = SbatchOptions::GpuAsk{static_cast<std::uint32_t>(e->count), e->type};
    }
    return "";
  }
  static std::string gpus_job(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return gpus(o.gpus_, v);
  }
  static std::string gpus_per_node(SbatchOptions& o, const std::optional<std::string>& v,
                                   const Where&) {
    return gpus(o.gpus_per_node_, v);
  }
  static std::string gpus_per_task(SbatchOptions& o, const std::optional<std::string>& v,
                                   const Where&) {
    return gpus(o.gpus_per_task_, v);
  }
  static std::string mem(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return mbytes(o.job_.request.mem_mb, v);
  }
  static std::string mem_per_gpu(SbatchOptions& o, const std::optional<std::string>& v,
                                 const Where&) {
    return mbytes(o.job_.request.mem_per_gpu_mb, v);
  }
  static std::string mem_per_cpu(SbatchOptions& o, const std::optional<std::string>& v,
                                 const Where&) {
    return mbytes(o.job_.request.mem_per_cpu_mb, v);
  }
  static std::string time(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    std::optional<SlurmDuration> d = parse_time_limit(*v);
    if (!d) return "not a time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED)";
    o.job_.request.time_unlimited = d->unlimited;
    o.job_.request.time_limit = d->unlimited ? std::nullopt : std::optional<Seconds>(d->value);
    return "";
  }
  static std::string partition(SbatchOptions& o, const std::optional<std::string>& v,
                               const Where&) {
    return text(o.job_.request.partition, v);
  }
  static std::string account(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return text(o.job_.request.account, v);
  }
  static std::string qos(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return text(o.job_.request.qos, v);
  }
  static std::string constraint(SbatchOptions& o, const std::optional<std::string>& v,
                                const Where&) {
    return text(o.job_.request.constraint, v);
  }
  static std::string dependency(SbatchOptions& o, const std::optional<std::string>& v,
                                const Where&) {
    return text(o.job_.request.dependency, v);
  }
  static std::string array(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    if (!valid_array(*v)) return "not an array index list (e.g. 0-15, 1,3,5, 0-99:2%10)";
    return text(o.job_.request.array, v);
  }
  static std::string job_name(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return text(o.job_.request.job_name, v);
  }
  static std::string output(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return text(o.job_.request.output, v);
  }
  static std::string error(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    return text(o.job_.request.error, v);
  }
  static std::string mail_user(SbatchOptions& o, const std::optional<std::string>& v,
                               const Where&) {
    return text(o.job_.request.mail_user, v);
  }
  static std::string mail_type(SbatchOptions& o, const std::optional<std::string>& v,
                               const Where&) {
    if (!valid_mail_type(*v)) return "no known mail type (NONE, BEGIN, END, FAIL, ALL, ...)";
    return text(o.job_.request.mail_type, v);
  }
  static std::string signal(SbatchOptions& o, const std::optional<std::string>& v, const Where&) {
    if (!valid_signal(*v)) return "not a signal ([{R|B}:]SIGNAL[@SECONDS])";
    return text(o.job_.request.signal, v);
  }
  static std::string open_mode(SbatchOptions& o, const std::optional<std::string>& v,
                               const Where&) {
    const char first = v->empty() ? '\0' : static_cast<char>(std::tolower((*v)[0]));
    if (first == 'a') {
      o.job_.request.open_mode = "append";
    } else if (first == 't') {
      o.job_.request.open_mode = "truncate";
    } else {
      return "not append or truncate";
    }
    return "";
  }
  static std::string exclusive(SbatchOptions& o, const std::optional<std::string>& v,
                               const Where&) {
    std::string mode;
    if (!v || iequals(*v, "exclusive") || iequals(*v, "allocation")) {
      mode = "exclusive";
    } else {
      for (std::string_view m : {"oversubscribe", "user", "mcs", "topo"}) {
        if (iequals(*v, m)) mode = std::string(m);
      }
      if (mode.empty()) return "not exclusive, user, mcs, topo or oversubscribe";
    }
    o.job_.share_mode = mode;
    o.job_.request.exclusive = mode == "exclusive";
    return "";
  }
  static std::string oversubscribe(SbatchOptions& o, const std::optional<std::string>&,
                                   const Where&) {
    o.job_.share_mode = "oversubscribe";
    o.job_.request.exclusive = false;
    return "";
  }
  static std::string overcommit(SbatchOptions& o, const std::optional<std::string>&, const Where&) {
    o.job_.request.overcommit = true;
    return "";
  }
  static std::string requeue(SbatchOptions& o, const std::optional<std::string>& v,
                             const Where& where) {
    if (v && !v->empty()) {
      if (!iequals(*v, "expedite")) return "not expedite";
      o.job_.warnings.push_back(o.error_at(where,
                                           "--requeue=expedite: expedited requeue is "
                                           "not modelled; treated as --requeue")
                                    .message());
    }
    o.job_.requeue = true;
    return "";
  }
  static std::string no_requeue(SbatchOptions& o, const std::optional<std::string>&, const Where&) {
    o.job_.requeue = false;
    return "";
  }
  static std::string switches(SbatchOptions& o, const std::optional<std::string>& v,
                              const Where& where) {
    std::string_view s = *v;
    std::optional<SlurmDuration> wait;
    if (const std::size_t at = s.find('@'); at != std::string_view::npos) {
      wait = parse_slurm_duration(s.substr(at + 1));
      // Slurm keeps NO_VAL silently here; flotilla says so instead.
      if (!wait) return "wait after '@' is not a time (e.g. 1:00:00)";
      s = s.substr(0, at);
    }
    std::string why;
    std::optional<std::uint32_t> n = parse_int(s, true, why);
    if (!n) return "switch count " + why;
    o.job_.request.switches = n;
    o.job_.request.switches_wait.reset();
    if (wait && wait->unlimited) {
      o.job_.warnings.push_back(
          o.error_at(where, "--switches wait UNLIMITED: the cluster's MaxSwitchWait applies")
              .message());
    } else if (wait) {
      o.job_.request.switches_wait = wait->value;
    }
    return "";
  }

  // nullptr: a real sbatch option flotilla does not model.
  static Fn find(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, Fn>, 32> kHandled{{
        {"nodes", nodes},
        {"ntasks", ntasks},
        {"ntasks-per-node", ntasks_per_node},
        {"cpus-per-task", cpus_per_task},
        {"gres", gres},
        {"gpus", gpus_job},
        {"gpus-per-node", gpus_per_node},
        {"gpus-per-task", gpus_per_task},
        {"mem", mem},
        {"mem-per-gpu", mem_per_gpu},
        {"mem-per-cpu", mem_per_cpu},
        {"time", time},
        {"partition", partition},
        {"account", account},
        {"qos", qos},
        {"constraint", constraint},
        {"exclusive", exclusive},
        {"oversubscribe", oversubscribe},
        {"switches", switches},
        {"dependency", dependency},
        {"array", array},
        {"job-name", job_name},
        {"output", output},
        {"error", error},
        {"requeue", requeue},
        {"no-requeue", no_requeue},
        {"signal", signal},
        {"mail-type", mail_type},
        {"mail-user", mail_user},
        {"open-mode", open_mode},
        {"overcommit", overcommit},
        {"", nullptr},
    }};
    for (const auto& [n, fn] : kHandled) {
      if (n == name) return fn;
    }
    return nullptr;
  }
};

Result<SbatchOptions::Consumed> SbatchOptions::apply(std::span<const SbatchArgument> args,
                                                     const std::string& origin,
                                                     std::span<const std::string_view> host_flags) {
  Consumed out;
  std::size_t i = 0;
  // Runs one recognised option with its value (if any).
  auto run = [&](const SbatchOptionSpec& spec, const std::optional<std::string>& value,
                 const Where& where) -> Status {
    const std::string_view key = canonical(spec.name);
    const std::string shown = "--" + std::string(spec.name);
    if (OptionHandlers::Fn fn = OptionHandlers::find(key)) {
      const std::string why = fn(*this, value, where);
      if (!why.empty()) {
        return error_at(where,
                        "invalid value '" + value.value_or("") + "' for " + shown + ": " + why);
      }
    } else {
      job_.ignored_options.push_back({"--" + std::string(key), value, where.line});
    }
    set_by_[std::string(key)] = where;
    set_order_.push_back(std::string(key));
    return Status::ok();
  };

  while (i < args.size()) {
    const SbatchArgument& arg = args[i];
    const std::string& t = arg.text;
    const Where where{origin, arg.line};
    const std::string noun = arg.line > 0 ? "directive" : "option";
    if (t == "--") {  // getopt: "--" ends the options and is consumed
      ++i;
      break;
    }
    if (t.size() < 2 || t[0] != '-') break;  // the first non-option ends them ("+" mode)
    ++i;
    if (t[1] == '-') {
      const std::string_view body = std::string_view(t).substr(2);
      const std::size_t eq = body.find('=');
      const std::string_view name = body.substr(0, eq);
      std::optional<std::string> value;
      if (eq != std::string_view::npos) value = std::string(body.substr(eq + 1));
      if (!value && std::find(host_flags.begin(), host_flags.end(), name) != host_flags.end()) {
        out.host_flags.push_back(t);
        continue;
      }
      // getopt_long: an exact name wins; otherwise a unique prefix, where
      // prefixes of one and the same option do not count as ambiguous.
      const SbatchOptionSpec* spec = nullptr;
      for (const SbatchOptionSpec& s : kTable) {
        if (s.name == name) spec = &s;
      }
      if (!spec) {
        std::vector<const SbatchOptionSpec*> matches;
        for (const SbatchOptionSpec& s : kTable) {
          if (s.name.starts_with(name)) matches.push_back(&s);
        }
        if (matches.empty()) {
          return error_at(
              where, "invalid " + noun + " --" + std::string(name) + " (not an sbatch option)");
        }
        const bool ambiguous = std::any_of(matches.begin(), matches.end(), [&](const auto* m) {
          return canonical(m->name) != canonical(matches[0]->name) || m->arg != matches[0]->arg;
        });
        if (ambiguous) {
          std::string list;
          for (const SbatchOptionSpec* m : matches) {
            list += (list.empty() ? "--" : ", --") + std::string(m->name);
          }
          return error_at(
              where, "ambiguous " + noun + " --" + std::string(name) + " (could be " + list + ")");
        }
        spec = matches[0];
      }
      const std::string shown = "--" + std::string(spec->name);
      if (spec->arg == kNone && value) {
        return error_at(where, noun + " " + shown + " takes no value (got '" + *value + "')");
      }
      if (spec->arg == kRequired && !value) {
        // getopt_long takes the next argument, whatever it looks like; in a
        // script that can be the first argument of the next #SBATCH line.
        if (i >= args.size()) return error_at(where, noun + " " + shown + " needs a value");
        value = args[i++].text;
      }
      if (Status s = run(*spec, value, where); !s) return s;
    } else {
      // A cluster of short options: -vO, -N2, -N 2, -Jname.
      for (std::size_t pos = 1; pos < t.size();) {
        const char c = t[pos++];
        const SbatchOptionSpec* spec = nullptr;
        for (const SbatchOptionSpec& s : kTable) {
          if (s.short_name != 0 && s.short_name == c) spec = &s;
        }
        if (!spec) {
          return error_at(where,
                          "invalid " + noun + " -" + std::string(1, c) + " (not an sbatch option)");
        }
        std::optional<std::string> value;
        if (spec->arg != kNone && pos < t.size()) {
          value = t.substr(pos);
          pos = t.size();
        } else if (spec->arg == kRequired) {
          if (i >= args.size()) {
            return error_at(where, noun + " -" + std::string(1, c) + " (--" +
                                       std::string(spec->name) + ") needs a value");
          }
          value = args[i++].text;
        }
        if (Status s = run(*spec, value, where); !s) return s;
      }
    }
  }
  out.next = i;
  return out;
}

Result<SbatchJob> SbatchOptions::finish() const {
  auto is_set = [this](std::string_view key) { return set_by_.find(key) != set_by_.end(); };
  // The place of whichever of `keys` was set last: that is where a conflict
  // became one.
  auto latest = [this](std::initializer_list<std::string_view> keys) {
    for (auto it = set_order_.rbegin(); it != set_order_.rend(); ++it) {
      if (std::find(keys.begin(), keys.end(), *it) != keys.end()) return set_by_.find(*it)->second;
    }
    return Where{};
  };

  const int memory_options =
      static_cast<int>(is_set("mem")) + is_set("mem-per-cpu") + is_set("mem-per-gpu");
  if (memory_options > 1) {
    return error_at(latest({"mem", "mem-per-cpu", "mem-per-gpu"}),
                    "--mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive");
  }
  if (is_set("exclusive") && is_set("oversubscribe")) {
    return error_at(latest({"exclusive", "oversubscribe"}),
                    "--exclusive and --oversubscribe are mutually exclusive");
  }
  if (is_set("gpus-per-node") && gres_mentions_gpu_) {
    return error_at(latest({"gpus-per-node", "gres"}),
                    "--gpus-per-node and --gres=gpu are mutually exclusive");
  }

  SbatchJob job = job_;
  JobRequest& r = job.request;
  const std::optional<GpuAsk>& per_node = gpus_per_node_ ? gpus_per_node_ : gres_gpu_;
  if (gpus_) r.gpus = gpus_->count;
  if (per_node) r.gpus_per_node = per_node->count;
  if (gpus_per_task_) r.gpus_per_task = gpus_per_task_->count;
  for (const std::optional<GpuAsk>* ask : {&gpus_, &per_node, &gpus_per_task_}) {
    if (!*ask || (*ask)->type.empty()) continue;
    if (r.gpu_types.empty()) {
      r.gpu_types.push_back((*ask)->type);
    } else if (r.gpu_types.front() != (*ask)->type) {
      return error_at(latest({"gpus", "gpus-per-node", "gres", "gpus-per-task"}),
                      "conflicting GPU types '" + r.gpu_types.front() + "' and '" + (*ask)->type +
                          "' (flotilla models one GPU type per job)");
    }
  }
  r.requeue = job.requeue.value_or(false);
  return job;
}

}  // namespace flotilla::slurm
