#include <roost/redis/detail/resp.hpp>

#include <roost/errors.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstring>

namespace roost::redis::detail {
namespace {

void append_length(std::string& out, char prefix, std::size_t n) {
  char buf[24];
  buf[0] = prefix;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_bulk(std::string& out, std::string_view s) {
  append_length(out, '$', s.size());
  out.append(s);
  out.append("\r\n", 2);
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_length(out, '*', args.size());
  for (auto a : args) append_bulk(out, a);
}

void append_publish(std::string& out, std::string_view channel, std::string_view payload) {
  out.append("*3\r\n$7\r\nPUBLISH\r\n", 17);
  append_bulk(out, channel);
  append_bulk(out, payload);
}

void reply_deleter::operator()(redisReply* r) const noexcept {
  freeReplyObject(r);
}

namespace {

// Refuses arrays over the limit (hiredis then reports an error: the input is not served) and
// leaves the rest to hiredis's own builder, reached through the reader's private data.
void* create_bounded_array(const redisReadTask* task, int elements) {
  if (elements > reader::max_array_elements) return nullptr;
  const auto* defaults = static_cast<const redisReplyObjectFunctions*>(task->privdata);
  return defaults->createArray(task, elements);
}

}  // namespace

reader::reader() : r_(redisReaderCreate()) {
  if (!r_) throw std::bad_alloc();
  functions_ = std::make_unique<redisReplyObjectFunctions>(*r_->fn);
  functions_->createArray = create_bounded_array;
  r_->privdata = r_->fn;  // hiredis's defaults, handed to every read task
  r_->fn = functions_.get();
  // Keep the buffer's memory between messages instead of freeing it whenever it empties
  // (hiredis frees an idle buffer larger than maxbuf).
  r_->maxbuf = 1024 * 1024;
}
reader::~reader() {
  if (r_) redisReaderFree(r_);
}
reader::reader(reader&& o) noexcept
    : r_(std::exchange(o.r_, nullptr)), functions_(std::move(o.functions_)) {}
reader& reader::operator=(reader&& o) noexcept {
  if (this != &o) {
    if (r_) redisReaderFree(r_);
    r_ = std::exchange(o.r_, nullptr);
    functions_ = std::move(o.functions_);
  }
  return *this;
}

void reader::feed(std::string_view bytes) {
  if (!bytes.empty()) redisReaderFeed(r_, bytes.data(), bytes.size());
}

boost::system::result<reply_ptr> reader::next() {
  void* out = nullptr;
  if (redisReaderGetReply(r_, &out) != REDIS_OK) return make_error_code(error::protocol_error);
  return reply_ptr(static_cast<redisReply*>(out));
}

std::string_view text(const redisReply& r) noexcept {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return {r.str, r.len};
    default:
      return {};
  }
}

bool is_error(const redisReply& r) noexcept {
  return r.type == REDIS_REPLY_ERROR;
}

push classify(const redisReply& r) noexcept {
  push p;
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 3) return p;
  for (std::size_t i = 0; i < r.elements; ++i) {
    const auto t = r.element[i]->type;
    if (t != REDIS_REPLY_STRING && !(i == 2 && t == REDIS_REPLY_INTEGER)) return p;
  }
  const std::string_view k = text(*r.element[0]);
  if (r.element[2]->type == REDIS_REPLY_INTEGER) p.count = r.element[2]->integer;
  if (k == "message") {
    p.type = push::kind::message;
    p.channel = text(*r.element[1]);
    p.payload = text(*r.element[2]);
  } else if (k == "pmessage" && r.elements == 4) {
    p.type = push::kind::pmessage;
    p.pattern = text(*r.element[1]);
    p.channel = text(*r.element[2]);
    p.payload = text(*r.element[3]);
  } else if (k == "subscribe") {
    p.type = push::kind::subscribe;
    p.channel = text(*r.element[1]);
  } else if (k == "unsubscribe") {
    p.type = push::kind::unsubscribe;
    p.channel = text(*r.element[1]);
  } else if (k == "psubscribe") {
    p.type = push::kind::psubscribe;
    p.channel = text(*r.element[1]);
  } else if (k == "punsubscribe") {
    p.type = push::kind::punsubscribe;
    p.channel = text(*r.element[1]);
  }
  return p;
}

}  // namespace roost::redis::detail
