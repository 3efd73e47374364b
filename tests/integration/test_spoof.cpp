// Integration tests of spoofing: replies with a wrong ID, from a wrong port
// or address, or with a wrong question, QR or opcode are not answers.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

namespace {

using namespace minidns;
using namespace minidns::it;

class Spoof : public daemon_test {};

TEST_F(Spoof, ReplyWithWrongIdIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_id = true;
  s.spoof_serial = 9; // taken, it would make the poll succeed with 9
  r.script("id.test.", s);
  auto got = poll_once(*pm, poll_cast("id.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
  EXPECT_EQ(got->r.detail, "matched");
}

TEST_F(Spoof, ReplyFromWrongPortIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_port = true;
  s.spoof_serial = 9;
  r.script("port.test.", s);
  auto got = poll_once(*pm, poll_cast("port.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
  EXPECT_EQ(got->r.detail, "matched");
}

TEST_F(Spoof, ReplyFromWrongAddressIsIgnored) {
  start();
  responder r;
  if (!r.has_other_address())
    GTEST_SKIP() << "127.0.0.2 cannot be bound here";
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_address = true; // right ID, right port, from 127.0.0.2
  s.spoof_serial = 9;
  r.script("addr.test.", s);
  auto got = poll_once(*pm, poll_cast("addr.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
}

TEST_F(Spoof, MalformedRepliesAreIgnored) {
  // Right ID and port, but: another question, QR clear, another opcode.
  start();
  responder r;
  zone_script base;
  base.serial = 7;
  base.spoof_serial = 9;
  zone_script question = base;
  question.spoof_wrong_question = true;
  r.script("question.test.", question);
  zone_script no_qr = base;
  no_qr.spoof_no_qr = true;
  r.script("noqr.test.", no_qr);
  zone_script opcode = base;
  opcode.spoof_wrong_opcode = true;
  r.script("opcode.test.", opcode);
  for (const char* zone : {"question.test.", "noqr.test.", "opcode.test."}) {
    auto got = poll_once(*pm, poll_cast(zone, 7, r.destination()));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->r.status, "SUCCESS") << zone;
    EXPECT_EQ(got->r.actual_serial, 7u)
        << zone << ": the spoofed answer was taken";
  }
}

TEST_F(Spoof, OnlySpoofedRepliesEndInTimeout) {
  start();
  responder r;
  zone_script s;
  s.spoof_wrong_id = true;
  s.spoof_wrong_port = true;
  s.spoof_wrong_address = true;
  s.spoof_wrong_question = true;
  s.spoof_no_qr = true;
  s.spoof_wrong_opcode = true;
  s.spoof_serial = 9;
  s.real_answer = false;
  r.script("spoofonly.test.", s);
  auto got = poll_once(
      *pm, poll_cast("spoofonly.test.", 7, r.destination(), 0.05, 0, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_FALSE(got->r.actual_serial) << got->json();
  EXPECT_EQ(got->r.detail, "timeout");
  barrier(r);
  EXPECT_EQ(r.count_for("spoofonly.test."), 3u);
}

TEST_F(Spoof, SpoofedNotifyAcknowledgementIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.spoof_wrong_id = true;
  s.spoof_wrong_port = true;
  s.real_answer = false; // only spoofed NOERRORs
  r.script("spoofnotify.test.", s);
  pm->send(notify_cast("spoofnotify.test.", r.destination(), 0.05, 0, 2));
  EXPECT_TRUE(mdns->wait_for_line("notify spoofnotify.test. -> " +
                                      r.destination() +
                                      ": gave up after 3 attempt(s): timeout",
                                  reply_wait))
      << mdns->log();
  barrier(r);
  EXPECT_EQ(r.count_for("spoofnotify.test."), 3u);
}

} // namespace
