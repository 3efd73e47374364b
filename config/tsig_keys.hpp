#pragma once
/// TSIG keys from a file in BIND's `key` syntax, exactly as tsig-keygen
/// writes it (minidns.tsig-keys-file), and the keyring the threads share:
///
///     key "pm-notify" {
///         algorithm hmac-sha256;
///         secret "base64...";
///     };
///
/// Pure parsing: no files opened here but by read_tsig_key_file.

#include "net/tsig.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns {

using net::tsig_keyring;

/// Parses key statements from `text`. Comments (`#`, `//`, `/* */`) are
/// skipped. Each key needs an algorithm minidns knows and a base64 secret;
/// names must be valid domain names and unique. On failure returns nullopt
/// and sets `error` to "line N: problem".
std::optional<tsig_keyring> parse_tsig_keys(std::string_view text,
                                            std::string& error);

/// Reads and parses the file at `path`; `error` names the file.
std::optional<tsig_keyring> read_tsig_key_file(const std::string& path,
                                               std::string& error);

} // namespace minidns
