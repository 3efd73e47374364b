#include "net/serial.hpp"

#include <gtest/gtest.h>

namespace {

using minidns::net::compare_serial;
using minidns::net::serial_order;
using minidns::net::serial_reached;

TEST(Serial, EqualSerialsAreEqual) {
  EXPECT_EQ(compare_serial(0, 0), serial_order::equal);
  EXPECT_EQ(compare_serial(2024010101u, 2024010101u), serial_order::equal);
  EXPECT_EQ(compare_serial(0xFFFFFFFFu, 0xFFFFFFFFu), serial_order::equal);
}

TEST(Serial, PlainIncrementIsGreater) {
  EXPECT_EQ(compare_serial(2, 1), serial_order::greater);
  EXPECT_EQ(compare_serial(1, 2), serial_order::less);
}

TEST(Serial, LargestForwardStepIsGreater) {
  // 2^31 - 1 is the largest step RFC 1982 still orders.
  EXPECT_EQ(compare_serial(0x7FFFFFFFu, 0), serial_order::greater);
  EXPECT_EQ(compare_serial(0, 0x7FFFFFFFu), serial_order::less);
  EXPECT_EQ(compare_serial(0x80000000u, 1), serial_order::greater);
}

TEST(Serial, HalfwayIsUndefinedBothWays) {
  EXPECT_EQ(compare_serial(0, 0x80000000u), serial_order::undefined);
  EXPECT_EQ(compare_serial(0x80000000u, 0), serial_order::undefined);
  EXPECT_EQ(compare_serial(5, 0x80000005u), serial_order::undefined);
  EXPECT_EQ(compare_serial(0xFFFFFFFFu, 0x7FFFFFFFu), serial_order::undefined);
}

TEST(Serial, OneStepBeyondHalfwayFlips) {
  // 0 + 2^31 + 1 wraps round: 0 follows 0x80000001.
  EXPECT_EQ(compare_serial(0, 0x80000001u), serial_order::greater);
  EXPECT_EQ(compare_serial(0x80000001u, 0), serial_order::less);
}

TEST(Serial, WrapAround) {
  EXPECT_EQ(compare_serial(0xFFFFFFFFu, 0), serial_order::less);
  EXPECT_EQ(compare_serial(0, 0xFFFFFFFFu), serial_order::greater);
  EXPECT_EQ(compare_serial(10, 0xFFFFFFF0u), serial_order::greater);
}

TEST(Serial, Reached) {
  EXPECT_TRUE(serial_reached(7, 7));
  EXPECT_TRUE(serial_reached(8, 7));
  EXPECT_FALSE(serial_reached(6, 7));
  EXPECT_TRUE(serial_reached(0, 0xFFFFFFFFu)); // wrapped forward
  EXPECT_FALSE(serial_reached(0xFFFFFFFFu, 0));
  // Undefined counts as not yet reached, in both directions.
  EXPECT_FALSE(serial_reached(0x80000000u, 0));
  EXPECT_FALSE(serial_reached(0, 0x80000000u));
}

TEST(Serial, UsableInConstantExpressions) {
  static_assert(compare_serial(1, 0) == serial_order::greater);
  static_assert(!serial_reached(0, 1));
  SUCCEED();
}

} // namespace
