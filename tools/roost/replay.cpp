// `roost replay`: sends a recording's requests and events to a service and compares its replies
// with the recorded ones.

#include "compare.hpp"
#include "migrate.hpp"

#include <roost/client_proxy.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <fstream>
#include <iostream>

namespace roost::cli {

namespace asio = boost::asio;

namespace {

struct recorded {
  std::size_t line = 0;
  bool event = false;
  json::value pattern, data;
  std::optional<json::object> metadata;
  outcome expected;
};

// The messages of a recording, or a usage error naming the line.
std::vector<recorded> read_recording(const std::string& file, std::size_t& skipped) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + file);
  std::vector<recorded> out;
  std::string text;
  std::size_t n = 0;
  while (std::getline(in, text)) {
    ++n;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* kind = o ? o->if_contains("kind") : nullptr;
    if (!kind || !kind->is_string()) {
      throw std::invalid_argument(file + ":" + std::to_string(n) +
                                  ": not a line of a recording (a JSON object with a kind)");
    }
    if (*kind == "note") continue;
    const auto* pattern = o->if_contains("pattern");
    if ((*kind != "request" && *kind != "event") || !pattern) {
      throw std::invalid_argument(file + ":" + std::to_string(n) + ": unknown kind " +
                                  detail::to_json(*kind) + " or no pattern");
    }
    recorded r;
    r.line = n;
    r.event = *kind == "event";
    r.pattern = *pattern;
    if (const auto* d = o->if_contains("data")) r.data = *d;
    if (const auto* m = o->if_contains("metadata"); m && m->is_object()) {
      r.metadata = m->get_object();
    }
    if (!r.event) {
      if (const auto* a = o->if_contains("answered"); a && *a == false) {
        ++skipped;  // cut by its connection closing: nothing to compare with
        continue;
      }
      if (const auto* rs = o->if_contains("replies"); rs && rs->is_array()) {
        r.expected.replies = rs->get_array();
      }
      if (const auto* e = o->if_contains("error")) r.expected.error = *e;
    }
    out.push_back(std::move(r));
  }
  return out;
}

struct replay_run {
  const replay_options& opt;
  compare_rules rules;
  std::vector<recorded> messages;
  std::vector<std::vector<difference>> found;  // per message
  std::size_t next = 0;
  std::chrono::steady_clock::time_point next_slot = std::chrono::steady_clock::now();
  std::string fatal;
};

asio::awaitable<outcome> call(client_proxy& client, const recorded& r, call_options opts) {
  outcome got;
  auto s = client.stream_values(r.pattern, r.data, std::move(opts));
  try {
    for (;;) {
      auto v = co_await s.next();
      if (!v) break;
      got.replies.push_back(std::move(*v));
    }
  } catch (const rpc_error& e) {
    got.error = e.error();
  }
  co_return got;
}

asio::awaitable<void> worker(replay_run& run, client_proxy& client) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer pace(ex);
  while (run.next < run.messages.size() && run.fatal.empty()) {
    const auto i = run.next++;
    const auto& r = run.messages[i];
    if (run.opt.rate > 0) {
      const auto now = std::chrono::steady_clock::now();
      const auto slot = std::max(now, run.next_slot);
      run.next_slot = slot + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(1.0 / run.opt.rate));
      pace.expires_at(slot);
      co_await pace.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    call_options opts{.timeout = run.opt.timeout, .metadata = metadata_to_resend(r.metadata)};
    try {
      if (r.event) {
        co_await client.emit_value(r.pattern, r.data, std::move(opts));
        continue;
      }
      auto got = co_await call(client, r, std::move(opts));
      run.rules.compare(r.expected, got, run.found[i]);
    } catch (const timeout_error&) {
      run.found[i].push_back(
          {"reply", "a reply", "none within " + std::to_string(run.opt.timeout.count()) + " ms"});
    } catch (const std::exception& e) {
      if (run.fatal.empty()) run.fatal = e.what();
    }
  }
}

}  // namespace

int run_replay(const replay_options& o) {
  std::size_t skipped = 0;
  std::optional<replay_run> run;
  try {
    compare_rules rules(o.ignore, o.loose);
    auto messages = read_recording(o.file, skipped);
    run.emplace(replay_run{o, std::move(rules), std::move(messages)});
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  run->found.resize(run->messages.size());
  asio::io_context ioc(1);
  auto client = std::make_unique<client_proxy>(ioc.get_executor(), o.make_transport());
  int running = std::max(1, o.concurrency);
  const int workers = running;
  for (int k = 0; k < workers; ++k) {
    asio::co_spawn(ioc, worker(*run, *client), [&](std::exception_ptr e) {
      if (e && run->fatal.empty()) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          run->fatal = x.what();
        }
      }
      if (--running == 0) client->close();
    });
  }
  ioc.run();
  std::size_t requests = 0, events = 0, differ = 0;
  for (std::size_t i = 0; i < run->messages.size() && i < run->next; ++i) {
    const auto& r = run->messages[i];
    (r.event ? events : requests)++;
    if (run->found[i].empty()) continue;
    ++differ;
    std::cout << o.file << ":" << r.line << ": request " << short_json(r.pattern) << " "
              << short_json(r.data, 80) << "\n";
    for (const auto& d : run->found[i]) {
      std::cout << "  " << d.where << ": expected " << d.expected << ", got " << d.got << "\n";
    }
  }
  if (!run->fatal.empty()) {
    std::cerr << "error: " << run->fatal << "\n";
    return 4;
  }
  std::cout << "replayed " << requests << " requests and " << events
            << " events: " << (requests - differ) << " same, " << differ << " differ";
  if (skipped) std::cout << ", " << skipped << " skipped (unanswered when recorded)";
  std::cout << std::endl;
  return differ ? 1 : 0;
}

}  // namespace roost::cli
