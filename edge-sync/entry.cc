#include "edge-sync/entry.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "base/base64.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "base/utf8.h"
#include "bindings/kv/kv_store.h"
#include "edge-sync/sealed_secrets.h"
#include "gateway/deploy/accounts.h"
#include "gateway/deploy/bundle.h"

namespace edge::sync {
namespace {

using base::AppendJsonString;
using base::Base64Decode;
using base::Base64Encode;
using base::JsonString;

// The KV store's longest namespace id (an LMDB key).
constexpr size_t kMaxNamespaceBytes = 511;

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// The entry's worker, for the entry types that belong to one.
bool HasWorker(EntryType type) {
  return type != EntryType::kKvPut && type != EntryType::kKvDelete &&
         type != EntryType::kAccount && type != EntryType::kAccountDelete &&
         type != EntryType::kHostPolicies && type != EntryType::kHostPoliciesDelete;
}

// "%" and "/" escaped: the namespace part of a "k/" key.
std::string EscapeNamespace(std::string_view ns) {
  std::string out;
  for (char c : ns) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// JSON keys of an entry, in canonical order.
enum Field : uint32_t {
  kSeq = 1u << 0,
  kTimeMs = 1u << 1,
  kType = 1u << 2,
  kWorker = 1u << 3,
  kVersionField = 1u << 4,
  kBlob = 1u << 5,
  kRoutesField = 1u << 6,
  kMakeCurrent = 1u << 7,
  kName = 1u << 8,
  kSealed = 1u << 9,
  kNs = 1u << 10,
  kKey = 1u << 11,
  kValue = 1u << 12,
  kMetadata = 1u << 13,
  kExpiration = 1u << 14,
  kAccountField = 1u << 15,
  kRecord = 1u << 16,
  kPolicies = 1u << 17,
};

// How a field is written and read: its JSON type, and the member of Entry
// it holds.
enum class FieldKind {
  kType,    // the entry type's name (EntryTypeName)
  kUint,    // a number from 0 to 2^64-1: `number`
  kText,    // a string: `text`
  kBinary,  // bytes, as a base64 string: `text`
  kRoutes,  // an array of strings: Entry::routes
  kBool,    // true or false: Entry::make_current
};

struct FieldSpec {
  Field field;
  std::string_view name;
  FieldKind kind;
  uint64_t Entry::*number = nullptr;
  std::string Entry::*text = nullptr;
  // Not empty: the field cannot be empty when present, and this says so.
  std::string_view if_empty = {};
};
constexpr FieldSpec kFields[] = {
    {kSeq, "seq", FieldKind::kUint, &Entry::seq},
    {kTimeMs, "time_ms", FieldKind::kUint, &Entry::time_ms},
    {kType, "type", FieldKind::kType},
    {kWorker, "worker", FieldKind::kText, nullptr, &Entry::worker},
    {kVersionField, "version", FieldKind::kUint, &Entry::version},
    {kBlob, "blob", FieldKind::kText, nullptr, &Entry::blob, "\"blob\" cannot be empty"},
    {kRoutesField, "routes", FieldKind::kRoutes},
    {kMakeCurrent, "make_current", FieldKind::kBool},
    {kName, "name", FieldKind::kText, nullptr, &Entry::name},
    {kSealed, "sealed", FieldKind::kBinary, nullptr, &Entry::sealed},
    {kNs, "ns", FieldKind::kText, nullptr, &Entry::ns},
    {kKey, "key", FieldKind::kText, nullptr, &Entry::key},
    {kValue, "value", FieldKind::kBinary, nullptr, &Entry::value},
    {kMetadata, "metadata", FieldKind::kText, nullptr, &Entry::metadata,
     "\"metadata\" cannot be empty (leave it out when there is none)"},
    {kExpiration, "expiration", FieldKind::kUint, &Entry::expiration},
    {kAccountField, "account", FieldKind::kText, nullptr, &Entry::account,
     "\"account\" cannot be empty (leave it out when there is none)"},
    {kRecord, "record", FieldKind::kText, nullptr, &Entry::record},
    {kPolicies, "policies", FieldKind::kText, nullptr, &Entry::policies,
     "\"policies\" cannot be empty (a set with no tables is \"[]\")"},
};

const FieldSpec& SpecOf(Field field) {
  for (const FieldSpec& spec : kFields) {
    if (spec.field == field) return spec;
  }
  std::fprintf(stderr, "edge-sync: fatal: a Field without a FieldSpec\n");
  std::abort();
}

struct TypeSpec {
  EntryType type;
  std::string_view name;
  uint32_t required;  // besides seq, time_ms and type
  uint32_t optional;
  // The same fields in the order EncodeEntry writes them (after seq,
  // time_ms and type): the required ones always, the optional ones when set
  // (IsSet); Field{} ends a shorter list.
  std::array<Field, 6> order;
};
constexpr TypeSpec kTypes[] = {
    {EntryType::kVersion,
     "version",
     kWorker | kVersionField | kBlob,
     kRoutesField | kMakeCurrent | kAccountField,
     {kWorker, kVersionField, kBlob, kRoutesField, kMakeCurrent, kAccountField}},
    {EntryType::kRoutes, "routes", kWorker | kRoutesField, 0, {kWorker, kRoutesField}},
    {EntryType::kRollback, "rollback", kWorker | kVersionField, 0, {kWorker, kVersionField}},
    {EntryType::kDeleteWorker, "delete_worker", kWorker, 0, {kWorker}},
    {EntryType::kSecretPut, "secret_put", kWorker | kName | kSealed, 0, {kWorker, kName, kSealed}},
    {EntryType::kSecretDelete, "secret_delete", kWorker | kName, 0, {kWorker, kName}},
    // One of value and blob: checked apart.
    {EntryType::kKvPut,
     "kv_put",
     kNs | kKey,
     kValue | kBlob | kMetadata | kExpiration,
     {kNs, kKey, kValue, kBlob, kMetadata, kExpiration}},
    {EntryType::kKvDelete, "kv_delete", kNs | kKey, 0, {kNs, kKey}},
    {EntryType::kAccount, "account", kAccountField | kRecord, 0, {kAccountField, kRecord}},
    {EntryType::kAccountDelete, "account_delete", kAccountField, 0, {kAccountField}},
    {EntryType::kHostPolicies, "host_policies", kPolicies, 0, {kPolicies}},
    {EntryType::kHostPoliciesDelete, "host_policies_delete", 0, 0, {}},
};

// Each type's order lists exactly its fields.
constexpr bool OrdersListTheFields() {
  for (const TypeSpec& spec : kTypes) {
    uint32_t listed = 0;
    for (Field field : spec.order) listed |= field;
    if (listed != (spec.required | spec.optional)) return false;
  }
  return true;
}
static_assert(OrdersListTheFields());

// Whether EncodeEntry writes an optional field: routes when given, an inline
// value unless the body is a blob, a blob, metadata and an expiration when
// not empty (0), make_current always.
bool IsSet(Field field, const Entry& entry) {
  switch (field) {
    case kRoutesField:
      return entry.routes.has_value();
    case kValue:
      return entry.blob.empty();
    case kBlob:
      return !entry.blob.empty();
    case kMetadata:
      return !entry.metadata.empty();
    case kExpiration:
      return entry.expiration != 0;
    case kAccountField:
      return !entry.account.empty();
    default:
      return true;
  }
}

const TypeSpec& Spec(EntryType type) {
  for (const TypeSpec& spec : kTypes) {
    if (spec.type == type) return spec;
  }
  std::fprintf(stderr, "edge-sync: fatal: an EntryType without a TypeSpec\n");
  std::abort();
}

std::string FieldList(uint32_t fields) {
  std::string out;
  for (const FieldSpec& field : kFields) {
    if ((fields & field.field) == 0) continue;
    if (!out.empty()) out += ", ";
    out += field.name;
  }
  return out;
}

Status EntryError(std::string_view message) {
  return Invalid(fmt::format("invalid log entry: {}", message));
}

Status LineError(std::string_view message) {
  return Invalid(fmt::format("invalid log line: {}", message));
}

// Typed reads of an entry's fields.
StatusOr<uint64_t> GetUint(simdjson::dom::element value, std::string_view key) {
  uint64_t number = 0;
  if (value.get_uint64().get(number) != simdjson::SUCCESS) {
    return EntryError(fmt::format("\"{}\" must be an integer from 0 to 2^64-1", key));
  }
  return number;
}

StatusOr<std::string> GetString(simdjson::dom::element value, std::string_view key) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return EntryError(fmt::format("\"{}\" must be a string", key));
  }
  return std::string(text);
}

// Errors are made by `error` (a log line's fields are read this way too).
StatusOr<std::string> GetBase64(simdjson::dom::element value, std::string_view key,
                                Status (*error)(std::string_view) = EntryError) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return error(fmt::format("\"{}\" must be a string (base64)", key));
  }
  StatusOr<std::string> bytes = base::Base64Decode(text);
  if (!bytes.ok()) return error(fmt::format("\"{}\": {}", key, bytes.status().message()));
  return bytes;
}

// Reads one field of an entry into `entry` (the type excepted: it is read
// first, to know which fields belong).
Status ReadField(const FieldSpec& spec, simdjson::dom::element value, Entry& entry) {
  switch (spec.kind) {
    case FieldKind::kType:
      return Status::Ok();
    case FieldKind::kUint: {
      StatusOr<uint64_t> number = GetUint(value, spec.name);
      if (!number.ok()) return number.status();
      entry.*spec.number = *number;
      return Status::Ok();
    }
    case FieldKind::kText:
    case FieldKind::kBinary: {
      StatusOr<std::string> text =
          spec.kind == FieldKind::kText ? GetString(value, spec.name) : GetBase64(value, spec.name);
      if (!text.ok()) return text.status();
      if (!spec.if_empty.empty() && text->empty()) return EntryError(spec.if_empty);
      entry.*spec.text = std::move(text).value();
      return Status::Ok();
    }
    case FieldKind::kRoutes: {
      simdjson::dom::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) {
        return EntryError("\"routes\" must be an array of strings");
      }
      std::vector<std::string> routes;
      for (simdjson::dom::element item : array) {
        std::string_view route;
        if (item.get_string().get(route) != simdjson::SUCCESS) {
          return EntryError("\"routes\" must be an array of strings");
        }
        routes.emplace_back(route);
      }
      entry.routes = std::move(routes);
      return Status::Ok();
    }
    case FieldKind::kBool:
      if (value.get_bool().get(entry.make_current) != simdjson::SUCCESS) {
        return EntryError("\"make_current\" must be true or false");
      }
      return Status::Ok();
  }
  return Status::Ok();
}

// Appends one field of an entry as `,"name":value` (the type excepted:
// EncodeEntry writes it first). Routes that are not set are written [].
void WriteField(std::string& out, Field field, const Entry& entry) {
  const FieldSpec& spec = SpecOf(field);
  out += fmt::format(",\"{}\":", spec.name);
  switch (spec.kind) {
    case FieldKind::kType:
      break;
    case FieldKind::kUint:
      out += std::to_string(entry.*spec.number);
      break;
    case FieldKind::kText:
      base::AppendJsonString(out, entry.*spec.text);
      break;
    case FieldKind::kBinary:
      out += '"';
      out += base::Base64Encode(entry.*spec.text);
      out += '"';
      break;
    case FieldKind::kRoutes:
      base::AppendJsonStringArray(out, entry.routes.value_or(std::vector<std::string>{}));
      break;
    case FieldKind::kBool:
      out += entry.make_current ? "true" : "false";
      break;
  }
}

// Parses `json` (an entry or a line, at most `max_bytes`) into `object`,
// which lives as long as `parser`; errors are made by `error`.
Status ParseObject(simdjson::dom::parser& parser, std::string_view json, size_t max_bytes,
                   Status (*error)(std::string_view), std::string_view not_an_object,
                   simdjson::dom::object& object) {
  if (json.size() > max_bytes) {
    return error(fmt::format("{} bytes, over the limit of {}", json.size(), max_bytes));
  }
  simdjson::dom::element root;
  simdjson::error_code code = parser.parse(json.data(), json.size()).get(root);
  if (code != simdjson::SUCCESS) {
    return error(fmt::format("not valid JSON: {}", simdjson::error_message(code)));
  }
  if (root.get_object().get(object) != simdjson::SUCCESS) return error(not_an_object);
  return Status::Ok();
}

}  // namespace

std::string_view EntryTypeName(EntryType type) { return Spec(type).name; }

std::vector<std::string> Entry::Keys() const {
  switch (type) {
    case EntryType::kVersion: {
      std::vector<std::string> keys = {fmt::format("v/{}/{}", worker, version)};
      if (routes) keys.push_back("r/" + worker);
      if (make_current) keys.push_back("c/" + worker);
      return keys;
    }
    case EntryType::kRoutes:
      return {"r/" + worker};
    case EntryType::kRollback:
      return {"c/" + worker};
    case EntryType::kDeleteWorker:
      return {"w/" + worker};
    case EntryType::kSecretPut:
    case EntryType::kSecretDelete:
      return {fmt::format("s/{}/{}", worker, name)};
    case EntryType::kKvPut:
    case EntryType::kKvDelete:
      return {fmt::format("k/{}/{}", EscapeNamespace(ns), key)};
    case EntryType::kAccount:
    case EntryType::kAccountDelete:
      return {"a/" + account};
    case EntryType::kHostPolicies:
    case EntryType::kHostPoliciesDelete:
      return {"h"};
  }
  return {};
}

bool Entry::IsTombstone() const {
  return type == EntryType::kDeleteWorker || type == EntryType::kSecretDelete ||
         type == EntryType::kKvDelete || type == EntryType::kAccountDelete ||
         type == EntryType::kHostPoliciesDelete;
}

std::string EncodeEntry(const Entry& entry) {
  std::string out = fmt::format("{{\"seq\":{},\"time_ms\":{},\"type\":\"{}\"", entry.seq,
                                entry.time_ms, EntryTypeName(entry.type));
  const TypeSpec& spec = Spec(entry.type);
  for (Field field : spec.order) {
    if (field == Field{}) break;
    if ((spec.required & field) != 0 || IsSet(field, entry)) WriteField(out, field, entry);
  }
  out += '}';
  return out;
}

Status ValidateEntry(const Entry& entry) {
  if (entry.seq == 0) return EntryError("\"seq\" must be above 0");
  const TypeSpec& spec = Spec(entry.type);
  auto prefixed = [&](const Status& status) {
    return EntryError(fmt::format("{} entry: {}", spec.name, status.message()));
  };
  if (HasWorker(entry.type)) {
    Status valid = gateway::CheckWorkerName(entry.worker);
    if (!valid.ok()) return prefixed(valid);
  }
  if (entry.type == EntryType::kAccount || entry.type == EntryType::kAccountDelete ||
      (entry.type == EntryType::kVersion && !entry.account.empty())) {
    Status valid = gateway::CheckAccountName(entry.account);
    if (!valid.ok()) return prefixed(valid);
  }
  switch (entry.type) {
    case EntryType::kAccount: {
      auto record = gateway::AccountRecord::Parse(entry.account, entry.record);
      if (!record.ok()) {
        return prefixed(Invalid(fmt::format("\"record\" is not an account's record")));
      }
      break;
    }
    case EntryType::kAccountDelete:
    case EntryType::kHostPoliciesDelete:
      break;
    case EntryType::kHostPolicies:
      if (entry.policies.empty()) {
        return prefixed(Invalid("\"policies\" cannot be empty (a set with no tables is \"[]\")"));
      }
      if (!base::IsValidUtf8(entry.policies)) {
        return prefixed(Invalid("\"policies\" is not valid UTF-8"));
      }
      break;
    case EntryType::kVersion:
    case EntryType::kRollback:
      if (entry.version == 0) return prefixed(Invalid("\"version\" must be above 0"));
      if (entry.type == EntryType::kRollback) break;
      if (!base::IsSha256Hex(entry.blob)) {
        return prefixed(Invalid(
            "\"blob\" must name the bundle by its SHA-256 in lower-case hex (64 characters)"));
      }
      [[fallthrough]];
    case EntryType::kRoutes:
      if (entry.type == EntryType::kRoutes && !entry.routes) {
        return prefixed(Invalid("a routes entry needs \"routes\""));
      }
      if (entry.routes) {
        for (const std::string& route : *entry.routes) {
          if (route.empty()) return prefixed(Invalid("a route cannot be empty"));
          if (!base::IsValidUtf8(route)) return prefixed(Invalid("a route is not valid UTF-8"));
        }
      }
      break;
    case EntryType::kDeleteWorker:
      break;
    case EntryType::kSecretPut:
    case EntryType::kSecretDelete: {
      Status valid = gateway::CheckBindingName(entry.name);
      if (!valid.ok()) return prefixed(valid);
      if (entry.type == EntryType::kSecretPut && entry.sealed.size() < kSealedOverheadBytes) {
        return prefixed(Invalid(fmt::format(
            "\"sealed\" holds {} bytes, too few for a sealed secret (nonce and tag are {})",
            entry.sealed.size(), kSealedOverheadBytes)));
      }
      break;
    }
    case EntryType::kKvPut:
    case EntryType::kKvDelete:
      if (entry.ns.empty() || entry.ns.size() > kMaxNamespaceBytes) {
        return prefixed(
            Invalid(fmt::format("\"ns\" must be 1 to {} bytes long", kMaxNamespaceBytes)));
      }
      if (!base::IsValidUtf8(entry.ns)) return prefixed(Invalid("\"ns\" is not valid UTF-8"));
      if (entry.key.empty() || entry.key.size() > bindings::kKvMaxKeyBytes) {
        return prefixed(
            Invalid(fmt::format("\"key\" must be 1 to {} bytes long", bindings::kKvMaxKeyBytes)));
      }
      if (entry.key == "." || entry.key == "..") {
        return prefixed(Invalid(fmt::format("\"{}\" is not allowed as a key name", entry.key)));
      }
      if (!base::IsValidUtf8(entry.key)) return prefixed(Invalid("\"key\" is not valid UTF-8"));
      if (entry.type == EntryType::kKvDelete) break;
      if (!entry.blob.empty()) {
        if (!base::IsSha256Hex(entry.blob)) {
          return prefixed(Invalid(
              "\"blob\" must name the value by its SHA-256 in lower-case hex (64 characters)"));
        }
        if (!entry.value.empty()) {
          return prefixed(
              Invalid("the value is inline (\"value\") or a blob (\"blob\"), not both"));
        }
      } else if (entry.value.size() > kInlineValueBytes) {
        return prefixed(Invalid(
            fmt::format("an inline value is at most {} bytes (got {}): larger ones are blobs",
                        kInlineValueBytes, entry.value.size())));
      }
      if (entry.metadata.size() > bindings::kKvMaxMetadataBytes) {
        return prefixed(Invalid(fmt::format("\"metadata\" is at most {} bytes (got {})",
                                            bindings::kKvMaxMetadataBytes, entry.metadata.size())));
      }
      if (!base::IsValidUtf8(entry.metadata))
        return prefixed(Invalid("\"metadata\" is not valid UTF-8"));
      break;
  }
  // Only the fields that are written count: cheaper to measure than to
  // estimate.
  size_t size = EncodeEntry(entry).size();
  if (size > kMaxEntryBytes) {
    return prefixed(
        Invalid(fmt::format("the entry is {} bytes, over the limit of {}", size, kMaxEntryBytes)));
  }
  return Status::Ok();
}

StatusOr<Entry> DecodeEntry(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  EDGE_RETURN_IF_ERROR(ParseObject(parser, json, kMaxEntryBytes, EntryError,
                                   "an entry must be a JSON object", object));

  // Every field once, each a known one.
  std::map<Field, simdjson::dom::element> values;
  uint32_t present = 0;
  for (simdjson::dom::key_value_pair pair : object) {
    const FieldSpec* known = nullptr;
    for (const FieldSpec& field : kFields) {
      if (field.name == pair.key) known = &field;
    }
    if (known == nullptr) {
      return EntryError(fmt::format("unknown key {}", base::JsonString(pair.key)));
    }
    if ((present & known->field) != 0) {
      return EntryError(fmt::format("the key \"{}\" appears twice", known->name));
    }
    present |= known->field;
    values.emplace(known->field, pair.value);
  }
  for (Field field : {kSeq, kTimeMs, kType}) {
    if ((present & field) == 0) {
      return EntryError(fmt::format("no \"{}\"", FieldList(field)));
    }
  }

  Entry entry;
  StatusOr<std::string> type_name = GetString(values.at(kType), "type");
  if (!type_name.ok()) return type_name.status();
  const TypeSpec* spec = nullptr;
  for (const TypeSpec& candidate : kTypes) {
    if (candidate.name == *type_name) spec = &candidate;
  }
  if (spec == nullptr) {
    std::string known;
    for (const TypeSpec& candidate : kTypes) {
      if (!known.empty()) known += ", ";
      known += candidate.name;
    }
    return EntryError(fmt::format("unknown type {} (known: {})", base::JsonString(*type_name), known));
  }
  entry.type = spec->type;
  uint32_t own = present & ~(kSeq | kTimeMs | kType);
  if (uint32_t extra = own & ~(spec->required | spec->optional); extra != 0) {
    return EntryError(fmt::format("a {} entry has no {} (its fields: {})", spec->name,
                                  FieldList(extra), FieldList(spec->required | spec->optional)));
  }
  if (uint32_t missing = spec->required & ~own; missing != 0) {
    return EntryError(fmt::format("a {} entry needs {}", spec->name, FieldList(missing)));
  }
  if (entry.type == EntryType::kKvPut) {
    uint32_t body = own & (kValue | kBlob);
    if (body == 0) {
      return EntryError("a kv_put entry needs its value: \"value\" (inline) or \"blob\"");
    }
    if (body == (kValue | kBlob)) {
      return EntryError("a kv_put entry has \"value\" or \"blob\", not both");
    }
  }

  for (const auto& [field, value] : values) {
    EDGE_RETURN_IF_ERROR(ReadField(SpecOf(field), value, entry));
  }
  EDGE_RETURN_IF_ERROR(ValidateEntry(entry));
  return entry;
}

// Lines.

std::string SignedEntry::Line() const {
  return fmt::format("{{\"seq\":{},\"entry\":\"{}\",\"sig\":\"{}\"}}\n", seq, base::Base64Encode(bytes),
                     base::Base64Encode(signature));
}

StatusOr<SignedEntry> ParseLine(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  EDGE_RETURN_IF_ERROR(
      ParseObject(parser, line, kMaxLineBytes, LineError, "a line must be a JSON object", object));
  SignedEntry signed_entry;
  std::set<std::string_view> seen;
  for (simdjson::dom::key_value_pair pair : object) {
    if (!seen.insert(pair.key).second) {
      return LineError(fmt::format("the key {} appears twice", base::JsonString(pair.key)));
    }
    if (pair.key == "seq") {
      if (pair.value.get_uint64().get(signed_entry.seq) != simdjson::SUCCESS ||
          signed_entry.seq == 0) {
        return LineError("\"seq\" must be an integer above 0");
      }
    } else if (pair.key == "entry" || pair.key == "sig") {
      StatusOr<std::string> bytes = GetBase64(pair.value, pair.key, LineError);
      if (!bytes.ok()) return bytes.status();
      if (pair.key == "entry") {
        if (bytes->empty()) return LineError("\"entry\" is empty");
        signed_entry.bytes = std::move(bytes).value();
      } else {
        if (bytes->size() != kSignatureBytes) {
          return LineError(fmt::format("\"sig\" holds {} bytes; an Ed25519 signature has {}",
                                       bytes->size(), kSignatureBytes));
        }
        signed_entry.signature = std::move(bytes).value();
      }
    } else {
      return LineError(fmt::format("unknown key {} (a line has seq, entry and sig)",
                                   base::JsonString(pair.key)));
    }
  }
  for (std::string_view key : {"seq", "entry", "sig"}) {
    if (!seen.contains(key)) return LineError(fmt::format("no \"{}\"", key));
  }
  return signed_entry;
}

// Snapshots.

std::string SnapshotManifest(uint64_t head, uint64_t compacted_through, uint64_t count,
                             std::string_view lines_sha256_hex) {
  return fmt::format("edge-sync snapshot\nhead {}\ncompacted_through {}\ncount {}\nsha256 {}\n",
                     head, compacted_through, count, lines_sha256_hex);
}

}  // namespace edge::sync
