#include "load.hpp"

#include <roost/tcp/detail/frame_codec.hpp>

#include <roost/client_proxy.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <bit>
#include <unordered_map>

namespace roost::cli {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

// ---- latency_histogram ----

std::size_t latency_histogram::index_of(std::uint64_t us) noexcept {
  if (us < sub_buckets) return static_cast<std::size_t>(us);
  const int exp = std::bit_width(us) - 1;  // us in [2^exp, 2^(exp+1))
  const int shift = exp - 4;               // 16 = 2^4 sub-buckets per power of two
  const auto sub = static_cast<std::size_t>((us >> shift) - sub_buckets);
  return static_cast<std::size_t>(exp - 3) * sub_buckets + sub;
}

std::uint64_t latency_histogram::upper_of(std::size_t index) noexcept {
  if (index < sub_buckets) return index;
  const auto exp = static_cast<int>(index / sub_buckets) + 3;
  const auto sub = index % sub_buckets;
  const int shift = exp - 4;
  return ((sub_buckets + sub + 1) << shift) - 1;
}

void latency_histogram::add(std::uint64_t us) noexcept {
  const auto i = std::min(index_of(us), counts_.size() - 1);
  ++counts_[i];
  ++count_;
  max_ = std::max(max_, us);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(count_ - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upper_of(i), max_);
  }
  return max_;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> latency_histogram::buckets() const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i]) out.emplace_back(std::min(upper_of(i), max_), counts_[i]);
  }
  return out;
}

namespace {

struct run_state {
  const load_options& opt;
  clock_type::time_point start, stop;
  std::uint64_t issued = 0;
  load_report report;
  bool finished = false;

  // May another request be issued now?
  bool may_issue() const {
    if (opt.requests) return issued < *opt.requests;
    return clock_type::now() < stop;
  }
  void record(clock_type::time_point sent, bool error) {
    ++report.completed;
    if (error) ++report.errors;
    report.latency.add(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent).count()));
  }
};

// ---- plain TCP: the raw framing, no client_proxy in the way ----

// Pulls `"id":"<digits>"` out of a reply without parsing it; an `"err"` key marks an error.
bool reply_id(std::string_view f, std::uint64_t& id, bool& error) {
  error = f.find("\"err\"") != std::string_view::npos;
  auto p = f.rfind("\"id\":\"");
  if (p == std::string_view::npos) return false;
  p += 6;
  id = 0;
  while (p < f.size() && f[p] >= '0' && f[p] <= '9') id = id * 10 + (f[p++] - '0');
  return true;
}

asio::awaitable<void> tcp_connection(run_state& rs, int inflight) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket s(ex);
  asio::ip::tcp::resolver resolver(ex);
  const auto& u = rs.opt.target;
  auto [rec, eps] = co_await resolver.async_resolve(u.host, std::to_string(u.port.value_or(3000)),
                                                    asio::as_tuple(asio::use_awaitable));
  if (rec) {
    rs.report.failure = "cannot resolve " + u.host + ": " + rec.message();
    co_return;
  }
  auto [cec, ep] = co_await asio::async_connect(s, eps, asio::as_tuple(asio::use_awaitable));
  if (cec) {
    rs.report.failure = "cannot connect to " + u.host + ":" +
                        std::to_string(u.port.value_or(3000)) + ": " + cec.message();
    co_return;
  }
  s.set_option(asio::ip::tcp::no_delay(true));

  // The request text is fixed but for its id: encode the parts around the id once, in the
  // NestJS key order (pattern, data, id).
  std::string head = "{\"pattern\":" + detail::to_json(rs.opt.pattern) +
                     ",\"data\":" + detail::to_json(rs.opt.data) + ",\"id\":\"";
  std::unordered_map<std::uint64_t, clock_type::time_point> pending;
  std::string out;
  auto issue = [&] {
    const auto id = ++rs.issued;
    const auto start = tcp::detail::begin_frame(out);
    out += head;
    out += std::to_string(id);
    out += "\"}";
    tcp::detail::end_frame(out, start);
    pending.emplace(id, clock_type::now());
  };
  for (int i = 0; i < inflight && rs.may_issue(); ++i) issue();
  tcp::detail::frame_decoder decoder;
  std::vector<char> buf(256 * 1024);
  std::string sending;
  while (!pending.empty()) {
    if (!out.empty()) {
      sending.swap(out);
      out.clear();
      auto [wec, n] =
          co_await asio::async_write(s, asio::buffer(sending), asio::as_tuple(asio::use_awaitable));
      if (wec) break;
      sending.clear();
    }
    auto [ec, n] =
        co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (!rs.finished) rs.report.failure = "connection lost: " + ec.message();
      break;
    }
    decoder.feed(std::string_view(buf.data(), n));
    for (;;) {
      auto f = decoder.next();
      if (!f) {
        rs.report.failure = "bad frame from the server: " + decoder.error_message();
        co_return;
      }
      if (!*f) break;
      std::uint64_t id;
      bool error;
      if (!reply_id(**f, id, error)) continue;
      auto it = pending.find(id);
      if (it == pending.end()) continue;
      rs.record(it->second, error);
      pending.erase(it);
      if (rs.may_issue()) issue();
    }
  }
  rs.report.errors += pending.size();  // unanswered when the run ended
  boost::system::error_code ignored;
  s.close(ignored);
}

// ---- any transport, through client_proxy ----

asio::awaitable<void> proxy_worker(run_state& rs, client_proxy& client) {
  const call_options opts{.timeout = rs.opt.timeout, .metadata = rs.opt.metadata};
  while (rs.may_issue() && rs.report.failure.empty()) {
    ++rs.issued;
    const auto sent = clock_type::now();
    bool error = false;
    try {
      json::value pattern = rs.opt.pattern, data = rs.opt.data;
      (void)co_await client.send_value(std::move(pattern), std::move(data), opts);
    } catch (const rpc_error&) {
      error = true;
    } catch (const timeout_error&) {
      error = true;
    } catch (const std::exception& e) {
      if (rs.report.failure.empty()) rs.report.failure = e.what();
      co_return;
    }
    rs.record(sent, error);
  }
}

}  // namespace

load_report run_load(const load_options& o, const load_progress& progress) {
  run_state rs{o};  // outlives the io_context and the coroutine frames it destroys
  asio::io_context ioc(1);
  rs.start = clock_type::now();
  rs.stop = rs.start + o.duration;
  const int conns = std::max(1, o.connections);
  const int k = std::max(conns, o.concurrency);
  int running = 0;
  std::vector<std::unique_ptr<client_proxy>> clients;
  asio::steady_timer ticker(ioc);
  auto on_done = [&](std::exception_ptr e) {
    if (e && rs.report.failure.empty()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        rs.report.failure = x.what();
      }
    }
    if (--running == 0) {
      rs.finished = true;
      ticker.cancel();
      for (auto& c : clients) c->close();
    }
  };
  const bool raw_tcp = o.lean_tcp && !o.metadata && o.target.scheme == "tcp" &&
                       !o.target.param("ca") && !o.target.param("cert") && !o.target.param("key") &&
                       !o.target.param("verify");
  for (int c = 0; c < conns; ++c) {
    const int share = k / conns + (c < k % conns ? 1 : 0);
    if (raw_tcp) {
      ++running;
      asio::co_spawn(ioc, tcp_connection(rs, share), on_done);
      continue;
    }
    clients.push_back(std::make_unique<client_proxy>(ioc.get_executor(), o.make_transport()));
    for (int i = 0; i < share; ++i) {
      ++running;
      asio::co_spawn(ioc, proxy_worker(rs, *clients.back()), on_done);
    }
  }
  // Progress once a second; past the end, a server that stopped answering is given up on
  // after the timeout.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          ticker.expires_after(std::chrono::seconds(1));
          auto [ec] = co_await ticker.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec || rs.finished) co_return;
          rs.report.seconds = std::chrono::duration<double>(clock_type::now() - rs.start).count();
          if (progress) progress(rs.report);
          if (!o.requests && clock_type::now() > rs.stop + o.timeout) {
            rs.report.failure = "no reply within " + std::to_string(o.timeout.count()) +
                                " ms after the end of the run";
            ioc.stop();
          }
        }
      },
      asio::detached);
  ioc.run();
  rs.report.seconds = std::chrono::duration<double>(clock_type::now() - rs.start).count();
  return std::move(rs.report);
}

}  // namespace roost::cli
