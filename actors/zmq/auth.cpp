#include "actors/zmq/auth.hpp"

#include <zmq.h>

namespace minidns {

std::string z85_key(const void* key32) {
  char text[41];
  zmq_z85_encode(text, static_cast<const uint8_t*>(key32), 32);
  return std::string(text, 40);
}

zap_verdict decide_zap(const std::vector<std::string>& frames,
                       const std::unordered_set<std::string>& allowed) {
  auto frame = [&](size_t i) {
    return i < frames.size() ? frames[i] : std::string{};
  };
  zap_verdict v;
  if (frames.size() < 6 || frame(0) != "1.0")
    v.why = "malformed ZAP request";
  else if (frame(5) != "CURVE")
    v.why = "mechanism " + frame(5) + ", not CURVE";
  else if (frames.size() < 7 || frames[6].size() != 32)
    v.why = "no CURVE public key";
  else if (v.user = z85_key(frames[6].data()); allowed.count(frames[6]) == 0)
    v.why = "public key " + v.user + " not in minidns.curve-clients-file";
  v.allowed = v.why.empty();
  v.reply = {"1.0",
             frame(1),
             v.allowed ? "200" : "400",
             v.allowed ? "OK" : "not allowed",
             v.user,
             ""};
  return v;
}

} // namespace minidns
