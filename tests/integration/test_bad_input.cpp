// Integration tests of bad input: one reply each, naming the field; the
// daemon keeps serving.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class BadInput : public daemon_test {
protected:
  void SetUp() override {
    start();
    r = std::make_unique<responder>();
  }

  void TearDown() override {
    // Still serving, and no reply came twice.
    if (r) {
      auto extra = barrier(*r);
      EXPECT_TRUE(extra.empty()) << "extra replies:\n" << summary(extra);
      EXPECT_EQ(r->count_for("f.test."), 0u)
          << "an invalid cast was carried out";
    }
    daemon_test::TearDown();
  }

  std::string dest() const { return r->destination(); }

  /// Sends `frame`; expects {"method":"error"} with an error starting with
  /// `prefix` and the given request_id (raw, empty for none).
  void expect_error(const std::string& frame, const std::string& prefix,
                    const std::string& raw_request_id = {}) {
    pm->send(frame);
    check_error(prefix, raw_request_id);
  }

  void check_error(const std::string& prefix,
                   const std::string& raw_request_id = {}) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply; expected error " << prefix;
    EXPECT_EQ(got->r.method, "error") << got->json();
    EXPECT_TRUE(starts_with(got->r.error, prefix))
        << "expected '" << prefix << "...', got " << got->json();
    EXPECT_EQ(got->r.raw_request_id, raw_request_id) << got->json();
    EXPECT_TRUE(got->r.status.empty()) << got->json();
  }

  /// Sends the poll `f` (which must have a readable context and domain),
  /// or `frame` instead when given; expects an update_status ERROR "invalid
  /// cast" whose error starts with `prefix`, echoing context, domain,
  /// destination and request_id as in `f`.
  void expect_invalid_poll(const fields& f, const std::string& prefix,
                           const std::optional<std::string>& frame = {}) {
    pm->send(frame ? *frame : f.encode());
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply; expected " << prefix;
    EXPECT_EQ(got->r.method, "update_status") << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "invalid cast") << got->json();
    EXPECT_FALSE(got->r.actual_serial) << got->json();
    EXPECT_TRUE(starts_with(got->r.error, prefix))
        << "expected '" << prefix << "...', got " << got->json();
    std::string context, dom, destination, rid;
    for (const auto& [k, v] : f.entries) {
      if (k == "context")
        context = v;
      else if (k == "domain")
        dom = v;
      else if (k == "destination")
        destination = v;
      else if (k == "request_id")
        rid = v;
    }
    EXPECT_EQ(got->r.raw_context, context) << got->json();
    EXPECT_EQ(got->r.raw_domain, dom) << got->json();
    EXPECT_EQ(got->r.raw_destination,
              destination.empty() ? mp_nil : destination)
        << got->json();
    EXPECT_EQ(got->r.raw_request_id, rid) << got->json();
    std::vector<std::string> keys{"method", "context", "domain", "destination"};
    if (!rid.empty())
      keys.emplace_back("request_id");
    for (const char* k : {"status", "actual_serial", "detail", "error"})
      keys.emplace_back(k);
    EXPECT_EQ(reply_keys(got->raw), keys) << got->json();
  }

  std::unique_ptr<responder> r;
};

TEST_F(BadInput, GarbageBytes) {
  expect_error(std::string("\xc1\xff garbage \x00\x01", 14), "frame");
  expect_error("hello, minidns", "frame");
}

TEST_F(BadInput, EmptyFrame) {
  expect_error("", "frame is empty");
}

TEST_F(BadInput, NotAMap) {
  expect_error(mp_array({mp_str("poll_for_serial_number")}),
               "frame is not a msgpack map");
  expect_error(mp_str("poll_for_serial_number"), "frame is not a msgpack map");
  expect_error(mp_int(5), "frame is not a msgpack map");
  expect_error(mp_nil, "frame is not a msgpack map");
}

TEST_F(BadInput, TruncatedAndTrailingBytes) {
  auto good = poll_fields(dest()).set("request_id", mp_int(3)).encode();
  auto got = std::string(good, 0, good.size() - 3);
  pm->send(got);
  auto reply = receive(*pm);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->r.method, "error") << reply->json();
  EXPECT_NE(reply->r.error.find("truncated msgpack"), std::string::npos)
      << reply->json();
  // Looks like a poll, but bytes follow the map: an error, not a status.
  expect_error(good + std::string(1, '\0'), "trailing bytes after the cast map",
               mp_int(3));
  expect_error(good + good, "trailing bytes after the cast map", mp_int(3));
}

TEST_F(BadInput, KeyNotAStringAndDuplicateKeys) {
  auto f = poll_fields(dest());
  std::vector<kv> raw_entries{{mp_int(3), mp_str("x")}};
  for (const auto& [k, v] : f.entries)
    raw_entries.emplace_back(mp_str(k), v);
  // The poll's context and domain are readable: an update_status.
  expect_invalid_poll(f, "frame: key 1 is not a string",
                      mp_map_raw(raw_entries));
  // Without a method: an error reply.
  expect_error(mp_map_raw({{mp_int(3), mp_str("x")}}),
               "frame: key 1 is not a string");
  expect_invalid_poll(poll_fields(dest()).add("timeout", mp_f64(0.2)),
                      "timeout: duplicate key");
}

TEST_F(BadInput, Limits) {
  // 70,000 bytes: over the 64 KiB frame limit (and under ZeroMQ's 1 MiB).
  auto big =
      poll_fields(dest()).set("context", mp_bin(std::string(70000, 'x')));
  expect_error(big.encode(), "frame too large");
  std::vector<std::string> items(1100, mp_int(1));
  auto wide = poll_fields(dest()).set("context", mp_array(items));
  expect_error(wide.encode(), "context: array with 1100 entries");
  std::string deep = mp_int(1);
  for (int i = 0; i < 20; ++i)
    deep = mp_array({deep});
  expect_error(poll_fields(dest()).set("context", deep).encode(),
               "context: nested deeper than 16 levels");
  // A declared size far beyond the frame: refused by its header.
  expect_error(poll_fields(dest())
                   .set("context", std::string("\xdd\xff\xff\xff\xff"))
                   .encode(),
               "context:");
}

TEST_F(BadInput, LimitsAreInclusive) {
  // Exactly at each limit: valid (zone limit.test., not f.test.).
  auto at_size = [&](size_t size) {
    auto f = poll_fields(dest(), "limit.test.").set("context", mp_bin(""));
    auto base = f.encode().size();
    // An empty bin is 2 bytes, a bin32 header 5: size the payload so that
    // the frame is `size` bytes in all.
    std::string payload(size - (base - 2) - 5, 'y');
    std::string bin32 = "\xc6";
    for (int shift = 24; shift >= 0; shift -= 8)
      bin32 += static_cast<char>((payload.size() >> shift) & 0xff);
    f.set("context", bin32 + payload);
    return f;
  };
  auto exact = at_size(messages::max_frame_size);
  ASSERT_EQ(exact.encode().size(), messages::max_frame_size);
  auto got = poll_once(*pm, exact.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  auto over = at_size(messages::max_frame_size + 1);
  ASSERT_EQ(over.encode().size(), messages::max_frame_size + 1);
  expect_error(over.encode(), "frame too large");

  std::vector<std::string> items(messages::max_container_entries, mp_int(1));
  got = poll_once(*pm, poll_fields(dest(), "limit.test.")
                           .set("context", mp_array(items))
                           .encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  items.push_back(mp_int(1));
  expect_error(poll_fields(dest()).set("context", mp_array(items)).encode(),
               "context: array with 1025 entries");

  // The cast map is level 1: 15 nested arrays in context make 16 levels.
  std::string deep = mp_int(1);
  for (int i = 0; i < 15; ++i)
    deep = mp_array({deep});
  got = poll_once(
      *pm, poll_fields(dest(), "limit.test.").set("context", deep).encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  expect_error(poll_fields(dest()).set("context", mp_array({deep})).encode(),
               "context: nested deeper than 16 levels");
}

TEST_F(BadInput, RequestIdEchoRules) {
  // A frame cut after its request_id still gets it echoed.
  auto f = poll_fields(dest());
  std::vector<kv> entries{{"request_id", mp_str("cut")}};
  entries.insert(entries.end(), f.entries.begin(), f.entries.end());
  auto frame = mp_map(entries);
  expect_error(frame.substr(0, frame.size() - 4), "", mp_str("cut"));
  // Given twice: not echoed.
  auto twice = poll_fields(dest())
                   .set("request_id", mp_int(1))
                   .add("request_id", mp_int(2));
  pm->send(twice.encode());
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_TRUE(starts_with(got->r.error, "request_id: duplicate key"))
      << got->json();
  EXPECT_TRUE(got->r.raw_request_id.empty()) << got->json();
}

TEST_F(BadInput, MultiFrameMessages) {
  auto poll = poll_cast("f.test.", 1, dest());
  pm->send_frames({poll, poll});
  check_error("frame: expected one frame holding one msgpack map, got 2");
  pm->send_frames({"a", "b", "c"});
  check_error("frame: expected one frame holding one msgpack map, got 3");
}

TEST_F(BadInput, Method) {
  expect_error(poll_fields(dest()).drop("method").encode(), "method: missing");
  expect_error(poll_fields(dest()).set("method", mp_int(1)).encode(),
               "method: must be a string");
  expect_error(poll_fields(dest()).set("method", mp_str("foo")).encode(),
               "method: unknown 'foo'");
  // The request_id of a refused frame is echoed.
  expect_error(poll_fields(dest())
                   .set("method", mp_str("reload"))
                   .set("request_id", mp_str("r-1"))
                   .encode(),
               "method: unknown 'reload'", mp_str("r-1"));
}

TEST_F(BadInput, ContextAndDomainUnreadable) {
  // Without context or a domain map, a poll cannot get an update_status.
  expect_error(poll_fields(dest()).drop("context").encode(),
               "context: missing");
  expect_error(poll_fields(dest()).set("domain", mp_str("f.test.")).encode(),
               "domain: must be a map");
  expect_error(poll_fields(dest()).drop("domain").encode(), "domain: missing");
}

TEST_F(BadInput, DomainName) {
  auto with_name = [&](const std::string& raw_name) {
    return poll_fields(dest()).set(
        "domain", mp_map({{"name", raw_name}, {"serial", mp_int(1)}}));
  };
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"serial", mp_int(1)}})),
      "domain.name: missing");
  expect_invalid_poll(with_name(mp_int(5)), "domain.name: must be a string");
  expect_invalid_poll(with_name(mp_str(std::string(64, 'a') + ".test.")),
                      "domain.name: label longer than 63 octets");
  expect_invalid_poll(with_name(mp_str("a..b")),
                      "domain.name: empty label in 'a..b'");
  std::string long_name;
  for (int i = 0; i < 5; ++i)
    long_name += std::string(60, 'b') + ".";
  expect_invalid_poll(with_name(mp_str(long_name)), "domain.name:");
  expect_invalid_poll(with_name(mp_str("")), "domain.name:");
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"name", mp_str("f.test.")},
                                                {"serial", mp_int(1)},
                                                {"name", mp_str("g.test.")}})),
      "domain.name: duplicate key");
}

TEST_F(BadInput, DomainSerial) {
  auto with_serial = [&](const std::string& raw_serial) {
    return poll_fields(dest()).set(
        "domain",
        mp_map({{"name", mp_str("f.test.")}, {"serial", raw_serial}}));
  };
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"name", mp_str("f.test.")}})),
      "domain.serial: missing");
  expect_invalid_poll(with_serial(mp_str("5")),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_f64(5.0)),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_true),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_int(-1)),
                      "domain.serial: out of range 0..4294967295");
  expect_invalid_poll(with_serial(mp_uint(4294967296ull)),
                      "domain.serial: out of range 0..4294967295");
}

TEST_F(BadInput, Destination) {
  expect_invalid_poll(poll_fields(dest()).drop("destination"),
                      "destination: missing");
  expect_invalid_poll(poll_fields(dest()).set("destination", mp_int(53)),
                      "destination: must be a string");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("ns1.example.com")),
      "destination: not an IP literal: 'ns1.example.com'");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("127.0.0.1:0")),
      "destination: port out of range 1..65535");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("127.0.0.1:70000")),
      "destination: port out of range 1..65535");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("fe80::1%lo")),
      "destination:");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str(" 127.0.0.1")),
      "destination:");
  expect_invalid_poll(poll_fields(dest()).set("destination", mp_str("")),
                      "destination:");
}

TEST_F(BadInput, Timeout) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("timeout", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("timeout"), "timeout: missing");
  expect_invalid_poll(with(mp_int(0)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_f64(0.0)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_f64(-1.5)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_int(3601)),
                      "timeout: must be at most 3600 seconds");
  expect_invalid_poll(with(mp_str("5")),
                      "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_nil), "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_true), "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_f64(std::nan(""))),
                      "timeout: must be a finite number of seconds");
  expect_invalid_poll(with(mp_f32(std::numeric_limits<float>::infinity())),
                      "timeout: must be a finite number of seconds");
}

TEST_F(BadInput, RetryInterval) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("retry_interval", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("retry_interval"),
                      "retry_interval: missing");
  expect_invalid_poll(with(mp_int(-1)), "retry_interval: must be >= 0");
  expect_invalid_poll(with(mp_f64(-0.001)), "retry_interval: must be >= 0");
  expect_invalid_poll(with(mp_int(3601)), "retry_interval: must be at most");
  expect_invalid_poll(with(mp_str("1")), "retry_interval:");
}

TEST_F(BadInput, MaxRetries) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("max_retries", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("max_retries"),
                      "max_retries: missing");
  expect_invalid_poll(with(mp_int(-1)), "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_int(10001)),
                      "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_int(1000000000)),
                      "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_f64(3.0)), "max_retries: must be an integer");
  expect_invalid_poll(with(mp_true), "max_retries: must be an integer");
}

TEST_F(BadInput, FirstProblemInFieldOrderIsReported) {
  // timeout and destination both bad: destination comes first.
  expect_invalid_poll(poll_fields(dest())
                          .set("timeout", mp_int(0))
                          .set("destination", mp_str("host.example")),
                      "destination:");
  // With a request_id: echoed, 9 keys.
  expect_invalid_poll(poll_fields(dest())
                          .set("max_retries", mp_int(-1))
                          .set("request_id", mp_array({mp_int(1), mp_int(2)})),
                      "max_retries:");
}

TEST_F(BadInput, InvalidNotifyGetsAnErrorReply) {
  // A notify has no update_status: an invalid one gets an error reply,
  // with its request_id.
  expect_error(notify_fields(dest())
                   .set("timeout", mp_int(0))
                   .set("request_id", mp_int(42))
                   .encode(),
               "timeout: must be > 0 seconds", mp_int(42));
  expect_error(notify_fields(dest())
                   .set("destination", mp_str("127.0.0.1:70000"))
                   .encode(),
               "destination: port out of range");
  expect_error(
      notify_fields(dest())
          .set("domain", mp_map({{"name", mp_str(std::string(64, 'n'))}}))
          .encode(),
      "domain.name: label longer than 63 octets");
}

TEST_F(BadInput, ManyBadFramesInARowThenAValidPoll) {
  // Replies keep coming for a burst of junk, one each, and in between a
  // valid poll is carried out.
  constexpr int junk = 200;
  for (int i = 0; i < junk; ++i)
    pm->send(poll_fields(dest())
                 .set("timeout", mp_int(-i))
                 .set("request_id", mp_int(i))
                 .encode());
  pm->send(poll_cast("valid.test.", 1, dest(), 0.5, 0, 0, mp_str("valid")));
  std::vector<int> seen(junk, 0);
  bool valid_seen = false;
  for (int i = 0; i < junk + 1; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    if (got->r.raw_request_id == mp_str("valid")) {
      EXPECT_FALSE(valid_seen);
      valid_seen = true;
      EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
      continue;
    }
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, junk);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1);
    EXPECT_EQ(got->r.detail, "invalid cast");
  }
  EXPECT_TRUE(valid_seen);
}

} // namespace
