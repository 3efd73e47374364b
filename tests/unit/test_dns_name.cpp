#include "net/dns_name.hpp"

#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <string>

namespace {

using minidns::net::name_to_wire;
using minidns::net::wire_names_equal;
using minidns::net::wire_to_text;

std::string wire_ok(const std::string& text) {
  std::string error;
  const auto wire = name_to_wire(text, error);
  EXPECT_TRUE(wire.has_value()) << text << ": " << error;
  return wire.value_or(std::string());
}

std::string wire_error(const std::string& text) {
  std::string error;
  const auto wire = name_to_wire(text, error);
  EXPECT_FALSE(wire.has_value()) << text;
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

/// The wire form of `text` according to ldns, as an independent oracle.
std::string ldns_wire(const std::string& text) {
  ldns_rdf* rdf = nullptr;
  if (ldns_str2rdf_dname(&rdf, text.c_str()) != LDNS_STATUS_OK)
    return "<ldns rejected>";
  std::string out(reinterpret_cast<const char*>(ldns_rdf_data(rdf)),
                  ldns_rdf_size(rdf));
  ldns_rdf_deep_free(rdf);
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values)
    out += static_cast<char>(v);
  return out;
}

std::string label(size_t n, char c = 'a') {
  return std::string(n, c);
}

TEST(DnsName, SimpleNames) {
  EXPECT_EQ(wire_ok("example.com."),
            bytes({7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0}));
  EXPECT_EQ(wire_ok("example.com"), wire_ok("example.com."));
  EXPECT_EQ(wire_ok("a"), bytes({1, 'a', 0}));
}

TEST(DnsName, MatchesLdns) {
  for (const char* text : {"example.com.", "a.b.c.d.e.", "xn--bcher-kva.ch.",
                           "_dmarc.example.org.", "a\\.b.example.",
                           "\\065\\066.example.", "under_score.test."})
    EXPECT_EQ(wire_ok(text), ldns_wire(text)) << text;
}

TEST(DnsName, RootZone) {
  EXPECT_EQ(wire_ok("."), bytes({0}));
  EXPECT_EQ(wire_to_text(bytes({0})), ".");
}

TEST(DnsName, CasePreserved) {
  EXPECT_EQ(wire_ok("ExAmple.COM"),
            bytes({7, 'E', 'x', 'A', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0}));
}

TEST(DnsName, Escapes) {
  EXPECT_EQ(wire_ok("a\\.b.c"), bytes({3, 'a', '.', 'b', 1, 'c', 0}));
  EXPECT_EQ(wire_ok("a\\\\b"), bytes({3, 'a', '\\', 'b', 0}));
  EXPECT_EQ(wire_ok("\\065"), bytes({1, 'A', 0}));
  EXPECT_EQ(wire_ok("\\000\\255"), bytes({2, 0, 255, 0}));
  EXPECT_EQ(wire_ok("\\032x"), bytes({2, ' ', 'x', 0}));
  // Only three digits belong to the escape; a fourth is a literal digit.
  EXPECT_EQ(wire_ok("\\0651"), bytes({2, 'A', '1', 0}));
  // An escaped trailing dot is part of the label, not the root.
  EXPECT_EQ(wire_ok("a\\."), bytes({2, 'a', '.', 0}));
  EXPECT_EQ(wire_ok("a\\.."), bytes({2, 'a', '.', 0}));
}

TEST(DnsName, BadEscapes) {
  EXPECT_NE(wire_error("a\\").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\256").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\999.com").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\1").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\12").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\12.com").find("bad escape"), std::string::npos);
  EXPECT_NE(wire_error("\\1x3").find("bad escape"), std::string::npos);
}

TEST(DnsName, EmptyLabels) {
  EXPECT_NE(wire_error("").find("empty"), std::string::npos);
  EXPECT_NE(wire_error("a..b").find("empty label"), std::string::npos);
  EXPECT_NE(wire_error(".a").find("empty label"), std::string::npos);
  EXPECT_NE(wire_error("..").find("empty label"), std::string::npos);
  EXPECT_NE(wire_error("a..").find("empty label"), std::string::npos);
}

TEST(DnsName, LabelLengthLimit) {
  const std::string l63 = label(63);
  const std::string wire = wire_ok(l63 + ".com");
  ASSERT_EQ(wire.size(), 1 + 63 + 1 + 3 + 1);
  EXPECT_EQ(static_cast<uint8_t>(wire[0]), 63);

  const std::string l64 = label(64);
  EXPECT_EQ(wire_error(l64 + ".com"),
            "label longer than 63 octets: '" + l64 + "'");
  EXPECT_EQ(wire_error("com." + l64),
            "label longer than 63 octets: '" + l64 + "'");
  // Escapes count as one octet each.
  wire_ok(label(62) + "\\046");
  wire_error(label(63) + "\\046");
}

/// Three 63-octet labels and one of `last` octets: a name of
/// 3 * 64 + 1 + last + 1 octets in wire format.
std::string long_name(size_t last) {
  return label(63) + "." + label(63, 'b') + "." + label(63, 'c') + "." +
         label(last, 'd') + ".";
}

TEST(DnsName, NameLengthLimit) {
  const std::string n255 = long_name(61);
  EXPECT_EQ(wire_ok(n255).size(), 255u);
  EXPECT_EQ(ldns_wire(n255).size(), 255u); // the oracle agrees on the size

  const std::string n256 = long_name(62);
  EXPECT_NE(wire_error(n256).find("name longer than 255 octets"),
            std::string::npos);
  // Without the trailing dot the root label still counts.
  std::string no_dot = n256;
  no_dot.pop_back();
  EXPECT_NE(wire_error(no_dot).find("name longer than 255 octets"),
            std::string::npos);
}

TEST(DnsName, WireToText) {
  EXPECT_EQ(wire_to_text(wire_ok("example.com")), "example.com.");
  EXPECT_EQ(wire_to_text(bytes({3, 'a', '.', 'b', 0})), "a\\.b.");
  EXPECT_EQ(wire_to_text(bytes({3, 'a', '\\', 'b', 0})), "a\\\\b.");
  EXPECT_EQ(wire_to_text(bytes({3, 'a', ' ', 'b', 0})), "a\\032b.");
  EXPECT_EQ(wire_to_text(bytes({3, 0, 127, 255, 0})), "\\000\\127\\255.");
  EXPECT_EQ(wire_to_text(bytes({2, 'A', 'b', 0})), "Ab.");
}

TEST(DnsName, WireToTextRoundTrip) {
  for (const char* text : {".", "example.com.", "a\\.b.c.", "\\000\\001x.y.",
                           "A\\\\B.", "\\032.", "x\\127\\200\\255.z."}) {
    const std::string wire = wire_ok(text);
    EXPECT_EQ(wire_to_text(wire), text);
    EXPECT_EQ(wire_ok(wire_to_text(wire)), wire);
  }
  // Every octet value survives the round trip.
  for (int c = 0; c < 256; ++c) {
    const std::string wire = bytes({1, c, 0});
    EXPECT_EQ(wire_ok(wire_to_text(wire)), wire) << c;
  }
}

TEST(DnsName, WireToTextStopsAtInvalidInput) {
  // Truncated or compressed input must not be read out of bounds.
  EXPECT_EQ(wire_to_text(bytes({5, 'a', 'b'})), ".");
  EXPECT_EQ(wire_to_text(bytes({1, 'a', 5, 'b'})), "a.");
  EXPECT_EQ(wire_to_text(bytes({1, 'a', 0xC0, 0x0C})), "a.");
  EXPECT_EQ(wire_to_text(std::string()), ".");
}

TEST(DnsName, EqualityIsCaseInsensitive) {
  EXPECT_TRUE(wire_names_equal(wire_ok("Example.COM"), wire_ok("example.com")));
  EXPECT_TRUE(wire_names_equal(wire_ok("."), wire_ok(".")));
  EXPECT_FALSE(
      wire_names_equal(wire_ok("example.com"), wire_ok("example.org")));
  EXPECT_FALSE(wire_names_equal(wire_ok("example.com"), wire_ok("com")));
  EXPECT_FALSE(wire_names_equal(wire_ok("ab.c"), wire_ok("a.bc")));
  // Only ASCII letters fold: '[' (0x5B) and '{' (0x7B) differ by 0x20 too.
  EXPECT_FALSE(wire_names_equal(wire_ok("a["), wire_ok("a{")));
  EXPECT_FALSE(wire_names_equal(wire_ok("\\193"), wire_ok("\\225")));
  EXPECT_TRUE(wire_names_equal(wire_ok("\\065"), wire_ok("a")));
}

} // namespace
