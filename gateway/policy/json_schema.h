// The gateway's JSON Schema validator: a stated subset of draft-07
// (https://json-schema.org/draft-07/json-schema-validation.html), compiled
// once when a policy is deployed and run on request bodies with simdjson
// before any isolate is entered.
//
// Supported keywords: type (a name or an array of names; "integer" is a
// number with no fraction, 1.0 included), properties, required,
// additionalProperties (a boolean or a schema), patternProperties, items (a
// schema or an array of schemas for a tuple), enum, const (deep equality:
// 1 and 1.0 are equal), minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, minLength and maxLength (in code points), minItems,
// maxItems, pattern (ECMA-262 syntax, matched by RE2 in time linear in the
// string), format ("email", "uuid", "date-time"), $ref to a pointer inside
// the same schema ("#", "#/definitions/name", "#/properties/a/items" ...),
// definitions, and boolean schemas (true, false). The annotations title,
// description, default, examples, $comment, readOnly, writeOnly, $schema
// (draft-07's URI) and a root $id are accepted and ignored. As in draft-07,
// the other keywords beside a $ref are ignored.
//
// Every other keyword is a compile error naming its JSON pointer: draft-07
// keywords edge does not evaluate (allOf, anyOf, oneOf, not, if/then/else,
// contains, dependencies, propertyNames, multipleOf, uniqueItems,
// minProperties, maxProperties, additionalItems, contentMediaType,
// contentEncoding, other formats) and misspellings alike, so a schema never
// silently checks less than its author meant. Regex features RE2 lacks
// (lookaround, backreferences) are compile errors too.
//
// Use:
//   auto schema = JsonSchema::Compile(schema_text);    // at deploy
//   if (!schema.ok()) -> deploy error: schema.status().message()
//   auto failure = (*schema)->Validate(body);           // per request
//   if (failure) -> 400, failure->Detail()
//
// A compiled schema is immutable and may be shared by every serving thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::gateway {

// The caps (docs/security.md).
inline constexpr size_t kMaxSchemaBytes = 1024 * 1024;  // a schema's text
inline constexpr size_t kMaxSchemaDepth = 128;          // a schema's JSON nesting
inline constexpr size_t kMaxSchemaRefHops = 32;         // $ref to $ref to ...
inline constexpr size_t kMaxPatternBytes = 4096;        // one pattern's source
inline constexpr int64_t kMaxPatternProgramBytes = 1 << 20;  // RE2's memory for one pattern
inline constexpr size_t kMaxBodyDepth = 64;             // a body's JSON nesting
// Units of validation work for one body: one per schema applied to a
// value, per value compared by enum or const, and per byte a pattern
// reads. Past it the body is refused (bounded work whatever the schema).
inline constexpr uint64_t kMaxValidationWork = uint64_t{1} << 24;

// Why a body does not validate: the first failure found, in document order.
struct SchemaFailure {
  // The JSON pointer of the failing value in the body ("" for the whole
  // body, "/items/3/name"), at most 256 characters (longer ones end in ...).
  std::string instance_pointer;
  // The keyword that failed ("minimum", "required", "type" ...), or "" when
  // the body is not JSON or over a cap.
  std::string keyword;
  // Where that keyword is in the schema ("#/properties/items/items").
  std::string schema_pointer;
  // For a person: "must be at least 18", "has no member 'id'".
  std::string message;

  // "/items/3/age: must be at least 18 (minimum)", for a 400's detail.
  std::string Detail() const;
};

class JsonSchema {
 public:
  // Compiles `schema_json`. Errors (kInvalidInput) name the JSON pointer of
  // the bad keyword: "#/properties/age/minimum: must be a number".
  static StatusOr<std::shared_ptr<const JsonSchema>> Compile(std::string_view schema_json);

  // Validates a body (JSON text); nothing when it is valid.
  std::optional<SchemaFailure> Validate(std::string_view body) const;

  ~JsonSchema();
  JsonSchema(const JsonSchema&) = delete;
  JsonSchema& operator=(const JsonSchema&) = delete;

  struct Impl;

 private:
  explicit JsonSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An ECMA-262 pattern in RE2's syntax: "." and "\s" with ECMA's meanings,
// \uXXXX and \u{...} as \x{...}, (?<name>...) as (?P<name>...). Lookaround
// and backreferences are errors saying so. Exposed for its tests.
StatusOr<std::string> EcmaPatternToRe2(std::string_view pattern);

}  // namespace edge::gateway
