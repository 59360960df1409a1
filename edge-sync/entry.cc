#include "edge-sync/entry.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
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
bool HasWorker(EntryType type) { return type != EntryType::kKvPut && type != EntryType::kKvDelete; }

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
};

struct FieldName {
  Field field;
  std::string_view name;
};
constexpr FieldName kFields[] = {
    {kSeq, "seq"},
    {kTimeMs, "time_ms"},
    {kType, "type"},
    {kWorker, "worker"},
    {kVersionField, "version"},
    {kBlob, "blob"},
    {kRoutesField, "routes"},
    {kMakeCurrent, "make_current"},
    {kName, "name"},
    {kSealed, "sealed"},
    {kNs, "ns"},
    {kKey, "key"},
    {kValue, "value"},
    {kMetadata, "metadata"},
    {kExpiration, "expiration"},
};

struct TypeSpec {
  EntryType type;
  std::string_view name;
  uint32_t required;  // besides seq, time_ms and type
  uint32_t optional;
};
constexpr TypeSpec kTypes[] = {
    {EntryType::kVersion, "version", kWorker | kVersionField | kBlob, kRoutesField | kMakeCurrent},
    {EntryType::kRoutes, "routes", kWorker | kRoutesField, 0},
    {EntryType::kRollback, "rollback", kWorker | kVersionField, 0},
    {EntryType::kDeleteWorker, "delete_worker", kWorker, 0},
    {EntryType::kSecretPut, "secret_put", kWorker | kName | kSealed, 0},
    {EntryType::kSecretDelete, "secret_delete", kWorker | kName, 0},
    // One of value and blob: checked apart.
    {EntryType::kKvPut, "kv_put", kNs | kKey, kValue | kBlob | kMetadata | kExpiration},
    {EntryType::kKvDelete, "kv_delete", kNs | kKey, 0},
};

const TypeSpec& Spec(EntryType type) {
  for (const TypeSpec& spec : kTypes) {
    if (spec.type == type) return spec;
  }
  std::fprintf(stderr, "edge-sync: fatal: an EntryType without a TypeSpec\n");
  std::abort();
}

std::string FieldList(uint32_t fields) {
  std::string out;
  for (const FieldName& field : kFields) {
    if ((fields & field.field) == 0) continue;
    if (!out.empty()) out += ", ";
    out += field.name;
  }
  return out;
}

Status EntryError(std::string_view message) {
  return Invalid(fmt::format("invalid log entry: {}", message));
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

StatusOr<std::string> GetBase64(simdjson::dom::element value, std::string_view key) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return EntryError(fmt::format("\"{}\" must be a string (base64)", key));
  }
  StatusOr<std::string> bytes = base::Base64Decode(text);
  if (!bytes.ok()) return EntryError(fmt::format("\"{}\": {}", key, bytes.status().message()));
  return bytes;
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
  }
  return {};
}

bool Entry::IsTombstone() const {
  return type == EntryType::kDeleteWorker || type == EntryType::kSecretDelete ||
         type == EntryType::kKvDelete;
}

std::string EncodeEntry(const Entry& entry) {
  std::string out = fmt::format("{{\"seq\":{},\"time_ms\":{},\"type\":\"{}\"", entry.seq,
                                entry.time_ms, EntryTypeName(entry.type));
  auto text = [&](std::string_view key, std::string_view value) {
    out += fmt::format(",\"{}\":", key);
    base::AppendJsonString(out, value);
  };
  auto binary = [&](std::string_view key, std::string_view value) {
    out += fmt::format(",\"{}\":\"{}\"", key, base::Base64Encode(value));
  };
  auto number = [&](std::string_view key, uint64_t value) {
    out += fmt::format(",\"{}\":{}", key, value);
  };
  switch (entry.type) {
    case EntryType::kVersion:
      text("worker", entry.worker);
      number("version", entry.version);
      text("blob", entry.blob);
      if (entry.routes) {
        out += ",\"routes\":[";
        for (size_t i = 0; i < entry.routes->size(); ++i) {
          if (i > 0) out += ',';
          base::AppendJsonString(out, (*entry.routes)[i]);
        }
        out += ']';
      }
      out += entry.make_current ? ",\"make_current\":true" : ",\"make_current\":false";
      break;
    case EntryType::kRoutes:
      text("worker", entry.worker);
      out += ",\"routes\":[";
      if (entry.routes) {
        for (size_t i = 0; i < entry.routes->size(); ++i) {
          if (i > 0) out += ',';
          base::AppendJsonString(out, (*entry.routes)[i]);
        }
      }
      out += ']';
      break;
    case EntryType::kRollback:
      text("worker", entry.worker);
      number("version", entry.version);
      break;
    case EntryType::kDeleteWorker:
      text("worker", entry.worker);
      break;
    case EntryType::kSecretPut:
      text("worker", entry.worker);
      text("name", entry.name);
      binary("sealed", entry.sealed);
      break;
    case EntryType::kSecretDelete:
      text("worker", entry.worker);
      text("name", entry.name);
      break;
    case EntryType::kKvPut:
      text("ns", entry.ns);
      text("key", entry.key);
      if (entry.blob.empty()) {
        binary("value", entry.value);
      } else {
        text("blob", entry.blob);
      }
      if (!entry.metadata.empty()) text("metadata", entry.metadata);
      if (entry.expiration != 0) number("expiration", entry.expiration);
      break;
    case EntryType::kKvDelete:
      text("ns", entry.ns);
      text("key", entry.key);
      break;
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
  switch (entry.type) {
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
  if (json.size() > kMaxEntryBytes) {
    return EntryError(fmt::format("{} bytes, over the limit of {}", json.size(), kMaxEntryBytes));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code error = parser.parse(json.data(), json.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return EntryError(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return EntryError("an entry must be a JSON object");
  }

  // Every field once, each a known one.
  std::map<Field, simdjson::dom::element> values;
  uint32_t present = 0;
  for (simdjson::dom::key_value_pair pair : object) {
    const FieldName* known = nullptr;
    for (const FieldName& field : kFields) {
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
    std::string_view key;
    for (const FieldName& known : kFields) {
      if (known.field == field) key = known.name;
    }
    auto uint = [&](uint64_t* out) -> Status {
      StatusOr<uint64_t> number = GetUint(value, key);
      if (!number.ok()) return number.status();
      *out = *number;
      return Status::Ok();
    };
    auto text = [&](std::string* out) -> Status {
      StatusOr<std::string> string = GetString(value, key);
      if (!string.ok()) return string.status();
      *out = std::move(string).value();
      return Status::Ok();
    };
    auto binary = [&](std::string* out) -> Status {
      StatusOr<std::string> bytes = GetBase64(value, key);
      if (!bytes.ok()) return bytes.status();
      *out = std::move(bytes).value();
      return Status::Ok();
    };
    switch (field) {
      case kType:
        break;
      case kSeq:
        EDGE_RETURN_IF_ERROR(uint(&entry.seq));
        break;
      case kTimeMs:
        EDGE_RETURN_IF_ERROR(uint(&entry.time_ms));
        break;
      case kWorker:
        EDGE_RETURN_IF_ERROR(text(&entry.worker));
        break;
      case kVersionField:
        EDGE_RETURN_IF_ERROR(uint(&entry.version));
        break;
      case kBlob:
        EDGE_RETURN_IF_ERROR(text(&entry.blob));
        if (entry.blob.empty()) return EntryError("\"blob\" cannot be empty");
        break;
      case kRoutesField: {
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
        break;
      }
      case kMakeCurrent:
        if (value.get_bool().get(entry.make_current) != simdjson::SUCCESS) {
          return EntryError("\"make_current\" must be true or false");
        }
        break;
      case kName:
        EDGE_RETURN_IF_ERROR(text(&entry.name));
        break;
      case kSealed:
        EDGE_RETURN_IF_ERROR(binary(&entry.sealed));
        break;
      case kNs:
        EDGE_RETURN_IF_ERROR(text(&entry.ns));
        break;
      case kKey:
        EDGE_RETURN_IF_ERROR(text(&entry.key));
        break;
      case kValue:
        EDGE_RETURN_IF_ERROR(binary(&entry.value));
        break;
      case kMetadata:
        EDGE_RETURN_IF_ERROR(text(&entry.metadata));
        if (entry.metadata.empty()) {
          return EntryError("\"metadata\" cannot be empty (leave it out when there is none)");
        }
        break;
      case kExpiration:
        EDGE_RETURN_IF_ERROR(uint(&entry.expiration));
        break;
    }
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
  auto error = [](std::string_view message) {
    return Invalid(fmt::format("invalid log line: {}", message));
  };
  if (line.size() > kMaxLineBytes) {
    return error(fmt::format("{} bytes, over the limit of {}", line.size(), kMaxLineBytes));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code code = parser.parse(line.data(), line.size()).get(root);
  if (code != simdjson::SUCCESS) {
    return error(fmt::format("not valid JSON: {}", simdjson::error_message(code)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return error("a line must be a JSON object");
  }
  SignedEntry signed_entry;
  std::set<std::string_view> seen;
  for (simdjson::dom::key_value_pair pair : object) {
    if (!seen.insert(pair.key).second) {
      return error(fmt::format("the key {} appears twice", base::JsonString(pair.key)));
    }
    if (pair.key == "seq") {
      if (pair.value.get_uint64().get(signed_entry.seq) != simdjson::SUCCESS ||
          signed_entry.seq == 0) {
        return error("\"seq\" must be an integer above 0");
      }
    } else if (pair.key == "entry" || pair.key == "sig") {
      std::string_view text;
      if (pair.value.get_string().get(text) != simdjson::SUCCESS) {
        return error(fmt::format("\"{}\" must be a string (base64)", pair.key));
      }
      StatusOr<std::string> bytes = base::Base64Decode(text);
      if (!bytes.ok()) return error(fmt::format("\"{}\": {}", pair.key, bytes.status().message()));
      if (pair.key == "entry") {
        if (bytes->empty()) return error("\"entry\" is empty");
        signed_entry.bytes = std::move(bytes).value();
      } else {
        if (bytes->size() != kSignatureBytes) {
          return error(fmt::format("\"sig\" holds {} bytes; an Ed25519 signature has {}",
                                   bytes->size(), kSignatureBytes));
        }
        signed_entry.signature = std::move(bytes).value();
      }
    } else {
      return error(
          fmt::format("unknown key {} (a line has seq, entry and sig)", base::JsonString(pair.key)));
    }
  }
  for (std::string_view key : {"seq", "entry", "sig"}) {
    if (!seen.contains(key)) return error(fmt::format("no \"{}\"", key));
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
