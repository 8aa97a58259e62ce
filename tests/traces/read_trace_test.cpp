// Format detection by extension and CSV header.
#include "traces/read_trace.h"

#include <gtest/gtest.h>

#include "tests/traces/trace_test_util.h"
#include "traces/alibaba.h"
#include "traces/sia_csv.h"
#include "traces/trace_h5.h"

namespace flotilla {
namespace {

using testing::TempDir;

TEST(ReadTrace, PicksTheReader) {
  TempDir dir;
  Result<Trace> philly = read_trace(
      dir.write("a.csv", std::string(kPhillyHeader) + "\n2017-10-09 07:01:55,66.0,1,66.0,c\n"));
  ASSERT_TRUE(philly) << philly.message();
  EXPECT_EQ(philly->jobs.at(0).work.reference_runtime, Seconds{66});

  Result<Trace> saturn =
      read_trace(dir.write("b.txt", std::string(kSaturnHeader) + "\nx,1,yolov3,4,8\n"));
  ASSERT_TRUE(saturn) << saturn.message();
  EXPECT_EQ(saturn->jobs.at(0).workload, WorkloadClass::kSmallTraining);

  Result<Trace> pods = read_trace(
      dir.write("c.csv", std::string(kAlibabaPodHeader) + "\np,1,1,1,300,,LS,Running,0,10,0\n"));
  ASSERT_TRUE(pods) << pods.message();
  EXPECT_EQ(pods->jobs.at(0).shape.gpu_milli, 300);

  Result<Trace> swf =
      read_trace(dir.write("d.swf", "1 0 -1 10 4 -1 -1 4 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"));
  ASSERT_TRUE(swf) << swf.message();
  EXPECT_EQ(swf->jobs.at(0).shape.total_gpus, 4u);

  // HDF5 is recognised by its signature, whatever the name.
  const std::string h5 = dir.path("stored.bin");
  ASSERT_TRUE(write_trace_h5(*swf, h5));
  Result<Trace> back = read_trace(h5);
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(back->jobs.size(), 1u);
}

TEST(ReadTrace, UnknownFormatsNameTheFile) {
  TempDir dir;
  const std::string odd = dir.write("x.csv", "a,b,c\n1,2,3\n");
  EXPECT_EQ(read_trace(odd).message(),
            odd +
                ": unknown trace format (expected .swf, .swf.gz, .h5, or a CSV with the header "
                "of Philly (Sia), Saturn (Sia) or Alibaba v2023 pods)");
  const std::string nodes = dir.write("n.csv", std::string(kAlibabaNodeHeader) + "\nn,1,1,1,T4\n");
  EXPECT_EQ(read_trace(nodes).message(),
            nodes + ": an Alibaba node list describes a fleet, not a trace");
  EXPECT_EQ(read_trace(dir.path("none.csv")).message(), dir.path("none.csv") + ": cannot open");
  const std::string fake = dir.write("f.h5", "not hdf5");
  EXPECT_EQ(read_trace(fake).message(), fake + ": not an HDF5 file");
}

}  // namespace
}  // namespace flotilla
