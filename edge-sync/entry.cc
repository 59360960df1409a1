#include "edge-sync/entry.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "base/utf8.h"
#include "bindings/kv/kv_store.h"
#include "gateway/deploy/bundle.h"

namespace edge::sync {
namespace {

using base::AppendJsonString;
using base::Base64Decode;
using base::Base64Encode;
using base::JsonString;

constexpr size_t kSignatureBytes = 64;
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kSecretsKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// The KV store's longest namespace id (an LMDB key).
constexpr size_t kMaxNamespaceBytes = 511;
// Key files are small: a PEM key is a few hundred bytes.
constexpr size_t kMaxKeyFileBytes = 64 << 10;

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// A broken invariant inside OpenSSL (out of memory): nothing sensible to
// return, as in CHECK.
[[noreturn]] void Fatal(const char* what) {
  unsigned long code = ERR_get_error();
  char reason[256] = "no OpenSSL error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  std::fprintf(stderr, "edge-sync: fatal: %s (%s)\n", what, reason);
  std::abort();
}

// The first error OpenSSL queued (the queue is cleared).
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char reason[256];
  ERR_error_string_n(code, reason, sizeof reason);
  return reason;
}

struct PkeyFree {
  void operator()(EVP_PKEY* pkey) const { EVP_PKEY_free(pkey); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Reads a small file whole. kNotFound when it is not there.
StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int error = errno;
    if (error == ENOENT) {
      return Status(ErrorCode::kNotFound, fmt::format("{} {} does not exist", what, path));
    }
    return Status(ErrorCode::kIo,
                  fmt::format("cannot read {} {}: {}", what, path, std::strerror(error)));
  }
  std::string bytes;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(in.gcount()));
    if (bytes.size() > kMaxKeyFileBytes) {
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return Invalid(fmt::format("{} {} is too large to be a key file", what, path));
    }
  }
  if (in.bad()) return Status(ErrorCode::kIo, fmt::format("cannot read {} {}", what, path));
  return bytes;
}

// Writes `bytes` to a new file (or replaces it, unless `exclusive`) with
// `mode`, and syncs it.
Status WriteKeyFile(const std::string& path, std::string_view bytes, mode_t mode, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC);
  int fd = open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Invalid(fmt::format(
          "{} exists already: remove it first to replace the key (every PoP pins the public "
          "key, so a new key must be deployed to all of them)",
          path));
    }
    return Status(ErrorCode::kIo, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  Status result;
  // An existing file keeps its mode through O_TRUNC: set ours.
  if (fchmod(fd, mode) != 0) {
    result = Status(ErrorCode::kIo, fmt::format("cannot chmod {}: {}", path, std::strerror(errno)));
  }
  size_t done = 0;
  while (result.ok() && done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result =
          Status(ErrorCode::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (result.ok() && fsync(fd) != 0) {
    result = Status(ErrorCode::kIo, fmt::format("cannot sync {}: {}", path, std::strerror(errno)));
  }
  if (close(fd) != 0 && result.ok()) {
    result = Status(ErrorCode::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  if (!result.ok()) unlink(path.c_str());
  return result;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

// pem_password_cb that refuses: an encrypted key is an error, never a prompt.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The PEM's key, checked to be an Ed25519 one.
StatusOr<Pkey> ReadPem(std::string_view pem, bool is_private, std::string_view where) {
  if (pem.size() > kMaxKeyFileBytes) {
    return Invalid(fmt::format("{}: too large to be a PEM key", where));
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) Fatal("BIO_new_mem_buf");
  Pkey pkey(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                       : PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) {
    return Invalid(
        fmt::format("{}: not {} ({})", where,
                    is_private ? "an unencrypted PEM private key (PKCS#8, \"BEGIN PRIVATE KEY\")"
                               : "a PEM public key (SubjectPublicKeyInfo, \"BEGIN PUBLIC KEY\")",
                    OpenSslError()));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(pkey.get());
    return Invalid(fmt::format("{}: not an Ed25519 key (its type is {})", where,
                               type != nullptr ? type : "unknown"));
  }
  return pkey;
}

std::string RawKey(EVP_PKEY* pkey, bool is_private) {
  unsigned char raw[kEd25519KeyBytes];
  size_t length = sizeof raw;
  int ok = is_private ? EVP_PKEY_get_raw_private_key(pkey, raw, &length)
                      : EVP_PKEY_get_raw_public_key(pkey, raw, &length);
  if (ok != 1 || length != kEd25519KeyBytes) Fatal("EVP_PKEY_get_raw_*_key");
  std::string out(reinterpret_cast<char*>(raw), length);
  OPENSSL_cleanse(raw, sizeof raw);
  return out;
}

Pkey PublicPkey(const std::string& raw) {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
  if (!pkey) Fatal("EVP_PKEY_new_raw_public_key");
  return pkey;
}

Pkey PrivatePkey(const std::string& raw) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
  if (!pkey) Fatal("EVP_PKEY_new_raw_private_key");
  return pkey;
}

std::string PublicPemOf(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) Fatal("PEM_write_bio_PUBKEY");
  return BioText(bio.get());
}

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
  Fatal("an EntryType without a TypeSpec");
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
      if (entry.type == EntryType::kSecretPut && entry.sealed.size() < kNonceBytes + kTagBytes) {
        return prefixed(Invalid(fmt::format(
            "\"sealed\" holds {} bytes, too few for a sealed secret (nonce and tag are {})",
            entry.sealed.size(), kNonceBytes + kTagBytes)));
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

// Keys.

SigningKey::~SigningKey() { OPENSSL_cleanse(private_key_.data(), private_key_.size()); }

StatusOr<SigningKey> SigningKey::Generate() {
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) {
    return Status(ErrorCode::kInternal,
                  fmt::format("cannot generate an Ed25519 key: {}", OpenSslError()));
  }
  return SigningKey(RawKey(pkey.get(), true), RawKey(pkey.get(), false));
}

StatusOr<SigningKey> SigningKey::LoadPrivate(const std::string& path) {
  StatusOr<std::string> pem = ReadSmallFile(path, "the signing key");
  if (!pem.ok()) return pem.status();
  StatusOr<Pkey> pkey = ReadPem(*pem, true, path);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!pkey.ok()) return pkey.status();
  return SigningKey(RawKey(pkey->get(), true), RawKey(pkey->get(), false));
}

Status SigningKey::Save(const std::string& path) const {
  Pkey pkey = PrivatePkey(private_key_);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Fatal("PEM_write_bio_PrivateKey");
  }
  std::string pem = BioText(bio.get());
  Status saved = WriteKeyFile(path, pem, 0600, true);
  OPENSSL_cleanse(pem.data(), pem.size());
  EDGE_RETURN_IF_ERROR(saved);
  return WriteKeyFile(path + ".pub", PublicPem(), 0644, false);
}

SignedEntry SigningKey::Sign(const Entry& entry) const {
  SignedEntry signed_entry;
  signed_entry.seq = entry.seq;
  signed_entry.bytes = EncodeEntry(entry);
  signed_entry.signature = SignBytes(signed_entry.bytes);
  return signed_entry;
}

std::string SigningKey::SignBytes(std::string_view bytes) const {
  Pkey pkey = PrivatePkey(private_key_);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    Fatal("EVP_DigestSignInit");
  }
  unsigned char signature[kSignatureBytes];
  size_t length = sizeof signature;
  if (EVP_DigestSign(ctx.get(), signature, &length, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size()) != 1 ||
      length != kSignatureBytes) {
    Fatal("EVP_DigestSign");
  }
  return std::string(reinterpret_cast<char*>(signature), length);
}

bool VerifyKey::VerifyBytes(std::string_view bytes, std::string_view signature) const {
  if (public_key_.size() != kEd25519KeyBytes || signature.size() != kSignatureBytes) return false;
  Pkey pkey = PublicPkey(public_key_);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    Fatal("EVP_DigestVerifyInit");
  }
  int verified = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  if (verified != 1) ERR_clear_error();
  return verified == 1;
}

std::string SnapshotManifest(uint64_t head, uint64_t compacted_through, uint64_t count,
                             std::string_view lines_sha256_hex) {
  return fmt::format("edge-sync snapshot\nhead {}\ncompacted_through {}\ncount {}\nsha256 {}\n",
                     head, compacted_through, count, lines_sha256_hex);
}

std::string SigningKey::PublicPem() const { return PublicPemOf(PublicPkey(public_key_).get()); }

StatusOr<VerifyKey> VerifyKey::LoadPublic(const std::string& path) {
  StatusOr<std::string> pem = ReadSmallFile(path, "the origin's public key");
  if (!pem.ok()) return pem.status();
  StatusOr<Pkey> pkey = ReadPem(*pem, false, path);
  if (!pkey.ok()) return pkey.status();
  return VerifyKey(RawKey(pkey->get(), false));
}

StatusOr<VerifyKey> VerifyKey::FromPem(std::string_view pem) {
  StatusOr<Pkey> pkey = ReadPem(pem, false, "the origin's public key");
  if (!pkey.ok()) return pkey.status();
  return VerifyKey(RawKey(pkey->get(), false));
}

StatusOr<Entry> VerifyKey::Verify(const SignedEntry& signed_entry) const {
  if (public_key_.size() != kEd25519KeyBytes) {
    return Invalid(
        fmt::format("cannot check the entry at seq {}: no public key of the origin was loaded",
                    signed_entry.seq));
  }
  if (signed_entry.signature.size() != kSignatureBytes) {
    return Invalid(fmt::format("bad signature on the entry at seq {}: {} bytes, not {}",
                               signed_entry.seq, signed_entry.signature.size(), kSignatureBytes));
  }
  if (!VerifyBytes(signed_entry.bytes, signed_entry.signature)) {
    return Invalid(fmt::format(
        "bad signature on the entry at seq {}: it was altered, or not signed by the origin's "
        "key",
        signed_entry.seq));
  }
  StatusOr<Entry> entry = DecodeEntry(signed_entry.bytes);
  if (!entry.ok()) {
    return Invalid(fmt::format("entry at seq {}: {}", signed_entry.seq, entry.status().message()));
  }
  if (entry->seq != signed_entry.seq) {
    return Invalid(fmt::format("entry seq {} in a line for seq {}", entry->seq, signed_entry.seq));
  }
  return entry;
}

// Secrets.

StatusOr<std::string> ReadSecretsKey(const std::string& path) {
  std::string how = fmt::format(
      "{}: the secrets key file must hold 32 random bytes, as 64 hex digits or in base64; make "
      "one with: head -c 32 /dev/urandom | base64 > {}",
      path, path);
  StatusOr<std::string> read = ReadSmallFile(path, "the secrets key");
  if (!read.ok()) {
    if (read.status().code() == ErrorCode::kInvalidInput) return Invalid(how);
    return Status(read.status().code(), fmt::format("{} ({})", read.status().message(), how));
  }
  std::string& file = *read;
  std::string_view text = file;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  std::string key;
  std::optional<std::string> hex;
  if (text.size() == 2 * kSecretsKeyBytes) hex = base::HexDecode(text);
  if (hex) {
    key = std::move(*hex);
  } else if (StatusOr<std::string> decoded = base::Base64Decode(text);
             decoded.ok() && decoded->size() == kSecretsKeyBytes) {
    key = std::move(decoded).value();
  }
  OPENSSL_cleanse(file.data(), file.size());
  if (key.size() != kSecretsKeyBytes) return Invalid(how);
  return key;
}

std::string SealSecret(std::string_view key, std::string_view worker, std::string_view name,
                       std::string_view value) {
  if (key.size() != kSecretsKeyBytes) Fatal("SealSecret: the secrets key is not 32 bytes");
  if (value.size() > INT_MAX / 2) Fatal("SealSecret: the value is too large");
  std::string aad = std::string(worker) + '\0' + std::string(name);
  std::string out(kNonceBytes + value.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) Fatal("RAND_bytes");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    Fatal("AES-256-GCM setup");
  }
  auto* ciphertext = nonce + kNonceBytes;
  int written = 0;
  if (!value.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), ciphertext, &length, Bytes(value),
                          static_cast<int>(value.size())) != 1) {
      Fatal("AES-256-GCM encrypt");
    }
    written = length;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ciphertext + written, &length) != 1) {
    Fatal("AES-256-GCM final");
  }
  written += length;
  if (static_cast<size_t>(written) != value.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ciphertext + written) != 1) {
    Fatal("AES-256-GCM tag");
  }
  return out;
}

StatusOr<std::string> OpenSecret(std::string_view key, std::string_view worker,
                                 std::string_view name, std::string_view sealed) {
  if (key.size() != kSecretsKeyBytes) {
    return Invalid(
        fmt::format("the secrets key must be {} bytes (got {})", kSecretsKeyBytes, key.size()));
  }
  if (sealed.size() < kNonceBytes + kTagBytes || sealed.size() > INT_MAX / 2) {
    return Invalid(
        fmt::format("the sealed secret \"{}\" of worker \"{}\" is {} bytes: not a "
                    "sealed secret",
                    name, worker, sealed.size()));
  }
  std::string aad = std::string(worker) + '\0' + std::string(name);
  const unsigned char* nonce = Bytes(sealed);
  const unsigned char* ciphertext = nonce + kNonceBytes;
  size_t ciphertext_size = sealed.size() - kNonceBytes - kTagBytes;
  std::array<unsigned char, kTagBytes> tag;
  std::memcpy(tag.data(), ciphertext + ciphertext_size, kTagBytes);
  std::string value(ciphertext_size, '\0');
  auto* plain = reinterpret_cast<unsigned char*>(value.data());

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    Fatal("AES-256-GCM setup");
  }
  int written = 0;
  bool ok = true;
  if (ciphertext_size > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), plain, &length, ciphertext,
                           static_cast<int>(ciphertext_size)) == 1;
    written = length;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), plain + written, &length) == 1;
  if (!ok) {
    ERR_clear_error();
    OPENSSL_cleanse(value.data(), value.size());
    return Invalid(fmt::format(
        "cannot open the secret \"{}\" of worker \"{}\": the secrets key is not the one it was "
        "sealed with, or the sealed value was altered or belongs to another secret",
        name, worker));
  }
  return value;
}

}  // namespace edge::sync
