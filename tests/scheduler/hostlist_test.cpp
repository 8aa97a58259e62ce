#include "scheduler/hostlist.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace flotilla {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> expand(std::string_view text) {
  Result<std::vector<std::string>> r = expand_hostlist(text);
  EXPECT_TRUE(r) << r.message();
  return r ? *r : std::vector<std::string>{};
}

std::string error_of(std::string_view text) {
  Result<std::vector<std::string>> r = expand_hostlist(text);
  EXPECT_FALSE(r) << text;
  return r.message();
}

TEST(Hostlist, ExpandsRangesAndSingleNumbers) {
  EXPECT_THAT(expand("n[1-3,5]"), ElementsAre("n1", "n2", "n3", "n5"));
  EXPECT_THAT(expand("gpu7"), ElementsAre("gpu7"));
  EXPECT_THAT(expand("n[7]"), ElementsAre("n7"));
  EXPECT_THAT(expand("n[1-2].lab"), ElementsAre("n1.lab", "n2.lab"));
  EXPECT_THAT(expand("[3-4]x"), ElementsAre("3x", "4x"));
}

TEST(Hostlist, KeepsTheLowBoundsZeroPadding) {
  std::vector<std::string> homes = expand("home[0001-4000]");
  ASSERT_EQ(homes.size(), 4000u);
  EXPECT_EQ(homes.front(), "home0001");
  EXPECT_EQ(homes[998], "home0999");
  EXPECT_EQ(homes.back(), "home4000");
  EXPECT_THAT(expand("n[08-10]"), ElementsAre("n08", "n09", "n10"));
  EXPECT_THAT(expand("n[8-10]"), ElementsAre("n8", "n9", "n10"));
  EXPECT_THAT(expand("n[098-100,7]"), ElementsAre("n098", "n099", "n100", "n7"));
  EXPECT_THAT(expand("n[0-1]"), ElementsAre("n0", "n1"));
}

TEST(Hostlist, SeveralBracketGroupsGiveEveryCombinationLastFastest) {
  EXPECT_THAT(expand("r[1-2]-n[01-03]"),
              ElementsAre("r1-n01", "r1-n02", "r1-n03", "r2-n01", "r2-n02", "r2-n03"));
  EXPECT_THAT(expand("a[1,3]b[5-6]c"), ElementsAre("a1b5c", "a1b6c", "a3b5c", "a3b6c"));
}

TEST(Hostlist, TopLevelCommasSeparateNamesButCommasInBracketsDoNot) {
  EXPECT_THAT(expand("a1,b[1-2]"), ElementsAre("a1", "b1", "b2"));
  EXPECT_THAT(expand("x,y[1,3],z"), ElementsAre("x", "y1", "y3", "z"));
  // Duplicates are kept as written; the fleet loader refuses them.
  EXPECT_THAT(expand("n1,n[1-2]"), ElementsAre("n1", "n1", "n2"));
}

TEST(Hostlist, RefusesMalformedListsWithOneClearMessage) {
  EXPECT_EQ(error_of("n[3-1]"), "bad hostlist \"n[3-1]\": range 3-1 runs backwards");
  EXPECT_EQ(error_of("n[a-3]"), "bad hostlist \"n[a-3]\": range bound \"a\" is not a number");
  EXPECT_EQ(error_of("n[1-x2]"), "bad hostlist \"n[1-x2]\": range bound \"x2\" is not a number");
  EXPECT_EQ(error_of("n[1-2-3]"), "bad hostlist \"n[1-2-3]\": range bound \"2-3\" is not a number");
  EXPECT_EQ(error_of(""), "bad hostlist \"\": empty hostlist");
  EXPECT_EQ(error_of("n[]"), "bad hostlist \"n[]\": empty brackets []");
  EXPECT_EQ(error_of("n[1-]"), "bad hostlist \"n[1-]\": empty range bound");
  EXPECT_EQ(error_of("n[-3]"), "bad hostlist \"n[-3]\": empty range bound");
  EXPECT_EQ(error_of("n[1,,2]"), "bad hostlist \"n[1,,2]\": empty range in [1,,2]");
  EXPECT_EQ(error_of("n[1-2"), "bad hostlist \"n[1-2\": unclosed '['");
  EXPECT_EQ(error_of("n[1-[2]]"), "bad hostlist \"n[1-[2]]\": nested '[' at position 5");
  EXPECT_EQ(error_of("n1-2]"), "bad hostlist \"n1-2]\": unmatched ']' at position 5");
  EXPECT_EQ(error_of("a,,b"), "bad hostlist \"a,,b\": empty host name");
  EXPECT_EQ(error_of("a,"), "bad hostlist \"a,\": empty host name");
  EXPECT_EQ(error_of("a b"),
            "bad hostlist \"a b\": white space or control character at position 2");
  EXPECT_EQ(error_of("n[1234567890123456789]"),
            "bad hostlist \"n[1234567890123456789]\": range bound \"1234567890123456789\" has "
            "more than 18 digits");
}

TEST(Hostlist, CapsTheExpansionSize) {
  EXPECT_EQ(error_of("n[1-10000001]"), "bad hostlist \"n[1-10000001]\": more than 10000000 names");
  // Products that overflow 64 bits saturate instead of wrapping around.
  EXPECT_EQ(error_of("a[1-999999999999999999]b[1-999999999999999999]c[1-99]"),
            "bad hostlist \"a[1-999999999999999999]b[1-999999999999999999]c[1-99]\": more than "
            "10000000 names");
  Result<std::vector<std::string>> capped = expand_hostlist("n[1-5]", 4);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.message(), "bad hostlist \"n[1-5]\": more than 4 names");
  EXPECT_EQ(expand_hostlist("n[1-4]", 4)->size(), 4u);
}

TEST(Hostlist, SizeCountsWithoutExpanding) {
  EXPECT_EQ(*hostlist_size("r[1-1000]-n[1-1000],x"), 1'000'001u);
  EXPECT_EQ(*hostlist_size("a[1-999999999999999999]b[1-999999999999999999]"),
            kMaxHostlistNames + 1);
  EXPECT_EQ(hostlist_size("n[2-1]").message(), "bad hostlist \"n[2-1]\": range 2-1 runs backwards");
}

TEST(Hostlist, ExpandsAMillionNames) {
  std::vector<std::string> names = expand("home[0000001-1000000]");
  ASSERT_EQ(names.size(), 1'000'000u);
  EXPECT_EQ(names[123'455], "home0123456");
}

TEST(Hostlist, CompressesAsSlurmWritesNodeLists) {
  auto compress = [](std::vector<std::string> names) { return compress_hostlist(names); };
  EXPECT_EQ(compress({"n1", "n2", "n3", "n5"}), "n[1-3,5]");
  EXPECT_EQ(compress({"n5", "n2", "n3", "n1", "n2"}), "n[1-3,5]");  // sorted, duplicates dropped
  EXPECT_EQ(compress({"n08", "n09", "n10"}), "n[08-10]");
  EXPECT_EQ(compress({"n9", "n10", "n11"}), "n[9-11]");
  EXPECT_EQ(compress({"gpu7"}), "gpu7");
  EXPECT_EQ(compress({"b2", "login", "a1", "b1"}), "a1,b[1-2],login");
  EXPECT_EQ(compress({"n1", "n01"}), "n[1,01]");
  EXPECT_EQ(compress({}), "");
  EXPECT_EQ(compress(expand("home[0001-4000]")), "home[0001-4000]");
  EXPECT_EQ(compress(expand("r[1-2]-n[01-03]")), "r1-n[01-03],r2-n[01-03]");
}

TEST(Hostlist, CompressedFormExpandsToTheSameNames) {
  for (const char* text : {"r[1-2]-n[01-03],x[7-9,11],solo", "n[1,01,2,02,3]", "a[8-12],a[012-013]",
                           "z[0-0],y[99-101],y[0099-0101]"}) {
    std::vector<std::string> names = expand(text);
    std::vector<std::string> again = expand(compress_hostlist(names));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::sort(again.begin(), again.end());
    EXPECT_EQ(again, names) << text << " -> " << compress_hostlist(names);
  }
}

}  // namespace
}  // namespace flotilla
