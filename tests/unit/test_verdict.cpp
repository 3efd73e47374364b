#include "net/verdict.hpp"

#include <cerrno>
#include <gtest/gtest.h>
#include <string>

namespace {

using namespace minidns::net;

TEST(Verdict, RcodeNames) {
  EXPECT_EQ(rcode_name(0), "NOERROR");
  EXPECT_EQ(rcode_name(1), "FORMERR");
  EXPECT_EQ(rcode_name(2), "SERVFAIL");
  EXPECT_EQ(rcode_name(3), "NXDOMAIN");
  EXPECT_EQ(rcode_name(4), "NOTIMP");
  EXPECT_EQ(rcode_name(5), "REFUSED");
  EXPECT_EQ(rcode_name(6), "YXDOMAIN");
  EXPECT_EQ(rcode_name(7), "YXRRSET");
  EXPECT_EQ(rcode_name(8), "NXRRSET");
  EXPECT_EQ(rcode_name(9), "NOTAUTH");
  EXPECT_EQ(rcode_name(10), "NOTZONE");
  for (int rc = 11; rc < 16; ++rc)
    EXPECT_EQ(rcode_name(static_cast<uint8_t>(rc)),
              "RCODE" + std::to_string(rc));
  EXPECT_EQ(rcode_name(16), "UNKNOWN");
  EXPECT_EQ(rcode_name(255), "UNKNOWN");
}

TEST(Verdict, NotifyTable) {
  const struct {
    uint8_t rcode;
    notify_verdict expected;
  } table[] = {
      {rcode_noerror, notify_verdict::acknowledged},
      {rcode_formerr, notify_verdict::final_error},
      {rcode_servfail, notify_verdict::retry},
      {rcode_nxdomain, notify_verdict::final_error},
      {rcode_notimp, notify_verdict::final_error},
      {rcode_refused, notify_verdict::final_error},
      {rcode_yxdomain, notify_verdict::retry},
      {rcode_yxrrset, notify_verdict::retry},
      {rcode_nxrrset, notify_verdict::retry},
      {rcode_notauth, notify_verdict::final_error},
      {rcode_notzone, notify_verdict::retry},
      {11, notify_verdict::retry},
      {15, notify_verdict::retry},
  };
  for (const auto& row : table)
    EXPECT_EQ(classify_notify(row.rcode), row.expected) << int(row.rcode);
}

reply_info usable(uint32_t serial) {
  reply_info r;
  r.match = reply_match::accepted;
  r.rcode = rcode_noerror;
  r.aa = true;
  r.tc = false;
  r.soa = soa_state::found;
  r.serial = serial;
  return r;
}

TEST(Verdict, PollSerialComparisons) {
  const struct {
    uint32_t actual;
    uint32_t expected;
    poll_verdict verdict;
    const char* detail;
  } table[] = {
      {100, 100, poll_verdict::reached, "matched"},
      {101, 100, poll_verdict::reached, "newer"},
      {99, 100, poll_verdict::behind, "lower serial"},
      {0, 0xFFFFFFFFu, poll_verdict::reached, "newer"}, // wrapped
      {0xFFFFFFFFu, 0, poll_verdict::behind, "lower serial"},
      {0x80000000u, 0, poll_verdict::behind, "serial undefined"},
      {0, 0x80000000u, poll_verdict::behind, "serial undefined"},
      {0x7FFFFFFFu, 0, poll_verdict::reached, "newer"},
  };
  for (const auto& row : table) {
    const poll_outcome out = classify_poll(usable(row.actual), row.expected);
    EXPECT_EQ(out.verdict, row.verdict) << row.actual << " vs " << row.expected;
    EXPECT_EQ(to_string(out.detail), row.detail)
        << row.actual << " vs " << row.expected;
    EXPECT_TRUE(out.has_serial);
    EXPECT_EQ(out.serial, row.actual);
  }
}

TEST(Verdict, PollRcodeDetails) {
  for (int rc = 1; rc < 16; ++rc) {
    reply_info r = usable(5);
    r.rcode = static_cast<uint8_t>(rc);
    const poll_outcome out = classify_poll(r, 5);
    EXPECT_EQ(out.verdict, poll_verdict::unusable) << rc;
    EXPECT_EQ(to_string(out.detail),
              "rcode " + std::string(rcode_name(static_cast<uint8_t>(rc))));
    EXPECT_FALSE(out.has_serial);
  }
  reply_info r = usable(5);
  r.rcode = rcode_refused;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "rcode REFUSED");
}

TEST(Verdict, PollDetailOutlivesTheCall) {
  std::string_view detail;
  {
    reply_info r = usable(1);
    r.rcode = rcode_notauth;
    detail = to_string(classify_poll(r, 1).detail);
  }
  // Static storage: still readable and unchanged after later calls.
  classify_poll(usable(2), 1);
  EXPECT_EQ(detail, "rcode NOTAUTH");
}

TEST(Verdict, PollUnusableStates) {
  const struct {
    soa_state soa;
    const char* detail;
  } table[] = {
      {soa_state::none, "no SOA"},
      {soa_state::multiple, "multiple SOA"},
      {soa_state::malformed, "malformed answer"},
      {soa_state::not_checked, "no SOA"},
  };
  for (const auto& row : table) {
    reply_info r = usable(5);
    r.soa = row.soa;
    const poll_outcome out = classify_poll(r, 5);
    EXPECT_EQ(out.verdict, poll_verdict::unusable);
    EXPECT_EQ(to_string(out.detail), row.detail);
    EXPECT_FALSE(out.has_serial);
  }
}

TEST(Verdict, PollTruncatedAndNotAuthoritative) {
  reply_info tc = usable(5);
  tc.tc = true;
  EXPECT_EQ(classify_poll(tc, 5).verdict, poll_verdict::unusable);
  EXPECT_EQ(to_string(classify_poll(tc, 5).detail), "truncated");
  EXPECT_FALSE(classify_poll(tc, 5).has_serial);
  tc.tcp = true; // truncated again over TCP: its own detail
  EXPECT_EQ(to_string(classify_poll(tc, 5).detail), "truncated over TCP");

  reply_info na = usable(5);
  na.aa = false;
  EXPECT_EQ(classify_poll(na, 5).verdict, poll_verdict::unusable);
  EXPECT_EQ(to_string(classify_poll(na, 5).detail), "not authoritative");
}

TEST(Verdict, PollCheckOrder) {
  // rcode first, then TC, then AA, then the SOA state.
  reply_info r = usable(5);
  r.rcode = rcode_servfail;
  r.tc = true;
  r.aa = false;
  r.soa = soa_state::malformed;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "rcode SERVFAIL");
  r.rcode = rcode_noerror;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "truncated");
  r.tc = false;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "not authoritative");
  r.aa = true;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "malformed answer");
  r.soa = soa_state::multiple;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "multiple SOA");
  r.soa = soa_state::found;
  EXPECT_EQ(to_string(classify_poll(r, 5).detail), "matched");
}

} // namespace

TEST(FailureDetail, NamesTheCommonErrors) {
  EXPECT_EQ(to_string(failure_detail(ECONNREFUSED)), "port unreachable");
  EXPECT_EQ(to_string(failure_detail(EHOSTUNREACH)), "host unreachable");
  EXPECT_EQ(to_string(failure_detail(ENETUNREACH)), "network unreachable");
  EXPECT_EQ(to_string(failure_detail(EPERM)), "send not permitted");
  EXPECT_EQ(to_string(failure_detail(EACCES)), "send not permitted");
  EXPECT_EQ(to_string(failure_detail(EAFNOSUPPORT)),
            "address family not supported");
  EXPECT_EQ(to_string(failure_detail(EAGAIN)), "send failed");
  EXPECT_EQ(to_string(failure_detail(0)), "send failed");
}

TEST(Verdict, GetSerialTakesAnyUsableAnswer) {
  auto out = classify_for(usable(7), poll_goal::any_serial, 0);
  EXPECT_EQ(out.verdict, poll_verdict::reached);
  EXPECT_TRUE(out.has_serial);
  EXPECT_EQ(out.serial, 7u);
  EXPECT_EQ(out.detail, detail::serial_read);
  // What is unusable for a poll is unusable here too.
  auto r = usable(7);
  r.aa = false;
  out = classify_for(r, poll_goal::any_serial, 0);
  EXPECT_EQ(out.verdict, poll_verdict::unusable);
  EXPECT_EQ(out.detail, detail::not_authoritative);
  r = usable(7);
  r.rcode = rcode_refused;
  EXPECT_EQ(classify_for(r, poll_goal::any_serial, 0).verdict,
            poll_verdict::unusable);
  // The serial goal is classify_poll's.
  EXPECT_EQ(classify_for(usable(7), poll_goal::serial, 8).detail,
            detail::lower_serial);
}

TEST(Verdict, AbsenceIsAnAuthoritativeDenial) {
  const struct {
    uint8_t rcode;
    bool aa;
    bool tc;
    poll_verdict verdict;
    detail why;
  } table[] = {
      {rcode_refused, false, false, poll_verdict::reached,
       detail::rcode_refused},
      {rcode_notauth, false, false, poll_verdict::reached,
       detail::rcode_notauth},
      {rcode_nxdomain, true, false, poll_verdict::reached,
       detail::rcode_nxdomain},
      // A resolver's NXDOMAIN is no authority's word.
      {rcode_nxdomain, false, false, poll_verdict::unusable,
       detail::not_authoritative},
      {rcode_nxdomain, true, true, poll_verdict::unusable,
       detail::rcode_nxdomain},
      {rcode_servfail, true, false, poll_verdict::unusable,
       detail::rcode_servfail},
      {rcode_formerr, true, false, poll_verdict::unusable,
       detail::rcode_formerr},
  };
  for (const auto& row : table) {
    reply_info r;
    r.match = reply_match::accepted;
    r.rcode = row.rcode;
    r.aa = row.aa;
    r.tc = row.tc;
    auto out = classify_for(r, poll_goal::absent, 0);
    EXPECT_EQ(out.verdict, row.verdict) << int{row.rcode};
    EXPECT_EQ(out.detail, row.why) << int{row.rcode};
  }
  // Still served: behind, with the serial it answered with.
  auto out = classify_for(usable(9), poll_goal::absent, 0);
  EXPECT_EQ(out.verdict, poll_verdict::behind);
  EXPECT_EQ(out.detail, detail::zone_served);
  EXPECT_TRUE(out.has_serial);
  EXPECT_EQ(out.serial, 9u);
  // Truncated NOERROR: ask again (over TCP).
  auto tc = usable(9);
  tc.tc = true;
  EXPECT_EQ(classify_for(tc, poll_goal::absent, 0).verdict,
            poll_verdict::unusable);
}
