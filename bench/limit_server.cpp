// The "limit" server: the fastest server for the benchmark's one request (`sum` of an array of
// numbers over the NestJS TCP framing, `<length>#<JSON>`) that can be written by hand, and the
// ceiling roost's TCP server is measured against. One thread, like the benchmark's roost server,
// on raw epoll and non-blocking sockets (no framework, no coroutines, no allocation per request);
// the request is scanned, not parsed into a document: the pattern is compared, the numbers of
// `data` are added as they are read and the `id` token is copied into the reply as it came.
// Replies leave the way roost's do: a read's replies are written every 32 frames
// (roost::detail::replies_per_part), so the peer works on the first ones while the rest are
// served, and the rest with one write at the end of the read. It then reads again at once and
// waits (epoll) only when the socket has nothing.
// It handles what this request needs and no more: ASCII bodies (a length counts bytes, as it
// counts characters in NestJS for ASCII), an array of plain numbers as `data`, a string or
// number id; anything else gets an error reply, which the load generators count as a failure.
//   limit_server PORT        (prints READY <port>)

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr std::size_t read_size = 64 * 1024;
constexpr std::size_t replies_per_part = 32;  // as roost::detail::replies_per_part

struct connection {
  int fd;
  std::string in;   // the start of a frame that has not all arrived
  std::string out;  // replies not yet taken by the socket
  bool waiting_to_write = false;
};

// Skips spaces, tabs and line breaks.
const char* skip_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

// Adds up the numbers of the JSON array at p (just after the '['); returns the end of the
// array (after the ']'), or nullptr if it is not an array of plain numbers.
const char* sum_array(const char* p, const char* end, double& sum) {
  sum = 0;
  p = skip_ws(p, end);
  if (p < end && *p == ']') return p + 1;
  for (;;) {
    p = skip_ws(p, end);
    // Small integers, the common case, without from_chars's generality.
    const char* q = p;
    bool negative = q < end && *q == '-';
    if (negative) ++q;
    long long n = 0;
    const char* digits = q;
    while (q < end && *q >= '0' && *q <= '9' && q - digits < 15) n = n * 10 + (*q++ - '0');
    if (q > digits && q < end && (*q == ',' || *q == ']' || *q == ' ')) {
      sum += static_cast<double>(negative ? -n : n);
      p = q;
    } else {
      double x;
      const auto r = std::from_chars(p, end, x);
      if (r.ec != std::errc()) return nullptr;
      sum += x;
      p = r.ptr;
    }
    p = skip_ws(p, end);
    if (p >= end) return nullptr;
    if (*p == ']') return p + 1;
    if (*p++ != ',') return nullptr;
  }
}

// The value token (a string without escapes, or a number) at p, or an empty view.
std::string_view id_token(const char* p, const char* end) {
  p = skip_ws(p, end);
  if (p >= end) return {};
  const char* q = p;
  if (*q == '"') {
    ++q;
    while (q < end && *q != '"' && *q != '\\') ++q;
    if (q >= end || *q != '"') return {};
    return {p, static_cast<std::size_t>(q + 1 - p)};
  }
  while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '.' || *q == 'e' || *q == 'E' ||
                     *q == '+'))
    ++q;
  return {p, static_cast<std::size_t>(q - p)};
}

// Appends `<length>#<reply>` for one request body to out.
void serve(std::string_view body, std::string& out) {
  const char* b = body.data();
  const char* end = b + body.size();
  static constexpr std::string_view pattern_key = "\"pattern\":", data_key = "\"data\":",
                                    id_key = "\"id\":";
  const auto pat = body.find(pattern_key);
  const auto dat = body.find(data_key);
  double sum = 0;
  const char* data_end = nullptr;
  bool ok = pat != std::string_view::npos && dat != std::string_view::npos;
  if (ok) {
    const char* p = skip_ws(b + pat + pattern_key.size(), end);
    ok = end - p >= 5 && std::memcmp(p, "\"sum\"", 5) == 0;
  }
  if (ok) {
    const char* p = skip_ws(b + dat + data_key.size(), end);
    data_end = p < end && *p == '[' ? sum_array(p + 1, end, sum) : nullptr;
    ok = data_end != nullptr;
  }
  // The id is looked for after `data` (where NestJS's clients put it), then before it.
  auto idk =
      data_end ? body.find(id_key, static_cast<std::size_t>(data_end - b)) : std::string_view::npos;
  if (idk == std::string_view::npos) {
    idk = body.find(id_key);
    if (data_end && idk != std::string_view::npos && idk > dat) idk = std::string_view::npos;
  }
  if (idk == std::string_view::npos) return;  // an event: no reply
  const auto id = id_token(b + idk + id_key.size(), end);
  if (id.empty()) return;

  char value[64];
  std::size_t value_len;
  if (!ok) {
    static constexpr std::string_view err = "\"unsupported request\"";
    std::memcpy(value, err.data(), err.size());
    value_len = err.size();
  } else if (sum == static_cast<double>(static_cast<long long>(sum)) && sum < 1e15 && sum > -1e15) {
    value_len = static_cast<std::size_t>(
        std::to_chars(value, value + sizeof value, static_cast<long long>(sum)).ptr - value);
  } else {
    value_len =
        static_cast<std::size_t>(std::to_chars(value, value + sizeof value, sum).ptr - value);
  }
  const std::string_view head = ok ? "{\"response\":" : "{\"err\":";
  static constexpr std::string_view mid = ",\"isDisposed\":true,\"id\":";
  const std::size_t len = head.size() + value_len + mid.size() + id.size() + 1;
  char prefix[24];
  const auto pe = std::to_chars(prefix, prefix + sizeof prefix, len).ptr;
  *pe = '#';
  const std::size_t at = out.size();
  const std::size_t prefix_len = static_cast<std::size_t>(pe + 1 - prefix);
  out.resize(at + prefix_len + len);
  char* w = out.data() + at;
  std::memcpy(w, prefix, prefix_len);
  w += prefix_len;
  std::memcpy(w, head.data(), head.size());
  w += head.size();
  std::memcpy(w, value, value_len);
  w += value_len;
  std::memcpy(w, mid.data(), mid.size());
  w += mid.size();
  std::memcpy(w, id.data(), id.size());
  w += id.size();
  *w = '}';
}

class server {
 public:
  server(int epoll_fd, int listen_fd) : ep_(epoll_fd), listener_(listen_fd) {}

  void on_listener() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<connection>(connection{fd, {}, {}, false});
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      conns_.emplace(fd, std::move(c));
    }
  }

  void on_event(int fd, std::uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    connection& c = *it->second;
    if (events & (EPOLLERR | EPOLLHUP)) return close(c);
    if (c.waiting_to_write) {
      if (!flush(c)) return close(c);
      if (!c.out.empty()) return;  // still full: reading waits, so memory stays bounded
      c.waiting_to_write = false;
      watch(c, EPOLLIN);
    }
    read_and_serve(c);
  }

 private:
  // Reads and serves until the socket has nothing more (or cannot take the replies).
  void read_and_serve(connection& c) {
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf_.get(), read_size, 0);
      if (n == 0) return close(c);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        return close(c);
      }
      bool fine;
      if (c.in.empty()) {
        fine = serve_frames(c, std::string_view(buf_.get(), static_cast<std::size_t>(n)));
      } else {
        c.in.append(buf_.get(), static_cast<std::size_t>(n));
        std::string pending;
        pending.swap(c.in);
        fine = serve_frames(c, pending);
      }
      if (!fine || !flush(c)) return close(c);
      if (!c.out.empty()) {
        c.waiting_to_write = true;
        watch(c, EPOLLOUT);
        return;
      }
    }
  }

  // Serves the complete frames of data, keeps an incomplete last one in c.in; false on a
  // malformed frame.
  bool serve_frames(connection& c, std::string_view data) {
    std::size_t pos = 0, served = 0;
    for (;;) {
      std::size_t len = 0, p = pos;
      while (p < data.size() && data[p] >= '0' && data[p] <= '9' && p - pos < 10)
        len = len * 10 + static_cast<std::size_t>(data[p++] - '0');
      if (p >= data.size()) break;  // the length is not all here yet
      if (data[p] != '#' || p == pos) return false;
      if (data.size() - (p + 1) < len) break;  // nor the body
      serve(data.substr(p + 1, len), c.out);
      pos = p + 1 + len;
      if (++served % replies_per_part == 0 && !flush(c)) return false;
    }
    c.in.assign(data.substr(pos));
    return true;
  }

  // Writes what the socket takes of c.out; false when the connection failed.
  bool flush(connection& c) {
    std::size_t done = 0;
    while (done < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + done, c.out.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    c.out.erase(0, done);
    return true;
  }

  void watch(connection& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c.fd;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void close(connection& c) {
    const int fd = c.fd;
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
  }

  int ep_, listener_;
  std::unordered_map<int, std::unique_ptr<connection>> conns_;
  std::unique_ptr<char[]> buf_{new char[read_size]};  // shared: serving never waits
};

}  // namespace

int main(int argc, char** argv) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0));
  socklen_t alen = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, 1024) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) {
    std::perror("limit_server");
    return 1;
  }
  // SIGINT and SIGTERM end the loop through a signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {lfd, sfd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::printf("READY %u\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  server s(ep, lfd);
  epoll_event events[64];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == sfd) return 0;
      if (fd == lfd)
        s.on_listener();
      else
        s.on_event(fd, events[i].events);
    }
  }
}
