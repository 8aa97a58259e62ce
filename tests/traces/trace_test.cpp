// Workload class names and string interning.
#include "traces/trace.h"

#include <gtest/gtest.h>

namespace flotilla {
namespace {

TEST(TraceWorkloadClass, NamesRoundTrip) {
  const char* names[] = {"unknown",        "inference", "lora-finetune", "full-finetune",
                         "small-training", "hpo-sweep", "pretraining"};
  for (int i = 0; i < kWorkloadClasses; ++i) {
    const auto c = static_cast<WorkloadClass>(i);
    EXPECT_EQ(workload_class_name(c), names[i]);
    EXPECT_EQ(find_workload_class(names[i]), c);
  }
  EXPECT_EQ(find_workload_class("training"), std::nullopt);
  EXPECT_EQ(find_workload_class("Inference"), std::nullopt);  // names are exact
}

TEST(TraceIntern, AppendsOnlyNewNames) {
  Trace t;
  EXPECT_EQ(Trace::intern(t.users, "-"), 0u);
  EXPECT_EQ(Trace::intern(t.users, "alice"), 1u);
  EXPECT_EQ(Trace::intern(t.users, "bob"), 2u);
  EXPECT_EQ(Trace::intern(t.users, "alice"), 1u);
  EXPECT_EQ(t.users, (std::vector<std::string>{"-", "alice", "bob"}));
}

}  // namespace
}  // namespace flotilla
