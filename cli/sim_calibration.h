// `flotilla sim --catalog-from FILE` (repeatable): reads what `flotilla probe
// --json` wrote (executor/probe_report.h), calibrates the GPU catalog from it
// (simulator/catalog_calibration.h), and says what changed, so that a
// calibrated run never reads like an uncalibrated one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler/status.h"
#include "simulator/catalog_calibration.h"
#include "simulator/perf_model.h"

namespace flotilla::cli {

// Reads every file and calibrates `model`'s catalog. Errors: one line, "FILE: what".
Result<CatalogCalibration> calibrate_from_probes(const std::vector<std::string>& paths,
                                                 const PerfModel& model);

// One line per calibrated type, for the text output.
std::string calibration_text(const CatalogCalibration& c);
// The "calibration" array of `--json`: one object per calibrated type.
nlohmann::json calibration_json(const CatalogCalibration& c);

}  // namespace flotilla::cli
