#include "gateway/node/admin_api.h"

#include <openssl/crypto.h>
#include <simdjson.h>

#include <charconv>

#include "base/ascii.h"
#include "base/http_text.h"
#include "base/json_escape.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "base/token_file.h"
#include "base/uv_handle.h"
#include "gateway/policy/jwt.h"
#include "bindings/cache/cache_http.h"
#include "bindings/workflows/workflow_admin.h"
#include "gateway/deploy/accounts.h"
#include "gateway/node/node.h"
#include "gateway/http/status_pages.h"
#include "base/log.h"

namespace edge::gateway {
namespace {

// A tail with nothing to say still writes this often, so clients and
// proxies can tell a quiet worker from a dead connection.
constexpr uint64_t kHeartbeatMs = 10000;
// A tail whose client reads slower than events come loses events rather
// than the node's memory.
constexpr size_t kTailBufferLimit = 1u << 20;

void Send(ResponseWriter& writer, const AdminResult& result) {
  HeaderList headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  std::string body = result.body + "\n";
  writer.Start(result.status, "", headers, body.size());
  writer.Write(body);
  writer.Finish();
}

void SendError(ResponseWriter& writer, int status, std::string_view message) {
  Send(writer, AdminResult::Error(status, message));
}

std::string_view Header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (base::EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return {};
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t end = path.find('/');
    segments.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return segments;
}

// A worker's versions, as GET /workers/<name> and .../versions list them.
std::string VersionsJson(const std::vector<VersionInfo>& versions) {
  std::string list;
  base::AppendJsonArray(list, versions, [](std::string& out, const VersionInfo& v) {
    out += fmt::format("{{\"id\":{},\"sha256\":{},\"created_ms\":{},\"size\":{}}}", v.id,
                       base::JsonString(v.sha256), v.created_ms, v.size);
  });
  return list;
}

// A query parameter's raw value ("" when absent).
std::string_view QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return {};
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// Whose queues or buckets a call reaches: an account's token its own; the
// operator names one (?account=, else the default account workers deploy
// to). Nullopt when ?account= is not percent-encoded properly.
std::optional<std::string> OwnerFor(std::string_view query, const std::string& account) {
  if (!account.empty()) return account;
  std::optional<std::string> named = PercentDecode(QueryValue(query, "account"));
  if (!named) return std::nullopt;
  return named->empty() ? std::string(kDefaultAccount) : std::move(*named);
}

// An If-Match style list as S3's x-amz-copy-source-if-match carries it:
// `"etag"`, `W/"etag"` or `*`, comma-separated (quotes optional, as S3
// takes them). Nullopt when the header is absent.
std::optional<std::vector<bindings::R2Etag>> EtagList(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::vector<bindings::R2Etag> list;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = base::TrimOws(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    bindings::R2Etag etag;
    if (item == "*") {
      etag.type = bindings::R2Etag::kWildcard;
    } else {
      if (item.starts_with("W/")) {
        etag.type = bindings::R2Etag::kWeak;
        item.remove_prefix(2);
      }
      if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
      etag.value = std::string(item);
    }
    list.push_back(std::move(etag));
  }
  return list;
}

// A CopyObject request as S3 spells it: PUT the destination with
// x-amz-copy-source: <bucket>/<key> (percent-encoded; a leading '/' is
// allowed), x-amz-metadata-directive: COPY (the default) or REPLACE (the
// copy takes Content-Type, Content-Language, Content-Disposition,
// Content-Encoding, Cache-Control, Expires and x-amz-meta-* from this
// request), x-amz-storage-class, and x-amz-copy-source-if-match,
// -if-none-match, -if-modified-since and -if-unmodified-since.
struct CopyRequest {
  std::string source_bucket, source_key;
  bindings::R2CopyOptions options;
};

StatusOr<CopyRequest> ReadCopyRequest(const HttpRequest& request, std::string_view source) {
  CopyRequest copy;
  auto bad = [](std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); };
  std::optional<std::string> decoded = PercentDecode(source);
  if (!decoded) return bad("x-amz-copy-source is not percent-encoded properly");
  std::string_view path = *decoded;
  if (path.starts_with('/')) path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash + 1 == path.size()) {
    return bad("x-amz-copy-source must be <bucket>/<key>");
  }
  copy.source_bucket = std::string(path.substr(0, slash));
  copy.source_key = std::string(path.substr(slash + 1));
  if (!bindings::R2Store::ValidBucketName(copy.source_bucket)) {
    return bad("the source bucket name is not valid (3 to 63 of a-z, 0-9 and '-')");
  }
  if (copy.source_key.size() > bindings::kR2MaxKeyBytes) {
    return bad(fmt::format("an object key is 1 to {} bytes", bindings::kR2MaxKeyBytes));
  }
  std::string_view directive = Header(request, "x-amz-metadata-directive");
  if (base::EqualsIgnoreCase(directive, "REPLACE")) {
    copy.options.replace_metadata = true;
  } else if (!directive.empty() && !base::EqualsIgnoreCase(directive, "COPY")) {
    return bad("x-amz-metadata-directive is COPY or REPLACE");
  }
  std::string_view storage_class = Header(request, "x-amz-storage-class");
  if (!storage_class.empty()) {
    copy.options.storage_class = base::EqualsIgnoreCase(storage_class, "STANDARD")      ? "Standard"
                                 : base::EqualsIgnoreCase(storage_class, "STANDARD_IA") ? "InfrequentAccess"
                                                                                         : std::string(storage_class);
  }
  bindings::R2Conditional& only_if = copy.options.source_only_if;
  only_if.etag_matches = EtagList(Header(request, "x-amz-copy-source-if-match"));
  only_if.etag_does_not_match = EtagList(Header(request, "x-amz-copy-source-if-none-match"));
  for (auto [name, out] : {std::pair{"x-amz-copy-source-if-modified-since", &only_if.uploaded_after_ms},
                           std::pair{"x-amz-copy-source-if-unmodified-since", &only_if.uploaded_before_ms}}) {
    std::string_view text = Header(request, name);
    if (text.empty()) continue;
    std::optional<int64_t> when = bindings::ParseHttpDate(text);
    if (!when) return bad(fmt::format("{} is not an HTTP date", name));
    *out = when;
  }
  // HTTP dates have whole seconds: compared as such, as R2 does for headers.
  only_if.seconds_granularity = true;
  if (!copy.options.replace_metadata) return copy;
  bindings::R2HttpMetadata& http = copy.options.http;
  for (auto [name, out] : {std::pair{"content-type", &http.content_type},
                           std::pair{"content-language", &http.content_language},
                           std::pair{"content-disposition", &http.content_disposition},
                           std::pair{"content-encoding", &http.content_encoding},
                           std::pair{"cache-control", &http.cache_control}}) {
    std::string_view text = Header(request, name);
    if (!text.empty()) *out = std::string(text);
  }
  std::string_view expires = Header(request, "expires");
  if (!expires.empty()) {
    http.cache_expiry_ms = bindings::ParseHttpDate(expires);
    if (!http.cache_expiry_ms) return bad("Expires is not an HTTP date");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.size() > 11 && base::EqualsIgnoreCase(std::string_view(name).substr(0, 11), "x-amz-meta-")) {
      copy.options.custom.emplace_back(base::AsciiLower(std::string_view(name).substr(11)), value);
    }
  }
  return copy;
}

void MethodNotAllowed(ResponseWriter& writer, std::string_view allowed) {
  std::string body = fmt::format("{{\"error\":\"method not allowed: use {}\"}}\n", allowed);
  writer.Start(405, "", {{"Content-Type", "application/json"}, {"Allow", std::string(allowed)}},
               body.size());
  writer.Write(body);
  writer.Finish();
}

}  // namespace

StatusOr<std::string> ReadAdminToken(const std::string& path) {
  if (path.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  "the admin API needs a token: give --admin-token-file FILE (or "
                  "admin_token_file in node.toml), a file holding a long random string");
  }
  StatusOr<std::string> read = base::ReadTokenFile(path, "admin token");
  if (!read.ok()) return read.status();
  std::string token = std::move(read).value();
  if (token.size() < 16) {
    Log(LogLevel::kWarn, "the admin token in {} is shorter than 16 characters: use a long random "
        "one", path);
  }
  return token;
}

int CheckBearer(std::string_view authorization, std::string_view token) {
  // The same reading of a Bearer credential as the gateway's jwt policy.
  std::string_view given = BearerToken(authorization);
  if (given.empty()) return 401;
  // Digests of both have the same length whatever the tokens, so the
  // comparison time tells nothing about either.
  std::string a = base::Sha256(given), b = base::Sha256(token);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0 ? 0 : 403;
}

// One `GET /workers/{name}/tail` connection: events from the TailHub, and a
// heartbeat when quiet.
class AdminApi::TailStream : public std::enable_shared_from_this<TailStream> {
 public:
  TailStream(Node& node, std::shared_ptr<ResponseWriter> writer, std::string worker,
             std::string account)
      : node_(node), writer_(std::move(writer)), worker_(std::move(worker)),
        account_(std::move(account)) {}

  void Start(TailFilter filter, std::function<void()> on_end) {
    on_end_ = std::move(on_end);
    writer_->Start(200, "",
                   {{"Content-Type", "application/x-ndjson"}, {"Cache-Control", "no-store"}},
                   std::nullopt);
    std::weak_ptr<TailStream> weak = shared_from_this();
    id_ = node_.tail().Subscribe(std::move(filter), node_.control_loop(),
                                 [weak](std::string line) {
                                   if (auto self = weak.lock()) self->Deliver(line);
                                 });
    timer_ = new uv_timer_t;
    uv_timer_init(node_.control_loop(), timer_);
    timer_->data = this;
    uv_timer_start(timer_, OnHeartbeat, kHeartbeatMs, kHeartbeatMs);
    writer_->OnAbort([weak] {
      if (auto self = weak.lock()) self->End();
    });
  }

  void Deliver(const std::string& line) {
    if (ended_) return;
    if (!account_.empty()) {
      // The worker changed hands (deleted, then made again by another
      // account): this account sees nothing of the new one.
      std::shared_ptr<const NodeState> state = node_.state();
      const std::shared_ptr<const ServedWorker>* served = state->Find(worker_);
      if (served == nullptr || (*served)->account != account_) {
        auto keep = shared_from_this();  // End may drop the last other reference
        return End();
      }
    }
    if (writer_->BufferedBytes() > kTailBufferLimit) {
      ++dropped_;
      return;
    }
    if (dropped_ > 0) {
      writer_->Write(fmt::format("{{\"type\":\"dropped\",\"count\":{}}}\n", dropped_));
      dropped_ = 0;
    }
    writer_->Write(line);
  }

  // Ends the stream (client gone, or the node stopping).
  void End() {
    if (ended_) return;
    ended_ = true;
    node_.tail().Unsubscribe(id_);
    uv_timer_stop(timer_);
    base::CloseAndDelete(timer_);
    if (!writer_->Aborted()) writer_->Finish();
    if (on_end_) std::exchange(on_end_, nullptr)();
  }

 private:
  static void OnHeartbeat(uv_timer_t* timer) {
    static_cast<TailStream*>(timer->data)->Deliver("{\"type\":\"heartbeat\"}\n");
  }

  Node& node_;
  std::shared_ptr<ResponseWriter> writer_;
  std::string worker_;
  std::string account_;  // "" = the operator's stream
  std::function<void()> on_end_;
  uint64_t id_ = 0;
  uv_timer_t* timer_ = nullptr;
  uint64_t dropped_ = 0;
  bool ended_ = false;
};

AdminApi::AdminApi(Node& node, std::string token, std::string sync_token)
    : node_(node), token_(std::move(token)), sync_token_(std::move(sync_token)) {}

AdminApi::~AdminApi() { Close(); }

void AdminApi::Close() {
  auto tails = std::move(tails_);
  tails_.clear();
  for (const auto& tail : tails) tail->End();
}

void AdminApi::Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  // Bodies arrive as streams (an R2 object, and a PoP's R2 upload to the
  // origin, is written to disk as it comes);
  // every other call gets its body whole, up to kAdminMaxBodyBytes.
  if (request.body_stream != nullptr &&
      !(request.method == "PUT" && (IsR2ObjectPath(path) || path == "/sync/r2/put"))) {
    return BufferBody(std::move(request), std::move(writer));
  }
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  std::string_view authorization = Header(request, "authorization");
  int refused = CheckBearer(authorization, token_);
  // The sync token opens the sync API and KV writes, nothing else.
  bool sync_path = path.starts_with("/sync/") || path.starts_with("/kv/");
  bool sync_caller = false;
  if (refused == 403 && sync_path && !sync_token_.empty() &&
      CheckBearer(authorization, sync_token_) == 0) {
    refused = 0;
    sync_caller = true;
  }
  // An account's token: its own workers and KV (Answer checks each).
  std::string account;
  if (refused == 403) {
    if (const AccountRecord* found = node_.accounts()->FindByToken(BearerToken(authorization))) {
      refused = 0;
      account = found->name;
    }
  }
  if (refused != 0) {
    Log(LogLevel::kWarn, "admin API: {} {} from {} refused: {}", request.method, path,
        request.remote_address,
        refused == 401 ? "no bearer token" : "wrong token");
    std::string body = refused == 401
                           ? "{\"error\":\"this API needs Authorization: Bearer <token>\"}\n"
                           : "{\"error\":\"the token is not valid\"}\n";
    HeaderList headers = {{"Content-Type", "application/json"}};
    if (refused == 401) headers.push_back({"WWW-Authenticate", "Bearer"});
    writer->Start(refused, "", headers, body.size());
    writer->Write(body);
    writer->Finish();
    return;
  }
  if (!path.starts_with("/sync/")) {
    Log(LogLevel::kInfo, "admin API: {} {} from {}{}", request.method, path,
        request.remote_address, account.empty() ? "" : " (account " + account + ")");
  }
  (void)sync_caller;
  // Extensions (the sync API, KV relaying) serve the operator and the
  // sync token only.
  if (account.empty()) {
    for (const auto& extension : node_.extensions()) {
      if (extension->HandleAdmin(request, writer)) return;
    }
  }
  Answer(request, path, query, account, std::move(writer));
}

void AdminApi::Answer(const HttpRequest& request, std::string_view path, std::string_view query,
                      const std::string& account, std::shared_ptr<ResponseWriter> writer) {
  std::vector<std::string_view> parts = Segments(path);
  const std::string& method = request.method;
  auto done = [writer](AdminResult result) { Send(*writer, result); };
  std::shared_ptr<const NodeState> state = node_.state();
  // What an account reaches: its workers (and their routes, usage, tails,
  // secrets) and its KV; the rest is the operator's.
  bool for_account = !account.empty();
  auto own = [&](const std::string& worker) {
    if (!for_account) return true;
    const std::shared_ptr<const ServedWorker>* served = state->Find(worker);
    return served != nullptr && (*served)->account == account;
  };
  if (for_account && (parts.empty() || (parts[0] != "workers" && parts[0] != "kv" &&
                                        parts[0] != "usage" && parts[0] != "routes" &&
                                        parts[0] != "queues" && parts[0] != "r2" &&
                                        parts[0] != "workflows"))) {
    Log(LogLevel::kWarn, "admin API: account {} refused {} {}: it needs the node's admin token",
        account, method, path);
    return SendError(*writer, 403,
                     fmt::format("{} needs the node's admin token, not an account's", path));
  }
  if (!parts.empty() && parts[0] == "accounts") return Accounts(request, parts, std::move(writer));
  // The operator's host policies: the whole set at once.
  if (parts.size() == 1 && parts[0] == "host-policies") {
    if (method == "GET") return done(node_.HostPoliciesAnswer());
    if (method == "PUT") return node_.SetHostPolicies(request.body, done);
    if (method == "DELETE") return node_.DeleteHostPolicies(done);
    return MethodNotAllowed(*writer, "GET, PUT, DELETE");
  }

  if (parts.size() == 1 && parts[0] == "metrics") {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    node_.UpdateGauges();
    std::string text = node_.metrics().Prometheus();
    writer->Start(200, "", {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
                  text.size());
    writer->Write(text);
    return writer->Finish();
  }
  if (parts.size() == 1 && parts[0] == "usage") {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    std::string since_text(QueryValue(query, "since"));
    uint64_t since_s = 0;
    if (!since_text.empty()) {
      char* end = nullptr;
      since_s = strtoull(since_text.c_str(), &end, 10);
      if (end == since_text.c_str() || *end != '\0') {
        return SendError(*writer, 400, "since must be a Unix time in seconds");
      }
    }
    std::function<bool(const std::string&)> include;
    if (for_account) include = own;
    return done({200, node_.meter().UsageJson(since_s * 1000, UnixMs(), include)});
  }
  if (parts.size() == 1 && parts[0] == "status") {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    uint64_t now = UnixMs();
    std::string extra;
    if (std::string start = node_.StartJson(); !start.empty()) extra += "," + start;
    for (const auto& extension : node_.extensions()) {
      std::string fields = extension->StatusJson();
      if (!fields.empty()) extra += "," + fields;
    }
    return done({200, fmt::format("{{\"pop_id\":{},\"edge_version\":\"0.1.0\",\"started_ms\":{},"
                                  "\"uptime_s\":{},\"workers\":{},\"routes\":{},"
                                  "\"generation\":{}{}}}",
                                  base::JsonString(node_.options().pop_id), node_.started_unix_ms(),
                                  (now - node_.started_unix_ms()) / 1000, state->workers.size(),
                                  state->routes.routes().size(), state->generation, extra)});
  }
  if (parts.size() == 1 && parts[0] == "routes") {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    std::string body = "{\"routes\":";
    std::vector<Route> visible;
    for (const Route& route : state->routes.routes()) {
      if (own(route.worker)) visible.push_back(route);
    }
    base::AppendJsonArray(body, visible, [](std::string& out, const Route& route) {
      out += fmt::format("{{\"pattern\":{},\"worker\":{}}}", base::JsonString(route.pattern),
                         base::JsonString(route.worker));
    });
    return done({200, body + "}"});
  }
  if (!parts.empty() && parts[0] == "kv") {
    return Kv(request, parts, query, account, std::move(writer));
  }
  if (!parts.empty() && parts[0] == "queues") {
    return Queues(request, parts, query, account, std::move(writer));
  }
  if (!parts.empty() && parts[0] == "r2") {
    return R2(request, parts, query, account, std::move(writer));
  }
  if (!parts.empty() && parts[0] == "workflows") {
    return Workflows(request, parts, query, account, std::move(writer));
  }
  if (parts.empty() || parts[0] != "workers") {
    return SendError(*writer, 404, fmt::format("no such endpoint: {}", path));
  }
  if (parts.size() == 1) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    std::vector<std::string> names;
    for (const auto& [name, served] : state->workers) {
      if (own(name)) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    std::string body = "{\"workers\":";
    base::AppendJsonArray(body, names, [&](std::string& out, const std::string& name) {
      const ServedWorker& served = **state->Find(name);
      out += fmt::format("{{\"name\":{},\"version\":{},\"routes\":{},\"account\":{}}}",
                         base::JsonString(served.name), served.version,
                         base::JsonStringArray(served.routes), base::JsonString(served.account));
    });
    return done({200, body + "}"});
  }
  std::string name(parts[1]);
  Status valid_name = CheckWorkerName(name);
  if (!valid_name.ok()) return SendError(*writer, 400, valid_name.message());

  // The operator may name the account a new worker goes to.
  std::string target = account;
  if (!for_account) {
    std::optional<std::string> named = PercentDecode(QueryValue(query, "account"));
    if (!named) return SendError(*writer, 400, "the account is not percent-encoded properly");
    target = std::move(*named);
  }
  // Reads of another account's worker answer as for a worker that does not
  // exist; changes check again in their turn (Node).
  if (method == "GET") {
    if (auto refused = node_.RefuseWorker(name, account)) return done(*refused);
  }
  if (parts.size() == 2) {
    if (method == "PUT") return node_.Deploy(name, request.body, target, done);
    if (method == "DELETE") return node_.DeleteWorker(name, account, done);
    if (method != "GET") return MethodNotAllowed(*writer, "GET, PUT, DELETE");
    auto owner = node_.OwnerOf(name);
    auto versions = node_.store().Versions(name);
    auto secrets = node_.store().SecretNames(name);
    if (!versions.ok() || !secrets.ok()) {
      return SendError(*writer, 500, !versions.ok() ? versions.status().message()
                                                    : secrets.status().message());
    }
    const std::shared_ptr<const ServedWorker>* served = state->Find(name);
    if (served == nullptr && versions->empty()) {
      return SendError(*writer, 404, fmt::format("no worker named '{}'", name));
    }
    std::vector<std::string> routes = served ? (*served)->routes : std::vector<std::string>{};
    return done({200, fmt::format("{{\"name\":{},\"version\":{},\"routes\":{},\"versions\":{},"
                                  "\"secrets\":{},\"account\":{}}}",
                                  base::JsonString(name), served ? (*served)->version : 0,
                                  base::JsonStringArray(routes), VersionsJson(*versions),
                                  base::JsonStringArray(*secrets),
                                  base::JsonString(owner.ok() && *owner ? **owner : ""))});
  }

  std::string_view what = parts[2];
  if (what == "rollback" && parts.size() == 3) {
    if (method != "POST") return MethodNotAllowed(*writer, "POST");
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    uint64_t version = 0;
    if (parser.parse(request.body).get(body) != simdjson::SUCCESS ||
        body["version"].get_uint64().get(version) != simdjson::SUCCESS || version == 0) {
      return SendError(*writer, 400, "the body must be {\"version\": <a version id>}");
    }
    return node_.Rollback(name, version, account, done);
  }
  if (what == "routes" && parts.size() == 3) {
    if (method == "GET") {
      const std::shared_ptr<const ServedWorker>* served = state->Find(name);
      if (served == nullptr) return SendError(*writer, 404, fmt::format("no worker named '{}'", name));
      return done({200, fmt::format("{{\"name\":{},\"routes\":{}}}", base::JsonString(name),
                                    base::JsonStringArray((*served)->routes))});
    }
    if (method != "PUT") return MethodNotAllowed(*writer, "GET, PUT");
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    simdjson::dom::array list;
    if (parser.parse(request.body).get(body) != simdjson::SUCCESS ||
        body["routes"].get_array().get(list) != simdjson::SUCCESS) {
      return SendError(*writer, 400, "the body must be {\"routes\": [\"host/path*\", ...]}");
    }
    std::vector<std::string> routes;
    for (simdjson::dom::element item : list) {
      std::string_view pattern;
      if (item.get_string().get(pattern) != simdjson::SUCCESS) {
        return SendError(*writer, 400, "every route must be a string");
      }
      routes.emplace_back(pattern);
    }
    return node_.SetRoutes(name, std::move(routes), account, done);
  }
  if (what == "versions" && parts.size() == 3) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    auto versions = node_.store().Versions(name);
    if (!versions.ok()) return SendError(*writer, 500, versions.status().message());
    return done({200, "{\"versions\":" + VersionsJson(*versions) + "}"});
  }
  if (what == "secrets" && parts.size() == 3) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    auto secrets = node_.store().SecretNames(name);
    if (!secrets.ok()) return SendError(*writer, 500, secrets.status().message());
    return done({200, fmt::format("{{\"secrets\":{}}}", base::JsonStringArray(*secrets))});
  }
  if (what == "secrets" && parts.size() == 4) {
    std::optional<std::string> decoded = PercentDecode(parts[3]);
    if (!decoded) return SendError(*writer, 400, "the secret's name is not percent-encoded properly");
    std::string secret = std::move(*decoded);
    if (method == "PUT") return node_.PutSecret(name, secret, request.body, target, done);
    if (method == "DELETE") return node_.DeleteSecret(name, secret, account, done);
    return MethodNotAllowed(*writer, "PUT, DELETE");
  }
  if (what == "tail" && parts.size() == 3) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    // An account tails a worker it owns now, not a name it hopes for.
    if (!own(name)) return SendError(*writer, 404, fmt::format("no worker named '{}'", name));
    return Tail(name, query, account, std::move(writer));
  }
  SendError(*writer, 404, fmt::format("no such endpoint: {}", path));
}

// /kv/<account>/<namespace id>/<key> (or /kv/<account%2Fid>/<key>): GET the
// value, PUT a new one (?expiration=<unix s>, ?metadata=<JSON, percent-
// encoded>), DELETE it. Namespaces belong to an account (the one that owns
// the workers binding them); an account's token reaches its own only.
// Parts are percent-encoded.
void AdminApi::Kv(const HttpRequest& request, const std::vector<std::string_view>& parts,
                  std::string_view query, const std::string& account,
                  std::shared_ptr<ResponseWriter> writer) {
  if (parts.size() != 3 && parts.size() != 4) {
    return SendError(*writer, 404, "KV paths are /kv/<account>/<namespace id>/<key>");
  }
  std::optional<std::string> ns = PercentDecode(parts[1]);
  if (ns && parts.size() == 4) {
    std::optional<std::string> id = PercentDecode(parts[2]);
    ns = id ? std::optional<std::string>(ScopedName(*ns, *id)) : std::nullopt;
  }
  auto key = PercentDecode(parts.back());
  if (!ns || !key || ns->empty() || key->empty()) {
    return SendError(*writer, 400, "the namespace and key must be non-empty and percent-encoded");
  }
  if (!account.empty() && !ns->starts_with(account + "/")) {
    Log(LogLevel::kWarn, "admin API: account {} refused KV namespace {}", account, *ns);
    return SendError(*writer, 403,
                     fmt::format("an account's token reaches its own KV only: /kv/{}/<namespace "
                                 "id>/<key>",
                                 account));
  }
  auto done = [writer](AdminResult result) { Send(*writer, result); };
  if (request.method == "GET") {
    auto entry = node_.kv().Get(*ns, *key);
    if (!entry.ok()) return SendError(*writer, 400, entry.status().message());
    if (!*entry) return SendError(*writer, 404, "no such key");
    writer->Start(200, "", {{"Content-Type", "application/octet-stream"}}, (*entry)->value.size());
    writer->Write((*entry)->value);
    return writer->Finish();
  }
  if (request.method == "PUT") {
    uint64_t expiration = 0;
    std::string expiration_text(QueryValue(query, "expiration"));
    if (!expiration_text.empty()) {
      char* end = nullptr;
      expiration = strtoull(expiration_text.c_str(), &end, 10);
      if (*end != '\0') return SendError(*writer, 400, "expiration must be a Unix time in seconds");
    }
    // Metadata (JSON): percent-encoded in ?metadata=, or as a header.
    std::string metadata(Header(request, "x-edge-metadata"));
    std::string_view encoded = QueryValue(query, "metadata");
    if (!encoded.empty()) {
      std::optional<std::string> decoded = PercentDecode(encoded);
      if (!decoded) return SendError(*writer, 400, "metadata is not percent-encoded properly");
      metadata = std::move(*decoded);
    }
    return node_.KvPut(*ns, *key, request.body, std::move(metadata), expiration, done);
  }
  if (request.method == "DELETE") return node_.KvDelete(*ns, *key, done);
  MethodNotAllowed(*writer, "GET, PUT, DELETE");
}

void AdminApi::Queues(const HttpRequest& request, const std::vector<std::string_view>& parts,
                      std::string_view query, const std::string& account,
                      std::shared_ptr<ResponseWriter> writer) {
  std::optional<std::string> named = OwnerFor(query, account);
  if (!named) return SendError(*writer, 400, "the account is not percent-encoded properly");
  const std::string& owner = *named;
  bindings::QueueStore& store = *node_.queue_store();
  const std::string& method = request.method;
  auto fail = [&](const Status& status) {
    SendError(*writer, status.code() == ErrorCode::kNotFound ? 404 : 400, status.message());
  };
  if (parts.size() == 1) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    auto list = store.ListQueues(owner);
    if (!list.ok()) return fail(list.status());
    std::string body = fmt::format("{{\"account\":{},\"queues\":", base::JsonString(owner));
    base::AppendJsonArray(body, *list, [](std::string& out, const bindings::QueueInfo& info) {
      out += fmt::format(
          "{{\"name\":{},\"created_ms\":{},\"messages\":{},\"bytes\":{},\"oldest_ms\":{},"
          "\"retention_period\":{}}}",
          base::JsonString(info.name), info.created_ms, info.depth, info.bytes, info.oldest_ms,
          info.retention_seconds);
    });
    return Send(*writer, {200, body + "}"});
  }
  std::optional<std::string> name = PercentDecode(parts[1]);
  if (!name || name->empty()) return SendError(*writer, 400, "the queue name is not percent-encoded properly");
  if (parts.size() == 3 && parts[2] == "purge") {
    if (method != "POST") return MethodNotAllowed(*writer, "POST");
    auto purged = store.Purge(owner, *name);
    if (!purged.ok()) return fail(purged.status());
    return Send(*writer, {200, fmt::format("{{\"purged\":{}}}", *purged)});
  }
  if (parts.size() != 2) {
    return SendError(*writer, 404, "queue paths are /queues, /queues/<name> and /queues/<name>/purge");
  }
  if (method == "PUT" || method == "POST") {
    int64_t retention = 0;
    std::string text(QueryValue(query, "retention_period"));
    if (!text.empty()) {
      char* end = nullptr;
      retention = strtoll(text.c_str(), &end, 10);
      if (*end != '\0' || retention <= 0) {
        return SendError(*writer, 400, "retention_period must be a number of seconds");
      }
    }
    Status created = store.CreateQueue(owner, *name, retention);
    if (!created.ok()) {
      return SendError(*writer, created.message().find("already exists") != std::string::npos ? 409 : 400,
                       created.message());
    }
    return Send(*writer, {201, fmt::format("{{\"created\":{}}}", base::JsonString(*name))});
  }
  if (method == "DELETE") {
    Status deleted = store.DeleteQueue(owner, *name);
    if (!deleted.ok()) return fail(deleted);
    return Send(*writer, {200, fmt::format("{{\"deleted\":{}}}", base::JsonString(*name))});
  }
  MethodNotAllowed(*writer, "PUT, POST, DELETE");
}

void AdminApi::Workflows(const HttpRequest& request, const std::vector<std::string_view>& parts,
                         std::string_view query, const std::string& account,
                         std::shared_ptr<ResponseWriter> writer) {
  // Whose instances: as for /queues.
  std::string owner = account;
  if (owner.empty()) {
    std::optional<std::string> named = PercentDecode(QueryValue(query, "account"));
    if (!named) return SendError(*writer, 400, "the account is not percent-encoded properly");
    owner = named->empty() ? std::string(kDefaultAccount) : std::move(*named);
  }
  bindings::WorkflowStore& store = *node_.workflow_store();
  const std::string& method = request.method;
  auto reply = [&](const StatusOr<std::string>& json, int status = 200) {
    if (!json.ok()) {
      int code = json.status().code() == ErrorCode::kNotFound ? 404
                 : json.status().message().find("already exists") != std::string::npos ? 409
                                                                                         : 400;
      return SendError(*writer, code, json.status().message());
    }
    Send(*writer, {status, json.value()});
  };
  constexpr std::string_view kPaths =
      "workflow paths are /workflows, /workflows/<name>/instances, /workflows/<name>/instances/<id> "
      "and /workflows/<name>/instances/<id>/(pause|resume|terminate|restart)";
  if (parts.size() == 1) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    return reply(bindings::WorkflowsJson(store, owner));
  }
  std::optional<std::string> name = PercentDecode(parts[1]);
  if (!name || name->empty()) return SendError(*writer, 400, "the workflow name is not percent-encoded properly");
  if (parts.size() == 2 || (parts.size() == 3 && parts[2] == "instances" && method == "GET")) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    return reply(bindings::InstancesJson(store, owner, *name, 1000));
  }
  if (parts[2] != "instances") return SendError(*writer, 404, kPaths);
  if (parts.size() == 3) {
    if (method != "POST") return MethodNotAllowed(*writer, "GET, POST");
    // A new instance of the workflow as the account's worker defining it
    // now has it: {"id"?: "...", "params"?: <JSON>}.
    std::shared_ptr<const NodeState> state = node_.state();
    bindings::WorkflowInstance definition;
    for (const auto& [worker, served] : state->workers) {
      if (served->account != owner) continue;
      for (const runtime::EnvBinding& binding : served->spec.bindings) {
        if (binding.kind != "workflow" || binding.Option("workflow") != *name) continue;
        definition.account = owner;
        definition.workflow = *name;
        definition.worker = worker;
        definition.class_name = binding.Option("class_name");
        definition.version = std::to_string(served->version);
      }
    }
    if (definition.worker.empty()) {
      return SendError(*writer, 404, fmt::format("no deployed worker of this account defines the workflow \"{}\"", *name));
    }
    std::string params;
    if (!request.body.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::element body;
      if (parser.parse(request.body).get(body) != simdjson::SUCCESS || !body.is_object()) {
        return SendError(*writer, 400, "the body must be a JSON object: {\"id\"?: string, \"params\"?: any}");
      }
      std::string_view id;
      if (body["id"].get_string().get(id) == simdjson::SUCCESS) definition.id = std::string(id);
      simdjson::dom::element value;
      if (body["params"].get(value) == simdjson::SUCCESS) params = simdjson::minify(value);
    }
    auto made = bindings::TriggerInstance(store, definition, params);
    if (!made.ok()) return reply(made.status());
    return Send(*writer, {201, fmt::format("{{\"id\":{}}}", base::JsonString(*made))});
  }
  std::optional<std::string> id = PercentDecode(parts[3]);
  if (!id || id->empty()) return SendError(*writer, 400, "the instance id is not percent-encoded properly");
  if (parts.size() == 4) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    return reply(bindings::DescribeJson(store, owner, *name, *id));
  }
  if (parts.size() != 5) return SendError(*writer, 404, kPaths);
  if (method != "POST") return MethodNotAllowed(*writer, "POST");
  Status done = bindings::ControlInstance(store, owner, *name, *id, parts[4]);
  if (!done.ok()) return reply(done);
  Send(*writer, {200, fmt::format("{{\"id\":{},\"done\":{}}}", base::JsonString(*id), base::JsonString(parts[4]))});
}

void AdminApi::Tail(const std::string& worker, std::string_view query, const std::string& account,
                    std::shared_ptr<ResponseWriter> writer) {
  auto filter = ParseTailFilter(worker, query);
  if (!filter.ok()) return SendError(*writer, 400, filter.status().message());
  auto stream = std::make_shared<TailStream>(node_, std::move(writer), worker, account);
  tails_.insert(stream);
  std::weak_ptr<TailStream> weak = stream;
  stream->Start(std::move(filter).value(), [this, weak] {
    if (auto self = weak.lock()) tails_.erase(self);
  });
}

namespace {

// The strings of `body[key]` when it is an array of strings (absent: none).
std::optional<std::vector<std::string>> StringList(simdjson::dom::element body,
                                                   std::string_view key) {
  std::vector<std::string> out;
  simdjson::dom::element value;
  if (body[key].get(value) != simdjson::SUCCESS) return out;
  simdjson::dom::array list;
  if (value.get_array().get(list) != simdjson::SUCCESS) return std::nullopt;
  for (simdjson::dom::element item : list) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
    out.emplace_back(text);
  }
  return out;
}

}  // namespace

// /accounts: GET the list, POST {"name": .., "hosts": [..]} to create one
// (the answer holds its token); /accounts/<name>: GET (with its workers),
// DELETE (with everything it owns); /accounts/<name>/hosts: POST {"add":
// [..], "remove": [..]}; /accounts/<name>/token: POST a new one (the old
// one stops working), DELETE to revoke it.
void AdminApi::Accounts(const HttpRequest& request, const std::vector<std::string_view>& parts,
                        std::shared_ptr<ResponseWriter> writer) {
  const std::string& method = request.method;
  auto done = [writer](AdminResult result) { Send(*writer, result); };
  std::shared_ptr<const AccountTable> accounts = node_.accounts();
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  if (parts.size() == 1) {
    if (method == "GET") {
      std::string out = "{\"accounts\":[";
      bool first = true;
      for (const auto& [name, record] : accounts->all()) {
        if (!first) out += ',';
        first = false;
        out += record.PublicJson();
      }
      return done({200, out + "]}"});
    }
    if (method != "POST") return MethodNotAllowed(*writer, "GET, POST");
    std::string_view name;
    std::optional<std::vector<std::string>> hosts;
    if (parser.parse(request.body).get(body) != simdjson::SUCCESS ||
        body["name"].get_string().get(name) != simdjson::SUCCESS ||
        !(hosts = StringList(body, "hosts"))) {
      return SendError(*writer, 400,
                       "the body must be {\"name\": \"...\", \"hosts\": [\"shop.example\", "
                       "\"*.shop.example\", ...]}");
    }
    return node_.CreateAccount(std::string(name), std::move(*hosts), done);
  }
  std::optional<std::string> decoded = PercentDecode(parts[1]);
  if (!decoded) return SendError(*writer, 400, "the account is not percent-encoded properly");
  std::string name = std::move(*decoded);
  const AccountRecord* record = accounts->Find(name);
  if (parts.size() == 2) {
    if (method == "DELETE") return node_.DeleteAccount(name, done);
    if (method != "GET") return MethodNotAllowed(*writer, "GET, DELETE");
    if (record == nullptr) {
      return SendError(*writer, 404, fmt::format("no account named '{}'", name));
    }
    auto workers = node_.store().WorkersOf(name);
    if (!workers.ok()) return SendError(*writer, 500, workers.status().message());
    std::string out = record->PublicJson();
    out.pop_back();
    return done({200, out + ",\"workers\":" + base::JsonStringArray(*workers) + "}"});
  }
  if (parts.size() == 3 && parts[2] == "hosts") {
    if (method != "POST") return MethodNotAllowed(*writer, "POST");
    std::optional<std::vector<std::string>> add, remove;
    if (parser.parse(request.body).get(body) != simdjson::SUCCESS ||
        !(add = StringList(body, "add")) || !(remove = StringList(body, "remove"))) {
      return SendError(*writer, 400,
                       "the body must be {\"add\": [\"host\", ...], \"remove\": "
                       "[\"host\", ...]}");
    }
    return node_.ChangeAccountHosts(name, std::move(*add), std::move(*remove), done);
  }
  if (parts.size() == 3 && parts[2] == "token") {
    if (method == "POST") return node_.RotateAccountToken(name, done);
    if (method == "DELETE") return node_.RevokeAccountToken(name, done);
    return MethodNotAllowed(*writer, "POST, DELETE");
  }
  SendError(*writer, 404, "no such endpoint: account paths are /accounts, /accounts/<name>, "
                          "/accounts/<name>/hosts and /accounts/<name>/token");
}

bool IsR2ObjectPath(std::string_view path) {
  std::vector<std::string_view> parts = Segments(path);
  return parts.size() >= 5 && parts[0] == "r2" && parts[1] == "buckets" && parts[3] == "objects";
}

void AdminApi::BufferBody(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  struct Pending {
    HttpRequest request;
    bool done = false;
  };
  auto pending = std::make_shared<Pending>();
  std::shared_ptr<runtime::RequestBodySource> source = std::move(request.body_stream);
  pending->request = std::move(request);
  pending->request.body_stream = nullptr;
  source->Read({
      [pending, writer](std::string_view chunk) {
        if (pending->done) return;
        if (pending->request.body.size() + chunk.size() > kAdminMaxBodyBytes) {
          pending->done = true;
          SendError(*writer, 413, fmt::format("request body exceeds the limit of {} bytes", kAdminMaxBodyBytes));
          return;
        }
        pending->request.body.append(chunk);
      },
      [this, pending, writer] {
        if (pending->done) return;
        pending->done = true;
        Handle(std::move(pending->request), writer);
      },
      [pending](std::string_view) { pending->done = true; },
  });
}

void AdminApi::R2(const HttpRequest& request, const std::vector<std::string_view>& parts,
                  std::string_view query, const std::string& account,
                  std::shared_ptr<ResponseWriter> writer) {
  std::optional<std::string> named = OwnerFor(query, account);
  if (!named) return SendError(*writer, 400, "the account is not percent-encoded properly");
  const std::string& owner = *named;
  bindings::R2Store& store = *node_.r2_store();
  const std::string& method = request.method;
  auto fail = [&](const Status& status) {
    SendError(*writer, status.code() == ErrorCode::kNotFound ? 404 : 400, status.message());
  };
  if (parts.size() < 2 || parts[1] != "buckets") {
    return SendError(*writer, 404, "R2 paths are /r2/buckets[/<bucket>[/objects[/<key>]|/notifications]]");
  }
  if (parts.size() == 2) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    auto buckets = store.ListBuckets(owner);
    if (!buckets.ok()) return fail(buckets.status());
    std::string body = fmt::format("{{\"account\":{},\"buckets\":", base::JsonString(owner));
    base::AppendJsonArray(body, *buckets, [](std::string& out, const bindings::R2BucketInfo& info) {
      out += fmt::format("{{\"name\":{},\"creation_date_ms\":{}}}", base::JsonString(info.name), info.created_ms);
    });
    return Send(*writer, {200, body + "}"});
  }
  std::optional<std::string> bucket = PercentDecode(parts[2]);
  if (!bucket || !bindings::R2Store::ValidBucketName(*bucket)) {
    return SendError(*writer, 400, "the bucket name is not valid (3 to 63 of a-z, 0-9 and '-')");
  }
  if (parts.size() == 3) {
    if (method == "PUT" || method == "POST") {
      Status created = store.CreateBucket(owner, *bucket);
      if (!created.ok()) {
        return SendError(*writer, created.message().find("already") != std::string::npos ? 409 : 400,
                         created.message());
      }
      return Send(*writer, {201, fmt::format("{{\"created\":{}}}", base::JsonString(*bucket))});
    }
    if (method == "DELETE") {
      Status deleted = store.DeleteBucket(owner, *bucket);
      if (!deleted.ok()) return fail(deleted);
      return Send(*writer, {200, fmt::format("{{\"deleted\":{}}}", base::JsonString(*bucket))});
    }
    return MethodNotAllowed(*writer, "PUT, POST, DELETE");
  }
  if (parts.size() == 4 && parts[3] == "notifications") {
    return R2Notifications(request, query, owner, *bucket, std::move(writer));
  }
  if (parts[3] != "objects") {
    return SendError(*writer, 404, "R2 paths are /r2/buckets[/<bucket>[/objects[/<key>]|/notifications]]");
  }
  if (parts.size() == 4) {
    if (method != "GET") return MethodNotAllowed(*writer, "GET");
    bindings::R2ListOptions options;
    std::optional<std::string> prefix = PercentDecode(QueryValue(query, "prefix"));
    std::optional<std::string> cursor = PercentDecode(QueryValue(query, "cursor"));
    std::optional<std::string> delimiter = PercentDecode(QueryValue(query, "delimiter"));
    if (!prefix || !cursor || !delimiter) return SendError(*writer, 400, "a query value is not percent-encoded properly");
    options.prefix = std::move(*prefix);
    options.cursor = std::move(*cursor);
    options.delimiter = std::move(*delimiter);
    std::string limit(QueryValue(query, "limit"));
    if (!limit.empty()) {
      char* end = nullptr;
      unsigned long long value = strtoull(limit.c_str(), &end, 10);
      if (*end != '\0' || value < 1 || value > bindings::kR2MaxListLimit) {
        return SendError(*writer, 400, fmt::format("limit must be 1 to {}", bindings::kR2MaxListLimit));
      }
      options.limit = static_cast<size_t>(value);
    }
    auto listed = store.List(owner, *bucket, options);
    if (!listed.ok()) return fail(listed.status());
    std::string body = "{\"objects\":";
    base::AppendJsonArray(body, listed->objects, [](std::string& out, const bindings::R2ObjectMeta& meta) {
      out += "{\"key\":";
      base::AppendJsonEscaped(out, meta.key);
      out += fmt::format(",\"size\":{},\"etag\":{},\"uploaded_ms\":{}}}", meta.size, base::JsonString(meta.etag),
                         meta.uploaded_ms);
    });
    body += ",\"delimited_prefixes\":";
    base::AppendJsonArray(body, listed->delimited_prefixes,
                          [](std::string& out, const std::string& prefix) { base::AppendJsonEscaped(out, prefix); });
    body += fmt::format(",\"truncated\":{}", listed->truncated ? "true" : "false");
    if (listed->truncated) body += ",\"cursor\":" + base::JsonString(listed->cursor);
    return Send(*writer, {200, body + "}"});
  }
  // The key is the rest of the path, each segment percent-decoded ('/' may
  // be sent as is or as %2F).
  std::string key;
  for (size_t i = 4; i < parts.size(); ++i) {
    std::optional<std::string> segment = PercentDecode(parts[i]);
    if (!segment) return SendError(*writer, 400, "the object key is not percent-encoded properly");
    if (i > 4) key += '/';
    key += *segment;
  }
  if (key.empty() || key.size() > bindings::kR2MaxKeyBytes) {
    return SendError(*writer, 400, fmt::format("an object key is 1 to {} bytes", bindings::kR2MaxKeyBytes));
  }
  R2Object(request, owner, *bucket, key, std::move(writer));
}

void AdminApi::R2Object(const HttpRequest& request, const std::string& owner, const std::string& bucket,
                        const std::string& key, std::shared_ptr<ResponseWriter> writer) {
  std::shared_ptr<bindings::R2Store> store = node_.r2_store();
  const std::string& method = request.method;
  auto fail = [&](const Status& status) {
    SendError(*writer, status.code() == ErrorCode::kNotFound ? 404 : 400, status.message());
  };
  if (method == "DELETE") {
    Status deleted = store->Delete(owner, bucket, {key});
    if (!deleted.ok()) return fail(deleted);
    std::string body = "{\"deleted\":";
    base::AppendJsonEscaped(body, key);
    return Send(*writer, {200, body + "}"});
  }
  if (method == "GET" || method == "HEAD") {
    auto got = store->Get(owner, bucket, key, {}, std::nullopt);
    if (!got.ok()) return fail(got.status());
    if (!*got) return SendError(*writer, 404, fmt::format("no object with that key in bucket \"{}\"", bucket));
    auto object = std::make_shared<bindings::R2Got>(std::move(**got));
    HeaderList headers = {
        {"Content-Type", object->meta.http.content_type.value_or("application/octet-stream")},
        {"ETag", "\"" + object->meta.etag + "\""},
        {"X-Edge-R2-Uploaded-Ms", std::to_string(object->meta.uploaded_ms)},
        {"Cache-Control", "no-store"}};
    writer->Start(200, "", headers, object->meta.size);
    if (method == "HEAD") return writer->Finish();
    // Streamed from disk 256 KiB at a time, as the client takes it.
    struct Pump {
      std::shared_ptr<bindings::R2Got> object;
      std::shared_ptr<ResponseWriter> writer;
      uint64_t at = 0;
      void Run(const std::shared_ptr<Pump>& self) {
        while (at < object->length) {
          if (writer->Aborted()) return;
          if (writer->BufferedBytes() >= (size_t{256} << 10)) {
            writer->OnDrain([self] { self->Run(self); });
            return;
          }
          size_t want = static_cast<size_t>(std::min<uint64_t>(size_t{256} << 10, object->length - at));
          auto bytes = object->Read(at, want);
          if (!bytes.ok() || bytes->empty()) {
            Log(LogLevel::kError, "admin API: reading an R2 object failed: {}",
                bytes.ok() ? "it ended early" : bytes.status().message());
            return writer->Abort();
          }
          at += bytes->size();
          writer->Write(*bytes);
        }
        writer->Finish();
      }
    };
    auto pump = std::make_shared<Pump>(Pump{object, writer});
    return pump->Run(pump);
  }
  if (method != "PUT") return MethodNotAllowed(*writer, "GET, HEAD, PUT, DELETE");
  // CopyObject: no body; the bytes stay on the node's disk.
  if (std::string_view source = Header(request, "x-amz-copy-source"); !source.empty()) {
    std::string_view length_text = Header(request, "content-length");
    if ((!length_text.empty() && length_text != "0") || !Header(request, "transfer-encoding").empty()) {
      return SendError(*writer, 400, "a copy request (x-amz-copy-source) has no body");
    }
    StatusOr<CopyRequest> copy = ReadCopyRequest(request, source);
    if (!copy.ok()) return fail(copy.status());
    auto copied = store->CopyObject(owner, copy->source_bucket, copy->source_key, bucket, key, copy->options);
    if (!copied.ok()) return fail(copied.status());
    if (!*copied) {
      return SendError(*writer, 412, "At least one of the pre-conditions you specified did not hold. (10031)");
    }
    const bindings::R2ObjectMeta& meta = **copied;
    std::string body = "{\"key\":";
    base::AppendJsonEscaped(body, meta.key);
    body += fmt::format(",\"size\":{},\"etag\":{},\"version\":{},\"uploaded_ms\":{}}}", meta.size,
                        base::JsonString(meta.etag), base::JsonString(meta.version), meta.uploaded_ms);
    return Send(*writer, {200, body});
  }
  // R2 needs the length up front, as a Workers put of a stream does.
  std::string_view length_text = Header(request, "content-length");
  uint64_t length = 0;
  if (length_text.empty() || std::from_chars(length_text.data(), length_text.data() + length_text.size(),
                                             length).ec != std::errc()) {
    return SendError(*writer, 411, "an object upload needs a Content-Length");
  }
  bindings::R2PutOptions options;
  std::string_view content_type = Header(request, "content-type");
  if (!content_type.empty()) options.http.content_type = std::string(content_type);
  auto begun = store->BeginPut(owner, bucket, key, std::move(options), length);
  if (!begun.ok()) return fail(begun.status());
  struct Upload {
    std::unique_ptr<bindings::R2Writer> writer;
    Status failed = Status::Ok();
    bool answered = false;
  };
  auto upload = std::make_shared<Upload>();
  upload->writer = std::move(begun).value();
  if (request.body_stream == nullptr) {
    // An empty body (Content-Length: 0) has no stream.
    upload->failed = request.body.empty() ? Status::Ok() : upload->writer->Write(request.body);
    if (!upload->failed.ok()) return fail(upload->failed);
    auto meta = upload->writer->Commit();
    if (!meta.ok()) return fail(meta.status());
    return Send(*writer, {200, fmt::format("{{\"size\":{},\"etag\":{}}}", (*meta)->size, base::JsonString((*meta)->etag))});
  }
  // Each chunk goes to the body file as it arrives: the object is never
  // in memory, and the socket is read no faster than the disk takes it.
  request.body_stream->Read({
      [upload, writer](std::string_view chunk) {
        if (upload->answered || !upload->failed.ok()) return;
        upload->failed = upload->writer->Write(chunk);
        if (!upload->failed.ok()) {
          upload->answered = true;
          SendError(*writer, 400, upload->failed.message());
        }
      },
      [upload, writer] {
        if (upload->answered) return;
        upload->answered = true;
        auto meta = upload->writer->Commit();
        if (!meta.ok()) return SendError(*writer, 400, meta.status().message());
        Send(*writer, {200, fmt::format("{{\"size\":{},\"etag\":{}}}", (*meta)->size,
                                        base::JsonString((*meta)->etag))});
      },
      [upload](std::string_view) {
        upload->answered = true;
        upload->writer->Abort();
      },
  });
}

void AdminApi::R2Notifications(const HttpRequest& request, std::string_view query, const std::string& owner,
                               const std::string& bucket, std::shared_ptr<ResponseWriter> writer) {
  bindings::R2Notifier& notifier = *node_.r2_events();
  const std::string& method = request.method;
  auto fail = [&](const Status& status) {
    SendError(*writer, status.code() == ErrorCode::kNotFound ? 404 : 400, status.message());
  };
  if (method == "GET") {
    auto rules = notifier.ListRules(owner, bucket);
    if (!rules.ok()) return fail(rules.status());
    std::string body = fmt::format("{{\"bucket\":{},\"rules\":", base::JsonString(bucket));
    base::AppendJsonArray(body, *rules, [](std::string& out, const bindings::R2Notifier::ListedRule& listed) {
      out += fmt::format("{{\"queue\":{},\"event_types\":", base::JsonString(listed.rule.queue));
      base::AppendJsonStringArray(out, listed.rule.EventTypes());
      out += ",\"prefix\":";
      base::AppendJsonEscaped(out, listed.rule.prefix);
      out += ",\"suffix\":";
      base::AppendJsonEscaped(out, listed.rule.suffix);
      out += fmt::format(",\"source\":\"{}\"}}", listed.configured ? "config" : "stored");
    });
    return Send(*writer, {200, body + "}"});
  }
  if (method == "POST" || method == "PUT") {
    // {"queue": "q", "event_types": ["object-create"], "prefix": "", "suffix": ""}
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (parser.parse(request.body).get(root) != simdjson::SUCCESS || root.get_object().get(object) != simdjson::SUCCESS) {
      return SendError(*writer, 400, "the body must be a JSON object {\"queue\", \"event_types\", \"prefix\", \"suffix\"}");
    }
    bindings::R2NotificationRule rule;
    rule.bucket = bucket;
    for (auto field : object) {
      std::string_view text;
      if (field.key == "event_types") {
        simdjson::dom::array types;
        if (field.value.get_array().get(types) != simdjson::SUCCESS) {
          return SendError(*writer, 400, "event_types must be an array of strings");
        }
        for (simdjson::dom::element type : types) {
          if (type.get_string().get(text) != simdjson::SUCCESS) {
            return SendError(*writer, 400, "event_types must be an array of strings");
          }
          Status added = bindings::AddR2EventType(text, &rule);
          if (!added.ok()) return fail(added);
        }
        continue;
      }
      std::string* out = field.key == "queue"    ? &rule.queue
                         : field.key == "prefix" ? &rule.prefix
                         : field.key == "suffix" ? &rule.suffix
                                                 : nullptr;
      if (out == nullptr) {
        return SendError(*writer, 400, fmt::format("unknown key {} (known: queue, event_types, prefix, suffix)",
                                                   base::JsonString(field.key)));
      }
      if (field.value.get_string().get(text) != simdjson::SUCCESS) {
        return SendError(*writer, 400, fmt::format("{} must be a string", field.key));
      }
      out->assign(text);
    }
    Status added = notifier.AddRule(owner, rule);
    if (!added.ok()) return fail(added);
    return Send(*writer, {201, fmt::format("{{\"bucket\":{},\"queue\":{}}}", base::JsonString(bucket),
                                           base::JsonString(rule.queue))});
  }
  if (method == "DELETE") {
    std::optional<std::string> queue = PercentDecode(QueryValue(query, "queue"));
    if (!queue) return SendError(*writer, 400, "the queue is not percent-encoded properly");
    auto removed = notifier.DeleteRules(owner, bucket, *queue);
    if (!removed.ok()) return fail(removed.status());
    return Send(*writer, {200, fmt::format("{{\"deleted\":{}}}", *removed)});
  }
  MethodNotAllowed(*writer, "GET, POST, DELETE");
}

}  // namespace edge::gateway
