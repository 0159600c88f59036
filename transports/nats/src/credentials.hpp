#pragma once
// NKey and .creds authentication: roost signs the server's nonce itself, through the signature
// callbacks of nats.c, instead of handing the key files to the library.
//
// nats.c before 3.8.0 (3.4.1 is what we build against) base64-encodes the raw signature with a
// function that returns nothing when the first input byte is zero: it tests `src[0] == '\0'`
// as if the bytes were a C string. One Ed25519 signature in 256 begins with a zero byte; the
// library then sends CONNECT without a signature and the server answers "Authorization
// Violation". The server's nonce is new on every connection, so any key fails one connection
// in 256 at random (measured: 28 of 6,000 connections, 20 each with 300 random keys; no key
// failed more than twice). Ed25519 signatures are deterministic, so that nonce cannot be signed
// differently: the signer refuses such a signature, which fails the attempt before anything is
// sent, and the next connection brings a new nonce. connection::open() retries at once when a
// refusal failed the attempt; the library's reconnect loop just moves on to its next attempt.

#include <nats/nats.h>

#include <atomic>
#include <string>
#include <string_view>

namespace roost::nats::detail {

/// The `index`th value (0: the user JWT, 1: the NKey seed) framed by lines of dashes in a
/// decorated credentials file (`-----BEGIN NATS USER JWT-----`, the value, `------END NATS USER
/// JWT------`), read as nats.c reads it; empty when there is none.
std::string framed_value(std::string_view content, int index);

/// The user NKey seed in `content`: framed value `index`, else the first line that starts with
/// `SU` (a bare seed file); empty when there is none.
std::string user_seed(std::string_view content, int index);

/// True when the nats.c in use drops a signature that begins with a zero byte (before 3.8.0).
bool library_drops_zero_led_signatures();

/// Signs the server's nonce for one connection's NKey or .creds authentication. The library
/// calls it on every connect and reconnect, on its own threads: it must outlive every
/// connection made with the options it was installed on.
class signer {
 public:
  enum class kind { nkey, creds };

  /// `file`: the NKey seed file (kind::nkey) or the .creds file; read at every signature, as
  /// nats.c does, so a rotated file counts from the next reconnect. `refuse_zero_led`: refuse
  /// signatures whose first byte is zero (see the top of this file).
  signer(kind k, std::string file, bool refuse_zero_led = library_drops_zero_led_signatures());

  /// kind::nkey: sets `public_key` and the signature callback on `o`; kind::creds: the user
  /// JWT callback and the signature callback (`public_key` unused).
  natsStatus install(natsOptions* o, const std::string& public_key);

  /// Signs `nonce` into `signature` (raw, 64 bytes) or says why not in `error`. A null or
  /// empty nonce (the server asked for no signature) gives an empty signature. Thread-safe.
  natsStatus sign(const char* nonce, std::string& signature, std::string& error);

  /// The user JWT of the .creds file, or why not in `error`.
  natsStatus user_jwt(std::string& jwt, std::string& error) const;

  /// Signatures refused so far: a connection attempt that failed while this grew failed for
  /// that reason alone and may be retried.
  unsigned refused() const { return refused_.load(); }

 private:
  kind kind_;
  std::string file_;
  bool refuse_zero_led_;
  std::atomic<unsigned> refused_{0};
};

}  // namespace roost::nats::detail
