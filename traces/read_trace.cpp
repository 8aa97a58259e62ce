// Trace format detection; see read_trace.h.
#include "traces/read_trace.h"

#include <string_view>

#include "traces/alibaba.h"
#include "traces/sia_csv.h"
#include "traces/swf.h"
#include "traces/text_input.h"
#include "traces/trace_h5.h"

namespace flotilla {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<Trace> read_trace(const std::string& path) {
  if (ends_with(path, ".h5") || is_hdf5_file(path)) return read_trace_h5(path);
  if (ends_with(path, ".swf") || ends_with(path, ".swf.gz")) return read_swf(path);

  std::string first;
  {
    auto opened = trace_input::LineReader::open(path);
    if (!opened) return opened.status();
    std::string_view line;
    if ((*opened)->next(line)) first = line;
    if (!(*opened)->status()) return (*opened)->status();
  }
  if (first == kPhillyHeader) return read_philly(path);
  if (first == kSaturnHeader) return read_saturn(path);
  if (first == kAlibabaPodHeader) return read_alibaba_pods(path);
  if (first == kAlibabaNodeHeader) {
    return Status::error(path + ": an Alibaba node list describes a fleet, not a trace");
  }
  return Status::error(path +
                       ": unknown trace format (expected .swf, .swf.gz, .h5, or a CSV with the "
                       "header of Philly (Sia), Saturn (Sia) or Alibaba v2023 pods)");
}

}  // namespace flotilla
