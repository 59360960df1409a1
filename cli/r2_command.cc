#include "cli/r2_command.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <simdjson.h>
#include <sys/stat.h>

#include "base/json_text.h"
#include "bindings/cron/cron_scheduler.h"
#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_notifications.h"
#include "bindings/r2/r2_store.h"
#include "cli/admin_client.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

// Bytes read from a file (or stdin) at a time.
constexpr size_t kChunkBytes = 1u << 20;
// `edge dev` has no accounts: its buckets have the empty owner.
const std::string kLocalOwner;

// The local state folder `edge dev` uses (./.edge/state, or --persist-to).
fs::path LocalState(const R2CommandOptions& options) {
  std::error_code ec;
  return options.persist_to.empty() ? fs::current_path(ec) / ".edge" / "state"
                                    : fs::absolute(options.persist_to, ec);
}

// What ?account= says to the node ("" with an account's own token).
std::string AccountQuery(const R2CommandOptions& options, char first = '?') {
  return options.account.empty() ? "" : std::string(1, first) + "account=" + PercentEncode(options.account);
}

std::string RuleRow(std::string_view queue, std::string_view types, std::string_view prefix,
                    std::string_view suffix, std::string_view source) {
  return fmt::format("{:<24} {:<28} {:<16} {:<16} {}\n", queue, types, prefix.empty() ? "-" : prefix,
                     suffix.empty() ? "-" : suffix, source);
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// The rule `notification create` describes, checked before it is sent.
StatusOr<bindings::R2NotificationRule> RuleOf(const R2CommandOptions& options) {
  bindings::R2NotificationRule rule;
  rule.bucket = options.target;
  rule.queue = options.queue;
  rule.prefix = options.prefix;
  rule.suffix = options.suffix;
  if (options.event_types.empty()) {
    return Status(ErrorCode::kInvalidInput, "--event-type object-create|object-delete is required");
  }
  for (const std::string& type : options.event_types) EDGE_RETURN_IF_ERROR(bindings::AddR2EventType(type, &rule));
  EDGE_RETURN_IF_ERROR(bindings::ValidateR2NotificationRule(rule));
  return rule;
}

Status Notifications(const R2CommandOptions& options, std::ostream& out) {
  const std::string& action = options.notification_action;
  if (!bindings::R2Store::ValidBucketName(options.target)) {
    return Status(ErrorCode::kInvalidInput, fmt::format("\"{}\" is not a valid bucket name", options.target));
  }
  std::optional<bindings::R2NotificationRule> rule;
  if (action == "create") {
    auto made = RuleOf(options);
    if (!made.ok()) return made.status();
    rule = std::move(made).value();
  }
  if (!options.to.empty()) {
    StatusOr<std::string> token = ResolveToken(options.token_file);
    if (!token.ok()) return token.status();
    AdminTarget target{options.to, std::move(token).value()};
    EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
    std::string path = "/r2/buckets/" + PercentEncode(options.target) + "/notifications";
    StatusOr<AdminResponse> response = Status::Ok();
    if (action == "create") {
      std::string body = fmt::format("{{\"queue\":{},\"event_types\":{},\"prefix\":{},\"suffix\":{}}}",
                                     base::JsonString(rule->queue), base::JsonStringArray(rule->EventTypes()),
                                     base::JsonString(rule->prefix), base::JsonString(rule->suffix));
      response = Request(target, "POST", path + AccountQuery(options), body, "application/json");
    } else if (action == "delete") {
      response = Request(target, "DELETE",
                         path + "?queue=" + PercentEncode(options.queue) + AccountQuery(options, '&'));
    } else {
      response = Request(target, "GET", path + AccountQuery(options));
    }
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    if (action != "list") {
      out << (action == "create" ? fmt::format("Created a notification rule on bucket '{}' for queue '{}'.\n",
                                               options.target, options.queue)
                                 : fmt::format("Deleted the notification rules of bucket '{}'{}.\n", options.target,
                                               options.queue.empty() ? "" : " for queue '" + options.queue + "'"));
      return Status::Ok();
    }
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array rules;
    if (parser.parse(response->body.data(), response->body.size(), true).get(root) != simdjson::SUCCESS ||
        root["rules"].get_array().get(rules) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidInput, "the node's answer about notification rules is not what edge expects");
    }
    out << RuleRow("queue", "event_types", "prefix", "suffix", "source");
    for (simdjson::dom::element entry : rules) {
      std::string_view queue, prefix, suffix, source;
      std::vector<std::string> types;
      simdjson::dom::array list;
      if (entry["event_types"].get_array().get(list) == simdjson::SUCCESS) {
        for (simdjson::dom::element type : list) {
          std::string_view text;
          if (type.get_string().get(text) == simdjson::SUCCESS) types.emplace_back(text);
        }
      }
      // A field the node left out reads as "".
      for (auto [key, out] : {std::pair{"queue", &queue}, std::pair{"prefix", &prefix},
                              std::pair{"suffix", &suffix}, std::pair{"source", &source}}) {
        if (entry[key].get_string().get(*out) != simdjson::SUCCESS) *out = {};
      }
      out << RuleRow(queue, Joined(types), prefix, suffix, source);
    }
    return Status::Ok();
  }
  // The local state: its stored rules (a project's [[r2_event_notifications]]
  // are `edge dev`'s, read from its config while it runs).
  fs::path state = LocalState(options);
  auto queues = bindings::QueueStore::Open(state.string(), {}, bindings::SystemCronClock());
  if (!queues.ok()) return queues.status();
  auto notifier = bindings::R2Notifier::Attach(bindings::R2Store::Open(state.string()), *queues, {});
  if (action == "create") {
    EDGE_RETURN_IF_ERROR(notifier->AddRule(kLocalOwner, *rule));
    out << fmt::format("Created a notification rule on bucket '{}' for queue '{}'.\n", options.target, options.queue);
    return Status::Ok();
  }
  if (action == "delete") {
    auto removed = notifier->DeleteRules(kLocalOwner, options.target, options.queue);
    if (!removed.ok()) return removed.status();
    out << fmt::format("Deleted {} notification rule(s) of bucket '{}'.\n", *removed, options.target);
    return Status::Ok();
  }
  auto listed = notifier->ListRules(kLocalOwner, options.target);
  if (!listed.ok()) return listed.status();
  out << RuleRow("queue", "event_types", "prefix", "suffix", "source");
  for (const auto& entry : *listed) {
    out << RuleRow(entry.rule.queue, Joined(entry.rule.EventTypes()), entry.rule.prefix, entry.rule.suffix, "stored");
  }
  return Status::Ok();
}

// Splits BUCKET/KEY.
Status SplitObjectPath(const std::string& target, std::string* bucket, std::string* key) {
  size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("\"{}\": name an object as BUCKET/KEY", target));
  }
  *bucket = target.substr(0, slash);
  *key = target.substr(slash + 1);
  if (!bindings::R2Store::ValidBucketName(*bucket)) {
    return Status(ErrorCode::kInvalidInput, fmt::format("\"{}\" is not a valid bucket name", *bucket));
  }
  return Status::Ok();
}

// What `object copy` asks for: --metadata-directive REPLACE with
// --content-type and --custom k=v (given without it, they would be
// ignored, as S3 ignores them: refused instead).
StatusOr<bindings::R2CopyOptions> CopyOptionsOf(const R2CommandOptions& options) {
  bindings::R2CopyOptions copy;
  const std::string& directive = options.metadata_directive;
  if (directive == "REPLACE" || directive == "replace") {
    copy.replace_metadata = true;
  } else if (!directive.empty() && directive != "COPY" && directive != "copy") {
    return Status(ErrorCode::kInvalidInput, "--metadata-directive is COPY or REPLACE");
  }
  if (!copy.replace_metadata && (!options.content_type.empty() || !options.custom.empty())) {
    return Status(ErrorCode::kInvalidInput,
                  "--content-type and --custom set the copy's metadata: give --metadata-directive REPLACE "
                  "(without it the copy keeps the source's)");
  }
  if (!options.content_type.empty()) copy.http.content_type = options.content_type;
  for (const std::string& pair : options.custom) {
    size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Status(ErrorCode::kInvalidInput, fmt::format("--custom \"{}\": give KEY=VALUE", pair));
    }
    copy.custom.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
  }
  return copy;
}

// Writes all of `bytes` to `fd`.
Status WriteOut(int fd, std::string_view bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(ErrorCode::kIo, "cannot write the object out");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RunRemote(const R2CommandOptions& options, std::ostream& out) {
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  if (options.what == "bucket") {
    std::string path = "/r2/buckets";
    if (options.action != "list") path += "/" + PercentEncode(options.target);
    const char* method = options.action == "list" ? "GET" : options.action == "create" ? "PUT" : "DELETE";
    StatusOr<AdminResponse> response = Request(target, method, path + AccountQuery(options));
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    if (options.action != "list") {
      out << fmt::format("{} bucket '{}'.\n", options.action == "create" ? "Created" : "Deleted", options.target);
      return Status::Ok();
    }
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array list;
    if (parser.parse(response->body.data(), response->body.size(), true).get(root) != simdjson::SUCCESS ||
        root["buckets"].get_array().get(list) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidInput, "the node's answer to GET /r2/buckets is not what edge expects");
    }
    std::string json = "[";
    size_t count = 0;
    for (simdjson::dom::element entry : list) {
      std::string_view name;
      int64_t created = 0;
      if (entry["name"].get_string().get(name) != simdjson::SUCCESS) continue;
      if (entry["creation_date_ms"].get_int64().get(created) != simdjson::SUCCESS) created = 0;
      json += count++ == 0 ? "\n  " : ",\n  ";
      json += fmt::format("{{\"name\": {}, \"creation_date_ms\": {}}}", base::JsonString(name), created);
    }
    out << json << (count == 0 ? "]\n" : "\n]\n");
    return Status::Ok();
  }
  std::string bucket, key;
  EDGE_RETURN_IF_ERROR(SplitObjectPath(options.target, &bucket, &key));
  if (options.action == "copy") {
    // S3's CopyObject: PUT the destination naming its source.
    auto copy = CopyOptionsOf(options);
    if (!copy.ok()) return copy.status();
    std::string to_bucket, to_key;
    EDGE_RETURN_IF_ERROR(SplitObjectPath(options.destination, &to_bucket, &to_key));
    target.headers.emplace_back("x-amz-copy-source", PercentEncode(bucket) + "/" + PercentEncode(key));
    target.headers.emplace_back("x-amz-metadata-directive", copy->replace_metadata ? "REPLACE" : "COPY");
    for (const auto& [name, value] : copy->custom) target.headers.emplace_back("x-amz-meta-" + name, value);
    StatusOr<AdminResponse> response =
        Request(target, "PUT",
                "/r2/buckets/" + PercentEncode(to_bucket) + "/objects/" + PercentEncode(to_key) + AccountQuery(options),
                {}, copy->http.content_type.value_or(""));
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    out << fmt::format("Copied '{}' of bucket '{}' to '{}' of bucket '{}'.\n", key, bucket, to_key, to_bucket);
    return Status::Ok();
  }
  std::string path = "/r2/buckets/" + PercentEncode(bucket) + "/objects/" + PercentEncode(key) + AccountQuery(options);
  if (options.action == "delete") {
    StatusOr<AdminResponse> response = Request(target, "DELETE", path);
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    out << fmt::format("Deleted object '{}' from bucket '{}'.\n", key, bucket);
    return Status::Ok();
  }
  if (options.action == "get") {
    int fd = 1;
    if (!options.file.empty()) {
      fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return Status(ErrorCode::kIo, fmt::format("{}: cannot create", options.file));
    }
    Status written = Status::Ok();
    StatusOr<AdminResponse> response = Transfer(target, "GET", path, nullptr, {}, [&](std::string_view bytes) {
      written = WriteOut(fd, bytes);
      return written.ok();
    });
    if (fd != 1) ::close(fd);
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(written);
    return ResponseError(*response);
  }
  // put: the node needs the length up front, so the bytes come from a file.
  if (options.file.empty()) {
    return Status(ErrorCode::kInvalidInput, "with --to, object put needs --file F (R2 needs the object's length up front)");
  }
  int fd = ::open(options.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kNotFound, fmt::format("{}: cannot open", options.file));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: not a regular file", options.file));
  }
  base::BodySource source{static_cast<uint64_t>(info.st_size), [fd](char* buffer, size_t size) -> StatusOr<size_t> {
                            for (;;) {
                              ssize_t n = ::read(fd, buffer, size);
                              if (n < 0 && errno == EINTR) continue;
                              if (n < 0) return Status(ErrorCode::kIo, "cannot read the object's bytes");
                              return static_cast<size_t>(n);
                            }
                          }};
  std::string content_type = options.content_type.empty() ? "application/octet-stream" : options.content_type;
  StatusOr<AdminResponse> response =
      Transfer(target, "PUT", path, &source, content_type, [](std::string_view) { return true; });
  ::close(fd);
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  out << fmt::format("Uploaded '{}' to bucket '{}': {} bytes.\n", key, bucket, info.st_size);
  return Status::Ok();
}

Status Run(const R2CommandOptions& options, std::ostream& out) {
  if (options.what == "bucket" && options.action == "notification") return Notifications(options, out);
  if (!options.to.empty()) return RunRemote(options, out);
  if (!options.token_file.empty()) return Status(ErrorCode::kInvalidInput, "--token-file goes with --to URL");
  std::error_code ec;
  fs::path state = LocalState(options);
  auto store = bindings::R2Store::Open(state.string());
  // With queues in the state, the local bucket notification rules apply
  // to what this command writes (the events are written with the object;
  // a running `edge dev` or this command moves them into the queues).
  std::shared_ptr<bindings::R2Notifier> notifier;
  if (fs::exists(state / "queues", ec)) {
    auto queues = bindings::QueueStore::Open(state.string(), {}, bindings::SystemCronClock());
    if (!queues.ok()) return queues.status();
    notifier = bindings::R2Notifier::Attach(store, *queues, {});
  }
  auto deliver = [&] {
    if (notifier != nullptr) (void)notifier->DeliverSome();
  };
  if (options.what == "bucket") {
    if (options.action == "list") {
      auto buckets = store->ListBuckets(kLocalOwner);
      if (!buckets.ok()) return buckets.status();
      std::string json = "[";
      for (size_t i = 0; i < buckets->size(); ++i) {
        json += i == 0 ? "\n  " : ",\n  ";
        json += fmt::format("{{\"name\": {}, \"creation_date_ms\": {}}}",
                            base::JsonString((*buckets)[i].name), (*buckets)[i].created_ms);
      }
      out << json << (buckets->empty() ? "]\n" : "\n]\n");
      return Status::Ok();
    }
    if (options.action == "create") {
      EDGE_RETURN_IF_ERROR(store->CreateBucket(kLocalOwner, options.target));
      out << fmt::format("Created bucket '{}'.\n", options.target);
      return Status::Ok();
    }
    EDGE_RETURN_IF_ERROR(store->DeleteBucket(kLocalOwner, options.target));
    out << fmt::format("Deleted bucket '{}'.\n", options.target);
    return Status::Ok();
  }
  std::string bucket, key;
  EDGE_RETURN_IF_ERROR(SplitObjectPath(options.target, &bucket, &key));
  if (options.action == "copy") {
    auto copy = CopyOptionsOf(options);
    if (!copy.ok()) return copy.status();
    std::string to_bucket, to_key;
    EDGE_RETURN_IF_ERROR(SplitObjectPath(options.destination, &to_bucket, &to_key));
    auto copied = store->CopyObject(kLocalOwner, bucket, key, to_bucket, to_key, *copy);
    if (!copied.ok()) return copied.status();
    deliver();
    out << fmt::format("Copied '{}' of bucket '{}' to '{}' of bucket '{}'.\n", key, bucket, to_key, to_bucket);
    return Status::Ok();
  }
  if (options.action == "delete") {
    EDGE_RETURN_IF_ERROR(store->Delete(kLocalOwner, bucket, {key}));
    deliver();
    out << fmt::format("Deleted object '{}' from bucket '{}'.\n", key, bucket);
    return Status::Ok();
  }
  if (options.action == "get") {
    auto got = store->Get(kLocalOwner, bucket, key, {}, std::nullopt);
    if (!got.ok()) return got.status();
    if (!*got) {
      return Status(ErrorCode::kNotFound, fmt::format("no object '{}' in bucket '{}'", key, bucket));
    }
    int fd = 1;
    if (!options.file.empty()) {
      fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return Status(ErrorCode::kIo, fmt::format("{}: cannot create", options.file));
    }
    Status status = Status::Ok();
    for (uint64_t at = 0; at < (*got)->length && status.ok(); at += kChunkBytes) {
      auto bytes = (*got)->Read(at, static_cast<size_t>(std::min<uint64_t>(kChunkBytes, (*got)->length - at)));
      if (!bytes.ok()) {
        status = bytes.status();
        break;
      }
      status = WriteOut(fd, *bytes);
    }
    if (fd != 1) ::close(fd);
    return status;
  }
  // put: from --file (its length declared up front) or stdin.
  int fd = 0;
  std::optional<uint64_t> length;
  if (!options.file.empty()) {
    fd = ::open(options.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status(ErrorCode::kNotFound, fmt::format("{}: cannot open", options.file));
    length = fs::file_size(options.file, ec);
    if (ec) length.reset();
  }
  bindings::R2PutOptions put;
  if (!options.content_type.empty()) put.http.content_type = options.content_type;
  auto writer = store->BeginPut(kLocalOwner, bucket, key, std::move(put), length);
  Status status = writer.ok() ? Status::Ok() : writer.status();
  std::string chunk(kChunkBytes, '\0');
  while (status.ok()) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = Status(ErrorCode::kIo, "cannot read the object's bytes");
    if (n <= 0) break;
    status = (*writer)->Write(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  if (fd != 0) ::close(fd);
  EDGE_RETURN_IF_ERROR(status);
  auto meta = (*writer)->Commit();
  if (!meta.ok()) return meta.status();
  deliver();
  out << fmt::format("Uploaded '{}' to bucket '{}': {} bytes, etag {}.\n", key, bucket,
                     (*meta)->size, (*meta)->etag);
  return Status::Ok();
}

}  // namespace

CLI::App* AddR2Command(CLI::App& app, R2CommandOptions& options) {
  CLI::App* r2 = app.add_subcommand(
      "r2", "Manage R2 buckets, objects and bucket event notifications, of a node (--to) or of the local "
            "`edge dev` state (wrangler's shape)");
  r2->require_subcommand(1);
  auto common = [&](CLI::App* command) {
    command->add_option("--persist-to", options.persist_to,
                        "The state folder `edge dev --persist-to` uses (default: ./.edge/state)");
    command->add_option("--to", options.to, "A node's admin API URL (default: the local `edge dev` state)");
    command->add_option("--token-file", options.token_file,
                        "With --to: the file holding the token (an account's, or the node's admin token)");
    command->add_option("--account", options.account,
                        "With --to and the node's admin token: whose buckets (default: the default account)");
  };
  CLI::App* bucket = r2->add_subcommand("bucket", "create, list or delete buckets");
  bucket->require_subcommand(1);
  for (const char* action : {"create", "delete"}) {
    CLI::App* command = bucket->add_subcommand(action, fmt::format("{} bucket NAME", action));
    command->add_option("name", options.target, "The bucket's name")->required();
    common(command);
  }
  common(bucket->add_subcommand("list", "Print the buckets as a JSON array"));
  CLI::App* notification = bucket->add_subcommand(
      "notification", "Event notification rules: object-create/object-delete events of a bucket go to a queue");
  notification->require_subcommand(1);
  CLI::App* create = notification->add_subcommand("create", "Add a rule: create BUCKET --event-type T --queue Q");
  create->add_option("--event-type,--event-types", options.event_types,
                     "object-create and/or object-delete (repeat, or give both)")
      ->required();
  create->add_option("--queue", options.queue, "The queue the messages go to (of the same account)")->required();
  create->add_option("--prefix", options.prefix, "Only keys starting with this");
  create->add_option("--suffix", options.suffix, "Only keys ending with this");
  CLI::App* list = notification->add_subcommand("list", "List the rules of BUCKET");
  CLI::App* remove = notification->add_subcommand("delete", "Remove the rules of BUCKET for --queue Q (all without)");
  remove->add_option("--queue", options.queue, "The queue whose rules go");
  for (CLI::App* command : {create, list, remove}) {
    command->add_option("bucket", options.target, "The bucket's name")->required();
    common(command);
  }
  CLI::App* object = r2->add_subcommand("object", "put, get, delete or copy objects");
  object->require_subcommand(1);
  CLI::App* put = object->add_subcommand("put", "Store --file F (or stdin) as BUCKET/KEY");
  put->add_option("--content-type", options.content_type, "The object's Content-Type");
  CLI::App* get = object->add_subcommand("get", "Write BUCKET/KEY to --file F (or stdout)");
  CLI::App* del = object->add_subcommand("delete", "Delete BUCKET/KEY");
  for (CLI::App* command : {put, get, del}) {
    command->add_option("path", options.target, "BUCKET/KEY")->required();
    common(command);
  }
  put->add_option("--file", options.file, "The file to upload");
  get->add_option("--file", options.file, "The file to write");
  CLI::App* copy = object->add_subcommand(
      "copy", "Copy SRC_BUCKET/KEY to DST_BUCKET/KEY on the store's side (S3's CopyObject: buckets of "
              "the same account; the copy keeps the source's metadata unless --metadata-directive REPLACE)");
  copy->add_option("source", options.target, "SRC_BUCKET/KEY")->required();
  copy->add_option("destination", options.destination, "DST_BUCKET/KEY")->required();
  copy->add_option("--metadata-directive", options.metadata_directive,
                   "COPY (the default: the source's httpMetadata and customMetadata) or REPLACE");
  copy->add_option("--content-type", options.content_type, "With REPLACE: the copy's Content-Type");
  copy->add_option("--custom", options.custom, "With REPLACE: a custom metadata KEY=VALUE (repeat for more)")
      ->allow_extra_args(false);
  common(copy);
  return r2;
}

int RunR2Command(CLI::App* r2, R2CommandOptions& options) {
  CLI::App* group = r2->get_subcommands().front();
  options.what = group->get_name();
  CLI::App* action = group->get_subcommands().front();
  options.action = action->get_name();
  if (options.action == "notification") options.notification_action = action->get_subcommands().front()->get_name();
  return RunR2Command(options, std::cout, std::cerr);
}

int RunR2Command(const R2CommandOptions& options, std::ostream& out, std::ostream& err) {
  Status status = Run(options, out);
  if (status.ok()) return 0;
  err << "edge r2: " << status.message() << "\n";
  return 1;
}

}  // namespace edge::cli
