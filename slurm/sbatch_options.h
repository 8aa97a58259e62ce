// sbatch's options, read the way sbatch reads them: getopt_long over sbatch's
// own option table (src/common/slurm_opt.c), into a JobRequest. The same
// parser serves `#SBATCH` directives and `flotilla sbatch` command-line options;
// applying the command line after the script makes it override, as in sbatch.
//
// Options that flotilla models fill the JobRequest; every other real sbatch
// option is accepted and kept in SbatchJob::ignored_options so that real
// cluster scripts parse; anything sbatch does not know is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/request.h"
#include "scheduler/status.h"

namespace flotilla::slurm {

// How an option takes its value, as in getopt_long's `has_arg`.
enum class ArgKind { kNone, kRequired, kOptional };

struct SbatchOptionSpec {
  std::string_view name;  // long name without "--"
  ArgKind arg;
  char short_name;  // 0: long form only
};

// sbatch's option table (the options sbatch accepts, in Slurm's order).
std::span<const SbatchOptionSpec> sbatch_option_table();

// One argv element and where it came from: the script line of its `#SBATCH`
// directive, or 0 for the command line.
struct SbatchArgument {
  std::string text;
  std::size_t line = 0;
};

// A real sbatch option that flotilla accepts but does not model.
struct IgnoredOption {
  std::string option;                // canonical long form, e.g. "--chdir"
  std::optional<std::string> value;  // none for options without a value
  std::size_t line = 0;              // 0: command line
};

// What sbatch would submit. Plain value.
struct SbatchJob {
  JobRequest request;
  // Unset: the cluster's JobRequeue default applies (request.requeue is false).
  std::optional<bool> requeue;
  // "exclusive", "user", "mcs", "topo" or "oversubscribe" (--exclusive=MODE or
  // -s); empty when neither was given. request.exclusive is true only for
  // whole-node exclusivity.
  std::string share_mode;
  std::vector<IgnoredOption> ignored_options;
  std::vector<std::string> ignored_gres;  // non-GPU --gres entries, e.g. "nvme:1"
  std::vector<std::string> warnings;
};

// A duration as Slurm's time_str2secs reads it: M, M:S, H:M:S, D-H, D-H:M,
// D-H:M:S, or UNLIMITED / INFINITE / -1 (`unlimited`). Seconds are exact here;
// time limits round them up to whole minutes (see parse_time_limit).
struct SlurmDuration {
  Seconds value{0};
  bool unlimited = false;
};
std::optional<SlurmDuration> parse_slurm_duration(std::string_view text);
// --time: whole minutes, seconds rounded up (0:30 is one minute); a limit of
// zero minutes means unlimited, as in sbatch.
std::optional<SlurmDuration> parse_time_limit(std::string_view text);

// Accumulates options over several argument lists (script, then command line);
// later occurrences override earlier ones. Not thread-safe; one per job.
class SbatchOptions {
 public:
  struct Consumed {
    // Index of the first argument that is not an option (the script on a
    // command line); args.size() when every argument was consumed.
    std::size_t next = 0;
    std::vector<std::string> host_flags;  // host_flags found, as "--name"
  };

  // Reads options from args until the first non-option argument, as getopt_long
  // with sbatch's "+" option string does. `origin` names the source in errors
  // ("FILE:LINE: ..." when an argument has a line, "ORIGIN: ..." otherwise).
  // `host_flags` are extra value-less long options of the calling program
  // (matched exactly, before sbatch's table); they are reported, not applied.
  Result<Consumed> apply(std::span<const SbatchArgument> args, const std::string& origin,
                         std::span<const std::string_view> host_flags = {});

  // Cross-option checks sbatch makes after reading everything (mutually
  // exclusive options, conflicting GPU types) and the finished request.
  Result<SbatchJob> finish() const;

 private:
  struct Where {
    std::string origin;
    std::size_t line = 0;
  };
  struct GpuAsk {
    std::uint32_t count = 0;
    std::string type;
  };
  friend struct OptionHandlers;

  Status error_at(const Where& where, const std::string& what) const;

  SbatchJob job_;
  std::optional<GpuAsk> gpus_, gpus_per_node_, gpus_per_task_, gres_gpu_;
  bool gres_mentions_gpu_ = false;
  std::map<std::string, Where, std::less<>> set_by_;  // long name -> last place set
  std::vector<std::string> set_order_;                // long names in the order given
};

}  // namespace flotilla::slurm
