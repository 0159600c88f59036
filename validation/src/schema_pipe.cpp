#include <roost/validation/schema_pipe.hpp>

#include <utility>

namespace roost::validation {

pipe schema_pipe(json_schema schema) {
  return pipe([schema = std::move(schema)](json::value& payload, context&) {
    auto problems = schema.check(payload);
    if (!problems.empty()) throw payload_rejected(problems);
  });
}

}  // namespace roost::validation
