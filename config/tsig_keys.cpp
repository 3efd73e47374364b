#include "config/tsig_keys.hpp"

#include "net/dns_name.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace minidns {

namespace {

/// A token of BIND's configuration syntax.
struct token {
  enum kind_t { word, string, punct, end } kind = end;
  std::string text;
  size_t line = 1;
};

class lexer {
public:
  explicit lexer(std::string_view text) : s_(text) {}

  /// The next token; `error` set (and an end token) on an unterminated
  /// string or comment.
  token next(std::string& error) {
    skip_space_and_comments(error);
    token t;
    t.line = line_;
    if (!error.empty() || pos_ >= s_.size())
      return t;
    char c = s_[pos_];
    if (c == '{' || c == '}' || c == ';') {
      ++pos_;
      t.kind = token::punct;
      t.text = std::string(1, c);
      return t;
    }
    if (c == '"') {
      size_t start = ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\n')
          ++line_;
        ++pos_;
      }
      if (pos_ >= s_.size()) {
        error = "line " + std::to_string(t.line) + ": unterminated string";
        return token{};
      }
      t.kind = token::string;
      t.text = std::string(s_.substr(start, pos_ - start));
      ++pos_;
      return t;
    }
    size_t start = pos_;
    while (pos_ < s_.size() &&
           !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
           s_[pos_] != '{' && s_[pos_] != '}' && s_[pos_] != ';' &&
           s_[pos_] != '"')
      ++pos_;
    t.kind = token::word;
    t.text = std::string(s_.substr(start, pos_ - start));
    return t;
  }

private:
  void skip_space_and_comments(std::string& error) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#' || s_.substr(pos_, 2) == "//") {
        while (pos_ < s_.size() && s_[pos_] != '\n')
          ++pos_;
      } else if (s_.substr(pos_, 2) == "/*") {
        size_t start_line = line_;
        pos_ += 2;
        while (pos_ < s_.size() && s_.substr(pos_, 2) != "*/") {
          if (s_[pos_] == '\n')
            ++line_;
          ++pos_;
        }
        if (pos_ >= s_.size()) {
          error =
              "line " + std::to_string(start_line) + ": unterminated comment";
          return;
        }
        pos_ += 2;
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

std::string at(const token& t, const std::string& what) {
  return "line " + std::to_string(t.line) + ": " + what;
}

std::string shown(const token& t) {
  return t.kind == token::end ? std::string("the end of the file")
                              : "'" + t.text + "'";
}

} // namespace

std::optional<tsig_keyring> parse_tsig_keys(std::string_view text,
                                            std::string& error) {
  tsig_keyring ring;
  lexer lx(text);
  error.clear();
  auto expect = [&](const char* p) {
    auto t = lx.next(error);
    if (error.empty() && (t.kind != token::punct || t.text != p))
      error = at(t, std::string("expected '") + p + "', got " + shown(t));
    return error.empty();
  };
  for (;;) {
    auto t = lx.next(error);
    if (!error.empty())
      return std::nullopt;
    if (t.kind == token::end)
      break;
    if (t.kind != token::word || t.text != "key") {
      error = at(t, "expected a key statement, got " + shown(t));
      return std::nullopt;
    }
    auto name_t = lx.next(error);
    if (!error.empty())
      return std::nullopt;
    if (name_t.kind != token::word && name_t.kind != token::string) {
      error = at(name_t, "expected the key's name, got " + shown(name_t));
      return std::nullopt;
    }
    net::tsig_key key;
    std::string why;
    auto wire = net::name_to_wire(name_t.text, why);
    if (!wire) {
      error = at(name_t, "key name: " + why);
      return std::nullopt;
    }
    for (auto& c : *wire)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    key.name_wire = *wire;
    key.name = net::wire_to_text(*wire);
    if (ring.find(key.name) != 0) {
      error = at(name_t, "key '" + key.name + "' defined twice");
      return std::nullopt;
    }
    if (!expect("{"))
      return std::nullopt;
    bool has_alg = false, has_secret = false;
    for (;;) {
      auto f = lx.next(error);
      if (!error.empty())
        return std::nullopt;
      if (f.kind == token::punct && f.text == "}")
        break;
      if (f.kind != token::word ||
          (f.text != "algorithm" && f.text != "secret")) {
        error = at(f, "key '" + key.name +
                          "': expected algorithm or secret, got " + shown(f));
        return std::nullopt;
      }
      auto v = lx.next(error);
      if (!error.empty())
        return std::nullopt;
      if (v.kind != token::word && v.kind != token::string) {
        error = at(v, "key '" + key.name + "': " + f.text +
                          ": expected a value, got " + shown(v));
        return std::nullopt;
      }
      if (f.text == "algorithm") {
        auto a = net::parse_tsig_algorithm(v.text);
        if (!a) {
          error = at(v, "key '" + key.name + "': unknown algorithm '" + v.text +
                            "' (hmac-sha1, -sha224, -sha256, -sha384, "
                            "-sha512 or hmac-md5)");
          return std::nullopt;
        }
        key.algorithm = *a;
        has_alg = true;
      } else {
        auto s = net::decode_base64(v.text);
        if (!s || s->empty()) {
          error = at(v, "key '" + key.name + "': secret is not base64");
          return std::nullopt;
        }
        key.secret = std::move(*s);
        has_secret = true;
      }
      if (!expect(";"))
        return std::nullopt;
    }
    if (!expect(";"))
      return std::nullopt;
    if (!has_alg || !has_secret) {
      error = at(name_t, "key '" + key.name + "': no " +
                             (has_alg ? "secret" : "algorithm"));
      return std::nullopt;
    }
    if (ring.keys.size() >= 65535) {
      error = at(name_t, "more than 65535 keys");
      return std::nullopt;
    }
    ring.keys.push_back(std::move(key));
  }
  return ring;
}

std::optional<tsig_keyring> read_tsig_key_file(const std::string& path,
                                               std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot be read";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto ring = parse_tsig_keys(text.str(), error);
  if (!ring)
    error = path + ": " + error;
  else if (ring->keys.empty()) {
    error = path + ": no key in it";
    return std::nullopt;
  }
  return ring;
}

} // namespace minidns
