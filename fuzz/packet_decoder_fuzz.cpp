// Fuzzes the packet codec: any bytes decode to a packet or an error, never a crash, and a
// decoded packet re-encodes to JSON that decodes to the same packet.

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/packet.hpp>
#include <roost/route.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
const roost::route_normalizer& routes() {
  // One collator for the whole run; libFuzzer calls the entry point many times.
  static const roost::route_normalizer r;
  return r;
}
// Equal and of the same kinds all the way down (== takes 1 and 1u, or 1 and 1.0, for the same):
// the fast readers must give what the general parser gives, int64 for int64.
bool same(const roost::json::value& a, const roost::json::value& b) {
  if (a.kind() != b.kind()) return false;
  if (const auto* x = a.if_array()) {
    const auto& y = b.get_array();
    if (x->size() != y.size()) return false;
    for (std::size_t i = 0; i < x->size(); ++i) {
      if (!same((*x)[i], y[i])) return false;
    }
    return true;
  }
  if (const auto* x = a.if_object()) {
    const auto& y = b.get_object();
    if (x->size() != y.size()) return false;
    for (std::size_t i = 0; i < x->size(); ++i) {
      const auto &l = x->begin()[i], &r = y.begin()[i];
      if (l.key() != r.key() || !same(l.value(), r.value())) return false;
    }
    return true;
  }
  return a == b;
}
}  // namespace

// ICU is loaded on the first key that is not printable ASCII and keeps caches for the life of
// the process: open it before the run, so that they are not taken for one input's leak.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)routes().compare_keys("\u00e9", "f");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // decode_inbound reads common envelopes on a path of its own: it must agree with parsing the
  // whole document and reading its members.
  const auto decoded = roost::decode_inbound(text, roost::json::value("channel"));
  {
    roost::json::error_code ec;
    roost::json::parse_options o;
    o.max_depth = 512;
    const auto doc = roost::detail::parse_json(text, ec, {}, o);
    if (ec.failed() != !decoded) std::abort();
    if (decoded) {
      const auto want = roost::inbound_from_value(doc, roost::json::value("channel"));
      if (want.pattern != decoded->pattern || !same(want.data, decoded->data) ||
          want.id != decoded->id || want.metadata != decoded->metadata)
        std::abort();
    }
  }

  if (auto in = decoded) {
    (void)routes().lookup_route(in->pattern);
    (void)routes().route(in->pattern);
    std::string out;
    if (in->id) {
      roost::encode_request(out, in->pattern, in->data, *in->id,
                            in->metadata ? &*in->metadata : nullptr);
    } else {
      roost::encode_event(out, in->pattern, in->data, in->metadata ? &*in->metadata : nullptr);
    }
    auto again = roost::decode_inbound(out);
    if (!again) std::abort();  // what we write must read back
    // Compare as JavaScript would see them: -0 and 0, or 1.0 and 1, are the same number.
    using roost::detail::to_json;
    if (to_json(again->data) != to_json(in->data)) std::abort();
    if (again->id.has_value() != in->id.has_value()) std::abort();
    if (in->id && to_json(*again->id) != to_json(*in->id)) std::abort();
  }

  // decode_reply reads common replies on a path of its own too: the same agreement.
  const auto reply = roost::decode_reply(text);
  {
    roost::json::error_code ec;
    roost::json::parse_options o;
    o.max_depth = 512;
    const auto doc = roost::detail::parse_json(text, ec, {}, o);
    if (ec.failed() != !reply) std::abort();
    if (reply) {
      const auto want = roost::reply_from_value(doc);
      if (!same(want.id, reply->id) || want.disposed != reply->disposed ||
          want.response.has_value() != reply->response.has_value() ||
          want.err.has_value() != reply->err.has_value() ||
          (want.response && !same(*want.response, *reply->response)) ||
          (want.err && !same(*want.err, *reply->err)))
        std::abort();
    }
  }
  if (reply) {
    std::string out;
    const roost::json::value id = reply->id;
    if (reply->err) {
      roost::encode_reply(out, roost::reply_packet::error(*reply->err), id);
    } else if (reply->response) {
      roost::encode_reply(out, roost::reply_packet::value(*reply->response, reply->disposed), id);
    } else {
      roost::encode_reply(out, roost::reply_packet::end(), id);
    }
    if (!roost::decode_reply(out)) std::abort();
  }
  return 0;
}
