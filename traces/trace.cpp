// Workload class names and the string tables of a Trace.
#include "traces/trace.h"

#include <array>

namespace flotilla {
namespace {

constexpr std::array<std::string_view, kWorkloadClasses> kClassNames{
    "unknown",        "inference", "lora-finetune", "full-finetune",
    "small-training", "hpo-sweep", "pretraining",
};

}  // namespace

std::string_view workload_class_name(WorkloadClass c) {
  const auto i = static_cast<std::size_t>(c);
  return i < kClassNames.size() ? kClassNames[i] : "unknown";
}

std::optional<WorkloadClass> find_workload_class(std::string_view name) {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == name) return static_cast<WorkloadClass>(i);
  }
  return std::nullopt;
}

std::uint32_t Trace::intern(std::vector<std::string>& table, std::string_view name) {
  // Linear: the traces we read hold at most a few hundred names per table.
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i] == name) return static_cast<std::uint32_t>(i);
  }
  table.emplace_back(name);
  return static_cast<std::uint32_t>(table.size() - 1);
}

}  // namespace flotilla
