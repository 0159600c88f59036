#include "credentials.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <utility>
#include <vector>

namespace roost::nats::detail {

namespace {

constexpr std::string_view blanks = " \t\r\n";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

// A frame line ends with three dashes and has three more before them ("-----BEGIN ...-----");
// the same test as nats.c's, so files it reads are read the same here.
bool is_frame(std::string_view line) {
  return line.size() >= 6 && line.ends_with("---") &&
         line.substr(0, line.size() - 3).find("---") != std::string_view::npos;
}

// Overwrites key material before its memory goes back to the allocator; volatile so that the
// stores are not dropped as dead.
void wipe(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Text the library frees with free().
char* c_copy(const std::string& s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

natsStatus sign_nonce(char** error_text, unsigned char** sig, int* sig_len, const char* nonce,
                      void* closure) noexcept {
  *sig = nullptr;
  *sig_len = 0;
  try {
    std::string raw, error;
    const natsStatus s = static_cast<signer*>(closure)->sign(nonce, raw, error);
    if (s != NATS_OK) {
      *error_text = c_copy(error);
      return s;
    }
    if (raw.empty()) return NATS_OK;
    *sig = static_cast<unsigned char*>(std::malloc(raw.size()));
    if (!*sig) return NATS_NO_MEMORY;
    std::memcpy(*sig, raw.data(), raw.size());
    *sig_len = static_cast<int>(raw.size());
    return NATS_OK;
  } catch (const std::bad_alloc&) {
    return NATS_NO_MEMORY;
  }
}

natsStatus fetch_user_jwt(char** jwt, char** error_text, void* closure) noexcept {
  *jwt = nullptr;
  try {
    std::string value, error;
    const natsStatus s = static_cast<const signer*>(closure)->user_jwt(value, error);
    if (s != NATS_OK) {
      *error_text = c_copy(error);
      return s;
    }
    *jwt = c_copy(value);
    return *jwt ? NATS_OK : NATS_NO_MEMORY;
  } catch (const std::bad_alloc&) {
    return NATS_NO_MEMORY;
  }
}

}  // namespace

std::string framed_value(std::string_view content, int index) {
  std::vector<std::string_view> lines;  // blank lines do not count, as in nats.c
  while (!content.empty()) {
    const auto end = content.find('\n');
    const auto line = trim(content.substr(0, end));
    if (!line.empty()) lines.push_back(line);
    content = end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
  }
  int found = 0;
  for (std::size_t i = 0; i + 2 < lines.size(); ++i) {
    if (!is_frame(lines[i]) || !is_frame(lines[i + 2])) continue;
    if (found++ == index) return std::string(lines[i + 1]);
    i += 2;  // the closing line does not open the next frame
  }
  return {};
}

std::string user_seed(std::string_view content, int index) {
  auto seed = framed_value(content, index);
  if (!seed.empty()) return seed;
  while (!content.empty()) {
    const auto end = content.find('\n');
    const auto line = trim(content.substr(0, end));
    if (line.starts_with("SU")) return std::string(line);
    content = end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
  }
  return {};
}

bool library_drops_zero_led_signatures() {
  return nats_GetVersionNumber() < 0x030800;
}

signer::signer(kind k, std::string file, bool refuse_zero_led)
    : kind_(k), file_(std::move(file)), refuse_zero_led_(refuse_zero_led) {}

natsStatus signer::install(natsOptions* o, const std::string& public_key) {
  if (kind_ == kind::nkey) return natsOptions_SetNKey(o, public_key.c_str(), sign_nonce, this);
  return natsOptions_SetUserCredentialsCallbacks(o, fetch_user_jwt, this, sign_nonce, this);
}

natsStatus signer::sign(const char* nonce, std::string& signature, std::string& error) {
  signature.clear();
  if (!nonce || !*nonce) return NATS_OK;
  std::string content;
  if (!read_file(file_, content)) {
    error = "cannot read " + file_;
    return NATS_ERR;
  }
  std::string seed = user_seed(content, kind_ == kind::creds ? 1 : 0);
  wipe(content);
  if (seed.empty()) {
    error = "no user NKey seed in " + file_;
    return NATS_ERR;
  }
  unsigned char* raw = nullptr;
  int n = 0;
  const natsStatus s = nats_Sign(seed.c_str(), nonce, &raw, &n);
  wipe(seed);
  if (s != NATS_OK) {
    natsStatus last = NATS_OK;
    const char* detail = nats_GetLastError(&last);
    error = "cannot sign with the NKey seed in " + file_ + ": " + natsStatus_GetText(s) +
            (detail && *detail ? std::string(" (") + detail + ")" : std::string());
    return s;
  }
  signature.assign(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(n));
  std::free(raw);
  if (refuse_zero_led_ && !signature.empty() && signature[0] == '\0') {
    signature.clear();
    ++refused_;
    error =
        "the nonce's signature begins with a zero byte, which this nats.c would drop (fixed in "
        "3.8.0); a new connection brings a new nonce";
    return NATS_ERR;
  }
  return NATS_OK;
}

natsStatus signer::user_jwt(std::string& jwt, std::string& error) const {
  std::string content;
  if (!read_file(file_, content)) {
    error = "cannot read " + file_;
    return NATS_ERR;
  }
  jwt = framed_value(content, 0);
  // A file with the JWT alone, unframed, is read whole (as nats.c does).
  if (jwt.empty()) jwt = std::string(trim(content));
  wipe(content);
  if (jwt.empty()) {
    error = "no user JWT in " + file_;
    return NATS_ERR;
  }
  return NATS_OK;
}

}  // namespace roost::nats::detail
