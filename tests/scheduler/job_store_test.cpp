#include "scheduler/job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace flotilla {
namespace {

MeterRecord record(std::uint32_t run, JobEndState outcome, Fault fault) {
  return MeterRecord{.job_id = "17",
                     .provider = "acme",
                     .node = "gpu01",
                     .gpu_type = "H100-SXM",
                     .gpus = 2,
                     .start = 1000 + 100 * run,
                     .end = 1050 + 100 * run,
                     .gpu_seconds = 100,
                     .outcome = outcome,
                     .fault = fault,
                     .run = run};
}

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::remove(path_); }
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  // A store as an older version wrote it: its schema and rows, by hand.
  void write_old_store(const char* sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string path_ = (std::filesystem::temp_directory_path() /
                             ("flotilla_job_store_test_" + std::to_string(::getpid()) + ".db"))
                                .string();
};

// A node failure ends run 0 (the provider's fault); the requeued job runs on
// the same node again. Both records stay, so the fault still counts.
TEST_F(JobStoreTest, EachRunOfARequeuedJobKeepsItsOwnRecord) {
  auto store = JobStore::open(path_);
  ASSERT_TRUE(store) << store.message();
  ASSERT_TRUE((*store)->add_usage(record(0, JobEndState::kNodeFail, Fault::kProvider)));
  ASSERT_TRUE((*store)->add_usage(record(1, JobEndState::kCompleted, Fault::kNone)));
  // Written again after a restart: the same run replaces itself.
  ASSERT_TRUE((*store)->add_usage(record(1, JobEndState::kCompleted, Fault::kNone)));
  auto usage = (*store)->usage_between(0, 10'000);
  ASSERT_TRUE(usage) << usage.message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0], record(0, JobEndState::kNodeFail, Fault::kProvider));
  EXPECT_EQ((*usage)[1], record(1, JobEndState::kCompleted, Fault::kNone));
}

// A store written before runs were counted: its records are kept as run 0.
TEST_F(JobStoreTest, AStoreWithoutRunsIsMigratedKeepingItsRecords) {
  write_old_store(
      "CREATE TABLE usage (job_id TEXT NOT NULL, node TEXT NOT NULL, provider "
      "TEXT NOT NULL, gpu_type TEXT NOT NULL, gpus INTEGER NOT NULL, start "
      "INTEGER NOT NULL, \"end\" INTEGER NOT NULL, gpu_seconds INTEGER NOT "
      "NULL, outcome TEXT NOT NULL, fault TEXT NOT NULL, PRIMARY KEY (job_id, "
      "node));"
      "INSERT INTO usage VALUES ('17', 'gpu01', 'acme', 'H100-SXM', 2, 1000, "
      "1050, 100, 'node_fail', 'provider');");
  auto store = JobStore::open(path_);
  ASSERT_TRUE(store) << store.message();
  ASSERT_TRUE((*store)->add_usage(record(1, JobEndState::kCompleted, Fault::kNone)));
  auto usage = (*store)->usage_between(0, 10'000);
  ASSERT_TRUE(usage) << usage.message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0], record(0, JobEndState::kNodeFail, Fault::kProvider));
  EXPECT_EQ((*usage)[1], record(1, JobEndState::kCompleted, Fault::kNone));
}

// Energy is kept where it was measured and stays absent where it was not.
TEST_F(JobStoreTest, EnergyIsKeptOnlyWhereMeasured) {
  auto store = JobStore::open(path_);
  ASSERT_TRUE(store) << store.message();
  MeterRecord measured = record(1, JobEndState::kCompleted, Fault::kNone);
  measured.energy_j = 72'000;
  ASSERT_TRUE((*store)->add_usage(record(0, JobEndState::kNodeFail, Fault::kProvider)));
  ASSERT_TRUE((*store)->add_usage(measured));
  auto usage = (*store)->usage_between(0, 10'000);
  ASSERT_TRUE(usage) << usage.message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].energy_j, std::nullopt);
  EXPECT_EQ((*usage)[1], measured);
}

// Another node's figure arrives after the run's record: it fills that run's
// record only, and never overwrites a figure already there.
TEST_F(JobStoreTest, ALateEnergyFillsOnlyItsRunsRecordWithoutOne) {
  auto store = JobStore::open(path_);
  ASSERT_TRUE(store) << store.message();
  ASSERT_TRUE((*store)->add_usage(record(0, JobEndState::kNodeFail, Fault::kProvider)));
  ASSERT_TRUE((*store)->add_usage(record(1, JobEndState::kCompleted, Fault::kNone)));
  ASSERT_TRUE((*store)->set_energy("17", "gpu01", 1, 500));
  ASSERT_TRUE((*store)->set_energy("17", "gpu01", 1, 900));  // already has one
  ASSERT_TRUE((*store)->set_energy("17", "gpu02", 1, 900));  // no such record
  ASSERT_TRUE((*store)->set_energy("18", "gpu01", 0, 900));  // no such job
  auto usage = (*store)->usage_between(0, 10'000);
  ASSERT_TRUE(usage) << usage.message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].energy_j, std::nullopt);
  EXPECT_EQ((*usage)[1].energy_j, 500u);
}

// A store written before energy was measured (runs, no energy_j column): its
// records are kept, without energy, and new ones carry it.
TEST_F(JobStoreTest, AStoreWithoutEnergyIsMigratedKeepingItsRecords) {
  write_old_store(
      "CREATE TABLE usage (job_id TEXT NOT NULL, node TEXT NOT NULL, provider "
      "TEXT NOT NULL, gpu_type TEXT NOT NULL, gpus INTEGER NOT NULL, start "
      "INTEGER NOT NULL, \"end\" INTEGER NOT NULL, gpu_seconds INTEGER NOT "
      "NULL, outcome TEXT NOT NULL, fault TEXT NOT NULL, run INTEGER NOT NULL "
      "DEFAULT 0, PRIMARY KEY (job_id, node, run));"
      "INSERT INTO usage VALUES ('17', 'gpu01', 'acme', 'H100-SXM', 2, 1000, "
      "1050, 100, 'node_fail', 'provider', 0);");
  auto store = JobStore::open(path_);
  ASSERT_TRUE(store) << store.message();
  MeterRecord measured = record(1, JobEndState::kCompleted, Fault::kNone);
  measured.energy_j = 72'000;
  ASSERT_TRUE((*store)->add_usage(measured));
  auto usage = (*store)->usage_between(0, 10'000);
  ASSERT_TRUE(usage) << usage.message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0], record(0, JobEndState::kNodeFail, Fault::kProvider));
  EXPECT_EQ((*usage)[1], measured);
  store->reset();
  // Opened again: nothing left to migrate, nothing lost.
  auto again = JobStore::open(path_);
  ASSERT_TRUE(again) << again.message();
  auto kept = (*again)->usage_between(0, 10'000);
  ASSERT_TRUE(kept) << kept.message();
  EXPECT_EQ(*kept, *usage);
}

}  // namespace
}  // namespace flotilla
