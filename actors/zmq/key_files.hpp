#pragma once
/// CURVE key files: the server's key pair and the list of pool managers'
/// public keys allowed to connect. Pure text parsing, no ZeroMQ, so that
/// the formats are unit-tested without sockets.
///
/// A key pair file, as `minidns-ctl keygen` writes it:
///
///     # comment
///     public-key = "<40 Z85 characters>"
///     secret-key = "<40 Z85 characters>"
///
/// A public key file holds only the public-key line. A client list holds
/// one public key per line, bare or as a public-key line (so that
/// `cat client.pub >> clients` works); blank lines and # comments are
/// skipped.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::curve {

/// Whether `s` is a Z85-encoded 32-byte CURVE key (40 characters).
bool is_z85_key(std::string_view s);

/// A CURVE key pair in Z85.
struct key_pair {
  std::string public_key;
  std::string secret_key; ///< empty in a public key file
};

/// The result of parsing a key file: the keys, or the first problem
/// ("line N: ...").
struct key_file {
  std::optional<key_pair> keys;
  std::string error;
};

/// Parses a key pair file. With `need_secret`, a file without a
/// secret-key line is an error.
key_file parse_key_file(std::string_view text, bool need_secret);

/// The result of parsing a client list: the keys in order, without
/// duplicates, or the first problem ("line N: ...").
struct key_list {
  std::vector<std::string> keys;
  std::string error;
};

/// Parses a list of allowed public keys.
key_list parse_key_list(std::string_view text);

/// The text of a key pair file for `keys` (with a comment line saying what
/// it is); without the secret when `keys.secret_key` is empty.
std::string format_key_file(const key_pair& keys);

} // namespace minidns::curve
