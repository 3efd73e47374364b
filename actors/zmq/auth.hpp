#pragma once
/// Who may drive minidns: the ZAP handler's decision (ZeroMQ RFC 27) for a
/// CURVE handshake, as a pure function of the request's frames and the
/// allowed keys. The ZeroMQ thread reads the frames and sends the reply.

#include <string>
#include <unordered_set>
#include <vector>

namespace minidns {

/// The answer to one ZAP request.
struct zap_verdict {
  bool allowed = false;
  std::string why;  ///< when refused: a reason for the log
  std::string user; ///< the client's public key in Z85, when it had one
  /// The reply's frames: version, request id, status code, status text,
  /// user id, metadata.
  std::vector<std::string> reply;
};

/// Decides a ZAP request (`frames` as received). `allowed` holds the
/// binary (32-byte) public keys of the pool managers let in.
zap_verdict decide_zap(const std::vector<std::string>& frames,
                       const std::unordered_set<std::string>& allowed);

/// Z85 text of a 32-byte key.
std::string z85_key(const void* key32);

} // namespace minidns
