#include <roost/detail/payload.hpp>

namespace roost::detail {

void prepend_path(payload_problem& p, std::string_view segment, bool index) {
  std::string head = index ? "[" + std::string(segment) + "]" : std::string(segment);
  if (!p.path.empty() && p.path.front() != '[') head += '.';
  p.path.insert(0, head);
}

std::string_view expected_kind(bool is_bool, bool is_number, bool is_string, bool is_sequence) {
  if (is_bool) return "a boolean";
  if (is_number) return "a number in range";
  if (is_string) return "a string";
  if (is_sequence) return "an array or object of the right shape";
  return "a value of the handler's type";
}

}  // namespace roost::detail

#include <roost/detail/handler.hpp>
#include <roost/enhancers.hpp>

namespace roost::detail {

void throw_payload_problem(const payload_problem& p) {
  // A payload_rejected, as a pipe's refusal: the same message, and metrics count both alike.
  std::string m = p.path.empty() ? std::string("the data") : "field '" + p.path + "'";
  m += " must be ";
  m += p.expected;
  throw payload_rejected({std::move(m)});
}

void throw_wrong_context(const context& ctx) {
  throw std::logic_error("handler expects another transport's context; this message came over " +
                         std::string(ctx.transport()));
}

}  // namespace roost::detail
