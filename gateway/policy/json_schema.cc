// Compiling a JSON Schema (draft-07 subset, json_schema.h) into nodes, and
// validating a body against them with simdjson's DOM.
#include "gateway/policy/json_schema.h"

#include <fmt/core.h>
#include <re2/re2.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "gateway/policy/json_schema_text.h"

namespace edge::gateway {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kString = 32,
  kInteger = 64,
};

constexpr std::pair<std::string_view, uint8_t> kTypeNames[] = {
    {"null", kNull},     {"boolean", kBoolean}, {"object", kObject},  {"array", kArray},
    {"number", kNumber}, {"string", kString},   {"integer", kInteger}};

enum class Format { kNone, kEmail, kUuid, kDateTime };

// Keywords of draft-07 that edge refuses to compile rather than ignore.
constexpr std::string_view kUnsupported[] = {
    "allOf",        "anyOf",         "oneOf",         "not",
    "if",           "then",          "else",          "contains",
    "dependencies", "propertyNames", "multipleOf",    "uniqueItems",
    "minProperties", "maxProperties", "additionalItems", "contentMediaType",
    "contentEncoding"};

// Annotations: accepted, never evaluated.
constexpr std::string_view kAnnotations[] = {"title",    "description", "default", "examples",
                                              "$comment", "readOnly",    "writeOnly"};

template <typename List>
bool Contains(const List& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

struct Node {
  std::string pointer;  // "#/properties/a"
  bool is_false = false;
  bool has_ref = false;
  size_t ref = 0;  // the final target once compiled
  uint8_t types = 0;  // 0: any
  std::vector<std::pair<std::string, size_t>> properties;  // sorted by name
  std::vector<std::pair<std::unique_ptr<RE2>, size_t>> pattern_properties;
  std::optional<size_t> additional;
  std::vector<std::string> required;
  std::optional<size_t> items;
  bool tuple = false;
  std::vector<size_t> tuple_items;
  bool has_enum = false;
  std::vector<element> enum_values;
  bool has_const = false;
  element const_value;
  std::optional<long double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  std::optional<uint64_t> min_length, max_length, min_items, max_items;
  std::unique_ptr<RE2> pattern;
  Format format = Format::kNone;
};

Status Invalid(const std::string& pointer, std::string message) {
  return Status(ErrorCode::kInvalidInput, pointer + ": " + message);
}

// A JSON pointer token, escaped (RFC 6901: ~ as ~0, / as ~1).
void AppendToken(std::string& out, std::string_view token) {
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

std::string Child(const std::string& pointer, std::string_view token) {
  std::string out = pointer;
  AppendToken(out, token);
  return out;
}

// The array or object `value` is (the caller checked its type).
simdjson::dom::array ArrayOf(element value) {
  simdjson::dom::array array{};
  if (value.get_array().get(array) != simdjson::SUCCESS) return {};
  return array;
}
simdjson::dom::object ObjectOf(element value) {
  simdjson::dom::object object{};
  if (value.get_object().get(object) != simdjson::SUCCESS) return {};
  return object;
}

bool IsNumber(element value) {
  element_type type = value.type();
  return type == element_type::INT64 || type == element_type::UINT64 || type == element_type::DOUBLE;
}

// A JSON number exactly: long double holds every int64, uint64 and double.
long double NumberOf(element value) {
  switch (value.type()) {
    case element_type::INT64: return static_cast<long double>(int64_t(value));
    case element_type::UINT64: return static_cast<long double>(uint64_t(value));
    default: return static_cast<long double>(double(value));
  }
}

bool IsIntegral(element value) {
  element_type type = value.type();
  if (type == element_type::INT64 || type == element_type::UINT64) return true;
  double number = double(value);
  return std::isfinite(number) && std::floor(number) == number;
}

uint8_t TypeOf(element value) {
  switch (value.type()) {
    case element_type::NULL_VALUE: return kNull;
    case element_type::BOOL: return kBoolean;
    case element_type::OBJECT: return kObject;
    case element_type::ARRAY: return kArray;
    case element_type::STRING: return kString;
    default: return IsIntegral(value) ? kNumber | kInteger : kNumber;
  }
}

std::string TypeNames(uint8_t types) {
  std::string out;
  for (const auto& [name, bit] : kTypeNames) {
    if (types & bit) out += std::string(out.empty() ? "" : " or ") + std::string(name);
  }
  return out;
}

std::string Number(long double value) {
  double as_double = static_cast<double>(value);
  if (std::floor(value) == value && std::fabs(value) < 1e18L) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", as_double);
}

}  // namespace

struct JsonSchema::Impl {
  simdjson::dom::parser parser;  // owns the schema's DOM: enum and const point into it
  element root;
  std::deque<Node> nodes;  // [0] is the root
};

namespace {

class Compiler {
 public:
  explicit Compiler(JsonSchema::Impl& impl) : impl_(impl) {}

  Status Run() {
    auto root = CompileAt(impl_.root, "#", /*is_root=*/true);
    if (!root.ok()) return root.status();
    // Refs are compiled where they point, as more refs may be found there.
    for (size_t i = 0; i < refs_.size(); ++i) {
      auto [node, target] = refs_[i];
      auto index = Resolve(impl_.nodes[node].pointer, target);
      if (!index.ok()) return index.status();
      impl_.nodes[node].ref = *index;
    }
    // Every $ref leads, in at most kMaxSchemaRefHops, to a schema that is
    // not a $ref: validation then never loops without moving into the body.
    for (Node& node : impl_.nodes) {
      if (!node.has_ref) continue;
      size_t target = node.ref;
      size_t hops = 1;
      while (impl_.nodes[target].has_ref) {
        target = impl_.nodes[target].ref;
        if (++hops > kMaxSchemaRefHops) {
          return Invalid(node.pointer + "/$ref",
                         fmt::format("more than {} $ref in a row (a $ref loop?)", kMaxSchemaRefHops));
        }
      }
      node.ref = target;
    }
    return Status::Ok();
  }

 private:
  // The node of the schema at `target`, a URI fragment holding a JSON
  // pointer into this schema, compiled now if nothing compiled it yet.
  StatusOr<size_t> Resolve(const std::string& from, std::string_view target) {
    std::string where = from + "/$ref";
    if (target.empty() || target[0] != '#') {
      return Invalid(where, fmt::format("\"{}\" is not inside this schema (only \"#...\" references are "
                                        "supported; no remote or relative URIs)",
                                        target));
    }
    // Percent-decoding of the fragment, then the pointer's tokens.
    std::string fragment;
    for (size_t i = 1; i < target.size(); ++i) {
      if (target[i] != '%') {
        fragment.push_back(target[i]);
        continue;
      }
      int high = i + 2 < target.size() ? HexValue(target[i + 1]) : -1;
      int low = i + 2 < target.size() ? HexValue(target[i + 2]) : -1;
      if (high < 0 || low < 0) return Invalid(where, fmt::format("a bad %-escape in \"{}\"", target));
      fragment.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
    if (!fragment.empty() && fragment[0] != '/') {
      return Invalid(where, fmt::format("\"{}\" is not a JSON pointer (plain-name fragments need $id, "
                                        "which is not supported)",
                                        target));
    }
    std::string pointer = "#";
    element at = impl_.root;
    size_t start = 1;
    while (start <= fragment.size() && !fragment.empty()) {
      size_t end = std::min(fragment.find('/', start), fragment.size());
      std::string token;
      for (size_t i = start; i < end; ++i) {
        if (fragment[i] != '~') {
          token.push_back(fragment[i]);
        } else if (i + 1 < end && (fragment[i + 1] == '0' || fragment[i + 1] == '1')) {
          token.push_back(fragment[++i] == '0' ? '~' : '/');
        } else {
          return Invalid(where, fmt::format("a bad ~-escape in \"{}\"", target));
        }
      }
      AppendToken(pointer, token);
      if (!Step(at, token)) {
        return Invalid(where, fmt::format("\"{}\" points to nothing in this schema", target));
      }
      start = end + 1;
    }
    if (auto found = by_pointer_.find(pointer); found != by_pointer_.end()) return found->second;
    return CompileAt(at, pointer, /*is_root=*/false);
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
    return -1;
  }

  // Moves `at` to its member or item named `token`; false when there is
  // none (RFC 6901: array indexes in decimal without leading zeros).
  static bool Step(element& at, const std::string& token) {
    simdjson::dom::object object;
    if (at.get_object().get(object) == simdjson::SUCCESS) {
      return object.at_key(token).get(at) == simdjson::SUCCESS;
    }
    simdjson::dom::array array;
    if (at.get_array().get(array) != simdjson::SUCCESS) return false;
    bool digits = !token.empty() && token.size() < 10 && (token.size() == 1 || token[0] != '0') &&
                  std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
    return digits && array.at(std::stoul(token)).get(at) == simdjson::SUCCESS;
  }

  StatusOr<size_t> CompileAt(element value, const std::string& pointer, bool is_root) {
    if (auto found = by_pointer_.find(pointer); found != by_pointer_.end()) return found->second;
    size_t index = impl_.nodes.size();
    impl_.nodes.emplace_back();
    impl_.nodes[index].pointer = pointer;
    by_pointer_[pointer] = index;
    bool boolean = false;
    if (value.get_bool().get(boolean) == simdjson::SUCCESS) {
      impl_.nodes[index].is_false = !boolean;
      return index;
    }
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      return Invalid(pointer, "a schema must be an object or a boolean");
    }
    element ref;
    if (object.at_key("$ref").get(ref) == simdjson::SUCCESS) {
      std::string_view target;
      if (ref.get_string().get(target) != simdjson::SUCCESS) {
        return Invalid(pointer + "/$ref", "must be a string");
      }
      impl_.nodes[index].has_ref = true;
      refs_.emplace_back(index, std::string(target));
      return index;  // draft-07: every other keyword beside $ref is ignored
    }
    // A keyword twice is an error: JSON parsers disagree on which one counts.
    std::set<std::string_view> seen;
    for (auto field : object) {
      if (!seen.insert(field.key).second) {
        return Invalid(Child(pointer, field.key), "the keyword appears twice");
      }
      EDGE_RETURN_IF_ERROR(Keyword(index, field.key, field.value, is_root));
    }
    return index;
  }

  // A non-negative integer keyword (minLength, maxItems ...).
  static StatusOr<uint64_t> Count(element value, const std::string& where) {
    if (!IsNumber(value) || !IsIntegral(value) || NumberOf(value) < 0) {
      return Invalid(where, "must be a non-negative integer");
    }
    long double number = NumberOf(value);
    return number >= 18446744073709551615.0L ? UINT64_MAX : static_cast<uint64_t>(number);
  }

  StatusOr<std::unique_ptr<RE2>> Pattern(std::string_view source, const std::string& where) {
    if (source.size() > kMaxPatternBytes) {
      return Invalid(where, fmt::format("a pattern of {} bytes (at most {})", source.size(), kMaxPatternBytes));
    }
    auto translated = EcmaPatternToRe2(source);
    if (!translated.ok()) return Invalid(where, translated.status().message());
    RE2::Options options;
    options.set_log_errors(false);
    options.set_never_capture(true);
    options.set_max_mem(kMaxPatternProgramBytes);
    auto re = std::make_unique<RE2>(*translated, options);
    if (!re->ok()) return Invalid(where, "the pattern does not compile: " + re->error());
    return re;
  }

  Status Keyword(size_t index, std::string_view key, element value, bool is_root) {
    std::string where = Child(impl_.nodes[index].pointer, key);
    auto node = [&]() -> Node& { return impl_.nodes[index]; };
    auto number = [&](std::optional<long double>& slot) -> Status {
      if (!IsNumber(value)) return Invalid(where, "must be a number");
      slot = NumberOf(value);
      return Status::Ok();
    };
    auto count = [&](std::optional<uint64_t>& slot) -> Status {
      auto parsed = Count(value, where);
      if (!parsed.ok()) return parsed.status();
      slot = *parsed;
      return Status::Ok();
    };
    if (key == "type") {
      std::string_view name;
      auto add = [&](element item) -> Status {
        if (item.get_string().get(name) != simdjson::SUCCESS) return Invalid(where, "type names must be strings");
        for (const auto& [type_name, bit] : kTypeNames) {
          if (name == type_name) {
            if (node().types & bit) return Invalid(where, fmt::format("\"{}\" is listed twice", name));
            node().types |= bit;
            return Status::Ok();
          }
        }
        return Invalid(where, fmt::format("\"{}\" is not a JSON Schema type", name));
      };
      if (value.is_array()) {
        for (element item : ArrayOf(value)) EDGE_RETURN_IF_ERROR(add(item));
        if (node().types == 0) return Invalid(where, "an empty list of types");
        return Status::Ok();
      }
      return add(value);
    }
    if (key == "properties" || key == "patternProperties" || key == "definitions") {
      simdjson::dom::object members;
      if (value.get_object().get(members) != simdjson::SUCCESS) return Invalid(where, "must be an object");
      for (auto member : members) {
        std::string member_where = Child(where, member.key);
        std::unique_ptr<RE2> re;
        if (key == "patternProperties") {
          auto compiled = Pattern(member.key, member_where);
          if (!compiled.ok()) return compiled.status();
          re = std::move(compiled).value();
        }
        auto child = CompileAt(member.value, member_where, false);
        if (!child.ok()) return child.status();
        if (key == "properties") {
          node().properties.emplace_back(std::string(member.key), *child);
        } else if (key == "patternProperties") {
          node().pattern_properties.emplace_back(std::move(re), *child);
        }
      }
      std::sort(node().properties.begin(), node().properties.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 1; i < node().properties.size(); ++i) {
        if (node().properties[i].first == node().properties[i - 1].first) {
          return Invalid(Child(where, node().properties[i].first), "the property appears twice");
        }
      }
      return Status::Ok();
    }
    if (key == "additionalProperties") {
      auto child = CompileAt(value, where, false);
      if (!child.ok()) return child.status();
      node().additional = *child;
      return Status::Ok();
    }
    if (key == "items") {
      if (value.is_array()) {
        node().tuple = true;
        size_t i = 0;
        for (element item : ArrayOf(value)) {
          auto child = CompileAt(item, Child(where, std::to_string(i++)), false);
          if (!child.ok()) return child.status();
          node().tuple_items.push_back(*child);
        }
        return Status::Ok();
      }
      auto child = CompileAt(value, where, false);
      if (!child.ok()) return child.status();
      node().items = *child;
      return Status::Ok();
    }
    if (key == "required") {
      simdjson::dom::array names;
      if (value.get_array().get(names) != simdjson::SUCCESS) return Invalid(where, "must be an array of strings");
      for (element item : names) {
        std::string_view name;
        if (item.get_string().get(name) != simdjson::SUCCESS) return Invalid(where, "must be an array of strings");
        if (Contains(node().required, name)) return Invalid(where, fmt::format("\"{}\" is listed twice", name));
        node().required.emplace_back(name);
      }
      return Status::Ok();
    }
    if (key == "enum") {
      simdjson::dom::array values;
      if (value.get_array().get(values) != simdjson::SUCCESS) return Invalid(where, "must be an array");
      node().has_enum = true;
      for (element item : values) node().enum_values.push_back(item);
      return Status::Ok();
    }
    if (key == "const") {
      node().has_const = true;
      node().const_value = value;
      return Status::Ok();
    }
    if (key == "minimum") return number(node().minimum);
    if (key == "maximum") return number(node().maximum);
    if (key == "exclusiveMinimum") return number(node().exclusive_minimum);
    if (key == "exclusiveMaximum") return number(node().exclusive_maximum);
    if (key == "minLength") return count(node().min_length);
    if (key == "maxLength") return count(node().max_length);
    if (key == "minItems") return count(node().min_items);
    if (key == "maxItems") return count(node().max_items);
    if (key == "pattern") {
      std::string_view source;
      if (value.get_string().get(source) != simdjson::SUCCESS) return Invalid(where, "must be a string");
      auto compiled = Pattern(source, where);
      if (!compiled.ok()) return compiled.status();
      node().pattern = std::move(compiled).value();
      return Status::Ok();
    }
    if (key == "format") {
      std::string_view name;
      if (value.get_string().get(name) != simdjson::SUCCESS) return Invalid(where, "must be a string");
      if (name == "email") {
        node().format = Format::kEmail;
      } else if (name == "uuid") {
        node().format = Format::kUuid;
      } else if (name == "date-time") {
        node().format = Format::kDateTime;
      } else {
        return Invalid(where, fmt::format("the format \"{}\" is not supported (email, uuid, date-time are)", name));
      }
      return Status::Ok();
    }
    if (key == "$schema") {
      std::string_view uri;
      if (value.get_string().get(uri) != simdjson::SUCCESS ||
          (uri != "http://json-schema.org/draft-07/schema#" && uri != "http://json-schema.org/draft-07/schema")) {
        return Invalid(where, "only draft-07 (http://json-schema.org/draft-07/schema#) is supported");
      }
      return Status::Ok();
    }
    if (key == "$id") {
      if (!is_root) return Invalid(where, "$id is supported only at the root (no nested resolution scopes)");
      return Status::Ok();
    }
    if (Contains(kAnnotations, key)) return Status::Ok();
    if (Contains(kUnsupported, key)) {
      return Invalid(where, fmt::format("\"{}\" is a draft-07 keyword this validator does not support", key));
    }
    return Invalid(where, fmt::format("unknown keyword \"{}\"", key));
  }

  JsonSchema::Impl& impl_;
  std::map<std::string, size_t> by_pointer_;
  std::vector<std::pair<size_t, std::string>> refs_;
};

class Validator {
 public:
  explicit Validator(const JsonSchema::Impl& impl) : impl_(impl) {}

  std::optional<SchemaFailure> Run(element body) {
    Check(0, body, 0);
    return std::move(failure_);
  }

 private:
  bool Fail(const Node& node, std::string_view keyword, std::string message) {
    SchemaFailure failure;
    failure.instance_pointer = path_.size() > 256 ? path_.substr(0, 256) + "..." : path_;
    failure.keyword = std::string(keyword);
    failure.schema_pointer = keyword.empty() ? node.pointer : Child(node.pointer, keyword);
    failure.message = std::move(message);
    failure_ = std::move(failure);
    return false;
  }

  bool Spend(const Node& node, uint64_t units) {
    work_ += units;
    if (work_ <= kMaxValidationWork) return true;
    Fail(node, "", fmt::format("validating this body takes more than {} steps", kMaxValidationWork));
    return false;
  }

  // Deep equality (draft-07 section 4.2.2): numbers by value, objects
  // whatever their member order.
  bool Equal(const Node& node, element a, element b) {
    if (!Spend(node, 1)) return false;
    if (IsNumber(a) || IsNumber(b)) return IsNumber(a) && IsNumber(b) && NumberOf(a) == NumberOf(b);
    if (a.type() != b.type()) return false;
    switch (a.type()) {
      case element_type::STRING: return std::string_view(a) == std::string_view(b);
      case element_type::BOOL: return bool(a) == bool(b);
      case element_type::NULL_VALUE: return true;
      case element_type::ARRAY: {
        simdjson::dom::array left = ArrayOf(a), right = ArrayOf(b);
        if (left.size() != right.size()) return false;
        auto it = right.begin();
        for (element item : left) {
          if (!Equal(node, item, *it) || failure_) return false;
          ++it;
        }
        return true;
      }
      case element_type::OBJECT: {
        simdjson::dom::object left = ObjectOf(a), right = ObjectOf(b);
        if (left.size() != right.size()) return false;
        for (auto field : left) {
          element other;
          if (!Spend(node, right.size()) || right.at_key(field.key).get(other) != simdjson::SUCCESS ||
              !Equal(node, field.value, other) || failure_) {
            return false;
          }
        }
        return true;
      }
      default: return false;
    }
  }

  // Checks `value` against node `index`; false (and failure_ set) at the
  // first failure.
  bool Check(size_t index, element value, size_t depth) {
    const Node* node = &impl_.nodes[index];
    if (node->has_ref) node = &impl_.nodes[node->ref];
    if (!Spend(*node, 1)) return false;
    if (node->is_false) return Fail(*node, "", "no value is allowed here (the schema is false)");
    uint8_t type = TypeOf(value);
    if (node->types != 0 && (node->types & type) == 0) {
      return Fail(*node, "type", "must be " + TypeNames(node->types));
    }
    if (node->has_const && !Equal(*node, value, node->const_value)) {
      return failure_ ? false : Fail(*node, "const", "must be the schema's constant");
    }
    if (node->has_enum) {
      bool found = false;
      for (element candidate : node->enum_values) {
        if (Equal(*node, value, candidate)) {
          found = true;
          break;
        }
        if (failure_) return false;
      }
      if (!found) return Fail(*node, "enum", "must be one of the schema's enum values");
    }
    if (type & kNumber) {
      long double number = NumberOf(value);
      if (node->minimum && number < *node->minimum) {
        return Fail(*node, "minimum", "must be at least " + Number(*node->minimum));
      }
      if (node->maximum && number > *node->maximum) {
        return Fail(*node, "maximum", "must be at most " + Number(*node->maximum));
      }
      if (node->exclusive_minimum && number <= *node->exclusive_minimum) {
        return Fail(*node, "exclusiveMinimum", "must be more than " + Number(*node->exclusive_minimum));
      }
      if (node->exclusive_maximum && number >= *node->exclusive_maximum) {
        return Fail(*node, "exclusiveMaximum", "must be less than " + Number(*node->exclusive_maximum));
      }
    } else if (type == kString) {
      std::string_view text(value);
      if (node->min_length || node->max_length) {
        size_t length = schema_text::CodePoints(text);
        if (!Spend(*node, text.size() / 64)) return false;
        if (node->min_length && length < *node->min_length) {
          return Fail(*node, "minLength", fmt::format("must be at least {} characters long", *node->min_length));
        }
        if (node->max_length && length > *node->max_length) {
          return Fail(*node, "maxLength", fmt::format("must be at most {} characters long", *node->max_length));
        }
      }
      if (node->pattern) {
        if (!Spend(*node, text.size())) return false;
        if (!RE2::PartialMatch(text, *node->pattern)) {
          return Fail(*node, "pattern", "must match the pattern " + node->pattern->pattern());
        }
      }
      if (node->format != Format::kNone) {
        bool valid = node->format == Format::kEmail  ? schema_text::IsEmail(text)
                     : node->format == Format::kUuid ? schema_text::IsUuid(text)
                                                     : schema_text::IsDateTime(text);
        if (!valid) {
          const char* name = node->format == Format::kEmail  ? "an email address"
                             : node->format == Format::kUuid ? "a UUID"
                                                             : "an RFC 3339 date-time";
          return Fail(*node, "format", std::string("must be ") + name);
        }
      }
    } else if (type == kArray) {
      simdjson::dom::array array = ArrayOf(value);
      size_t size = array.size();
      if (node->min_items && size < *node->min_items) {
        return Fail(*node, "minItems", fmt::format("must have at least {} items", *node->min_items));
      }
      if (node->max_items && size > *node->max_items) {
        return Fail(*node, "maxItems", fmt::format("must have at most {} items", *node->max_items));
      }
      if (node->items || node->tuple) {
        size_t i = 0;
        for (element item : array) {
          std::optional<size_t> schema = node->tuple ? (i < node->tuple_items.size()
                                                            ? std::optional<size_t>(node->tuple_items[i])
                                                            : std::nullopt)
                                                     : node->items;
          if (!schema) break;
          size_t mark = path_.size();
          path_ += "/" + std::to_string(i);
          if (!Check(*schema, item, depth + 1)) return false;
          path_.resize(mark);
          ++i;
        }
      }
    } else if (type == kObject) {
      simdjson::dom::object object = ObjectOf(value);
      for (const std::string& name : node->required) {
        element ignored;
        if (!Spend(*node, 1)) return false;
        if (object.at_key(name).get(ignored) != simdjson::SUCCESS) {
          std::string quoted = name.size() > 64 ? name.substr(0, 64) + "..." : name;
          return Fail(*node, "required", "has no member '" + quoted + "'");
        }
      }
      if (!node->properties.empty() || !node->pattern_properties.empty() || node->additional) {
        for (auto field : object) {
          size_t mark = path_.size();
          AppendToken(path_, field.key);
          bool matched = false;
          auto property = std::lower_bound(
              node->properties.begin(), node->properties.end(), field.key,
              [](const auto& entry, std::string_view key) { return entry.first < key; });
          if (property != node->properties.end() && property->first == field.key) {
            matched = true;
            if (!Check(property->second, field.value, depth + 1)) return false;
          }
          for (const auto& [re, schema] : node->pattern_properties) {
            if (!Spend(*node, field.key.size() + 1)) return false;
            if (RE2::PartialMatch(field.key, *re)) {
              matched = true;
              if (!Check(schema, field.value, depth + 1)) return false;
            }
          }
          if (!matched && node->additional) {
            const Node& additional = impl_.nodes[*node->additional];
            if (additional.is_false) {
              return Fail(*node, "additionalProperties", "is not allowed (additionalProperties is false)");
            }
            if (!Check(*node->additional, field.value, depth + 1)) return false;
          }
          path_.resize(mark);
        }
      }
    }
    return true;
  }

  const JsonSchema::Impl& impl_;
  std::string path_;
  uint64_t work_ = 0;
  std::optional<SchemaFailure> failure_;
};

}  // namespace

std::string SchemaFailure::Detail() const {
  std::string where = instance_pointer.empty() ? "the body" : instance_pointer;
  return keyword.empty() ? where + ": " + message : fmt::format("{}: {} ({})", where, message, keyword);
}

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::~JsonSchema() = default;

StatusOr<std::shared_ptr<const JsonSchema>> JsonSchema::Compile(std::string_view schema_json) {
  if (schema_json.size() > kMaxSchemaBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the schema is {} bytes (at most {})", schema_json.size(), kMaxSchemaBytes));
  }
  auto impl = std::make_unique<Impl>();
  if (impl->parser.allocate(schema_json.size() + 1, kMaxSchemaDepth) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "out of memory");
  }
  if (auto error = impl->parser.parse(schema_json.data(), schema_json.size()).get(impl->root);
      error != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput,
                  error == simdjson::DEPTH_ERROR
                      ? fmt::format("the schema is nested deeper than {}", kMaxSchemaDepth)
                      : std::string("the schema is not JSON: ") + simdjson::error_message(error));
  }
  Compiler compiler(*impl);
  EDGE_RETURN_IF_ERROR(compiler.Run());
  return std::shared_ptr<const JsonSchema>(new JsonSchema(std::move(impl)));
}

std::optional<SchemaFailure> JsonSchema::Validate(std::string_view body) const {
  // One parser per thread for bodies up to 256 KiB, kept for the next; a
  // larger body gets a parser of its own, freed after it.
  constexpr size_t kKeptParserBytes = 256 * 1024;
  thread_local simdjson::dom::parser kept;
  simdjson::dom::parser own;
  simdjson::dom::parser& parser = body.size() <= kKeptParserBytes ? kept : own;
  element root;
  simdjson::error_code error = simdjson::SUCCESS;
  if (parser.capacity() < body.size() || parser.max_depth() != kMaxBodyDepth) {
    error = parser.allocate(std::max<size_t>(body.size(), 4096), kMaxBodyDepth);
  }
  if (error == simdjson::SUCCESS) error = parser.parse(body.data(), body.size()).get(root);
  if (error != simdjson::SUCCESS) {
    SchemaFailure failure;
    failure.schema_pointer = "#";
    failure.message = error == simdjson::DEPTH_ERROR
                          ? fmt::format("is nested deeper than {}", kMaxBodyDepth)
                          : std::string("is not JSON (") + simdjson::error_message(error) + ")";
    return failure;
  }
  return Validator(*impl_).Run(root);
}

}  // namespace edge::gateway
