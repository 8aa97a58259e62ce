// Slurm hostlists: the compact way Slurm (and flotilla's fleet files) write many
// host names, e.g. "n[1-3,5]" for n1 n2 n3 n5, "home[0001-4000]" (zero padding
// kept), "r[1-2]-n[01-03]" (several bracket groups: every combination, the last
// group varying fastest) and "a1,b[1-2]" (a comma list of such names).
// Pure functions, no state; safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/status.h"

namespace flotilla {

// Hostlists longer than this are refused rather than expanded, so that a typo
// such as "n[1-10000000000]" cannot eat all memory.
constexpr std::size_t kMaxHostlistNames = 10'000'000;

// How many names `hostlist` stands for, without building them (duplicates
// counted). Errors are those of expand_hostlist except the size limit; the
// count saturates at kMaxHostlistNames + 1.
Result<std::uint64_t> hostlist_size(std::string_view hostlist);

// The names, in the order written. A range's width is that of its low bound
// ("[08-10]" gives 08 09 10, "[8-10]" gives 8 9 10). Errors ("bad hostlist
// "TEXT": what") for an empty list or name, a range running backwards, a
// non-digit or empty bound, an unclosed, unmatched or nested bracket, white
// space, and more than `max_names` names.
Result<std::vector<std::string>> expand_hostlist(std::string_view hostlist,
                                                 std::size_t max_names = kMaxHostlistNames);

// The shortest usual Slurm form of `names` ("n[1-3,5],gpu7"), as Slurm writes
// SLURM_JOB_NODELIST: sorted by prefix then number, duplicates dropped, only
// the trailing number of each name ranged. expand_hostlist of the result gives
// the same set of names. Empty input gives "".
std::string compress_hostlist(std::span<const std::string> names);

}  // namespace flotilla
