// The pool-level casts of the wire contract (docs/protocol.md):
// `destinations` and `threshold_percentage`, `expect`, get_serial_number,
// cancel, and the replies they get.

#include "cast_helpers.hpp"

#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::test;
using messages::invalid_field;
using messages::method;

fields pool_fields(std::vector<std::string> dests) {
  auto f = poll_fields();
  f.drop("destination");
  std::vector<std::string> items;
  for (auto& d : dests)
    items.push_back(mp_str(d));
  f.set("destinations", mp_array(items));
  return f;
}

void expect_field(const std::string& frame, invalid_field field,
                  const std::string& error) {
  SCOPED_TRACE(error);
  auto r = decode(frame);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error, error);
  EXPECT_EQ(r.field, field);
  // A poll whose context and domain were read gets its update_status.
  auto m = unpack_map(r.error_reply);
  EXPECT_EQ(m.str("method"), "update_status");
  EXPECT_EQ(m.str("error"), error);
}

TEST(CastPool, DestinationsAndThreshold) {
  auto f = pool_fields({"192.0.2.1", "[2001:db8::1]:5353", "192.0.2.2:53"});
  f.set("threshold_percentage", mp(66));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(r.ok->pool);
  const auto& p = *r.ok->pool;
  ASSERT_EQ(p.destinations.size(), 3u);
  EXPECT_EQ(p.destinations[0].to_string(), "192.0.2.1:53");
  EXPECT_EQ(p.destinations[1].to_string(), "[2001:db8::1]:5353");
  EXPECT_EQ(p.raw[1], mp_str("[2001:db8::1]:5353")) << "as written";
  EXPECT_EQ(p.threshold, 66);
  // The default threshold is 100.
  r = decode(pool_fields({"192.0.2.1"}).encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->pool->threshold, 100);
  // One destination: no pool, whatever the threshold.
  auto one = poll_fields();
  one.set("threshold_percentage", mp(50));
  r = decode(one.encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.ok->pool);
}

TEST(CastPool, EachDestinationsRequestAsksTheSameWithTheSameBudget) {
  auto f = pool_fields({"192.0.2.1", "192.0.2.2:5353"});
  f.set("expect", mp_str("absent"));
  f.set("delay", mp(1.5));
  f.set("transport", mp_str("tcp"));
  f.set("max_retries", mp(7));
  f.set("request_id", mp(42));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  const auto& c = *r.ok;
  auto one = c.for_destination(c.pool->destinations[1]);
  EXPECT_EQ(one.destination.to_string(), "192.0.2.2:5353");
  EXPECT_EQ(one.kind, c.kind);
  EXPECT_EQ(one.goal, net::poll_goal::absent);
  EXPECT_EQ(one.zone_wire, c.zone_wire);
  EXPECT_EQ(one.serial, c.serial);
  EXPECT_EQ(one.timeout, c.timeout);
  EXPECT_EQ(one.retry_interval, c.retry_interval);
  EXPECT_EQ(one.max_retries, 7u);
  EXPECT_EQ(one.delay, std::chrono::microseconds(1'500'000));
  EXPECT_EQ(one.transport, net::transport::tcp);
  // Its end goes to the pool's tally: no reply or request id of its own.
  EXPECT_FALSE(one.wants_status);
  EXPECT_TRUE(one.reply_prefix.empty());
  EXPECT_TRUE(one.request_id.empty());
  EXPECT_FALSE(one.pool);
  EXPECT_FALSE(c.request_id.empty()) << "the pool poll keeps its own";
}

TEST(CastPool, AThousandDestinationsAndNoMore) {
  std::vector<std::string> dests;
  for (int i = 0; i < 1000; ++i)
    dests.push_back("10.0." + std::to_string(i / 250) + "." +
                    std::to_string(i % 250 + 1));
  auto r = decode(pool_fields(dests).encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->pool->destinations.size(), 1000u);
  dests.push_back("10.9.9.9");
  expect_field(pool_fields(dests).encode(), invalid_field::destinations,
               "destinations: must list 1 to 1000 destinations, got 1001");
}

TEST(CastPool, BadDestinations) {
  expect_field(pool_fields({}).encode(), invalid_field::destinations,
               "destinations: must list 1 to 1000 destinations, got 0");
  expect_field(pool_fields({"192.0.2.1", "192.0.2.2", "192.0.2.1:53"}).encode(),
               invalid_field::destinations,
               "destinations[2]: 192.0.2.1:53 duplicates destinations[0]");
  expect_field(pool_fields({"[2001:DB8::1]", "[2001:db8:0::1]:53"}).encode(),
               invalid_field::destinations,
               "destinations[1]: [2001:db8::1]:53 duplicates destinations[0]");
  auto r = decode(pool_fields({"192.0.2.1", "192.0.2.300"}).encode());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.field, invalid_field::destinations);
  EXPECT_EQ(r.error.rfind("destinations[1]: ", 0), 0u) << r.error;
  auto f = pool_fields({"192.0.2.1"});
  f.set("destinations", mp_array({mp(5)}));
  expect_field(f.encode(), invalid_field::destinations,
               "destinations[0]: must be a string");
  f.set("destinations", mp_str("192.0.2.1"));
  expect_field(f.encode(), invalid_field::destinations,
               "destinations: must be a list of destinations");
  f = pool_fields({"192.0.2.1"});
  f.set("destination", mp_str("192.0.2.2"));
  expect_field(f.encode(), invalid_field::destinations,
               "destinations: give destination or destinations, not both");
  // The allow-list applies to each.
  std::string err;
  auto p24 = net::parse_prefix("192.0.2.0/24", err);
  ASSERT_TRUE(p24) << err;
  net::prefix_list allowed({*p24});
  const auto frame = pool_fields({"192.0.2.1", "198.51.100.1"}).encode();
  r = messages::decode_cast(frame.data(), frame.size(), &allowed);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error, "destinations[1]: 198.51.100.1:53 is not in "
                     "minidns.allow-destinations");
  // Notifies take one destination.
  auto n = notify_fields();
  n.drop("destination");
  n.set("destinations", mp_array({mp_str("192.0.2.1")}));
  r = decode(n.encode());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error, "destinations: only polls take a list of destinations");
}

TEST(CastPool, BadThreshold) {
  auto f = pool_fields({"192.0.2.1"});
  for (auto bad : {mp(0), mp(101), mp(-1)}) {
    f.set("threshold_percentage", bad);
    expect_field(f.encode(), invalid_field::threshold_percentage,
                 "threshold_percentage: out of range 1..100");
  }
  f.set("threshold_percentage", mp_str("66"));
  expect_field(f.encode(), invalid_field::threshold_percentage,
               "threshold_percentage: must be an integer");
  auto n = notify_fields();
  n.set("threshold_percentage", mp(50));
  auto r = decode(n.encode());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error, "threshold_percentage: only polls take a threshold");
}

TEST(CastPool, Expect) {
  auto f = poll_fields();
  f.set("expect", mp_str("absent"));
  f.set("domain", mp_map({{"name", mp_str("example.com.")}}));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error << ": absence needs no serial";
  EXPECT_EQ(r.ok->goal, net::poll_goal::absent);
  f = poll_fields();
  f.set("expect", mp_str("serial"));
  r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->goal, net::poll_goal::serial);
  f.set("domain", mp_map({{"name", mp_str("example.com.")}}));
  expect_field(f.encode(), invalid_field::domain_serial,
               "domain.serial: missing");
  f = poll_fields();
  f.set("expect", mp_str("Absent"));
  expect_field(f.encode(), invalid_field::expect,
               "expect: unknown 'Absent' (expected \"serial\" or \"absent\")");
  f.set("expect", mp(1));
  expect_field(f.encode(), invalid_field::expect, "expect: must be a string");
  auto n = notify_fields();
  n.set("expect", mp_str("absent"));
  EXPECT_EQ(decode(n.encode()).error,
            "expect: only poll_for_serial_number takes expect");
}

TEST(CastPool, GetSerialNumberNeedsNoSerial) {
  auto f = poll_fields();
  f.set("method", mp_str("get_serial_number"));
  f.set("domain", mp_map({{"name", mp_str("example.com.")}}));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->kind, method::get_serial_number);
  EXPECT_EQ(r.ok->goal, net::poll_goal::any_serial);
  EXPECT_TRUE(r.ok->wants_status);
  EXPECT_FALSE(r.ok->reply_prefix.empty());
  // Its errors are update_status replies, like a poll's.
  f.drop("timeout");
  expect_field(f.encode(), invalid_field::timeout, "timeout: missing");
  f = poll_fields();
  f.set("method", mp_str("get_serial_number"));
  f.set("expect", mp_str("absent"));
  expect_field(f.encode(), invalid_field::expect,
               "expect: only poll_for_serial_number takes expect");
}

TEST(CastPool, Cancel) {
  fields f;
  f.set("method", mp_str("cancel")).set("request_id", mp_str("r-9"));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->kind, method::cancel);
  EXPECT_EQ(r.ok->request_id, mp_str("r-9"));
  EXPECT_FALSE(r.ok->wants_status);
  f.drop("request_id");
  r = decode(f.encode());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.field, invalid_field::request_id);
  EXPECT_EQ(unpack_map(r.error_reply).str("method"), "error");
  // The client's encoder writes what the decoder takes.
  r = decode(messages::encode_cancel(mp(7)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->request_id, mp(7));
}

TEST(CastPool, ReplyOfAPoolPoll) {
  auto f = pool_fields({"192.0.2.1", "192.0.2.2:5353"});
  f.set("request_id", mp(12));
  auto r = decode(f.encode());
  ASSERT_TRUE(r.ok) << r.error;
  auto& c = *r.ok;
  std::vector<messages::destination_status> each{
      {c.pool->raw[0], "SUCCESS", 7u, "matched"},
      {c.pool->raw[1], "PENDING", std::nullopt, "pending"}};
  auto frame = messages::finish_pool_status(
      c.reply_prefix, messages::status::success, 7u, "threshold met", each);
  auto m = unpack_map(frame);
  EXPECT_EQ(m.keys, (keys{"method", "context", "domain", "request_id", "status",
                          "actual_serial", "detail", "destinations"}));
  std::string err;
  auto got = messages::decode_reply(frame.data(), frame.size(), err);
  ASSERT_TRUE(got) << err;
  EXPECT_EQ(got->status, "SUCCESS");
  EXPECT_EQ(got->actual_serial, 7u);
  EXPECT_EQ(got->detail, "threshold met");
  ASSERT_EQ(got->destinations.size(), 2u);
  EXPECT_EQ(got->destinations[1].destination, "192.0.2.2:5353");
  EXPECT_EQ(got->destinations[1].status, "PENDING");
  EXPECT_EQ(got->destinations[1].actual_serial, std::nullopt);
  EXPECT_EQ(got->destinations[0].actual_serial, 7u);
  // Without a request_id: one key fewer.
  r = decode(pool_fields({"192.0.2.1"}).encode());
  ASSERT_TRUE(r.ok);
  frame =
      messages::finish_pool_status(r.ok->reply_prefix, messages::status::error,
                                   std::nullopt, "cancelled", {});
  EXPECT_EQ(unpack_map(frame).keys,
            (keys{"method", "context", "domain", "status", "actual_serial",
                  "detail", "destinations"}));
}

TEST(CastPool, CancelledReply) {
  auto frame = messages::encode_cancelled(mp_str("x"), 3);
  auto m = unpack_map(frame);
  EXPECT_EQ(m.keys, (keys{"method", "request_id", "count"}));
  EXPECT_EQ(m.str("method"), "cancelled");
  std::string err;
  auto got = messages::decode_reply(frame.data(), frame.size(), err);
  ASSERT_TRUE(got) << err;
  EXPECT_EQ(got->count, 3u);
  EXPECT_EQ(got->raw_request_id, mp_str("x"));
}

} // namespace
