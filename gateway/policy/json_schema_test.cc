// The JSON Schema validator beyond the official suite: compile errors that
// name the bad keyword's pointer, failures named by the body's pointer and
// keyword, ECMA-262 patterns in RE2, the formats, and hostile bodies (deep
// nesting, huge arrays, catastrophic patterns, work past the cap).
#include "gateway/policy/json_schema.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gateway/policy/json_schema_text.h"

namespace edge::gateway {
namespace {

std::shared_ptr<const JsonSchema> Compiled(std::string_view text) {
  auto schema = JsonSchema::Compile(text);
  EXPECT_TRUE(schema.ok()) << schema.status().message();
  return schema.ok() ? *schema : nullptr;
}

std::string CompileError(std::string_view text) {
  auto schema = JsonSchema::Compile(text);
  EXPECT_FALSE(schema.ok()) << text;
  return schema.ok() ? "" : schema.status().message();
}

// The Detail() of `body`'s failure, or "valid".
std::string Check(const std::shared_ptr<const JsonSchema>& schema, std::string_view body) {
  auto failure = schema->Validate(body);
  return failure ? failure->Detail() : "valid";
}

TEST(JsonSchema, CompileErrorsNameThePointerOfTheBadKeyword) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"properties":{"a":{"tpye":"string"}}})", R"(#/properties/a/tpye: unknown keyword "tpye")"},
      {R"({"anyOf":[{"type":"string"}]})",
       R"(#/anyOf: "anyOf" is a draft-07 keyword this validator does not support)"},
      {R"({"items":{"uniqueItems":true}})",
       R"(#/items/uniqueItems: "uniqueItems" is a draft-07 keyword this validator does not support)"},
      {R"({"properties":{"age":{"minimum":"18"}}})", "#/properties/age/minimum: must be a number"},
      {R"({"maxLength":-1})", "#/maxLength: must be a non-negative integer"},
      {R"({"minItems":1.5})", "#/minItems: must be a non-negative integer"},
      {R"({"type":"int"})", R"(#/type: "int" is not a JSON Schema type)"},
      {R"({"type":["string","string"]})", R"(#/type: "string" is listed twice)"},
      {R"({"type":[]})", "#/type: an empty list of types"},
      {R"({"required":["a",1]})", "#/required: must be an array of strings"},
      {R"({"enum":"a"})", "#/enum: must be an array"},
      {R"({"properties":[]})", "#/properties: must be an object"},
      {R"({"items":[{"type":"string"},3]})", "#/items/1: a schema must be an object or a boolean"},
      {R"({"format":"ipv4"})", R"(#/format: the format "ipv4" is not supported (email, uuid, date-time are))"},
      {R"({"pattern":"(?=a)b"})", "#/pattern: lookaround ((?=, (?!, (?<=, (?<!) is not supported"},
      {R"({"pattern":"(a)\\1"})", "#/pattern: backreferences (\\1) are not supported"},
      {R"({"patternProperties":{"^(?<!x)y":{}}})", "#/patternProperties/^(?<!x)y: lookaround"},
      {R"({"pattern":"a{2,1}"})", "#/pattern: the pattern does not compile: invalid repetition size: {2,1}"},
      {R"({"pattern":"[a"})", "#/pattern: the pattern has an unclosed character class"},
      {R"({"$ref":"http://example.com/schema"})", "#/$ref: \"http://example.com/schema\" is not inside this schema"},
      {R"({"$ref":"#/definitions/missing"})", R"(#/$ref: "#/definitions/missing" points to nothing in this schema)"},
      {R"({"$ref":"#foo"})", "#/$ref: \"#foo\" is not a JSON pointer"},
      {R"({"$ref":7})", "#/$ref: must be a string"},
      {R"({"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"})",
       "more than 32 $ref in a row (a $ref loop?)"},
      {R"({"definitions":{"a":{"$ref":"#/definitions/a"}},"properties":{"x":{"$ref":"#/definitions/a"}}})",
       "a $ref loop?"},
      {R"({"properties":{"a":{"$id":"http://x/"}}})", "#/properties/a/$id: $id is supported only at the root"},
      {R"({"$schema":"http://json-schema.org/draft-04/schema#"})", "#/$schema: only draft-07"},
      {R"({"definitions":{"x":{"foo":1}}})", R"(#/definitions/x/foo: unknown keyword "foo")"},
      {R"({"properties":{"a/b~c":{"foo":1}}})", R"(#/properties/a~1b~0c/foo: unknown keyword "foo")"},
      {R"([])", "#: a schema must be an object or a boolean"},
      {R"({"minimum":1,"minimum":5})", "#/minimum: the keyword appears twice"},
      {R"({"properties":{"a":{},"a":{"type":"string"}}})", "#/properties/a: the property appears twice"},
      {R"({"type":)", "the schema is not JSON"},
  };
  for (const auto& [schema, message] : cases) {
    std::string error = CompileError(schema);
    EXPECT_NE(error.find(message), std::string::npos) << schema << "\n  got: " << error;
  }
  EXPECT_NE(CompileError(std::string(200, '[') + std::string(200, ']')).find("nested deeper than 128"),
            std::string::npos);
  EXPECT_NE(CompileError(R"({"description":")" + std::string(kMaxSchemaBytes, 'x') + "\"}").find("at most 1048576"),
            std::string::npos);
  // Accepted and ignored: annotations, draft-07's $schema, a root $id, and
  // the keywords beside a $ref.
  EXPECT_TRUE(JsonSchema::Compile(R"({"$schema":"http://json-schema.org/draft-07/schema#","$id":"http://x/",
      "title":"t","description":"d","default":1,"examples":[1],"$comment":"c","readOnly":true,"writeOnly":false,
      "definitions":{"a":{"type":"string"}},"properties":{"b":{"$ref":"#/definitions/a","foo":1}}})")
                  .ok());
}

TEST(JsonSchema, FailuresNameTheBodyPointerAndKeyword) {
  auto schema = Compiled(R"({
    "type": "object",
    "required": ["order"],
    "properties": {
      "order": {
        "type": "object",
        "required": ["id", "items"],
        "additionalProperties": false,
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "email": {"type": "string", "format": "email"},
          "placed": {"type": "string", "format": "date-time"},
          "items": {
            "type": "array", "minItems": 1, "maxItems": 3,
            "items": {"$ref": "#/definitions/item"}
          }
        }
      }
    },
    "definitions": {
      "item": {
        "type": "object",
        "required": ["sku", "qty"],
        "properties": {
          "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
          "qty": {"type": "integer", "minimum": 1, "exclusiveMaximum": 100},
          "tags": {"type": "array", "items": [{"enum": ["new", "sale"]}, {"const": {"a": [1, 2.0]}}]},
          "note": {"type": ["string", "null"], "minLength": 2, "maxLength": 4}
        }
      }
    }
  })");
  ASSERT_TRUE(schema);
  const std::string id = R"("id":"123e4567-e89b-12d3-a456-426614174000")";
  auto order = [&](const std::string& items, const std::string& extra = "") {
    return R"({"order":{)" + id + R"(,"items":[)" + items + "]" + extra + "}}";
  };
  const std::string ok_item = R"({"sku":"ABC-1234","qty":1})";
  EXPECT_EQ(Check(schema, order(ok_item)), "valid");
  EXPECT_EQ(Check(schema, order(ok_item + "," + R"({"sku":"ABC-1234","qty":99.0,"tags":["sale",{"a":[1.0,2]}],"note":null})")),
            "valid");
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "the body: must be object (type)"},
      {"{}", "the body: has no member 'order' (required)"},
      {order(""), "/order/items: must have at least 1 items (minItems)"},
      {order(ok_item + "," + ok_item + "," + ok_item + "," + ok_item), "/order/items: must have at most 3 items (maxItems)"},
      {order(ok_item + R"(,{"sku":"ABC-1234"})"), "/order/items/1: has no member 'qty' (required)"},
      {order(ok_item + R"(,{"sku":"abc-1234","qty":1})"),
       "/order/items/1/sku: must match the pattern ^[A-Z]{3}-\\d{4}$ (pattern)"},
      {order(R"({"sku":"ABC-1234","qty":0})"), "/order/items/0/qty: must be at least 1 (minimum)"},
      {order(R"({"sku":"ABC-1234","qty":100})"), "/order/items/0/qty: must be less than 100 (exclusiveMaximum)"},
      {order(R"({"sku":"ABC-1234","qty":1.5})"), "/order/items/0/qty: must be integer (type)"},
      {order(R"({"sku":"ABC-1234","qty":1,"tags":["old"]})"),
       "/order/items/0/tags/0: must be one of the schema's enum values (enum)"},
      {order(R"({"sku":"ABC-1234","qty":1,"tags":["new",{"a":[1,3]}]})"),
       "/order/items/0/tags/1: must be the schema's constant (const)"},
      {order(R"({"sku":"ABC-1234","qty":1,"note":"x"})"), "/order/items/0/note: must be at least 2 characters long (minLength)"},
      {order(R"({"sku":"ABC-1234","qty":1,"note":"\u00e9t\u00e9s!"})"),
       "/order/items/0/note: must be at most 4 characters long (maxLength)"},
      {order(R"({"sku":"ABC-1234","qty":1,"note":7})"), "/order/items/0/note: must be null or string (type)"},
      {order(ok_item, R"(,"coupon":"x")"), "/order/coupon: is not allowed (additionalProperties is false) (additionalProperties)"},
      {order(ok_item, R"(,"email":"not an address")"), "/order/email: must be an email address (format)"},
      {order(ok_item, R"(,"placed":"2024-02-30T10:00:00Z")"), "/order/placed: must be an RFC 3339 date-time (format)"},
      {R"({"order":{"id":"123","items":[]}})", "/order/id: must be a UUID (format)"},
      {"{\"order\":", "the body: is not JSON (The JSON document has an improper structure: missing or superfluous commas, braces, missing keys, etc.)"},
  };
  for (const auto& [body, detail] : cases) EXPECT_EQ(Check(schema, body), detail) << body;
  auto failure = schema->Validate(order(R"({"sku":"ABC-1234","qty":0})"));
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->instance_pointer, "/order/items/0/qty");
  EXPECT_EQ(failure->keyword, "minimum");
  EXPECT_EQ(failure->schema_pointer, "#/definitions/item/properties/qty/minimum");
}

TEST(JsonSchema, PointersEscapeTildeAndSlash) {
  auto schema = Compiled(R"({"additionalProperties":{"type":"string"}})");
  auto failure = schema->Validate(R"({"a/b~c":1})");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->instance_pointer, "/a~1b~0c");
  // A very long key is cut in the pointer.
  failure = schema->Validate("{\"" + std::string(1000, 'k') + "\":1}");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->instance_pointer.size(), 259u);
}

TEST(JsonSchema, RefsFollowEscapedPointers) {
  auto schema = Compiled(R"({"definitions":{"tilda~field":{"type":"integer"},"slash/field":{"type":"integer"},
      "percent%field":{"type":"integer"}},"properties":{"tilda":{"$ref":"#/definitions/tilda~0field"},
      "slash":{"$ref":"#/definitions/slash~1field"},"percent":{"$ref":"#/definitions/percent%25field"},
      "first":{"$ref":"#/properties/tuple/items/0"},"tuple":{"items":[{"type":"string"}]}}})");
  ASSERT_TRUE(schema);
  EXPECT_EQ(Check(schema, R"({"tilda":1,"slash":2,"percent":3,"first":"x"})"), "valid");
  EXPECT_EQ(Check(schema, R"({"tilda":"a"})"), "/tilda: must be integer (type)");
  EXPECT_EQ(Check(schema, R"({"slash":"a"})"), "/slash: must be integer (type)");
  EXPECT_EQ(Check(schema, R"({"percent":"a"})"), "/percent: must be integer (type)");
  EXPECT_EQ(Check(schema, R"({"first":1})"), "/first: must be string (type)");
  auto failure = schema->Validate(R"({"slash":"a"})");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->schema_pointer, "#/definitions/slash~1field/type");
  EXPECT_NE(CompileError(R"({"definitions":{"a":{}},"$ref":"#/definitions/a~2"})").find("a bad ~-escape"), std::string::npos)
      << CompileError(R"({"definitions":{"a":{}},"$ref":"#/definitions/a~2"})");
  EXPECT_NE(CompileError(R"({"$ref":"#/definitions/%zz"})").find("a bad %-escape"), std::string::npos);
  EXPECT_NE(CompileError(R"({"items":[{}],"$ref":"#/items/01"})").find("points to nothing"), std::string::npos);
}

TEST(JsonSchema, DeepEqualityComparesNumbersByValue) {
  auto schema = Compiled(R"({"enum":[1, {"a":[1,{"b":null}],"c":"x"}, [true, 2.5]]})");
  for (const char* valid : {"1", "1.0", "1e0", R"({"c":"x","a":[1.0,{"b":null}]})", "[true,2.50]"}) {
    EXPECT_EQ(Check(schema, valid), "valid") << valid;
  }
  for (const char* invalid : {"2", "true", "\"1\"", R"({"c":"x","a":[1,{"b":false}]})", R"({"c":"x","a":[1,{"b":null}],"d":1})",
                              "[2.5,true]", "[true]", "null"}) {
    EXPECT_NE(Check(schema, invalid), "valid") << invalid;
  }
  // Exact comparison of large integers against doubles.
  auto big = Compiled(R"({"maximum":9007199254740992})");
  EXPECT_EQ(Check(big, "9007199254740992"), "valid");
  EXPECT_NE(Check(big, "9007199254740993"), "valid");
  EXPECT_EQ(Check(Compiled(R"({"const":18446744073709551615})"), "18446744073709551615"), "valid");
  EXPECT_NE(Check(Compiled(R"({"const":-1})"), "18446744073709551615"), "valid");
}

TEST(JsonSchema, LengthsCountCodePoints) {
  auto schema = Compiled(R"({"minLength":2,"maxLength":2})");
  EXPECT_EQ(Check(schema, R"("\u00e9\u00e9")"), "valid");            // 4 bytes
  EXPECT_EQ(Check(schema, "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\""), "valid");  // 8 bytes
  EXPECT_EQ(Check(schema, R"("\ud83d\ude00\ud83d\ude00")"), "valid");  // escaped surrogate pairs
  EXPECT_NE(Check(schema, "\"\xF0\x9F\x98\x80\""), "valid");
  EXPECT_EQ(schema_text::CodePoints("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), 4u);
}

TEST(JsonSchema, EcmaPatternsBecomeRe2Patterns) {
  struct Case {
    const char* pattern;
    const char* text;
    bool matches;
  };
  const Case cases[] = {
      {"^\\d{3}$", "123", true},
      {"^\\d{3}$", "12a", false},
      {"a.c", "abc", true},
      {"a.c", "a\nc", false},              // ECMA's . stops at line terminators
      {"a.c", "a\xE2\x80\xA8" "c", false},  // U+2028 too
      {"^\\s$", "\xC2\xA0", true},         // ECMA's \s has U+00A0
      {"^[\\s,]+$", " ,\t", true},
      {"^\\S+$", "a\xC2\xA0", false},
      {"^\\u00e9$", "\xC3\xA9", true},
      {"^\\u{1F600}$", "\xF0\x9F\x98\x80", true},
      {"^\\ud83d\\ude00$", "\xF0\x9F\x98\x80", true},
      {"^(?<year>\\d{4})-\\d\\d$", "2024-01", true},
      {"^[^]$", "\n", true},
      {"[]", "anything", false},
      {"^\\/path$", "/path", true},
      {"^\\cJ$", "\n", true},
      {"^a\\0$", std::string_view("a\0", 2).data(), true},
      {"^[a-z[]+$", "ab[", true},
      {"\\bword\\b", "a word here", true},
      {"^\\p{Lu}+$", "\xC3\x89T\xC3\x89", true},
  };
  for (const Case& c : cases) {
    auto schema = Compiled(std::string(R"({"pattern":)") + "\"" +
                           [&] {
                             std::string escaped;
                             for (char ch : std::string_view(c.pattern)) {
                               if (ch == '\\' || ch == '"') escaped.push_back('\\');
                               escaped.push_back(ch);
                             }
                             return escaped;
                           }() +
                           "\"}");
    ASSERT_TRUE(schema) << c.pattern;
    std::string text = std::string_view(c.pattern) == "^a\\0$" ? std::string("a\0", 2) : std::string(c.text);
    std::string body = "\"";
    for (unsigned char ch : text) {
      if (ch < 0x20) {
        char escaped[8];
        snprintf(escaped, sizeof(escaped), "\\u%04x", ch);
        body += escaped;
      } else {
        body.push_back(static_cast<char>(ch));
      }
    }
    body += "\"";
    EXPECT_EQ(Check(schema, body) == "valid", c.matches) << c.pattern << " on " << body;
  }
  EXPECT_FALSE(EcmaPatternToRe2("\\S[\\S]").ok());
  EXPECT_FALSE(EcmaPatternToRe2("\\k<x>").ok());
  EXPECT_FALSE(EcmaPatternToRe2("\\ud800").ok());
  EXPECT_FALSE(EcmaPatternToRe2("abc\\").ok());
}

TEST(JsonSchema, Formats) {
  for (const char* valid : {"1963-06-19T08:30:06.283185Z", "1963-06-19t08:30:06z", "2000-02-29T00:00:00+14:00",
                            "1998-12-31T23:59:60Z", "1998-12-31T15:59:60.123-08:00", "1990-12-31T23:59:59-23:59"}) {
    EXPECT_TRUE(schema_text::IsDateTime(valid)) << valid;
  }
  for (const char* invalid : {"1900-02-29T00:00:00Z", "1990-02-31T15:59:60.123-08:00", "1990-12-31T15:59:60-24:00",
                              "1998-12-31T23:58:60Z", "2013-350T01:01:01", "1963-06-19T08:30:06", "1963-06-19 08:30:06Z",
                              "1963-06-19T08:30:06.Z", "1963-06-19T24:00:00Z", "1963-13-19T08:30:06Z", "1963-06-19T08:30:06+0100"}) {
    EXPECT_FALSE(schema_text::IsDateTime(invalid)) << invalid;
  }
  EXPECT_TRUE(schema_text::IsUuid("123E4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(schema_text::IsUuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(schema_text::IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  for (const char* valid : {"joe.bloggs@example.com", "a+b@x.io", "\"joe bloggs\"@example.com", "te~st@[127.0.0.1]",
                            "user@localhost"}) {
    EXPECT_TRUE(schema_text::IsEmail(valid)) << valid;
  }
  for (const char* invalid : {"2962", "@example.com", "a@", ".a@x.com", "a.@x.com", "a..b@x.com", "a b@x.com",
                              "a@-x.com", "a@x..com", "a@x_y.com"}) {
    EXPECT_FALSE(schema_text::IsEmail(invalid)) << invalid;
  }
}

TEST(JsonSchemaHostile, DeepBodiesStopAtTheDepthCap) {
  auto schema = Compiled(R"({"items":{"$ref":"#"}})");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Check(schema, deep), "the body: is nested deeper than 64");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  EXPECT_EQ(Check(schema, objects), "the body: is nested deeper than 64");
  // Within the cap, the recursive schema walks every level.
  std::string ok = std::string(60, '[') + std::string(60, ']');
  EXPECT_EQ(Check(schema, ok), "valid");
}

TEST(JsonSchemaHostile, HugeArraysAndCatastrophicPatternsStayBounded) {
  // A million items, each checked.
  auto numbers = Compiled(R"({"type":"array","items":{"type":"integer","minimum":0}})");
  std::string array = "[";
  for (int i = 0; i < 1000000; ++i) array += i ? ",1" : "1";
  array += "]";
  EXPECT_EQ(Check(numbers, array), "valid");
  array.insert(array.size() - 1, ",-1");
  EXPECT_EQ(Check(numbers, array), "/1000000: must be at least 0 (minimum)");
  // (a+)+$ backtracks exponentially in ECMA engines; RE2 is linear.
  auto catastrophic = Compiled(R"({"pattern":"^(a+)+$","patternProperties":{"^(x|x)*y$":{}}})");
  std::string evil = "\"" + std::string(200000, 'a') + "!\"";
  EXPECT_EQ(Check(catastrophic, evil), "the body: must match the pattern ^(a+)+$ (pattern)");
  EXPECT_EQ(Check(catastrophic, "\"" + std::string(200000, 'a') + "\""), "valid");
  auto keys = Compiled(R"({"patternProperties":{"^(x|x)*y$":{"type":"string"}}})");
  EXPECT_EQ(Check(keys, "{\"" + std::string(100000, 'x') + "\":1}"), "valid");
  EXPECT_NE(Check(keys, "{\"" + std::string(100000, 'x') + "y\":1}"), "valid");
}

TEST(JsonSchemaHostile, WorkPastTheCapIsRefused) {
  // 64 patternProperties, each run on every key of a body with 300,000
  // keys: past kMaxValidationWork.
  std::string schema = R"({"patternProperties":{)";
  for (int i = 0; i < 64; ++i) schema += (i ? "," : "") + std::string("\"p") + std::to_string(i) + "\":{}";
  schema += "}}";
  auto compiled = Compiled(schema);
  ASSERT_TRUE(compiled);
  std::string body = "{";
  for (int i = 0; i < 300000; ++i) body += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  body += "}";
  auto failure = compiled->Validate(body);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->keyword, "");
  EXPECT_EQ(failure->message, "validating this body takes more than 16777216 steps");
  // Enum values compared element by element are charged too: 20 arrays of
  // 20,000 items that differ only at their end; every item of the body is
  // the last of them.
  auto zeros = [](int count, const char* last) {
    std::string out = "[";
    for (int i = 0; i < count - 1; ++i) out += "0,";
    return out + last + "]";
  };
  std::string enum_schema = R"({"items":{"enum":[)";
  for (int i = 0; i < 20; ++i) enum_schema += (i ? "," : "") + zeros(20000, std::to_string(i).c_str());
  enum_schema += "]}}";
  auto enums = Compiled(enum_schema);
  ASSERT_TRUE(enums);
  std::string enum_body = "[";
  for (int i = 0; i < 50; ++i) enum_body += (i ? "," : "") + zeros(20000, "19");
  enum_body += "]";
  failure = enums->Validate(enum_body);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->message, "validating this body takes more than 16777216 steps");
  EXPECT_EQ(Check(enums, "[" + zeros(20000, "19.0") + "," + zeros(20000, "1e0") + "]"), "valid");
}

TEST(JsonSchemaHostile, ACompiledSchemaIsSharedByThreads) {
  auto schema = Compiled(R"({"type":"object","properties":{"n":{"type":"integer","maximum":10}},"required":["n"]})");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        int n = (i + t) % 20;
        bool valid = !schema->Validate("{\"n\":" + std::to_string(n) + "}").has_value();
        if (valid != (n <= 10)) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace edge::gateway
