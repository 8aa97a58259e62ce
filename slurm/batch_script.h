// Batch scripts as sbatch reads them (src/sbatch/sbatch.c, src/sbatch/opt.c):
// the sanity checks on the whole file, the `#SBATCH` directives at its top and
// how a directive line splits into arguments. Pure functions over text, so
// tests need no files; read_batch_script() is the only one that touches disk.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/status.h"
#include "slurm/sbatch_options.h"

namespace flotilla::slurm {

struct BatchScript {
  std::string origin;                     // the name errors use (the path as given)
  std::vector<SbatchArgument> arguments;  // every directive argument, in order
  std::vector<std::string> warnings;      // e.g. deprecated #SLURM
  std::size_t body_line = 0;              // first command line; 0 when there is none
};

// Splits what follows `#SBATCH` on one line into arguments: white space
// separates, single and double quotes group, a backslash takes the next
// character literally, an unquoted `#` ends the line. As in sbatch, an empty
// argument (`""`) or the word hetjob/packjob also ends the line, and an
// unmatched quote or an argument starting with ':' is an error.
Result<std::vector<std::string>> split_directive(std::string_view rest, const std::string& origin,
                                                 std::size_t line);

// Checks a script as sbatch does (not empty, not only white space, starts with
// "#!", no NUL byte, no DOS line breaks) and collects its directives: lines
// that start with `#SBATCH` (or the deprecated `#SLURM`) up to the first line
// that is neither blank nor a comment. `origin` names the script in errors.
Result<BatchScript> parse_batch_script(std::string_view text, const std::string& origin);

// Reads `path` and parses it; errors name the path.
Result<BatchScript> read_batch_script(const std::string& path);

// The job sbatch would submit for `script` with `command_line` options (the
// ones before the script name) applied over its directives, as sbatch applies
// them. `host_flags` are the caller's own flags among them, skipped here (see
// SbatchOptions::apply).
Result<SbatchJob> sbatch_job(const BatchScript& script,
                             std::span<const SbatchArgument> command_line = {},
                             const std::string& command_line_origin = "command line",
                             std::span<const std::string_view> host_flags = {});

}  // namespace flotilla::slurm
