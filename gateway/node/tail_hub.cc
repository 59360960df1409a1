#include "gateway/node/tail_hub.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <iterator>
#include <random>
#include <utility>

#include "base/http_text.h"
#include "base/json_escape.h"
#include "base/log.h"

namespace edge::gateway {

// Shared by the hub's list, the publishers walking a copy of it, and (from
// Unsubscribe until the close callback) by itself, so the uv_async_t outlives
// uv_close however the other references go.
struct TailHub::Subscription {
  uint64_t id = 0;
  TailFilter filter;
  std::function<void(std::string)> deliver;
  uv_async_t async;
  std::shared_ptr<Subscription> self;

  std::mutex mutex;
  // Guarded by mutex. `closed` is also read without it on the loop thread,
  // the only one that sets it.
  std::deque<std::string> queue;
  uint64_t dropped = 0;
  std::atomic<bool> closed{false};
};

namespace {

// application/x-www-form-urlencoded decoding, strict about "%".
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = base::HexDigitValue(text[i + 1]), low = base::HexDigitValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Status BadParameter(std::string_view name, std::string_view why) {
  return Status(ErrorCode::kInvalidInput,
                fmt::format("invalid tail parameter \"{}\": {}", name, why));
}

// A coin toss per event for sampling: a per-thread generator, so publishers
// share nothing.
bool Sample(double probability) {
  thread_local std::minstd_rand engine(
      static_cast<std::minstd_rand::result_type>(std::random_device{}()));
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine) < probability;
}

}  // namespace

bool TailFilter::Matches(const InvocationRecord& record) const {
  if (!worker.empty() && record.worker != worker) return false;
  if (errors_only_or_ok.has_value() && *errors_only_or_ok != record.error()) return false;
  if (!method.empty() && !base::EqualsIgnoreCase(record.method, method)) return false;
  if (!search.empty() && record.url.find(search) == std::string::npos &&
      std::none_of(record.logs.begin(), record.logs.end(), [&](const ConsoleLine& line) {
        return line.message.find(search) != std::string::npos;
      })) {
    return false;
  }
  return true;
}

StatusOr<TailFilter> ParseTailFilter(std::string worker, std::string_view query_string) {
  TailFilter filter;
  filter.worker = std::move(worker);
  if (!query_string.empty() && query_string.front() == '?') query_string.remove_prefix(1);
  while (!query_string.empty()) {
    size_t amp = query_string.find('&');
    std::string_view pair = query_string.substr(0, amp);
    query_string =
        amp == std::string_view::npos ? std::string_view() : query_string.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq));
    if (!name) return BadParameter(pair.substr(0, eq), "bad percent-encoding in the name");
    std::optional<std::string> value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return BadParameter(*name, "bad percent-encoding");

    if (*name == "status") {
      if (*value == "ok") {
        filter.errors_only_or_ok = false;
      } else if (*value == "error") {
        filter.errors_only_or_ok = true;
      } else {
        return BadParameter(*name, "must be \"ok\" or \"error\"");
      }
    } else if (*name == "method") {
      if (!std::all_of(value->begin(), value->end(), [](char c) { return base::IsTokenChar(c); })) {
        return BadParameter(*name, "not an HTTP method");
      }
      filter.method = std::move(*value);
    } else if (*name == "search") {
      filter.search = std::move(*value);
    } else if (*name == "sampling") {
      double sampling = 0;
      const char* end = value->data() + value->size();
      auto [ptr, ec] = std::from_chars(value->data(), end, sampling);
      if (value->empty() || ec != std::errc() || ptr != end || !(sampling > 0 && sampling <= 1)) {
        return BadParameter(*name, "must be a number greater than 0 and at most 1");
      }
      filter.sampling = sampling;
    }
    // Other parameters are ignored: newer clients may send more.
  }
  return filter;
}

std::string TailEventLine(const InvocationRecord& record) {
  // A cron trigger's invocation is a "scheduled" event with the trigger
  // and its minute where a request has its method and URL.
  // A queue batch's is a "queue" event with the queue and the batch size.
  bool scheduled = !record.cron.empty();
  bool queue = !record.queue.empty();
  // A workflow run's is a "workflow" event with the workflow and instance.
  bool workflow = !record.workflow.empty();
  std::string line = scheduled  ? "{\"type\":\"scheduled\",\"time\":\""
                     : queue    ? "{\"type\":\"queue\",\"time\":\""
                     : workflow ? "{\"type\":\"workflow\",\"time\":\""
                                : "{\"type\":\"request\",\"time\":\"";
  auto append = std::back_inserter(line);
  line += base::FormatUtcTime(record.start_unix_ms);
  line += "\",\"request_id\":";
  base::AppendJsonEscaped(line, record.request_id);
  line += ",\"worker\":";
  base::AppendJsonEscaped(line, record.worker);
  if (scheduled) {
    fmt::format_to(append, ",\"version\":{},\"cron\":", record.version);
    base::AppendJsonEscaped(line, record.cron);
    fmt::format_to(append, ",\"scheduledTime\":{}", record.scheduled_time_ms);
  } else if (queue) {
    fmt::format_to(append, ",\"version\":{},\"queue\":", record.version);
    base::AppendJsonEscaped(line, record.queue);
    fmt::format_to(append, ",\"batchSize\":{}", record.batch_size);
  } else if (workflow) {
    fmt::format_to(append, ",\"version\":{},\"workflow\":", record.version);
    base::AppendJsonEscaped(line, record.workflow);
    line += ",\"instanceId\":";
    base::AppendJsonEscaped(line, record.workflow_instance);
  } else {
    fmt::format_to(append, ",\"version\":{},\"method\":", record.version);
    base::AppendJsonEscaped(line, record.method);
    line += ",\"url\":";
    base::AppendJsonEscaped(line, record.url);
  }
  fmt::format_to(append, ",\"status\":{},\"outcome\":", record.status);
  base::AppendJsonEscaped(line, record.outcome);
  if (!record.policy.empty()) {
    line += ",\"policy\":";
    base::AppendJsonEscaped(line, record.policy);
  }
  line += ",\"cpu_ms\":";
  base::AppendMillis(line, record.cpu_ns);
  line += ",\"wall_ms\":";
  base::AppendMillis(line, record.wall_ns);
  line += ",\"logs\":[";
  for (size_t i = 0; i < record.logs.size(); ++i) {
    const ConsoleLine& log = record.logs[i];
    line += i == 0 ? "{\"time\":\"" : ",{\"time\":\"";
    line += base::FormatUtcTime(log.time_ms);
    line += "\",\"level\":";
    base::AppendJsonEscaped(line, log.level);
    line += ",\"message\":";
    base::AppendJsonEscaped(line, log.message);
    line += '}';
  }
  line += ']';
  // Workers' tail events carry `exceptions`; here its one uncaught exception.
  if (!record.exception.empty()) {
    line += ",\"exceptions\":[{\"message\":";
    base::AppendJsonEscaped(line, record.exception);
    line += "}]";
  }
  line += "}\n";
  return line;
}

TailHub::~TailHub() {
  for (const std::shared_ptr<Subscription>& subscription : *list_) {
    // Its handle is still on a loop we cannot touch from here: keep the
    // memory it points to alive for good.
    Log(LogLevel::kError, "tail: subscription {} left open when the hub went away",
        subscription->id);
    std::lock_guard<std::mutex> lock(subscription->mutex);
    subscription->queue.clear();
    subscription->self = subscription;
  }
}

uint64_t TailHub::Subscribe(TailFilter filter, uv_loop_t* loop,
                            std::function<void(std::string)> deliver) {
  auto subscription = std::make_shared<Subscription>();
  subscription->filter = std::move(filter);
  subscription->deliver = std::move(deliver);
  subscription->async.data = subscription.get();
  if (uv_async_init(loop, &subscription->async, &TailHub::OnAsync) != 0) return 0;

  std::lock_guard<std::mutex> lock(mutex_);
  subscription->id = next_id_++;
  auto list = std::make_shared<List>(*list_);
  list->push_back(subscription);
  list_ = std::move(list);
  count_.fetch_add(1, std::memory_order_release);
  return subscription->id;
}

void TailHub::Unsubscribe(uint64_t id) {
  std::shared_ptr<Subscription> subscription;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(list_->begin(), list_->end(),
                           [id](const auto& candidate) { return candidate->id == id; });
    if (it == list_->end()) return;
    subscription = *it;
    auto list = std::make_shared<List>();
    list->reserve(list_->size() - 1);
    for (const auto& other : *list_) {
      if (other != subscription) list->push_back(other);
    }
    list_ = std::move(list);
    count_.fetch_sub(1, std::memory_order_release);
  }
  {
    // Publishers call uv_async_send under this lock after checking `closed`,
    // so once it is set none is in uv_async_send and none will be: uv_close
    // is safe.
    std::lock_guard<std::mutex> lock(subscription->mutex);
    subscription->closed = true;
    subscription->queue.clear();
  }
  subscription->self = subscription;
  uv_close(reinterpret_cast<uv_handle_t*>(&subscription->async), [](uv_handle_t* handle) {
    // The last reference may be this one: take it out before it goes.
    std::shared_ptr<Subscription> keep = std::move(static_cast<Subscription*>(handle->data)->self);
  });
}

void TailHub::Publish(const InvocationRecord& record) {
  if (count_.load(std::memory_order_acquire) == 0) return;
  std::shared_ptr<const List> list;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    list = list_;
  }
  std::string line;  // formatted for the first subscriber that wants it
  for (const std::shared_ptr<Subscription>& subscription : *list) {
    const TailFilter& filter = subscription->filter;
    if (!filter.Matches(record)) continue;
    if (filter.sampling < 1.0 && !Sample(filter.sampling)) continue;
    if (line.empty()) line = TailEventLine(record);
    std::lock_guard<std::mutex> lock(subscription->mutex);
    if (subscription->closed) continue;
    subscription->queue.push_back(line);
    if (subscription->queue.size() > kMaxQueuedLines) {
      subscription->queue.pop_front();
      ++subscription->dropped;
    }
    // Coalesces: one callback drains everything queued by then.
    uv_async_send(&subscription->async);
  }
}

void TailHub::OnAsync(uv_async_t* async) {
  auto* subscription = static_cast<Subscription*>(async->data);
  std::deque<std::string> lines;
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(subscription->mutex);
    lines.swap(subscription->queue);
    dropped = std::exchange(subscription->dropped, 0);
  }
  // `deliver` may unsubscribe: check before each call. The subscription stays
  // alive meanwhile: its close callback cannot run inside this one.
  if (dropped != 0 && !subscription->closed) {
    subscription->deliver(fmt::format("{{\"type\":\"dropped\",\"count\":{}}}\n", dropped));
  }
  for (std::string& line : lines) {
    if (subscription->closed) return;
    subscription->deliver(std::move(line));
  }
}

}  // namespace edge::gateway
