/// The metrics registry and its Prometheus text, without a daemon.

#include "metrics/prometheus.hpp"
#include "metrics/registry.hpp"

#include <gtest/gtest.h>
#include <memory>

using namespace minidns;
using namespace minidns::metrics;

TEST(Metrics, LabelsAreTheEnumsTexts) {
  // The detail and reason labels are the texts of the enums the request
  // and the decoder set: nothing parses a message to find them.
  EXPECT_EQ(detail_names[static_cast<size_t>(net::detail::matched)], "matched");
  EXPECT_EQ(net::to_string(net::rcode_detail(5)), "rcode REFUSED");
  EXPECT_EQ(net::to_string(net::rcode_detail(16)), "rcode UNKNOWN");
  EXPECT_EQ(net::to_string(net::detail::port_unreachable), "port unreachable");
  EXPECT_EQ(detail_names[detail_count - 1], "other");
  EXPECT_EQ(to_string(messages::field_named("timeout")), "timeout");
  EXPECT_EQ(to_string(messages::field_named("domain.name")), "domain.name");
  EXPECT_EQ(to_string(messages::field_named("weird-key")), "other");
  EXPECT_EQ(invalid_reasons[invalid_reason_count - 1], "other");
}

TEST(Metrics, HistogramBucketsAreCumulativeInTheText) {
  auto r = std::make_unique<registry>();
  r->rtt[1].observe(0.0002); // le 0.00025
  r->rtt[1].observe(0.002);  // le 0.0025
  r->rtt[1].observe(0.002);
  r->rtt[1].observe(100); // +Inf only
  r->rtt[1].observe(-1);  // a clock glitch: counted as 0
  auto page = render(*r);
  auto has = [&](const std::string& line) {
    return page.find("\n" + line + "\n") != std::string::npos;
  };
  const std::string b = "minidns_dns_round_trip_seconds_bucket{kind=\"soa\",";
  EXPECT_TRUE(has(b + "le=\"0.0001\"} 1")) << page;
  EXPECT_TRUE(has(b + "le=\"0.00025\"} 2"));
  EXPECT_TRUE(has(b + "le=\"0.001\"} 2"));
  EXPECT_TRUE(has(b + "le=\"0.0025\"} 4"));
  EXPECT_TRUE(has(b + "le=\"60\"} 4"));
  EXPECT_TRUE(has(b + "le=\"+Inf\"} 5"));
  EXPECT_TRUE(has("minidns_dns_round_trip_seconds_count{kind=\"soa\"} 5"));
  EXPECT_TRUE(has("minidns_dns_round_trip_seconds_sum{kind=\"soa\"} 100.0042"));
  EXPECT_TRUE(has("minidns_dns_round_trip_seconds_count{kind=\"notify\"} 0"));
}

TEST(Metrics, RequestsShowUsualOutcomesAndSeenOnes) {
  auto r = std::make_unique<registry>();
  r->request_ended(method_label::poll, false, net::detail::lower_serial);
  r->request_ended(method_label::poll, false, net::detail::lower_serial);
  r->request_ended(method_label::notify, false, net::detail::other);
  auto page = render(*r);
  const std::string p =
      "minidns_requests_total{method=\"poll_for_serial_number\",";
  const std::string n =
      "minidns_requests_total{method=\"notify_zone_changed\",";
  EXPECT_NE(page.find(p + "status=\"ERROR\",detail=\"lower serial\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(p + "status=\"SUCCESS\",detail=\"matched\"} 0\n"),
            std::string::npos);
  EXPECT_NE(page.find(n + "status=\"ERROR\",detail=\"other\"} 1\n"),
            std::string::npos);
  // Combinations never seen are left out.
  EXPECT_EQ(page.find(p + "status=\"SUCCESS\",detail=\"newer\"}"),
            std::string::npos);
}

TEST(Metrics, StatsOfTheThreadsAppear) {
  auto r = std::make_unique<registry>();
  r->udp.unmatched = 7;
  r->udp.mismatched = 3;
  r->udp.icmp_matched = 2;
  r->zmq.in_flight = 11;
  r->zmq.max_in_flight = 100;
  r->zmq.refused = 4;
  r->zmq.held = 5;
  r->zmq.intake_pauses = 6;
  r->zmq.drain_refused = 8;
  r->zmq.connected = -1;              // a disconnect seen before its connect
  r->timer_lateness[1].observe(0.03); // le 0.05
  auto page = render(*r);
  for (const char* line :
       {"minidns_dns_replies_dropped_total{reason=\"unmatched\"} 7",
        "minidns_dns_replies_dropped_total{reason=\"mismatched\"} 3",
        "minidns_dns_icmp_errors_total{matched=\"true\"} 2",
        "minidns_requests_in_flight 11", "minidns_requests_in_flight_limit 100",
        "minidns_zmq_connections_refused_total 4", "minidns_replies_held 5",
        "minidns_cast_intake_pauses_total 6",
        "minidns_casts_refused_draining_total 8", "minidns_zmq_connections 0",
        "minidns_dns_attempt_timer_lateness_seconds_bucket{kind=\"soa\","
        "le=\"0.025\"} 0",
        "minidns_dns_attempt_timer_lateness_seconds_bucket{kind=\"soa\","
        "le=\"0.05\"} 1",
        "minidns_dns_attempt_timer_lateness_seconds_count{kind=\"notify\"} 0"})
    EXPECT_NE(page.find(std::string("\n") + line + "\n"), std::string::npos)
        << line;
  // Every family has HELP and TYPE.
  size_t helps = 0, types = 0;
  for (size_t at = 0; (at = page.find("# HELP ", at)) != std::string::npos;
       ++at)
    ++helps;
  for (size_t at = 0; (at = page.find("# TYPE ", at)) != std::string::npos;
       ++at)
    ++types;
  EXPECT_EQ(helps, types);
  EXPECT_GE(helps, 20u);
}

TEST(Metrics, SummaryTotalsSumTheirFamilies) {
  auto r = std::make_unique<registry>();
  r->casts[0] = 2;
  r->casts[1] = 3;
  r->invalid[0] = 4;
  r->zmq.drain_refused = 1; // a refusal while draining counts as invalid
  r->queries[0] = 5;
  r->queries[1] = 6;
  r->rcodes[0] = 7;
  r->rcodes[5] = 1;
  EXPECT_EQ(r->casts_total(), 5u);
  EXPECT_EQ(r->invalid_total(), 5u);
  EXPECT_EQ(r->queries_total(), 11u);
  EXPECT_EQ(r->accepted_total(), 8u);
}
