// `roost shadow`: the tcp_tap to the primary, answering its callers with the primary's replies
// alone, or a broker tap beside it (--from: the callers never meet the shadow), and a copy of
// each message to the candidate, whose replies are compared.

#include "broker_tap.hpp"
#include "compare.hpp"
#include "load.hpp"
#include "migrate.hpp"

#include <roost/client_proxy.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>

namespace roost::cli {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// A request whose two outcomes are awaited; compared when both came. The candidate's half is
// written on the candidate's thread, then handed back to the proxy's with a post.
struct copy {
  exchange primary;
  bool primary_done = false;
  outcome candidate;
  std::string candidate_failure;
  bool candidate_done = false;
  std::uint64_t candidate_us = 0;
};

std::uint64_t micros(steady::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// The candidate's side, on its own thread: however slow it is, the proxy's thread only posts.
struct candidate_side {
  std::unique_ptr<client_proxy> client;
  std::chrono::milliseconds timeout;
  // After a connection failure the candidate is left alone for a second: a dead candidate
  // costs one connection attempt a second, not one per request.
  steady::time_point down_until{};
  std::string down_because;

  // Empty when the candidate may be called; else why not.
  std::string unavailable() const {
    if (steady::now() < down_until) return down_because + " (not retried for 1 s)";
    return {};
  }
  void failed(const std::exception& e) {
    if (dynamic_cast<const connection_error*>(&e)) {
      down_until = steady::now() + std::chrono::seconds(1);
      down_because = e.what();
    }
  }
};

asio::awaitable<void> ask_candidate(candidate_side& side, std::shared_ptr<copy> c, exchange x) {
  if (auto why = side.unavailable(); !why.empty()) {
    c->candidate_failure = std::move(why);
    co_return;
  }
  call_options opts{.timeout = side.timeout, .metadata = metadata_to_resend(x.metadata)};
  const auto sent = steady::now();
  try {
    auto s = side.client->stream_values(std::move(x.pattern), std::move(x.data), opts);
    try {
      for (;;) {
        auto v = co_await s.next();
        if (!v) break;
        c->candidate.replies.push_back(std::move(*v));
      }
    } catch (const rpc_error& e) {
      c->candidate.error = e.error();
    }
    c->candidate_us = micros(steady::now() - sent);
  } catch (const std::exception& e) {
    c->candidate_failure = e.what();
    side.failed(e);
  }
}

// An event's copy: the reason it failed, or nothing.
asio::awaitable<std::string> tell_candidate(candidate_side& side, exchange x) {
  if (auto why = side.unavailable(); !why.empty()) co_return why;
  call_options opts{.timeout = side.timeout, .metadata = metadata_to_resend(x.metadata)};
  try {
    co_await side.client->emit_value(std::move(x.pattern), std::move(x.data), opts);
  } catch (const std::exception& e) {
    side.failed(e);
    co_return e.what();
  }
  co_return std::string();
}

struct shadow_run {
  const shadow_options& opt;
  compare_rules rules;
  // By connection (TCP), where the replies go (brokers) and the id.
  std::map<std::tuple<std::uint64_t, std::string, std::string>, std::shared_ptr<copy>> copies;
  std::size_t in_flight = 0;
  bool stopping = false;
  std::uint64_t requests = 0, events = 0, compared = 0, differ = 0, dropped = 0, failed = 0;
  std::string last_failure;
  latency_histogram primary_latency, candidate_latency;

  void candidate_failed(const std::string& why) {
    if (stopping) return;
    // Logged when it changes, not once per request: a dead candidate would flood the log.
    if (++failed == 1 || why != last_failure) {
      std::cerr << "roost shadow: the candidate failed: " << why
                << " (counted; the primary's callers are not affected)\n";
      last_failure = why;
    }
  }

  void compare_both(const copy& c) {
    if (!c.primary.answered) return;  // the caller's connection closed first
    if (!c.candidate_failure.empty()) {
      candidate_failed(c.candidate_failure);
      return;
    }
    candidate_latency.add(c.candidate_us);
    ++compared;
    outcome primary{c.primary.replies, c.primary.error};
    std::vector<difference> found;
    rules.compare(primary, c.candidate, found);
    if (found.empty()) return;
    ++differ;
    std::cerr << "roost shadow: differs: request " << short_json(c.primary.pattern) << " "
              << short_json(c.primary.data, 80) << "\n";
    for (const auto& d : found) {
      std::cerr << "  " << d.where << ": primary " << d.expected << ", candidate " << d.got << "\n";
    }
  }

  void print_summary() const {
    std::fprintf(stderr,
                 "roost shadow: %llu requests and %llu events; %llu compared, %llu differ, %llu "
                 "dropped, %llu candidate failures; primary p50 %llu us p99 %llu us, candidate "
                 "p50 %llu us p99 %llu us\n",
                 static_cast<unsigned long long>(requests), static_cast<unsigned long long>(events),
                 static_cast<unsigned long long>(compared), static_cast<unsigned long long>(differ),
                 static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(failed),
                 static_cast<unsigned long long>(primary_latency.percentile(50)),
                 static_cast<unsigned long long>(primary_latency.percentile(99)),
                 static_cast<unsigned long long>(candidate_latency.percentile(50)),
                 static_cast<unsigned long long>(candidate_latency.percentile(99)));
  }
};

// The candidate's copy: its string pattern renamed by the first --rename that fits.
exchange for_candidate(const exchange& x,
                       const std::vector<std::pair<std::string, std::string>>& rename) {
  exchange c = x;
  if (const auto* p = x.pattern.if_string()) {
    for (const auto& [from, to] : rename) {
      if (!p->starts_with(from)) continue;
      c.pattern = json::string(to + std::string(p->subview(from.size())));
      break;
    }
  }
  return c;
}

// The summary every `every` while its counts change, on `ioc`'s thread.
asio::awaitable<void> report(shadow_run& r, asio::steady_timer& ticker,
                             std::chrono::milliseconds every) {
  std::uint64_t seen = 0;
  for (;;) {
    ticker.expires_after(every);
    auto [ec] = co_await ticker.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || r.stopping) co_return;
    // Again when anything counted changed: a comparison finishes after its request was seen.
    const auto now = r.requests + r.events + r.compared + r.dropped + r.failed;
    if (now == seen) continue;
    seen = now;
    r.print_summary();
  }
}

}  // namespace

int run_shadow(const shadow_options& o) {
  // Beside a broker, the signals are awaited by this thread alone (the client libraries' and
  // ours must not take them): blocked before any thread starts.
  if (o.from) block_stop_signals();
  std::optional<shadow_run> run;
  try {
    run.emplace(shadow_run{o, compare_rules(o.ignore, o.loose)});
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  auto& r = *run;
  asio::io_context ioc(1), candidate_ioc(1);
  candidate_side side{
      std::make_unique<client_proxy>(candidate_ioc.get_executor(), o.make_candidate()), o.timeout};
  auto keep = asio::make_work_guard(candidate_ioc);
  std::thread candidate_thread([&] { candidate_ioc.run(); });
  auto stop_candidate = [&] {
    asio::post(candidate_ioc, [&] { side.client->close(); });
    keep.reset();
    if (candidate_thread.joinable()) candidate_thread.join();
  };

  tap_handlers h;
  h.on_sent = [&](const exchange& seen) {
    (seen.is_event() ? r.events : r.requests)++;
    if (r.in_flight >= o.queue) {
      ++r.dropped;
      return;
    }
    ++r.in_flight;
    auto x = for_candidate(seen, o.rename);
    if (x.is_event()) {
      asio::co_spawn(candidate_ioc, tell_candidate(side, x),
                     [&](std::exception_ptr, std::string why) {
                       asio::post(ioc, [&r, why = std::move(why)] {
                         --r.in_flight;
                         if (!why.empty()) r.candidate_failed(why);
                       });
                     });
      return;
    }
    auto c = std::make_shared<copy>();
    auto key = std::tuple{x.connection, x.reply_to, detail::to_json(*x.id)};
    r.copies[key] = c;
    asio::co_spawn(candidate_ioc, ask_candidate(side, c, std::move(x)),
                   [&, c, key](std::exception_ptr) {
                     asio::post(ioc, [&r, c, key] {
                       --r.in_flight;
                       c->candidate_done = true;
                       if (!c->primary_done || r.stopping) return;
                       r.compare_both(*c);
                       r.copies.erase(key);
                     });
                   });
  };
  h.on_done = [&](exchange&& x) {
    if (x.is_event()) return;
    if (x.answered) r.primary_latency.add(micros(x.done - x.sent));
    auto it = r.copies.find({x.connection, x.reply_to, detail::to_json(*x.id)});
    if (it == r.copies.end()) return;  // dropped
    auto c = it->second;
    c->primary = std::move(x);
    c->primary_done = true;
    if (!c->candidate_done) return;
    r.compare_both(*c);
    r.copies.erase(it);
  };
  h.on_note = [](const std::string& what) { std::cerr << "roost shadow: " << what << "\n"; };
  asio::steady_timer ticker(ioc);
  if (o.from) {
    // The broker's client calls from threads of its own: everything goes to `ioc`'s thread,
    // in order.
    tap_handlers posted;
    posted.on_sent = [&](const exchange& x) { asio::post(ioc, [&h, x] { h.on_sent(x); }); };
    posted.on_done = [&](exchange&& x) {
      asio::post(ioc, [&h, x = std::move(x)]() mutable { h.on_done(std::move(x)); });
    };
    posted.on_note = [&](const std::string& what) {
      asio::post(ioc, [&h, what] { h.on_note(what); });
    };
    reply_matcher matcher(std::move(posted));
    auto work = asio::make_work_guard(ioc);
    asio::co_spawn(ioc, report(r, ticker, o.report_every), asio::detached);
    std::thread proxy_thread([&] { ioc.run(); });
    const int rc = run_broker_tap(*o.from, matcher, "roost shadow");
    asio::post(ioc, [&] {
      r.stopping = true;
      ticker.cancel();
    });
    work.reset();
    proxy_thread.join();
    stop_candidate();
    r.print_summary();
    return rc;
  }
  std::unique_ptr<tcp_tap> tap;
  try {
    tap = std::make_unique<tcp_tap>(ioc.get_executor(), o.tap, std::move(h));
  } catch (const std::exception& e) {
    std::cerr << "error: cannot listen on " << o.tap.listen_host << ":" << o.tap.listen_port << ": "
              << e.what() << "\n";
    stop_candidate();
    return 4;
  }
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    r.stopping = true;
    tap->stop();
    ticker.cancel();
  });
  asio::co_spawn(ioc, report(r, ticker, o.report_every), asio::detached);
  std::cerr << "roost shadow: listening on " << o.tap.listen_host << ":" << tap->port()
            << ", primary " << o.tap.target_host << ":" << o.tap.target_port << std::endl;
  ioc.run();
  stop_candidate();
  r.print_summary();
  return 0;
}

}  // namespace roost::cli
