/// DNS over TCP framing: messages split across reads, several in one read,
/// empty messages, and the length limit.

#include "actors/udp/stream_framer.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace minidns;

namespace {

std::string framed(const std::string& msg) {
  std::string out;
  EXPECT_TRUE(append_framed(out, reinterpret_cast<const uint8_t*>(msg.data()),
                            msg.size()));
  return out;
}

void feed(stream_framer& f, const std::string& bytes) {
  f.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::vector<std::string> drain(stream_framer& f) {
  std::vector<std::string> out;
  std::string_view m;
  while (f.next(m))
    out.emplace_back(m);
  return out;
}

} // namespace

TEST(StreamFramer, TheLengthComesFirstInNetworkOrder) {
  auto f = framed(std::string(300, 'x'));
  ASSERT_EQ(f.size(), 302u);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 1);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 44);
  std::string out;
  std::string big(65536, 'y');
  EXPECT_FALSE(append_framed(out, reinterpret_cast<const uint8_t*>(big.data()),
                             big.size()));
  EXPECT_TRUE(out.empty());
}

TEST(StreamFramer, AMessageSplitAcrossReadsComesOutWhole) {
  stream_framer f;
  auto bytes = framed("hello, dns");
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    feed(f, bytes.substr(i, 1));
    EXPECT_TRUE(drain(f).empty()) << "after " << i + 1 << " bytes";
  }
  feed(f, bytes.substr(bytes.size() - 1));
  EXPECT_EQ(drain(f), std::vector<std::string>{"hello, dns"});
  EXPECT_EQ(f.pending(), 0u);
}

TEST(StreamFramer, SeveralMessagesInOneReadAndAPartialOne) {
  stream_framer f;
  auto bytes = framed("a") + framed("") + framed("ccc") + framed("dddd");
  feed(f, bytes.substr(0, bytes.size() - 2));
  EXPECT_EQ(drain(f), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.pending(), 4u);
  f.compact();
  feed(f, bytes.substr(bytes.size() - 2));
  EXPECT_EQ(drain(f), std::vector<std::string>{"dddd"});
}
