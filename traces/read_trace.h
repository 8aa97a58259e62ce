// One entry point for any trace file: picks the reader by extension and, for
// CSVs, by the header line.
//   *.h5 or HDF5 signature -> read_trace_h5     *.swf, *.swf.gz -> read_swf
//   CSV header of Philly (Sia), Saturn (Sia) or Alibaba v2023 pods -> that reader
// CSVs may be gzip-compressed. An Alibaba node list is refused (it is a fleet:
// read_alibaba_nodes); anything else is "PATH: unknown trace format (...)".
#pragma once

#include <string>

#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

Result<Trace> read_trace(const std::string& path);

}  // namespace flotilla
