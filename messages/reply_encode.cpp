/// Encoding replies: the update_status prefix a poll keeps while it runs,
/// its tail (finish_status), and error replies (encode_error).

#include "messages/reply_encode.hpp"

#include "messages/cast.hpp"
#include "messages/wire.hpp"

#include <cstdint>

namespace minidns::messages {
namespace {

/// Keys of an update_status reply besides the optional request_id.
constexpr uint32_t status_keys = 7;

/// Bytes msgpack takes for a str of `n` bytes.
size_t str_size(size_t n) {
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

/// Where the prefix's `destination` comes from.
enum class dest_key : uint8_t {
  raw,  ///< echoed as received
  nil,  ///< nil (the cast had none)
  none, ///< no key at all (a pool poll: its lines carry them)
};

/// Bytes build_prefix packs for these values.
size_t prefix_size(uint32_t keys, std::string_view context,
                   std::string_view domain, dest_key how,
                   std::string_view destination,
                   std::optional<std::string_view> request_id) {
  size_t dest = how == dest_key::none
                    ? 0
                    : str_size(key_destination.size()) +
                          (how == dest_key::raw ? destination.size() : 1);
  return (keys < 16 ? 1 : 3) + str_size(key_method.size()) +
         str_size(std::string_view("update_status").size()) +
         str_size(key_context.size()) + context.size() +
         str_size(key_domain.size()) + domain.size() + dest +
         (request_id ? str_size(key_request_id.size()) + request_id->size()
                     : 0);
}

/// The update_status map header and echoed values.
std::string build_prefix(uint32_t keys, std::string_view context,
                         std::string_view domain, dest_key how,
                         std::string_view destination,
                         std::optional<std::string_view> request_id) {
  std::string buf;
  // Exactly what it packs: a request keeps its prefix while it waits.
  buf.reserve(prefix_size(keys, context, domain, how, destination, request_id));
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(keys);
  pack_str(pk, key_method);
  pack_str(pk, "update_status");
  pack_str(pk, key_context);
  pack_raw(buf, context);
  pack_str(pk, key_domain);
  pack_raw(buf, domain);
  if (how != dest_key::none) {
    pack_str(pk, key_destination);
    if (how == dest_key::raw)
      pack_raw(buf, destination);
    else
      pk.pack_nil();
  }
  if (request_id) {
    pack_str(pk, key_request_id);
    pack_raw(buf, *request_id);
  }
  return buf;
}

} // namespace

std::string status_prefix(std::string_view context, std::string_view domain,
                          std::string_view destination,
                          std::optional<std::string_view> request_id) {
  const uint32_t keys = status_keys + (request_id ? 1 : 0);
  return build_prefix(keys, context, domain, dest_key::raw, destination,
                      request_id);
}

std::string pool_status_prefix(std::string_view context,
                               std::string_view domain,
                               std::optional<std::string_view> request_id) {
  // destinations instead of destination: as many keys.
  const uint32_t keys = status_keys + (request_id ? 1 : 0);
  return build_prefix(keys, context, domain, dest_key::none, {}, request_id);
}

std::string finish_pool_status(std::string reply_prefix, status st,
                               std::optional<uint32_t> serial,
                               std::string_view detail,
                               const std::vector<destination_status>& each) {
  auto out = finish_status(std::move(reply_prefix), st, serial, detail);
  string_stream stream{out};
  packer pk(stream);
  pack_str(pk, key_destinations);
  pk.pack_array(static_cast<uint32_t>(each.size()));
  for (const auto& e : each) {
    pk.pack_map(4);
    pack_str(pk, key_destination);
    pack_raw(out, e.raw_destination);
    pack_str(pk, "status");
    pack_str(pk, e.status);
    pack_str(pk, "actual_serial");
    if (e.serial)
      pk.pack_uint32(*e.serial);
    else
      pk.pack_nil();
    pack_str(pk, "detail");
    pack_str(pk, e.detail);
  }
  return out;
}

std::string encode_cancelled(std::string_view raw_request_id, uint64_t count) {
  std::string buf;
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(3);
  pack_str(pk, key_method);
  pack_str(pk, name_cancelled);
  pack_str(pk, key_request_id);
  pack_raw(buf, raw_request_id);
  pack_str(pk, key_count);
  pk.pack_uint64(count);
  return buf;
}

std::string invalid_poll_reply(std::string_view context,
                               std::string_view domain,
                               std::optional<std::string_view> destination,
                               std::optional<std::string_view> request_id,
                               std::string_view reason) {
  // One key more than a valid poll's reply: "error".
  const uint32_t keys = status_keys + 1 + (request_id ? 1 : 0);
  auto out = finish_status(
      build_prefix(keys, context, domain,
                   destination ? dest_key::raw : dest_key::nil,
                   destination.value_or(std::string_view{}), request_id),
      status::error, std::nullopt, "invalid cast");
  string_stream stream{out};
  packer pk(stream);
  pack_str(pk, "error");
  pack_str(pk, reason);
  return out;
}

std::string finish_status(std::string reply_prefix, status st,
                          std::optional<uint32_t> serial,
                          std::string_view detail) {
  // The tail below is at most 47 bytes plus the detail: one allocation.
  reply_prefix.reserve(reply_prefix.size() + detail.size() + 48);
  string_stream stream{reply_prefix};
  packer pk(stream);
  pack_str(pk, "status");
  pack_str(pk, st == status::success ? "SUCCESS" : "ERROR");
  pack_str(pk, "actual_serial");
  if (serial)
    pk.pack_uint32(*serial);
  else
    pk.pack_nil();
  pack_str(pk, "detail");
  pack_str(pk, detail);
  return reply_prefix;
}

std::string finish_status_with_error(std::string reply_prefix, status st,
                                     std::string_view detail,
                                     std::string_view reason) {
  // The prefix starts with a fixmap header (at most 8 keys, status_prefix):
  // one key more.
  if (reply_prefix.empty() ||
      (static_cast<uint8_t>(reply_prefix[0]) & 0xf0) != 0x80 ||
      (static_cast<uint8_t>(reply_prefix[0]) & 0x0f) == 0x0f)
    return encode_error(reason);
  reply_prefix[0] = static_cast<char>(reply_prefix[0] + 1);
  auto out = finish_status(std::move(reply_prefix), st, std::nullopt, detail);
  string_stream stream{out};
  packer pk(stream);
  pack_str(pk, "error");
  pack_str(pk, reason);
  return out;
}

std::string encode_error(std::string_view reason,
                         std::string_view raw_request_id) {
  std::string buf;
  buf.reserve(reason.size() + raw_request_id.size() + 32);
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(raw_request_id.empty() ? 2 : 3);
  pack_str(pk, key_method);
  pack_str(pk, "error");
  pack_str(pk, "error");
  pack_str(pk, reason);
  if (!raw_request_id.empty()) {
    pack_str(pk, key_request_id);
    pack_raw(buf, raw_request_id);
  }
  return buf;
}

} // namespace minidns::messages
