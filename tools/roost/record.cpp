// `roost record`: the tcp_tap writing one JSON line per exchange.

#include "migrate.hpp"

#include <roost/deadline.hpp>
#include <roost/detail/json_writer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

namespace roost::cli {

namespace asio = boost::asio;

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms % 1000));
  return text;
}

std::int64_t micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

json::object recording_line(const exchange& x, std::chrono::steady_clock::time_point start) {
  json::object o;
  o["kind"] = x.is_event() ? "event" : "request";
  o["pattern"] = x.pattern;
  o["data"] = x.data;
  if (x.metadata) o["metadata"] = *x.metadata;
  if (!x.is_event()) {
    o["id"] = *x.id;
    o["replies"] = x.replies;
    if (x.error) o["error"] = *x.error;
    if (!x.answered) o["answered"] = false;
  }
  o["at"] = iso_time(x.wall);
  o["t_ms"] = micros(x.sent - start) / 1000;
  if (x.connection) o["connection"] = x.connection;
  if (!x.channel.empty()) o["channel"] = x.channel;
  if (!x.is_event() && x.answered) {
    if (!x.replies.empty() || x.error) o["first_us"] = micros(x.first_reply - x.sent);
    o["took_us"] = micros(x.done - x.sent);
  }
  return o;
}

std::optional<json::object> metadata_to_resend(const std::optional<json::object>& recorded) {
  if (!recorded) return std::nullopt;
  auto m = *recorded;
  m.erase(deadline_header);
  if (m.empty()) return std::nullopt;
  return m;
}

recording_out::recording_out(const std::string& path) : out_(&std::cout) {
  if (path == "-") return;
  file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  out_ = file_.get();
  if (!*out_) std::cerr << "error: cannot write " << path << "\n";
}

void recording_out::done(const exchange& x) {
  (x.is_event() ? events_ : requests_)++;
  *out_ << detail::to_json(recording_line(x, start_)) << '\n' << std::flush;
}

void recording_out::note(const std::string& what) {
  ++notes_;
  std::cerr << "roost record: " << what << "\n";
  json::object line{{"kind", "note"}, {"at", iso_time(std::chrono::system_clock::now())}};
  line["text"] = what;
  *out_ << detail::to_json(line) << '\n' << std::flush;
}

void recording_out::summary() const {
  std::cerr << "roost record: " << requests_ << " requests and " << events_ << " events recorded"
            << (notes_ ? ", " + std::to_string(notes_) + " notes" : std::string()) << "\n";
}

int run_record(const record_options& o) {
  recording_out out(o.out);
  if (!out.ok()) return 2;
  asio::io_context ioc(1);
  tap_handlers h;
  h.on_done = [&](exchange&& x) { out.done(x); };
  h.on_note = [&](const std::string& what) { out.note(what); };
  std::unique_ptr<tcp_tap> tap;
  try {
    tap = std::make_unique<tcp_tap>(ioc.get_executor(), o.tap, std::move(h));
  } catch (const std::exception& e) {
    std::cerr << "error: cannot listen on " << o.tap.listen_host << ":" << o.tap.listen_port << ": "
              << e.what() << "\n";
    return 4;
  }
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) tap->stop();
  });
  std::cerr << "roost record: listening on " << o.tap.listen_host << ":" << tap->port()
            << ", forwarding to " << o.tap.target_host << ":" << o.tap.target_port
            << ", recording to " << o.out << std::endl;
  ioc.run();
  out.summary();
  return out.ok() ? 0 : 4;
}

}  // namespace roost::cli
