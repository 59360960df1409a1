// The JSON Schema validator (gateway/policy/json_schema.h): a schema a
// tenant deploys, and the bodies anyone sends it.
//
// The input is a schema, a newline, and a body (no newline: the schema is
// {"items":{"$ref":"#"},"properties":{"a":{"pattern":"^x+$"}}} and the
// whole input is the body). Each line of the schema part is also tried as
// an ECMA-262 pattern.
//
// Checked: compile errors are kInvalidInput and name a JSON pointer ("#...")
// or the schema as a whole; a failure's instance pointer is "" or starts
// with "/", is at most 259 characters, its schema pointer starts with "#",
// its keyword is one the validator evaluates (or "" for the body's own
// failures) and its detail is not empty; validating twice gives the same
// answer.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "gateway/policy/json_schema.h"

using namespace edge::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::set<std::string> kKeywords = {
      "",          "type",     "const",     "enum",     "minimum",          "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
      "minItems",  "maxItems", "required",  "additionalProperties"};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view schema_text = R"({"items":{"$ref":"#"},"properties":{"a":{"pattern":"^x+$"}}})";
  std::string_view body = input;
  if (newline != std::string_view::npos) {
    schema_text = input.substr(0, newline);
    body = input.substr(newline + 1);
    auto pattern = EcmaPatternToRe2(schema_text);
    FUZZ_CHECK(pattern.ok() || !pattern.status().message().empty(), "a pattern error without a message");
  }
  auto schema = JsonSchema::Compile(schema_text);
  if (!schema.ok()) {
    FUZZ_CHECK(schema.status().code() == edge::ErrorCode::kInvalidInput, "a compile error of another kind");
    const std::string& message = schema.status().message();
    FUZZ_CHECK(message.starts_with("#") || message.starts_with("the schema"), "a compile error without a pointer");
    FUZZ_NOTE("schema refused: %s", message.c_str());
    return 0;
  }
  auto failure = (*schema)->Validate(body);
  auto again = (*schema)->Validate(body);
  FUZZ_CHECK(failure.has_value() == again.has_value(), "two answers for one body");
  if (!failure) {
    FUZZ_NOTE("valid");
    return 0;
  }
  FUZZ_CHECK(failure->Detail() == again->Detail(), "two failures for one body");
  FUZZ_CHECK(failure->instance_pointer.empty() || failure->instance_pointer[0] == '/', "a bad instance pointer");
  FUZZ_CHECK(failure->instance_pointer.size() <= 259, "an instance pointer over its cap");
  FUZZ_CHECK(failure->schema_pointer.starts_with("#"), "a bad schema pointer");
  FUZZ_CHECK(kKeywords.count(failure->keyword) == 1, "a keyword the validator does not evaluate");
  FUZZ_CHECK(!failure->message.empty(), "a failure without a message");
  FUZZ_NOTE("invalid: %s", failure->Detail().c_str());
  return 0;
}
