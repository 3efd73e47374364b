#include "bench/lib/client.hpp"

#include "bench/lib/common.hpp"
#include "bench/lib/zones.hpp"

namespace minidns::bench {

cast_template make_template(messages::method m, const std::string& zone,
                            std::optional<uint32_t> serial,
                            const std::string& dest, double timeout,
                            double retry_interval, uint32_t max_retries) {
  static const std::string rid("\xce\x00\x00\x00\x00", 5);
  cast_template t;
  t.frame = messages::encode_cast(m, zone, serial, dest, timeout,
                                  retry_interval, max_retries, {}, rid);
  if (t.frame.size() < 5 || t.frame.compare(t.frame.size() - 5, 5, rid) != 0)
    die("encode_cast did not put request_id last");
  t.id_offset = t.frame.size() - 4;
  return t;
}

std::vector<cast_template> zone_casts(messages::method m,
                                      const std::string& dest, unsigned zones,
                                      double timeout, uint32_t max_retries) {
  std::vector<cast_template> casts;
  for (unsigned z = 0; z < zones; ++z)
    casts.push_back(make_template(m, zone_name(z),
                                  m == messages::method::poll_for_serial_number
                                      ? std::optional<uint32_t>(zone_serial(z))
                                      : std::nullopt,
                                  dest, timeout, 0, max_retries));
  return casts;
}

// --------------------------------------------------------------- dealer

dealer::dealer(const std::string& endpoint, int sndhwm) {
  ctx_ = zmq_ctx_new();
  sock_ = zmq_socket(ctx_, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(sock_, ZMQ_LINGER, &zero, sizeof(zero));
  zmq_setsockopt(sock_, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm));
  // Never drop a reply on our side.
  zmq_setsockopt(sock_, ZMQ_RCVHWM, &zero, sizeof(zero));
  if (zmq_connect(sock_, endpoint.c_str()) != 0)
    die("zmq_connect " + endpoint + ": " + zmq_strerror(zmq_errno()));
}

dealer::~dealer() {
  zmq_close(sock_);
  zmq_ctx_term(ctx_);
}

bool dealer::try_send(const std::string& frame) {
  if (zmq_send(sock_, frame.data(), frame.size(), ZMQ_DONTWAIT) >= 0)
    return true;
  if (zmq_errno() == EAGAIN)
    return false;
  die(std::string("zmq_send: ") + zmq_strerror(zmq_errno()));
}

// -------------------------------------------------------------- tracker

std::vector<int64_t> tracker::latencies() const {
  std::vector<int64_t> v;
  v.reserve(completed_);
  for (size_t i = 0; i < sent_.size(); ++i)
    if (done_[i] != 0 && sent_[i] != 0)
      v.push_back(done_[i] - sent_[i]);
  return v;
}

bool tracker::request_id_of(const messages::reply& r, uint32_t& id) {
  auto& rid = r.raw_request_id;
  if (rid.size() != 5 || static_cast<uint8_t>(rid[0]) != 0xce)
    return false;
  id = static_cast<uint32_t>(static_cast<uint8_t>(rid[1])) << 24 |
       static_cast<uint32_t>(static_cast<uint8_t>(rid[2])) << 16 |
       static_cast<uint32_t>(static_cast<uint8_t>(rid[3])) << 8 |
       static_cast<uint32_t>(static_cast<uint8_t>(rid[4]));
  return true;
}

std::string check_success(const messages::reply& r, unsigned zone) {
  if (r.method != "update_status")
    return "method " + r.method + ": " + r.error;
  if (r.status != "SUCCESS")
    return "status " + r.status + " (" + r.detail + ")";
  if (!r.actual_serial || *r.actual_serial != zone_serial(zone))
    return "wrong actual_serial";
  if (r.detail != "matched")
    return "detail " + r.detail;
  return {};
}

} // namespace minidns::bench
