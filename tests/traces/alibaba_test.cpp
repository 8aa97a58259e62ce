// Alibaba v2023 pod and node lists: inline files, errors, the real lists.
#include "traces/alibaba.h"

#include <gtest/gtest.h>

#include <map>

#include "scheduler/gpu_catalog.h"
#include "tests/traces/trace_test_util.h"

namespace flotilla {
namespace {

using testing::TempDir;

GpuTypeId id_of(const char* name) {
  return GpuCatalog::builtin().find(name).value();
}

TEST(AlibabaPods, SharesWholeGpusTypesQosAndRuntimes) {
  TempDir dir;
  const std::string path = dir.write(
      "pods.csv", std::string(kAlibabaPodHeader) +
                      "\npod-a,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
                      "pod-b,6000,12288,1,460,,BE,Failed,100,400,150\n"
                      "pod-c,20000,65536,0,0,,LS,Running,50,900,50\n"
                      "pod-d,88000,327680,8,1000,V100M16|V100M32,Burstable,Succeeded,200,1200,205\n"
                      "pod-e,11908,47104,1,1000,T4,BE,Pending,300,450,\n");
  Result<Trace> t = read_alibaba_pods(path);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->skipped_records, 1u);  // pod-c is CPU-only
  ASSERT_EQ(t->jobs.size(), 4u);
  EXPECT_EQ(t->qos, (std::vector<std::string>{"LS", "BE", "Burstable"}));

  const TraceJob& a = t->jobs[0];
  EXPECT_EQ(a.id, 0u);
  EXPECT_EQ(a.shape.total_gpus, 1u);
  EXPECT_EQ(a.shape.gpu_milli, 1000);
  EXPECT_TRUE(a.shape.types.none());
  EXPECT_EQ(a.work.reference_runtime, Seconds{12537496});
  EXPECT_EQ(a.work.reference_gpu, id_of("G2"));

  const TraceJob& b = t->jobs[1];  // a share, failed after 250 s
  EXPECT_EQ(b.submit, Seconds{100});
  EXPECT_EQ(b.shape.total_gpus, 1u);
  EXPECT_EQ(b.shape.gpu_milli, 460);
  EXPECT_EQ(b.work.reference_runtime, Seconds{250});
  EXPECT_EQ(t->qos[b.qos], "BE");

  const TraceJob& d = t->jobs[2];
  EXPECT_EQ(d.id, 3u);
  EXPECT_EQ(d.shape.total_gpus, 8u);
  EXPECT_TRUE(d.shape.types.test(id_of("V100M16")));
  EXPECT_TRUE(d.shape.types.test(id_of("V100M32")));
  EXPECT_EQ(d.shape.types.count(), 2u);
  EXPECT_EQ(d.work.reference_runtime, Seconds{995});
  EXPECT_EQ(d.work.reference_gpu, id_of("G2"));

  const TraceJob& e = t->jobs[3];  // never ran: how long the demand stood
  EXPECT_EQ(e.work.reference_runtime, Seconds{150});
  EXPECT_EQ(e.work.reference_gpu, id_of("T4"));
  EXPECT_EQ(e.source_line, 6u);
}

std::string pod_error(const std::string& row) {
  TempDir dir;
  const std::string path = dir.write("p.csv", std::string(kAlibabaPodHeader) + "\n" + row + "\n");
  Result<Trace> t = read_alibaba_pods(path);
  EXPECT_FALSE(t);
  const std::string m = t.message();
  return m.substr(0, path.size()) == path ? m.substr(path.size()) : "WRONG FILE: " + m;
}

TEST(AlibabaPods, Errors) {
  EXPECT_EQ(pod_error("p,1,1,1,1000,,LS,Running,0,10"), ":2: expected 11 fields, got 10");
  EXPECT_EQ(pod_error("p,x,1,1,1000,,LS,Running,0,10,0"),
            ":2: cpu_milli: expected an integer >= 0, got 'x'");
  EXPECT_EQ(pod_error("p,1,1,-1,1000,,LS,Running,0,10,0"),
            ":2: num_gpu: expected an integer >= 0, got '-1'");
  EXPECT_EQ(pod_error("p,1,1,1,1001,,LS,Running,0,10,0"),
            ":2: gpu_milli: expected an integer 0..1000, got '1001'");
  EXPECT_EQ(pod_error("p,1,1,1,0,,LS,Running,0,10,0"),
            ":2: gpu_milli: expected 1..1000 for a GPU pod, got '0'");
  EXPECT_EQ(pod_error("p,1,1,2,500,,LS,Running,0,10,0"),
            ":2: gpu_milli: a share of a GPU needs num_gpu 1, got '500'");
  EXPECT_EQ(pod_error("p,1,1,1,1000,H900,LS,Running,0,10,0"),
            ":2: gpu_spec: unknown GPU model 'H900', got 'H900'");
  EXPECT_EQ(pod_error("p,1,1,1,1000,,LS,Sleeping,0,10,0"),
            ":2: pod_phase: expected Pending, Running, Succeeded or Failed, got 'Sleeping'");
  EXPECT_EQ(pod_error("p,1,1,1,1000,,,Running,0,10,0"), ":2: qos: expected a QoS class, got ''");
  EXPECT_EQ(pod_error("p,1,1,1,1000,,LS,Running,0,,0"),
            ":2: deletion_time: expected seconds >= 0, got ''");
  EXPECT_EQ(pod_error("p,1,1,1,1000,,LS,Running,0,10,x"),
            ":2: scheduled_time: expected seconds >= 0, got 'x'");
  EXPECT_EQ(pod_error("p,1,1,1,1000,,LS,Running,0,10,20"),
            ":2: deletion_time: before scheduled_time, got '10'");
}

TEST(AlibabaPods, RealDefaultList) {
  const std::string path = testing::shared_trace("alibaba-gpu-v2023/openb_pod_list_default.csv");
  SKIP_UNLESS_EXISTS(path);
  Result<Trace> t = read_alibaba_pods(path);
  ASSERT_TRUE(t) << t.message();
  // 8,152 pods: 7,064 ask for GPUs, 1,088 are CPU-only.
  EXPECT_EQ(t->jobs.size() + t->skipped_records, 8'152u);
  EXPECT_EQ(t->jobs.size(), 7'064u);
  EXPECT_EQ(t->skipped_records, 1'088u);
  std::uint64_t shares = 0, eight = 0;
  for (const TraceJob& j : t->jobs) {
    shares += j.shape.gpu_milli < 1000 ? 1 : 0;
    eight += j.shape.total_gpus == 8 ? 1 : 0;
  }
  EXPECT_EQ(eight, 44u);
  EXPECT_GT(shares, 0u);
  EXPECT_EQ(t->qos.size(), 4u);
}

TEST(AlibabaNodes, FleetOfGpuNodesInSwitchesOf32) {
  TempDir dir;
  std::string text = std::string(kAlibabaNodeHeader) + "\n";
  for (int i = 0; i < 40; ++i) {
    text += "n" + std::to_string(i) + ",64000,262144," + (i % 10 == 0 ? "0," : "8,V100M32") + "\n";
  }
  Result<Fleet> f = read_alibaba_nodes(dir.write("nodes.csv", text));
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->nodes().size(), 36u);  // 4 CPU-only skipped
  EXPECT_EQ(f->total_gpus(), 288u);
  ASSERT_EQ(f->switches().size(), 2u);
  EXPECT_EQ(f->switches()[0].num_nodes, 32u);
  EXPECT_EQ(f->switches()[1].num_nodes, 4u);
  EXPECT_EQ(f->switches()[1].name, "sw001");
  EXPECT_EQ(f->node_name(0), "n1");
  EXPECT_EQ(f->nodes()[0].gpu_type, id_of("V100M32"));
  EXPECT_EQ(f->nodes()[0].nvlink_domain_size, 8);
}

TEST(AlibabaNodes, Errors) {
  TempDir dir;
  const std::string h = std::string(kAlibabaNodeHeader) + "\n";
  const std::string p1 = dir.write("a.csv", h + "n0,1,1,2,Z80\n");
  EXPECT_EQ(read_alibaba_nodes(p1).message(), p1 + ":2: model: unknown GPU model, got 'Z80'");
  const std::string p2 = dir.write("b.csv", h + "n0,1,1,17,T4\n");
  EXPECT_EQ(read_alibaba_nodes(p2).message(), p2 + ":2: gpu: expected an integer 0..16, got '17'");
  const std::string p3 = dir.write("c.csv", h + "n0,1,1,2,T4\nn0,1,1,2,T4\n");
  EXPECT_EQ(read_alibaba_nodes(p3).message(), p3 + ":3: duplicate host n0");
  const std::string p4 = dir.write("d.csv", h + "n0,1,1,0,\n");
  EXPECT_EQ(read_alibaba_nodes(p4).message(), p4 + ":2: no GPU nodes");
  const std::string p5 = dir.write("e.csv", "sn,gpu\n");
  EXPECT_EQ(read_alibaba_nodes(p5).message(),
            p5 + ":1: expected header 'sn,cpu_milli,memory_mib,gpu,model', got 'sn,gpu'");
}

TEST(AlibabaNodes, RealClusters) {
  for (const char* file : {"openb_node_list_gpu_node.csv", "openb_node_list_all_node.csv"}) {
    const std::string path = testing::shared_trace(std::string("alibaba-gpu-v2023/") + file);
    SKIP_UNLESS_EXISTS(path);
    Result<Fleet> f = read_alibaba_nodes(path);
    ASSERT_TRUE(f) << f.message();
    // FGD paper: 1,213 GPU nodes, 6,212 GPUs (the all-node list adds 310 CPU-only nodes).
    EXPECT_EQ(f->nodes().size(), 1'213u) << file;
    EXPECT_EQ(f->total_gpus(), 6'212u) << file;
    EXPECT_EQ(f->switches().size(), 38u) << file;  // ceil(1,213 / 32)
    std::map<std::string, std::uint32_t> by_type;
    for (const Node& n : f->nodes()) by_type[f->catalog().at(n.gpu_type).name] += n.gpu_count;
    EXPECT_EQ(by_type["G2"], 4'392u);
    EXPECT_EQ(by_type["T4"], 842u);
    EXPECT_EQ(by_type.size(), 7u);
  }
}

}  // namespace
}  // namespace flotilla
