#include "slurm/batch_script.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>

namespace flotilla::slurm {

namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// "hetjob" / "packjob" (any case) as a whole word at the start of `s`.
bool starts_with_het_separator(std::string_view s) {
  for (std::string_view word : {std::string_view("hetjob"), std::string_view("packjob")}) {
    if (s.size() < word.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < word.size(); ++i) {
      same = same && std::tolower(static_cast<unsigned char>(s[i])) == word[i];
    }
    if (same && (s.size() == word.size() || is_space(s[word.size()]))) return true;
  }
  return false;
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

}  // namespace

Result<std::vector<std::string>> split_directive(std::string_view rest, const std::string& origin,
                                                 std::size_t line) {
  std::vector<std::string> args;
  std::size_t p = 0;
  while (true) {
    while (p < rest.size() && is_space(rest[p])) ++p;
    // sbatch blanks these words out, which ends the arguments of the line.
    if (starts_with_het_separator(rest.substr(p))) break;
    if (p < rest.size() && rest[p] == ':') {
      return Status::at(origin, line, "unexpected ':' in directive");
    }
    if (p >= rest.size()) break;

    std::string arg;
    bool produced = false;  // an argument exists once a character is kept
    char quote = 0;
    bool escaped = false;
    while (p < rest.size() && (quote != 0 || !is_space(rest[p]))) {
      const char c = rest[p];
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        ++p;
        // A backslash keeps the next character; before other white space than
        // a blank (outside quotes) it only disappears, as in sbatch.
        if (p < rest.size() && rest[p] == ' ') {
          arg += rest[p++];
          produced = true;
        } else {
          escaped = true;
        }
        continue;
      } else if (quote != 0) {
        if (c == quote) {
          quote = 0;
          ++p;
          continue;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
        ++p;
        continue;
      } else if (c == '#') {
        break;  // an unquoted, unescaped '#' starts a comment
      }
      arg += c;
      produced = true;
      ++p;
    }
    if (quote != 0) {
      return Status::at(origin, line, std::string("unmatched ") + quote + " in directive");
    }
    // Nothing kept (`""`, or a comment): sbatch stops reading this line.
    if (!produced) break;
    args.push_back(std::move(arg));
  }
  return args;
}

Result<BatchScript> parse_batch_script(std::string_view text, const std::string& origin) {
  if (text.empty()) return Status::at(origin, 1, "batch script is empty");
  if (std::all_of(text.begin(), text.end(), is_space)) {
    return Status::at(origin, 1, "batch script contains only white space");
  }
  if (!text.starts_with("#!")) {
    return Status::at(origin, 1,
                      "first line must start with #! and an interpreter (e.g. #!/bin/bash), as "
                      "sbatch requires");
  }
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::at(origin, line_of(text, nul), "batch script contains a NUL character");
  }
  if (const std::size_t crlf = text.find("\r\n"); crlf != std::string_view::npos) {
    return Status::at(origin, line_of(text, crlf),
                      "batch script has DOS line breaks (\\r\\n); sbatch needs \\n");
  }

  BatchScript script;
  script.origin = origin;
  std::size_t start = 0;
  bool warned_slurm = false;
  for (std::size_t line = 1; start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view content = text.substr(start, end - start);
    start = end + 1;

    // The magic word must start the line; an indented one is a comment.
    std::string_view rest;
    if (content.starts_with("#SBATCH")) {
      rest = content.substr(7);
    } else if (content.starts_with("#SLURM")) {
      rest = content.substr(6);
      if (!warned_slurm) {
        script.warnings.push_back(Status::at(origin, line,
                                             "#SLURM is deprecated; use #SBATCH (and check the "
                                             "options are valid for sbatch)")
                                      .message());
        warned_slurm = true;
      }
    } else {
      const auto first = std::find_if_not(content.begin(), content.end(), is_space);
      if (first != content.end() && *first != '#') {
        script.body_line = line;
        break;  // the first command ends the directives
      }
      continue;  // blank or comment
    }

    std::size_t word = 0;
    while (word < rest.size() && is_space(rest[word])) ++word;
    if (starts_with_het_separator(rest.substr(word))) {
      return Status::at(origin, line,
                        "heterogeneous jobs (#SBATCH hetjob) are not supported by flotilla");
    }
    Result<std::vector<std::string>> args = split_directive(rest, origin, line);
    if (!args) return args.status();
    for (std::string& a : *args) script.arguments.push_back({std::move(a), line});
  }
  return script;
}

Result<BatchScript> read_batch_script(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open batch script");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::error(path + ": cannot read batch script");
  return parse_batch_script(buffer.str(), path);
}

Result<SbatchJob> sbatch_job(const BatchScript& script,
                             std::span<const SbatchArgument> command_line,
                             const std::string& command_line_origin,
                             std::span<const std::string_view> host_flags) {
  SbatchOptions options;
  Result<SbatchOptions::Consumed> from_script = options.apply(script.arguments, script.origin);
  if (!from_script) return from_script.status();
  if (from_script->next < script.arguments.size()) {
    // sbatch: "Invalid directive found in batch script".
    const SbatchArgument& bad = script.arguments[from_script->next];
    return Status::at(
        script.origin, bad.line,
        "invalid directive '" + bad.text + "' (not an option; sbatch stops reading options here)");
  }
  Result<SbatchOptions::Consumed> from_cli =
      options.apply(command_line, command_line_origin, host_flags);
  if (!from_cli) return from_cli.status();
  if (from_cli->next < command_line.size()) {
    return Status::error(command_line_origin + ": unexpected argument '" +
                         command_line[from_cli->next].text + "' before the script");
  }
  Result<SbatchJob> job = options.finish();
  if (!job) return job;
  job->warnings.insert(job->warnings.begin(), script.warnings.begin(), script.warnings.end());
  return job;
}

}  // namespace flotilla::slurm
