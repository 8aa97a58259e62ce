// Line-by-line reading of trace files, plain or gzip-compressed (zlib reads
// both), and the field parsing the text readers share. Internal to traces/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla::trace_input {

// One open file; not copyable, single-threaded.
class LineReader {
 public:
  // Errors: "PATH: cannot open".
  static Result<std::unique_ptr<LineReader>> open(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its newline (and '\r'); false at the end of the
  // file or on a read error (then status() says which).
  bool next(std::string_view& line);
  std::size_t line_number() const { return line_; }
  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  LineReader(std::string path, void* gz) : path_(std::move(path)), gz_(gz) {}
  bool fill();

  std::string path_;
  void* gz_;  // gzFile
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::size_t line_ = 0;
  Status status_ = Status::ok();
};

// Splits on `sep` (the CSVs we read never quote); keeps empty fields.
void split(std::string_view line, char sep, std::vector<std::string_view>& out);
// Splits on runs of blanks and tabs (SWF).
void split_blanks(std::string_view line, std::vector<std::string_view>& out);

bool is_blank(std::string_view line);
// "FILE:LINE: FIELD: WHAT, got 'VALUE'" at the reader's current line.
Status bad_field(const LineReader& in, std::string_view field, std::string_view what,
                 std::string_view value);
// Opens a CSV trace and reads its first line; errors when the file cannot be
// read or the header is missing or not `expected`.
Result<std::unique_ptr<LineReader>> open_csv(const std::string& path, std::string_view expected);
// The next non-blank row, split on ',' into `out`: true, or false at the end
// of the file. Errors: a read error, or a row without exactly `fields` fields.
Result<bool> next_row(LineReader& in, std::size_t fields, std::vector<std::string_view>& out);
std::string_view trim(std::string_view s);

// Whole-field parses; nullopt-like false on anything else (sign, spaces...).
bool parse_int(std::string_view s, std::int64_t& out);
bool parse_double(std::string_view s, double& out);

}  // namespace flotilla::trace_input

namespace flotilla::trace_input {
// Puts jobs in the order Trace promises: submit time, then id.
void sort_jobs(std::vector<TraceJob>& jobs);
}  // namespace flotilla::trace_input
