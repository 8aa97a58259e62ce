// Line reading through zlib (which passes plain files through unchanged).
#include "traces/text_input.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace flotilla::trace_input {

Result<std::unique_ptr<LineReader>> LineReader::open(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return Status::error(path + ": cannot open");
  gzbuffer(gz, 1 << 18);
  return std::unique_ptr<LineReader>(new LineReader(path, gz));
}

LineReader::~LineReader() {
  gzclose(static_cast<gzFile>(gz_));
}

bool LineReader::fill() {
  if (eof_) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  const std::size_t old = buf_.size();
  constexpr std::size_t kChunk = 1 << 20;
  buf_.resize(old + kChunk);
  const int n = gzread(static_cast<gzFile>(gz_), buf_.data() + old, kChunk);
  if (n < 0) {
    int err = 0;
    const char* what = gzerror(static_cast<gzFile>(gz_), &err);
    status_ = Status::at(path_, line_ + 1, std::string("read error: ") + (what ? what : "?"));
    buf_.resize(old);
    eof_ = true;
    return false;
  }
  buf_.resize(old + static_cast<std::size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineReader::next(std::string_view& line) {
  for (;;) {
    const std::size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line = std::string_view(buf_).substr(pos_, nl - pos_);
      pos_ = nl + 1;
      break;
    }
    if (!fill()) {
      if (!status_.is_ok() || pos_ >= buf_.size()) return false;
      line = std::string_view(buf_).substr(pos_);  // last line without '\n'
      pos_ = buf_.size();
      break;
    }
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ++line_;
  return true;
}

void split(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t p = line.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, p - start));
    start = p + 1;
  }
}

void split_blanks(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
}

bool is_blank(std::string_view line) {
  return trim(line).empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end && std::isfinite(out);
}

}  // namespace flotilla::trace_input

namespace flotilla::trace_input {
void sort_jobs(std::vector<TraceJob>& jobs) {
  std::stable_sort(jobs.begin(), jobs.end(), [](const TraceJob& a, const TraceJob& b) {
    return a.submit != b.submit ? a.submit < b.submit : a.id < b.id;
  });
}
Status bad_field(const LineReader& in, std::string_view field, std::string_view what,
                 std::string_view value) {
  return Status::at(
      in.path(), in.line_number(),
      std::string(field) + ": " + std::string(what) + ", got '" + std::string(value) + "'");
}

Result<std::unique_ptr<LineReader>> open_csv(const std::string& path, std::string_view expected) {
  Result<std::unique_ptr<LineReader>> opened = LineReader::open(path);
  if (!opened) return opened;
  LineReader& in = **opened;
  std::string_view line;
  if (!in.next(line)) {
    if (!in.status()) return in.status();
    return Status::at(in.path(), 1, "empty file, expected header '" + std::string(expected) + "'");
  }
  if (line != expected) {
    return Status::at(
        in.path(), in.line_number(),
        "expected header '" + std::string(expected) + "', got '" + std::string(line) + "'");
  }
  return opened;
}

Result<bool> next_row(LineReader& in, std::size_t fields, std::vector<std::string_view>& out) {
  std::string_view line;
  while (in.next(line)) {
    if (is_blank(line)) continue;
    split(line, ',', out);
    if (out.size() != fields) {
      return Status::at(
          in.path(), in.line_number(),
          "expected " + std::to_string(fields) + " fields, got " + std::to_string(out.size()));
    }
    return true;
  }
  if (!in.status()) return in.status();
  return false;
}

}  // namespace flotilla::trace_input
