#include "edge-sync/r2_remote.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <thread>

#include "base/json_escape.h"
#include "base/json_text.h"
#include "bindings/r2/r2_wire.h"
#include "edge-sync/r2_home.h"

namespace edge::sync {
namespace {

using bindings::R2ObjectMeta;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status Unreachable(std::string_view why) {
  return Status(ErrorCode::kIo,
                fmt::format("R2 buckets live at the fleet's origin, which could not be reached: {}",
                            why));
}

// The start of every call and upload header: what and whose.
std::string CallHead(std::string_view op, const std::string& owner, const std::string& bucket) {
  std::string json = fmt::format("{{\"op\":\"{}\",\"account\":", op);
  base::AppendJsonEscaped(json, owner);
  json += ",\"bucket\":";
  base::AppendJsonEscaped(json, bucket);
  return json;
}

std::string WithKey(std::string_view op, const std::string& owner, const std::string& bucket,
                    const std::string& key) {
  std::string json = CallHead(op, owner, bucket);
  json += ",\"key\":";
  base::AppendJsonEscaped(json, key);
  return json;
}

// An answer made of one JSON line and bytes after it (get, read): the JSON
// parsed into `root` (which `parser` owns), the bytes in `rest`.
Status SplitAnswer(const std::string& body, simdjson::dom::parser& parser,
                   simdjson::dom::element& root, std::string_view& rest) {
  size_t newline = body.find('\n');
  std::string_view line = std::string_view(body).substr(0, newline);
  if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kIo, "the fleet's origin answered an R2 call with malformed JSON");
  }
  rest = newline == std::string::npos ? std::string_view() : std::string_view(body).substr(newline + 1);
  return Status::Ok();
}

StatusOr<simdjson::dom::element> ParseJson(const std::string& body, simdjson::dom::parser& parser) {
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kIo, "the fleet's origin answered an R2 call with malformed JSON");
  }
  return root;
}

StatusOr<std::optional<R2ObjectMeta>> OptionalMeta(simdjson::dom::element root) {
  simdjson::dom::element meta;
  if (root["meta"].get(meta) != simdjson::SUCCESS) {
    return Status(ErrorCode::kIo, "the fleet's origin answered an R2 call without its metadata");
  }
  if (meta.is_null()) return std::optional<R2ObjectMeta>();
  auto parsed = bindings::R2MetaFromJson(meta);
  if (!parsed.ok()) return Status(ErrorCode::kIo, parsed.status().message());
  return std::optional<R2ObjectMeta>(std::move(parsed).value());
}

// A large body, read from the origin block by block as the worker reads
// it, each read pinned to the version get() answered.
class RemoteReader : public bindings::R2BodyReader {
 public:
  RemoteReader(std::shared_ptr<R2Remote> remote, std::string call_head, std::string version,
               uint64_t end)
      : remote_(std::move(remote)),
        call_head_(std::move(call_head)),
        version_(std::move(version)),
        end_(end) {}

  StatusOr<std::string> Read(uint64_t offset, size_t length) override {
    if (offset >= end_) return std::string();
    length = static_cast<size_t>(std::min<uint64_t>(length, end_ - offset));
    if (offset < block_at_ || offset + length > block_at_ + block_.size()) {
      uint64_t want = std::min<uint64_t>(std::max<size_t>(length, kR2ReadMaxBytes), end_ - offset);
      want = std::min<uint64_t>(want, kR2ReadMaxBytes);
      std::string json = call_head_;
      json += ",\"version\":";
      base::AppendJsonEscaped(json, version_);
      json += fmt::format(",\"offset\":{},\"length\":{}}}", offset, want);
      auto answer = remote_->Call(json);
      if (!answer.ok()) return answer.status();
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      std::string_view bytes;
      EDGE_RETURN_IF_ERROR(SplitAnswer(*answer, parser, root, bytes));
      if (bytes.size() != want) {
        return Status(ErrorCode::kIo, "the fleet's origin answered an R2 read cut short");
      }
      block_.assign(bytes);
      block_at_ = offset;
    }
    return block_.substr(static_cast<size_t>(offset - block_at_), length);
  }

 private:
  std::shared_ptr<R2Remote> remote_;
  std::string call_head_;  // {"op":"read","account","bucket","key"
  std::string version_;
  uint64_t end_;
  uint64_t block_at_ = 0;
  std::string block_;
};

}  // namespace

Status R2RemoteAnswerError(int status, std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view message, code;
  if (parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS &&
      root["error"].get_string().get(message) == simdjson::SUCCESS &&
      root["code"].get_string().get(code) == simdjson::SUCCESS) {
    if (status == 403) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("the fleet's origin refused this bucket: {}", message));
    }
    return bindings::R2StatusFromError(code, std::string(message));
  }
  base::HttpResponse response;
  response.status = status;
  response.body = std::string(body);
  return Status(ErrorCode::kIo,
                fmt::format("R2 buckets live at the fleet's origin, which refused the call ({}): {}",
                            status, base::ResponseError(response).message()));
}

// A put's or a part's body on its way to the origin: Write hands chunks to
// a bounded pipe that the request's thread sends from.
class R2Remote::Writer : public bindings::R2BodyWriter {
 public:
  Writer(std::shared_ptr<R2Remote> remote, std::string header, uint64_t declared)
      : remote_(std::move(remote)), declared_(declared) {
    header.push_back('\n');
    length_ = header.size() + declared;
    buffered_ = header.size();
    chunks_.push_back(std::move(header));
    cancel_ = std::make_shared<base::CancelToken>();
  }

  ~Writer() override {
    Abort();
    std::lock_guard<std::mutex> lock(remote_->mutex_);
    --remote_->uploads_in_flight_;
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  Status Write(std::string_view bytes) override {
    if (done_) return Status(ErrorCode::kInvalidInput, "R2 store: this upload has ended");
    if (bytes.size() > declared_ - written_) {
      Abort();
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("The body is longer than its declared length of {} bytes.", declared_));
    }
    std::unique_lock<std::mutex> lock(mutex_);
    // Waits while the origin takes what is already on its way (the pipe is
    // full); a request that ended meanwhile says why at Commit.
    space_.wait(lock, [&] { return buffered_ < kR2RemotePipeBytes || finished_; });
    if (finished_) {
      lock.unlock();
      return Finished().status();
    }
    written_ += bytes.size();
    if (!bytes.empty()) {
      buffered_ += bytes.size();
      chunks_.emplace_back(bytes);
      data_.notify_one();
    }
    return Status::Ok();
  }

  StatusOr<std::optional<R2ObjectMeta>> Commit() override {
    if (done_) return Status(ErrorCode::kInvalidInput, "R2 store: this upload has ended");
    if (written_ != declared_) {
      Abort();
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("The body is {} bytes long, not its declared length of {} bytes.",
                                written_, declared_));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    data_.notify_one();
    if (thread_.joinable()) thread_.join();
    done_ = true;
    return Finished();
  }

  void Abort() override {
    if (!done_) {
      done_ = true;
      cancel_->Cancel();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
      }
      data_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  // The request's outcome, once it ended.
  StatusOr<std::optional<R2ObjectMeta>> Finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!response_.ok()) return Unreachable(response_.status().message());
    if (response_->status < 200 || response_->status >= 300) {
      return R2RemoteAnswerError(response_->status, response_->body);
    }
    simdjson::dom::parser parser;
    auto root = ParseJson(answer_, parser);
    if (!root.ok()) return root.status();
    auto meta = OptionalMeta(*root);
    if (meta.ok()) {
      std::lock_guard<std::mutex> count_lock(remote_->mutex_);
      ++remote_->counts_.uploads;
    }
    return meta;
  }

  void Run() {
    base::BodySource source;
    source.length = length_;
    source.read = [this](char* buffer, size_t size) -> StatusOr<size_t> {
      std::unique_lock<std::mutex> lock(mutex_);
      data_.wait(lock, [&] { return !chunks_.empty() || closed_ || cancelled_; });
      if (cancelled_) return Status(ErrorCode::kIo, "the put was cancelled");
      if (chunks_.empty()) return size_t{0};
      std::string& front = chunks_.front();
      size_t n = std::min(size, front.size() - front_at_);
      std::memcpy(buffer, front.data() + front_at_, n);
      front_at_ += n;
      buffered_ -= n;
      if (front_at_ == front.size()) {
        chunks_.pop_front();
        front_at_ = 0;
      }
      space_.notify_one();
      return n;
    };
    std::string answer;
    auto response = base::Transfer(remote_->upload_target_with(cancel_), "PUT", "/sync/r2/put",
                                   &source, "application/octet-stream",
                                   [&answer](std::string_view piece) {
                                     if (answer.size() + piece.size() > kR2ReadMaxBytes) return false;
                                     answer.append(piece);
                                     return true;
                                   });
    remote_->NoteReached(response.ok(), response.ok() ? Status::Ok() : response.status());
    std::lock_guard<std::mutex> lock(mutex_);
    response_ = std::move(response);
    answer_ = std::move(answer);
    finished_ = true;
    chunks_.clear();
    space_.notify_all();
  }

  std::shared_ptr<R2Remote> remote_;
  uint64_t declared_;
  uint64_t written_ = 0;
  uint64_t length_ = 0;  // the request body's: header line and object body
  bool done_ = false;    // committed or aborted (the caller's thread)
  std::shared_ptr<base::CancelToken> cancel_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable data_, space_;
  std::deque<std::string> chunks_;
  size_t front_at_ = 0;
  size_t buffered_ = 0;
  bool closed_ = false, cancelled_ = false, finished_ = false;
  StatusOr<base::HttpResponse> response_ = Status(ErrorCode::kIo, "the put did not run");
  std::string answer_;  // a 2xx answer's body
};

R2Remote::R2Remote(base::HttpTarget upstream) : upstream_(std::move(upstream)) {
  upload_target_ = upstream_;
  // A call waits on these: an origin that does not answer within seconds
  // fails the call rather than the invocation's wall time.
  upstream_.connect_timeout_ms = 2000;
  upstream_.io_timeout_ms = 10000;
  upstream_.max_response_bytes = kR2CallMaxBodyBytes + kR2ReadMaxBytes;
  // An upload's answer comes after the origin fsynced the whole body.
  upload_target_.connect_timeout_ms = 2000;
  upload_target_.io_timeout_ms = 120000;
}

R2Remote::Counts R2Remote::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

base::HttpTarget R2Remote::upload_target_with(std::shared_ptr<base::CancelToken> cancel) const {
  base::HttpTarget target = upload_target_;
  target.cancel = std::move(cancel);
  return target;
}

Status R2Remote::Backoff() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (SteadyMs() < away_until_ms_) {
    ++counts_.failed;
    return Unreachable(fmt::format("{} (tried again in under {} ms)", away_why_, kR2OriginBackoffMs));
  }
  return Status::Ok();
}

void R2Remote::NoteReached(bool reached, const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reached) return;
  if (why.message().find("cancelled") != std::string::npos) return;
  ++counts_.failed;
  away_until_ms_ = SteadyMs() + kR2OriginBackoffMs;
  away_why_ = why.message();
}

void R2Remote::Count(bool answered) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++(answered ? counts_.calls : counts_.failed);
}

StatusOr<std::string> R2Remote::Call(const std::string& json) {
  EDGE_RETURN_IF_ERROR(Backoff());
  auto response = base::Request(upstream_, "POST", "/sync/r2/call", json, "application/json");
  NoteReached(response.ok(), response.ok() ? Status::Ok() : response.status());
  if (!response.ok()) return Unreachable(response.status().message());
  if (response->status < 200 || response->status >= 300) {
    Status refused = R2RemoteAnswerError(response->status, response->body);
    Count(refused.code() != ErrorCode::kIo);
    return refused;
  }
  Count(true);
  return std::move(response->body);
}

StatusOr<std::unique_ptr<bindings::R2BodyWriter>> R2Remote::Upload(std::string header,
                                                                   uint64_t declared) {
  EDGE_RETURN_IF_ERROR(Backoff());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (uploads_in_flight_ >= kR2RemoteMaxUploads) {
      return Status(ErrorCode::kIo,
                    fmt::format("{} R2 uploads are already on their way to the fleet's origin from "
                                "this PoP (the most at once); await some first",
                                kR2RemoteMaxUploads));
    }
    ++uploads_in_flight_;
  }
  auto writer = std::make_unique<Writer>(shared_from_this(), std::move(header), declared);
  writer->Start();
  return std::unique_ptr<bindings::R2BodyWriter>(std::move(writer));
}

StatusOr<std::unique_ptr<bindings::R2BodyWriter>> R2Remote::BeginPut(
    const std::string& owner, const std::string& bucket, const std::string& key,
    bindings::R2PutOptions options, std::optional<uint64_t> declared) {
  EDGE_RETURN_IF_ERROR(bindings::R2Store::CheckPutArgs(key, options, declared));
  if (!declared) {
    return Status(ErrorCode::kTypeError,
                  "Provided readable stream must have a known length (request/response body or "
                  "readable half of FixedLengthStream)");
  }
  std::string header = WithKey("put", owner, bucket, key);
  header += fmt::format(",\"length\":{},\"options\":", *declared);
  bindings::AppendR2PutOptionsJson(header, options);
  header += '}';
  return Upload(std::move(header), *declared);
}

StatusOr<std::unique_ptr<bindings::R2BodyWriter>> R2Remote::BeginPart(
    const std::string& owner, const std::string& bucket, const std::string& key,
    const std::string& upload_id, uint32_t part_number, std::optional<uint64_t> declared) {
  EDGE_RETURN_IF_ERROR(bindings::R2Store::CheckPutArgs(key, bindings::R2PutOptions{}, declared));
  if (!declared) {
    return Status(ErrorCode::kTypeError,
                  "Provided readable stream must have a known length (request/response body or "
                  "readable half of FixedLengthStream)");
  }
  std::string header = WithKey("part", owner, bucket, key);
  header += ",\"upload_id\":";
  base::AppendJsonEscaped(header, upload_id);
  header += fmt::format(",\"part_number\":{},\"length\":{}}}", part_number, *declared);
  return Upload(std::move(header), *declared);
}

StatusOr<std::optional<R2ObjectMeta>> R2Remote::Head(const std::string& owner,
                                                     const std::string& bucket,
                                                     const std::string& key) {
  auto answer = Call(WithKey("head", owner, bucket, key) + "}");
  if (!answer.ok()) return answer.status();
  simdjson::dom::parser parser;
  auto root = ParseJson(*answer, parser);
  if (!root.ok()) return root.status();
  return OptionalMeta(*root);
}

StatusOr<std::optional<bindings::R2Fetched>> R2Remote::Get(
    const std::string& owner, const std::string& bucket, const std::string& key,
    const bindings::R2Conditional& only_if, const std::optional<bindings::R2Range>& range,
    size_t inline_max) {
  std::string json = WithKey("get", owner, bucket, key);
  json += ",\"only_if\":";
  bindings::AppendR2ConditionalJson(json, only_if);
  json += ",\"range\":";
  bindings::AppendR2RangeJson(json, range);
  json += fmt::format(",\"inline_max\":{}}}", inline_max);
  auto answer = Call(json);
  if (!answer.ok()) return answer.status();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view bytes;
  EDGE_RETURN_IF_ERROR(SplitAnswer(*answer, parser, root, bytes));
  auto meta = OptionalMeta(root);
  if (!meta.ok()) return meta.status();
  if (!*meta) return std::optional<bindings::R2Fetched>();
  bindings::R2Fetched fetched;
  fetched.meta = std::move(**meta);
  bool is_inline = false;
  if (root["has_body"].get_bool().get(fetched.has_body) != simdjson::SUCCESS ||
      root["ranged"].get_bool().get(fetched.ranged) != simdjson::SUCCESS ||
      root["offset"].get_uint64().get(fetched.offset) != simdjson::SUCCESS ||
      root["length"].get_uint64().get(fetched.length) != simdjson::SUCCESS ||
      root["inline"].get_bool().get(is_inline) != simdjson::SUCCESS ||
      fetched.offset > fetched.meta.size || fetched.length > fetched.meta.size - fetched.offset) {
    return Status(ErrorCode::kIo, "the fleet's origin answered an R2 get with malformed JSON");
  }
  if (!fetched.has_body) return std::optional<bindings::R2Fetched>(std::move(fetched));
  if (is_inline) {
    if (bytes.size() != fetched.length) {
      return Status(ErrorCode::kIo, "the fleet's origin answered an R2 get cut short");
    }
    fetched.inline_body.assign(bytes);
  } else {
    fetched.reader = std::make_shared<RemoteReader>(shared_from_this(), WithKey("read", owner, bucket, key),
                                                    fetched.meta.version,
                                                    fetched.offset + fetched.length);
  }
  return std::optional<bindings::R2Fetched>(std::move(fetched));
}

Status R2Remote::Delete(const std::string& owner, const std::string& bucket,
                        const std::vector<std::string>& keys) {
  std::string json = CallHead("delete", owner, bucket);
  json += ",\"keys\":";
  base::AppendJsonArray(json, keys,
                        [](std::string& out, const std::string& key) { base::AppendJsonEscaped(out, key); });
  return Call(json + "}").status();
}

StatusOr<bindings::R2ListResult> R2Remote::List(const std::string& owner, const std::string& bucket,
                                                const bindings::R2ListOptions& options) {
  std::string json = CallHead("list", owner, bucket);
  std::pair<const char*, const std::string*> texts[] = {{"prefix", &options.prefix},
                                                        {"delimiter", &options.delimiter},
                                                        {"cursor", &options.cursor},
                                                        {"start_after", &options.start_after}};
  for (const auto& [name, text] : texts) {
    json += fmt::format(",\"{}\":", name);
    base::AppendJsonEscaped(json, *text);
  }
  json += fmt::format(",\"limit\":{},\"include_http\":{},\"include_custom\":{}}}", options.limit,
                      options.include_http, options.include_custom);
  auto answer = Call(json);
  if (!answer.ok()) return answer.status();
  simdjson::dom::parser parser;
  auto root = ParseJson(*answer, parser);
  if (!root.ok()) return root.status();
  auto result = bindings::R2ListResultFromJson(*root);
  if (!result.ok()) return Status(ErrorCode::kIo, result.status().message());
  return result;
}

StatusOr<std::string> R2Remote::CreateMultipartUpload(const std::string& owner,
                                                      const std::string& bucket,
                                                      const std::string& key,
                                                      bindings::R2PutOptions options) {
  std::string json = WithKey("create_multipart", owner, bucket, key);
  json += ",\"options\":";
  bindings::AppendR2PutOptionsJson(json, options);
  auto answer = Call(json + "}");
  if (!answer.ok()) return answer.status();
  simdjson::dom::parser parser;
  auto root = ParseJson(*answer, parser);
  if (!root.ok()) return root.status();
  auto id = bindings::R2StringField(*root, "upload_id");
  if (!id.ok()) return Status(ErrorCode::kIo, id.status().message());
  return id;
}

StatusOr<R2ObjectMeta> R2Remote::CompleteMultipartUpload(
    const std::string& owner, const std::string& bucket, const std::string& key,
    const std::string& upload_id, const std::vector<std::pair<uint32_t, std::string>>& parts) {
  std::string json = WithKey("complete", owner, bucket, key);
  json += ",\"upload_id\":";
  base::AppendJsonEscaped(json, upload_id);
  json += ",\"parts\":";
  base::AppendJsonArray(json, parts, [](std::string& out, const auto& part) {
    out += fmt::format("[{},", part.first);
    base::AppendJsonEscaped(out, part.second);
    out += ']';
  });
  auto answer = Call(json + "}");
  if (!answer.ok()) return answer.status();
  simdjson::dom::parser parser;
  auto root = ParseJson(*answer, parser);
  if (!root.ok()) return root.status();
  auto meta = OptionalMeta(*root);
  if (!meta.ok()) return meta.status();
  if (!*meta) return Status(ErrorCode::kIo, "the fleet's origin completed an upload without its metadata");
  return std::move(**meta);
}

Status R2Remote::AbortMultipartUpload(const std::string& owner, const std::string& bucket,
                                      const std::string& key, const std::string& upload_id) {
  std::string json = WithKey("abort", owner, bucket, key);
  json += ",\"upload_id\":";
  base::AppendJsonEscaped(json, upload_id);
  return Call(json + "}").status();
}

}  // namespace edge::sync
