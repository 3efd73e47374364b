// Tests of the TSIG key file parser (config/tsig_keys.hpp): what
// tsig-keygen writes, BIND's comments, and errors that name the line.

#include "config/tsig_keys.hpp"

#include <gtest/gtest.h>
#include <string>

namespace {

using namespace minidns;

TEST(TsigKeys, ReadsWhatTsigKeygenWrites) {
  std::string err;
  auto ring = parse_tsig_keys(R"(key "k1.example" {
	algorithm hmac-sha384;
	secret "Jv3Y27NFJIHY9sOIuTGmwjDLCDmN4UVNk2rTUhx82FfYxSTaXM3H8e2H96hI8eKN";
};
# a second key, BIND's comment styles around it
// another comment
/* and
   another */
key Second.Example. { secret "c2VjcmV0"; algorithm HMAC-MD5; };
)",
                              err);
  ASSERT_TRUE(ring) << err;
  ASSERT_EQ(ring->keys.size(), 2u);
  const auto& k1 = ring->keys[0];
  EXPECT_EQ(k1.name, "k1.example.");
  EXPECT_EQ(k1.name_wire, std::string("\2k1\7example\0", 12));
  EXPECT_EQ(k1.algorithm, net::tsig_algorithm::hmac_sha384);
  EXPECT_EQ(k1.secret.size(), 48u);
  EXPECT_EQ(ring->keys[1].name, "second.example.") << "lowercase";
  EXPECT_EQ(ring->keys[1].algorithm, net::tsig_algorithm::hmac_md5);
  EXPECT_EQ(ring->keys[1].secret, "secret");
  EXPECT_EQ(ring->find("K1.EXAMPLE"), 1u);
  EXPECT_EQ(ring->find("second.example."), 2u);
  EXPECT_EQ(ring->find("third.example."), 0u);
  EXPECT_EQ(ring->get(2), &ring->keys[1]);
  EXPECT_EQ(ring->get(0), nullptr);
  EXPECT_EQ(ring->get(3), nullptr);
}

TEST(TsigKeys, ErrorsNameTheLineAndTheProblem) {
  auto error_of = [](const std::string& text) {
    std::string err;
    auto ring = parse_tsig_keys(text, err);
    EXPECT_FALSE(ring) << text;
    return err;
  };
  EXPECT_EQ(error_of("options { };"),
            "line 1: expected a key statement, got 'options'");
  EXPECT_EQ(
      error_of("key \"a\" {\n algorithm hmac-sha3;\n secret \"YQ==\";\n};"),
      "line 2: key 'a.': unknown algorithm 'hmac-sha3' (hmac-sha1, "
      "-sha224, -sha256, -sha384, -sha512 or hmac-md5)");
  EXPECT_EQ(error_of("key a {\n algorithm hmac-sha256;\n secret \"***\";\n};"),
            "line 3: key 'a.': secret is not base64");
  EXPECT_EQ(error_of("key a { algorithm hmac-sha256; };"),
            "line 1: key 'a.': no secret");
  EXPECT_EQ(error_of("key a { secret \"YQ==\"; };"),
            "line 1: key 'a.': no algorithm");
  EXPECT_EQ(error_of("key a { secret \"YQ==\"; algorithm hmac-sha1 };"),
            "line 1: expected ';', got '}'");
  EXPECT_EQ(error_of("key a { secret \"YQ==\"; algorithm hmac-sha1; }"),
            "line 1: expected ';', got the end of the file");
  EXPECT_EQ(error_of("key a { secret \"YQ==\"; algorithm hmac-sha1; };\n"
                     "key A. { secret \"YQ==\"; algorithm hmac-sha1; };"),
            "line 2: key 'a.' defined twice");
  EXPECT_EQ(error_of("key \"a..b\" { };"),
            "line 1: key name: empty label in 'a..b'");
  EXPECT_EQ(error_of("key a { secret \"YQ==; };"),
            "line 1: unterminated string");
  EXPECT_EQ(error_of("\n\n/* key a {"), "line 3: unterminated comment");
}

TEST(TsigKeys, AFileThatCannotBeReadOrIsEmptyIsNamed) {
  std::string err;
  EXPECT_FALSE(read_tsig_key_file("/nonexistent/keys.conf", err));
  EXPECT_EQ(err, "/nonexistent/keys.conf: cannot be read");
  EXPECT_FALSE(read_tsig_key_file("/dev/null", err));
  EXPECT_EQ(err, "/dev/null: no key in it");
}

} // namespace
