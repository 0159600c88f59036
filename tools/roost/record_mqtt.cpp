// `roost record --from mqtt://...` (and shadow's): a subscriber beside the service. The broker
// hands every message to every subscription that matches it (a service in a shared
// subscription keeps its own), so the service loses nothing. It subscribes to the patterns
// (none: `#`) and to their `/reply` topics, where NestJS's servers answer.

#include "broker_tap.hpp"

#include <roost/mqtt/from_url.hpp>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>

namespace roost::cli {

namespace {

constexpr std::string_view reply_suffix = "/reply";

// What the library's thread and the calling thread share.
struct mqtt_tap {
  mqtt_tap(reply_matcher& m, std::string marker_topic, std::atomic<bool>& e)
      : matcher(m), marker(std::move(marker_topic)), ended(e) {}

  reply_matcher& matcher;
  std::vector<std::string> topics;
  std::string marker;  // a topic of this tap alone: its own message there ends the recording
  std::atomic<bool>& ended;
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false, subscribed = false, marker_seen = false, stopping = false;
  std::string failure;
};

void on_connect(mosquitto* m, void* closure, int rc) {
  auto& tap = *static_cast<mqtt_tap*>(closure);
  std::lock_guard lock(tap.mutex);
  tap.connected = rc == 0;
  if (rc != 0) {
    tap.failure = std::string("the broker refused the connection: ") + mosquitto_connack_string(rc);
  } else {
    std::vector<char*> subs;
    for (auto& t : tap.topics) subs.push_back(t.data());
    // QoS 1: what the callers publish at QoS 1 or 2 comes at least once; QoS 0 stays 0.
    const int s = mosquitto_subscribe_multiple(m, nullptr, static_cast<int>(subs.size()),
                                               subs.data(), 1, 0, nullptr);
    if (s != MOSQ_ERR_SUCCESS)
      tap.failure = std::string("cannot subscribe: ") + mosquitto_strerror(s);
  }
  tap.changed.notify_all();
}

void on_subscribe(mosquitto*, void* closure, int, int count, const int* granted) {
  auto& tap = *static_cast<mqtt_tap*>(closure);
  std::lock_guard lock(tap.mutex);
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) tap.failure = "the broker refused the subscription to " + tap.topics[i];
  }
  tap.subscribed = true;
  tap.changed.notify_all();
}

void on_disconnect(mosquitto*, void* closure, int rc) {
  auto& tap = *static_cast<mqtt_tap*>(closure);
  std::lock_guard lock(tap.mutex);
  if (!tap.stopping && tap.failure.empty()) {
    tap.failure = std::string("the connection closed: ") + mosquitto_strerror(rc);
  }
  tap.connected = false;
  tap.ended = true;
  tap.changed.notify_all();
}

// MQTT 5 user properties: a call's metadata (the v5 callback runs on 3.1.1 too, without them).
json::object user_properties(const mosquitto_property* props) {
  json::object out;
  bool skip = false;
  for (auto* p = props; p; skip = true) {
    char *name = nullptr, *value = nullptr;
    p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, skip);
    if (p) out[name] = value;
    std::free(name);
    std::free(value);
  }
  return out;
}

void on_message(mosquitto*, void* closure, const mosquitto_message* msg,
                const mosquitto_property* props) {
  auto& tap = *static_cast<mqtt_tap*>(closure);
  const std::string topic = msg->topic;
  const std::string_view text(static_cast<const char*>(msg->payload),
                              static_cast<std::size_t>(msg->payloadlen));
  if (topic == tap.marker) {
    std::lock_guard lock(tap.mutex);
    tap.marker_seen = true;
    tap.changed.notify_all();
    return;
  }
  if (topic.ends_with(reply_suffix)) {
    // A reply to a request seen, or to one sent before the recording began (left alone).
    tap.matcher.reply(text, topic);
    return;
  }
  tap.matcher.inbound(text, topic, topic + std::string(reply_suffix), user_properties(props));
}

struct mosquitto_closer {
  void operator()(mosquitto* m) const noexcept { mosquitto_destroy(m); }
};

std::string random_hex(int digits) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < digits; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

}  // namespace

int tap_mqtt(const broker_source& o, reply_matcher& matcher, const std::string& who) {
  const auto opts = broker_options(
      o.url, "MQTT", [](const url& u) { return roost::mqtt::client_options_from(u); });
  if (!opts) return 2;
  if (opts->tls) {
    std::cerr << "error: roost record --from speaks plain MQTT only, for now (no mqtts://)\n";
    return 2;
  }
  std::atomic<bool> ended{false};
  const auto client_id = opts->client_id.empty() ? "roost_tap_" + random_hex(8) : opts->client_id;
  mqtt_tap tap(matcher, "roost/tap/" + client_id, ended);
  for (const auto& p : o.patterns) {
    tap.topics.push_back(p);
    // `a/#` covers its replies already (and `#` may only end a filter).
    if (!p.ends_with("#")) tap.topics.push_back(p + std::string(reply_suffix));
  }
  if (o.patterns.empty()) tap.topics.push_back("#");
  tap.topics.push_back(tap.marker);

  mosquitto_lib_init();
  const std::unique_ptr<mosquitto, mosquitto_closer> m(
      mosquitto_new(client_id.c_str(), true, &tap));
  if (!m) {
    std::cerr << "error: cannot make an MQTT client\n";
    mosquitto_lib_cleanup();
    return 4;
  }
  mosquitto_int_option(m.get(), MOSQ_OPT_PROTOCOL_VERSION,
                       opts->protocol_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (!opts->username.empty()) {
    mosquitto_username_pw_set(m.get(), opts->username.c_str(),
                              opts->password.empty() ? nullptr : opts->password.c_str());
  }
  mosquitto_connect_callback_set(m.get(), on_connect);
  mosquitto_subscribe_callback_set(m.get(), on_subscribe);
  mosquitto_disconnect_callback_set(m.get(), on_disconnect);
  mosquitto_message_v5_callback_set(m.get(), on_message);
  int rc = 4;
  if (auto s = mosquitto_connect(m.get(), opts->host.c_str(), opts->port,
                                 opts->keepalive > 0 ? opts->keepalive : 60);
      s != MOSQ_ERR_SUCCESS) {
    std::cerr << "error: cannot connect to " << o.url << ": "
              << (s == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(s)) << "\n";
  } else if (mosquitto_loop_start(m.get()) != MOSQ_ERR_SUCCESS) {
    std::cerr << "error: cannot start the MQTT client's thread\n";
  } else {
    std::unique_lock lock(tap.mutex);
    const auto ready = tap.changed.wait_for(lock, opts->connect_timeout, [&] {
      return !tap.failure.empty() || (tap.connected && tap.subscribed);
    });
    if (!ready || !tap.failure.empty()) {
      std::cerr << "error: cannot connect to " << o.url << ": "
                << (ready ? tap.failure : std::string("no answer from the broker")) << "\n";
    } else {
      lock.unlock();
      std::cerr << who << ": subscribed to";
      for (const auto& t : tap.topics) {
        if (t != tap.marker) std::cerr << " " << t;
      }
      std::cerr << " on " << o.url << std::endl;
      wait_for_stop(ended);
      // Its own message on the marker topic comes back after whatever the broker had
      // forwarded before: every reply published before the stop is then in.
      lock.lock();
      if (tap.failure.empty()) {
        lock.unlock();
        mosquitto_publish(m.get(), nullptr, tap.marker.c_str(), 0, nullptr, 0, false);
        lock.lock();
        tap.changed.wait_for(lock, std::chrono::seconds(2),
                             [&] { return tap.marker_seen || !tap.failure.empty(); });
      }
      rc = tap.failure.empty() ? 0 : 4;
      if (rc != 0) std::cerr << "error: " << o.url << ": " << tap.failure << "\n";
    }
    tap.stopping = true;
  }
  mosquitto_disconnect(m.get());
  mosquitto_loop_stop(m.get(), false);
  matcher.stop();
  mosquitto_lib_cleanup();
  return rc;
}

}  // namespace roost::cli
