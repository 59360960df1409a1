#include "edge-sync/r2_home.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/json_text.h"
#include "base/log.h"
#include "bindings/r2/r2_wire.h"
#include "edge-sync/queue_mailbox.h"
#include "gateway/node/node.h"

namespace edge::sync {
namespace {

using bindings::R2ErrorJson;
using bindings::R2NumberField;
using bindings::R2StringField;
using simdjson::dom::element;

std::string_view HeaderOf(const gateway::HttpRequest& request, std::string_view name) {
  for (const auto& [k, v] : request.headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return v;
    }
  }
  return {};
}

void Send(gateway::ResponseWriter& writer, const R2Home::Answer& answer) {
  writer.Start(answer.status, "", {{"Content-Type", answer.content_type}}, answer.body.size());
  writer.Write(answer.body);
  writer.Finish();
}

// The HTTP status the store's refusal goes back with: its kind travels in
// the body's "code", so that the PoP rejects with the same error.
int StatusFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return 500;
    default:
      return 400;
  }
}

}  // namespace

std::function<Status(std::string_view, std::string_view)> NodeBindsBucket(gateway::Node& node) {
  auto account_exists = NodeAccountExists(node);
  return [&node, account_exists](std::string_view account, std::string_view bucket) -> Status {
    if (!account_exists(account)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("no account \"{}\" at the origin: its R2 calls are refused", account));
    }
    std::shared_ptr<const gateway::NodeState> state = node.state();
    for (const auto& [name, served] : state->workers) {
      if (served->account != account) continue;
      for (const runtime::EnvBinding& binding : served->spec.bindings) {
        if (binding.kind == "r2" && binding.Option("bucket", binding.name) == bucket) {
          return Status::Ok();
        }
      }
    }
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("no worker of account \"{}\" binds the R2 bucket \"{}\" at the origin",
                              account, bucket));
  };
}

R2Home::R2Home(std::shared_ptr<bindings::R2Store> store, Allowed allowed)
    : store_(std::move(store)), allowed_(std::move(allowed)) {}

R2Home::Answer R2Home::Error(int status, const Status& why) {
  ++counts_.refused;
  return Answer{status, "application/json", R2ErrorJson(why)};
}

R2Home::Answer R2Home::Call(std::string_view body) {
  if (body.size() > kR2CallMaxBodyBytes) {
    return Error(413, Status(ErrorCode::kInvalidInput,
                             fmt::format("an R2 call carries at most {} bytes", kR2CallMaxBodyBytes)));
  }
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: the body is not a JSON object"));
  }
  auto op = R2StringField(root, "op");
  auto account = R2StringField(root, "account");
  auto bucket = R2StringField(root, "bucket");
  for (const auto* field : {&op, &account, &bucket}) {
    if (!field->ok()) return Error(400, field->status());
  }
  Status allowed = allowed_(*account, *bucket);
  if (!allowed.ok()) return Error(403, allowed);
  const std::string& owner = *account;
  auto key_of = [&]() { return R2StringField(root, "key"); };
  auto fail = [&](const Status& status) { return Error(StatusFor(status), status); };
  auto ok = [&](std::string json) {
    ++counts_.calls;
    return Answer{200, "application/json", std::move(json)};
  };

  if (*op == "head") {
    auto key = key_of();
    if (!key.ok()) return Error(400, key.status());
    auto meta = store_->Head(owner, *bucket, *key);
    if (!meta.ok()) return fail(meta.status());
    std::string json = "{\"meta\":";
    if (*meta) {
      bindings::AppendR2MetaJson(json, **meta);
    } else {
      json += "null";
    }
    return ok(json + "}");
  }
  if (*op == "get") {
    auto key = key_of();
    if (!key.ok()) return Error(400, key.status());
    element only_if_json, range_json;
    if (root["only_if"].get(only_if_json) != simdjson::SUCCESS ||
        root["range"].get(range_json) != simdjson::SUCCESS) {
      return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: get needs only_if and range"));
    }
    auto only_if = bindings::R2ConditionalFromJson(only_if_json);
    if (!only_if.ok()) return Error(400, only_if.status());
    auto range = bindings::R2RangeFromJson(range_json);
    if (!range.ok()) return Error(400, range.status());
    auto inline_max = R2NumberField(root, "inline_max");
    if (!inline_max.ok()) return Error(400, inline_max.status());
    auto got = store_->Get(owner, *bucket, *key, only_if->value_or(bindings::R2Conditional{}), *range);
    if (!got.ok()) return fail(got.status());
    if (!*got) return ok("{\"meta\":null}");
    bindings::R2Got& object = **got;
    bool inline_body = object.has_body && object.length <= std::min<uint64_t>(*inline_max, kR2ReadMaxBytes);
    std::string json = "{\"meta\":";
    bindings::AppendR2MetaJson(json, object.meta);
    json += fmt::format(",\"has_body\":{},\"ranged\":{},\"offset\":{},\"length\":{},\"inline\":{}}}\n",
                        object.has_body, object.ranged, object.offset, object.length, inline_body);
    if (inline_body) {
      auto bytes = object.Read(object.offset, static_cast<size_t>(object.length));
      if (!bytes.ok()) return fail(bytes.status());
      if (bytes->size() != object.length) {
        return fail(Status(ErrorCode::kIo, "The object's body was cut short on disk."));
      }
      json += *bytes;
    }
    ++counts_.calls;
    return Answer{200, "application/octet-stream", std::move(json)};
  }
  if (*op == "read") {
    auto key = key_of();
    auto version = R2StringField(root, "version");
    auto offset = R2NumberField(root, "offset");
    auto length = R2NumberField(root, "length");
    if (!key.ok()) return Error(400, key.status());
    if (!version.ok()) return Error(400, version.status());
    if (!offset.ok()) return Error(400, offset.status());
    if (!length.ok()) return Error(400, length.status());
    if (*length == 0 || *length > kR2ReadMaxBytes) {
      return Error(400, Status(ErrorCode::kInvalidInput,
                               fmt::format("R2 call: a read is 1 to {} bytes", kR2ReadMaxBytes)));
    }
    auto got = store_->Get(owner, *bucket, *key, bindings::R2Conditional{}, std::nullopt);
    if (!got.ok()) return fail(got.status());
    if (!*got || (*got)->meta.version != *version) {
      return Error(409, Status(ErrorCode::kInvalidInput,
                               "The object was replaced or deleted while its body was being read."));
    }
    if (*offset > (*got)->meta.size || *length > (*got)->meta.size - *offset) {
      return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: the read is past the object's end"));
    }
    auto bytes = (*got)->Read(*offset, static_cast<size_t>(*length));
    if (!bytes.ok()) return fail(bytes.status());
    if (bytes->size() != *length) {
      return fail(Status(ErrorCode::kIo, "The object's body was cut short on disk."));
    }
    ++counts_.calls;
    return Answer{200, "application/octet-stream",
                  fmt::format("{{\"length\":{}}}\n", bytes->size()) + *bytes};
  }
  if (*op == "delete") {
    simdjson::dom::array list;
    if (root["keys"].get_array().get(list) != simdjson::SUCCESS) {
      return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: delete needs keys"));
    }
    if (list.size() > bindings::kR2MaxDeleteKeys) {
      return Error(400, Status(ErrorCode::kInvalidInput,
                               fmt::format("R2 call: at most {} keys", bindings::kR2MaxDeleteKeys)));
    }
    std::vector<std::string> keys;
    for (element item : list) {
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS) {
        return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: keys must be strings"));
      }
      keys.emplace_back(text);
    }
    Status deleted = store_->Delete(owner, *bucket, keys);
    if (!deleted.ok()) return fail(deleted);
    return ok(fmt::format("{{\"deleted\":{}}}", keys.size()));
  }
  if (*op == "list") {
    bindings::R2ListOptions options;
    std::pair<std::string_view, std::string*> texts[] = {{"prefix", &options.prefix},
                                                         {"delimiter", &options.delimiter},
                                                         {"cursor", &options.cursor},
                                                         {"start_after", &options.start_after}};
    for (auto& [name, field] : texts) {
      auto text = R2StringField(root, name);
      if (!text.ok()) return Error(400, text.status());
      *field = std::move(text).value();
    }
    auto limit = R2NumberField(root, "limit");
    if (!limit.ok()) return Error(400, limit.status());
    options.limit = static_cast<size_t>(std::min<uint64_t>(*limit, bindings::kR2MaxListLimit));
    if (root["include_http"].get_bool().get(options.include_http) != simdjson::SUCCESS ||
        root["include_custom"].get_bool().get(options.include_custom) != simdjson::SUCCESS) {
      return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: list needs include_http and include_custom"));
    }
    auto listed = store_->List(owner, *bucket, options);
    if (!listed.ok()) return fail(listed.status());
    std::string json;
    bindings::AppendR2ListResultJson(json, *listed);
    return ok(std::move(json));
  }
  if (*op == "create_multipart") {
    auto key = key_of();
    if (!key.ok()) return Error(400, key.status());
    element options_json;
    if (root["options"].get(options_json) != simdjson::SUCCESS) {
      return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: create_multipart needs options"));
    }
    auto options = bindings::R2PutOptionsFromJson(options_json);
    if (!options.ok()) return Error(400, options.status());
    auto id = store_->CreateMultipartUpload(owner, *bucket, *key, std::move(options).value());
    if (!id.ok()) return fail(id.status());
    std::string json = "{\"upload_id\":";
    base::AppendJsonString(json, *id);
    return ok(json + "}");
  }
  if (*op == "complete" || *op == "abort") {
    auto key = key_of();
    auto upload_id = R2StringField(root, "upload_id");
    if (!key.ok()) return Error(400, key.status());
    if (!upload_id.ok()) return Error(400, upload_id.status());
    if (*op == "abort") {
      Status aborted = store_->AbortMultipartUpload(owner, *bucket, *key, *upload_id);
      if (!aborted.ok()) return fail(aborted);
      return ok("{}");
    }
    simdjson::dom::array list;
    if (root["parts"].get_array().get(list) != simdjson::SUCCESS ||
        list.size() > bindings::kR2MaxParts) {
      return Error(400, Status(ErrorCode::kInvalidInput,
                               "R2 call: complete needs parts (at most 10,000 [number, etag])"));
    }
    std::vector<std::pair<uint32_t, std::string>> parts;
    for (element item : list) {
      simdjson::dom::array pair;
      uint64_t number = 0;
      std::string_view etag;
      if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
          pair.at(0).get_uint64().get(number) != simdjson::SUCCESS ||
          pair.at(1).get_string().get(etag) != simdjson::SUCCESS) {
        return Error(400, Status(ErrorCode::kInvalidInput, "R2 call: a part is [number, etag]"));
      }
      parts.emplace_back(number <= bindings::kR2MaxParts ? static_cast<uint32_t>(number) : 0,
                         std::string(etag));
    }
    auto meta = store_->CompleteMultipartUpload(owner, *bucket, *key, *upload_id, parts);
    if (!meta.ok()) return fail(meta.status());
    std::string json = "{\"meta\":";
    bindings::AppendR2MetaJson(json, *meta);
    return ok(json + "}");
  }
  return Error(400, Status(ErrorCode::kInvalidInput, fmt::format("R2 call: unknown op \"{}\"", *op)));
}

std::unique_ptr<R2Home::Upload> R2Home::BeginUpload(std::optional<uint64_t> content_length) {
  return std::unique_ptr<Upload>(new Upload(*this, content_length));
}

R2Home::Upload::~Upload() { Abort(); }

void R2Home::Upload::Fail(int status, const Status& why) {
  if (writer_) writer_->Abort();
  writer_.reset();
  if (!failed_) failed_ = home_.Error(status, why);
}

void R2Home::Upload::Begin() {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(header_.data(), header_.size()).get(root) != simdjson::SUCCESS ||
      !root.is_object()) {
    return Fail(400, Status(ErrorCode::kInvalidInput, "R2 upload: the first line is not a JSON object"));
  }
  auto op = R2StringField(root, "op");
  auto account = R2StringField(root, "account");
  auto bucket = R2StringField(root, "bucket");
  auto key = R2StringField(root, "key");
  auto length = R2NumberField(root, "length");
  for (const auto* field : {&op, &account, &bucket, &key}) {
    if (!field->ok()) return Fail(400, field->status());
  }
  if (!length.ok()) return Fail(400, length.status());
  declared_ = *length;
  if (!content_length_ || *content_length_ < header_.size() + 1 ||
      *content_length_ - header_.size() - 1 != declared_) {
    return Fail(400, Status(ErrorCode::kInvalidInput,
                            "R2 upload: the request's Content-Length is not the first line's and "
                            "the body's length together"));
  }
  Status allowed = home_.allowed_(*account, *bucket);
  if (!allowed.ok()) return Fail(403, allowed);
  StatusOr<std::unique_ptr<bindings::R2Writer>> begun = Status(ErrorCode::kInternal, "");
  if (*op == "put") {
    element options_json;
    if (root["options"].get(options_json) != simdjson::SUCCESS) {
      return Fail(400, Status(ErrorCode::kInvalidInput, "R2 upload: a put needs options"));
    }
    auto options = bindings::R2PutOptionsFromJson(options_json);
    if (!options.ok()) return Fail(400, options.status());
    begun = home_.store_->BeginPut(*account, *bucket, *key, std::move(options).value(), declared_);
  } else if (*op == "part") {
    auto upload_id = R2StringField(root, "upload_id");
    auto part = R2NumberField(root, "part_number");
    if (!upload_id.ok()) return Fail(400, upload_id.status());
    if (!part.ok()) return Fail(400, part.status());
    begun = home_.store_->BeginPart(
        *account, *bucket, *key, *upload_id,
        *part <= bindings::kR2MaxParts ? static_cast<uint32_t>(*part) : 0, declared_);
  } else {
    return Fail(400, Status(ErrorCode::kInvalidInput,
                            fmt::format("R2 upload: unknown op \"{}\"", *op)));
  }
  if (!begun.ok()) return Fail(StatusFor(begun.status()), begun.status());
  writer_ = std::move(begun).value();
}

void R2Home::Upload::Feed(std::string_view chunk) {
  if (!have_header_) {
    size_t newline = chunk.find('\n');
    size_t take = newline == std::string_view::npos ? chunk.size() : newline;
    if (header_.size() + take > kR2UploadMaxHeaderBytes) {
      have_header_ = true;
      return Fail(413, Status(ErrorCode::kInvalidInput,
                              fmt::format("R2 upload: the first line is over {} bytes",
                                          kR2UploadMaxHeaderBytes)));
    }
    header_.append(chunk.substr(0, take));
    if (newline == std::string_view::npos) return;
    have_header_ = true;
    chunk.remove_prefix(newline + 1);
    Begin();
  }
  received_ += chunk.size();
  if (failed_ || chunk.empty()) return;  // drained: the answer is at the end
  Status written = writer_->Write(chunk);
  if (!written.ok()) Fail(StatusFor(written), written);
}

R2Home::Answer R2Home::Upload::Finish() {
  if (!have_header_) {
    Fail(400, Status(ErrorCode::kInvalidInput, "R2 upload: the body ended before its first line"));
  }
  if (!failed_ && received_ != declared_) {
    Fail(400, Status(ErrorCode::kInvalidInput,
                     fmt::format("R2 upload: {} body bytes arrived, not {}", received_, declared_)));
  }
  if (failed_) return *failed_;
  auto meta = writer_->Commit();
  writer_.reset();
  if (!meta.ok()) {
    Fail(StatusFor(meta.status()), meta.status());
    return *failed_;
  }
  ++home_.counts_.puts;
  std::string json = "{\"meta\":";
  if (*meta) {
    bindings::AppendR2MetaJson(json, **meta);
  } else {
    json += "null";
  }
  return Answer{200, "application/json", json + "}"};
}

void R2Home::Upload::Abort() {
  if (writer_) writer_->Abort();
  writer_.reset();
}

bool R2Home::Handle(const gateway::HttpRequest& request,
                    const std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (!path.starts_with("/sync/r2/")) return false;
  if (path == "/sync/r2/call") {
    if (request.method != "POST") {
      Send(*writer, Error(405, Status(ErrorCode::kInvalidInput, "use POST")));
      return true;
    }
    Send(*writer, Call(request.body));
    return true;
  }
  if (path != "/sync/r2/put") {
    Send(*writer, Error(404, Status(ErrorCode::kNotFound,
                                    "R2 paths are /sync/r2/call (POST) and /sync/r2/put (PUT)")));
    return true;
  }
  if (request.method != "PUT") {
    Send(*writer, Error(405, Status(ErrorCode::kInvalidInput, "use PUT")));
    return true;
  }
  std::optional<uint64_t> length;
  std::string_view length_text = HeaderOf(request, "content-length");
  uint64_t value = 0;
  if (!length_text.empty() &&
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), value).ec ==
          std::errc()) {
    length = value;
  }
  std::shared_ptr<Upload> upload = BeginUpload(length);
  if (request.body_stream == nullptr) {
    upload->Feed(request.body);
    Send(*writer, upload->Finish());
    return true;
  }
  // Each chunk goes to the body file as it arrives: the object is never in
  // memory, and the socket is read no faster than the disk takes it.
  auto done = std::make_shared<bool>(false);
  request.body_stream->Read({
      [upload, done](std::string_view chunk) {
        if (!*done) upload->Feed(chunk);
      },
      [upload, writer, done] {
        if (*done) return;
        *done = true;
        Send(*writer, upload->Finish());
      },
      [upload, done](std::string_view why) {
        if (*done) return;
        *done = true;
        Log(LogLevel::kInfo, "R2 upload from a PoP cut short ({}): nothing stored", why);
        upload->Abort();
      },
  });
  return true;
}

}  // namespace edge::sync
