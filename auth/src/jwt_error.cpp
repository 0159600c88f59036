#include <roost/auth/jwt_error.hpp>

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace roost::auth {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "roost.jwt"; }
  std::string message(int ev) const override {
    switch (static_cast<jwt_error>(ev)) {
      case jwt_error::malformed:
        return "malformed token";
      case jwt_error::algorithm_not_allowed:
        return "algorithm not allowed";
      case jwt_error::unknown_key:
        return "unknown key";
      case jwt_error::key_mismatch:
        return "key does not fit the algorithm";
      case jwt_error::bad_signature:
        return "bad signature";
      case jwt_error::expired:
        return "token expired";
      case jwt_error::not_yet_valid:
        return "token not yet valid";
      case jwt_error::issued_in_future:
        return "token issued in the future";
      case jwt_error::wrong_issuer:
        return "wrong issuer";
      case jwt_error::wrong_audience:
        return "wrong audience";
      case jwt_error::missing_claim:
        return "missing claim";
      case jwt_error::invalid_key:
        return "invalid key";
    }
    return "unknown jwt error";
  }
};

}  // namespace

const boost::system::error_category& jwt_category() noexcept {
  // A category must have one address for the life of the program; this constant object holds
  // no state.
  static const category instance;
  return instance;
}

std::string jwt_failure::message() const {
  std::string m = jwt_category().message(static_cast<int>(code));
  if (!detail.empty()) m += ": " + detail;
  return m;
}

void throw_exception_from_error(const jwt_failure& f, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(f.code), f.detail), loc);
}

}  // namespace roost::auth
