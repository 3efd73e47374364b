/// CURVE key files: the key pair file, the client list, Z85 checks.

#include "actors/zmq/key_files.hpp"

#include <gtest/gtest.h>

using namespace minidns::curve;

namespace {

// The key pair of ZeroMQ's CURVE test vectors (RFC 26 examples).
const std::string pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
// A key with '#', the comment character, inside.
const std::string hash_key = "%bcd#hij0123456789ABCDEFGHIJ.-:+=^!/*?00";

} // namespace

TEST(Keys, Z85Check) {
  EXPECT_TRUE(is_z85_key(pub));
  EXPECT_TRUE(is_z85_key(sec));
  EXPECT_TRUE(is_z85_key(hash_key));
  // '#' is Z85's biggest digit: no key starts with it, so a line that does
  // is a comment.
  EXPECT_FALSE(is_z85_key("#" + pub.substr(1)));
  EXPECT_FALSE(is_z85_key(""));
  EXPECT_FALSE(is_z85_key(pub.substr(1)));
  EXPECT_FALSE(is_z85_key(pub + "a"));
  EXPECT_FALSE(is_z85_key(std::string(39, 'a') + " "));
  EXPECT_FALSE(is_z85_key(std::string(39, 'a') + "\""));
  // Five '#' (84 each) encode more than 32 bits.
  EXPECT_FALSE(is_z85_key("#####" + std::string(35, '0')));
  EXPECT_TRUE(is_z85_key("%nSc0" + std::string(35, '0')));  // 2^32 - 1
  EXPECT_FALSE(is_z85_key("%nSc1" + std::string(35, '0'))); // 2^32
}

TEST(Keys, KeyPairFileRoundTrip) {
  auto text = format_key_file({pub, sec});
  auto f = parse_key_file(text, true);
  ASSERT_TRUE(f.keys) << f.error;
  EXPECT_EQ(f.keys->public_key, pub);
  EXPECT_EQ(f.keys->secret_key, sec);
  EXPECT_NE(text.find("secret"), std::string::npos);
}

TEST(Keys, PublicFileHasNoSecret) {
  auto text = format_key_file({pub, ""});
  EXPECT_EQ(text.find(sec), std::string::npos);
  auto f = parse_key_file(text, false);
  ASSERT_TRUE(f.keys) << f.error;
  EXPECT_EQ(f.keys->public_key, pub);
  EXPECT_TRUE(f.keys->secret_key.empty());
  auto g = parse_key_file(text, true);
  EXPECT_FALSE(g.keys);
  EXPECT_EQ(g.error, "no secret-key line");
}

TEST(Keys, KeyPairFileProblemsNameTheLine) {
  EXPECT_EQ(parse_key_file("", true).error, "no public-key line");
  EXPECT_EQ(parse_key_file("# only a comment\n\n", false).error,
            "no public-key line");
  auto f = parse_key_file("public-key = \"" + pub + "\"\nhello\n", true);
  EXPECT_FALSE(f.keys);
  EXPECT_EQ(f.error.rfind("line 2: expected public-key", 0), 0u) << f.error;
  f = parse_key_file("public-key = \"abc\"\n", true);
  EXPECT_EQ(f.error, "line 1: public-key is not a 40-character Z85 CURVE key");
  f = parse_key_file("public-key = " + pub + "\npublic-key = " + pub + "\n",
                     false);
  EXPECT_EQ(f.error, "line 2: public-key given twice");
}

TEST(Keys, KeyPairFileToleratesSpacingAndCrlf) {
  auto f = parse_key_file("  public-key=" + pub + "\r\n\tsecret-key =  \"" +
                              sec + "\"  \r\n",
                          true);
  ASSERT_TRUE(f.keys) << f.error;
  EXPECT_EQ(f.keys->public_key, pub);
  EXPECT_EQ(f.keys->secret_key, sec);
}

TEST(Keys, ClientListTakesBareKeysAndPublicKeyLines) {
  auto l = parse_key_list("# pool managers\n" + pub + "\n\n" +
                          format_key_file({hash_key, ""}) + hash_key + "\n" +
                          pub + "\n");
  ASSERT_TRUE(l.error.empty()) << l.error;
  ASSERT_EQ(l.keys.size(), 2u); // duplicates once
  EXPECT_EQ(l.keys[0], pub);
  EXPECT_EQ(l.keys[1], hash_key);
}

TEST(Keys, ClientListRefusesSecretsAndJunk) {
  auto l = parse_key_list(pub + "\nsecret-key = \"" + sec + "\"\n");
  EXPECT_TRUE(l.keys.empty());
  EXPECT_EQ(l.error.rfind("line 2: a secret key", 0), 0u) << l.error;
  l = parse_key_list(pub + "\n\nnot-a-key\n");
  EXPECT_TRUE(l.keys.empty());
  EXPECT_EQ(l.error, "line 3: not a 40-character Z85 CURVE public key: "
                     "'not-a-key'");
  EXPECT_TRUE(parse_key_list("").keys.empty());
  EXPECT_TRUE(parse_key_list("").error.empty());
}
