#include "cli/tail_command.h"

#include <fmt/core.h>
#include <signal.h>
#include <simdjson.h>

#include <atomic>
#include <cctype>
#include <ctime>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/worker_name.h"

namespace edge::cli {
namespace {

// The node sends a heartbeat every ~10 s: three missed ones mean the
// connection is gone.
constexpr int kTailIoTimeoutMs = 35000;

std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted.store(true); }

// Outcomes as wrangler shows them.
std::string OutcomeText(std::string_view outcome) {
  if (outcome == "ok") return "Ok";
  if (outcome == "exception") return "Exception Thrown";
  if (outcome == "exceededCpu") return "Exceeded CPU Limit";
  if (outcome == "exceededMemory") return "Exceeded Memory";
  if (outcome == "exceededWall") return "Exceeded Wall Time";
  if (outcome == "responseTooLarge") return "Response Too Large";
  if (outcome == "canceled") return "Canceled";
  if (outcome == "noRoute") return "No Route";
  if (outcome == "loadError") return "Load Error";
  if (outcome.empty()) return "Unknown";
  std::string text(outcome);
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

std::string UtcTime(time_t seconds) {
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
  return text;
}

// "2026-11-27T06:51:04.123Z" (or Unix milliseconds) as "2026-11-27 06:51:04".
std::string EventTime(simdjson::dom::element time) {
  std::string_view text;
  if (time.get_string().get(text) == simdjson::SUCCESS) {
    if (text.size() >= 19 && text[10] == 'T') {
      std::string out(text.substr(0, 19));
      out[10] = ' ';
      return out;
    }
    return std::string(text);
  }
  double ms = 0;
  if (time.get_double().get(ms) == simdjson::SUCCESS) {
    return UtcTime(static_cast<time_t>(ms / 1000));
  }
  return "?";
}

// A console message: strings as they are, anything else as JSON.
std::string MessageText(simdjson::dom::element message) {
  std::string_view text;
  if (message.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  simdjson::dom::array parts;
  if (message.get_array().get(parts) == simdjson::SUCCESS) {
    std::string out;
    for (simdjson::dom::element part : parts) {
      if (!out.empty()) out += ' ';
      out += MessageText(part);
    }
    return out;
  }
  return simdjson::minify(message);
}

std::string StringField(simdjson::dom::element object, std::string_view key,
                        std::string_view fallback = "") {
  std::string_view text;
  if (object[key].get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  return std::string(fallback);
}

// A request ("GET https://... - Ok @ ..."), a cron trigger's scheduled
// event ("\"*/5 * * * *\" - Ok @ ...") or a queue batch ("Queue jobs (3
// messages) - Ok @ ..."), then its console lines.
// A workflow run is "Workflow orders instance o1 - Ok @ ...".
enum class EventKind { kRequest, kScheduled, kQueue, kWorkflow };
std::string FormatRequest(simdjson::dom::element event, EventKind kind) {
  simdjson::dom::element time;
  std::string when = event["time"].get(time) == simdjson::SUCCESS ? EventTime(time) : "?";
  uint64_t batch = 0;
  if (event["batchSize"].get_uint64().get(batch) != simdjson::SUCCESS) batch = 0;
  std::string what =
      kind == EventKind::kScheduled ? fmt::format("\"{}\"", StringField(event, "cron", "?"))
      : kind == EventKind::kQueue
          ? fmt::format("Queue {} ({} message{})", StringField(event, "queue", "?"), batch,
                        batch == 1 ? "" : "s")
      : kind == EventKind::kWorkflow
          ? fmt::format("Workflow {} instance {}", StringField(event, "workflow", "?"),
                        StringField(event, "instanceId", "?"))
          : fmt::format("{} {}", StringField(event, "method", "?"), StringField(event, "url", "?"));
  std::string out =
      fmt::format("{} - {} @ {}\n", what, OutcomeText(StringField(event, "outcome")), when);
  simdjson::dom::array logs;
  if (event["logs"].get_array().get(logs) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element log : logs) {
    std::string message;
    simdjson::dom::element value;
    if (log["message"].get(value) == simdjson::SUCCESS) message = MessageText(value);
    out += fmt::format("  ({}) ", StringField(log, "level", "log"));
    // Lines after the first line up under it.
    for (char c : message) {
      out += c;
      if (c == '\n') out += "    ";
    }
    out += '\n';
  }
  simdjson::dom::array exceptions;
  if (event["exceptions"].get_array().get(exceptions) == simdjson::SUCCESS) {
    for (simdjson::dom::element exception : exceptions) {
      out += "  (exception) ";
      for (char c : StringField(exception, "message")) {
        out += c;
        if (c == '\n') out += "    ";
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace

std::string FormatTailEvent(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element event;
  std::string_view type;
  if (parser.parse(line.data(), line.size(), true).get(event) != simdjson::SUCCESS ||
      !event.is_object()) {
    return std::string(line) + "\n";
  }
  if (event["type"].get_string().get(type) != simdjson::SUCCESS) return {};
  if (type == "request") return FormatRequest(event, EventKind::kRequest);
  if (type == "scheduled") return FormatRequest(event, EventKind::kScheduled);
  if (type == "queue") return FormatRequest(event, EventKind::kQueue);
  if (type == "workflow") return FormatRequest(event, EventKind::kWorkflow);
  if (type == "dropped") {
    uint64_t count = 0;
    if (event["count"].get_uint64().get(count) != simdjson::SUCCESS) count = 0;
    return fmt::format("({} event{} dropped: this tail fell behind)\n", count,
                       count == 1 ? "" : "s");
  }
  return {};  // heartbeats, and types of newer nodes
}

std::string TailPath(const std::string& worker, const TailCommandOptions& options) {
  std::string query;
  auto add = [&query](std::string_view key, std::string_view value) {
    query += query.empty() ? '?' : '&';
    query += fmt::format("{}={}", key, PercentEncode(value));
  };
  if (!options.status.empty()) add("status", options.status);
  if (!options.method.empty()) add("method", options.method);
  if (!options.search.empty()) add("search", options.search);
  if (options.sampling) add("sampling", fmt::format("{}", *options.sampling));
  return "/workers/" + PercentEncode(worker) + "/tail" + query;
}

int RunTailCommand(const TailCommandOptions& options) {
  auto fail = [](const Status& status) {
    std::cerr << "edge tail: " << status.message() << "\n";
    return 1;
  };
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return fail(token.status());
  AdminTarget target{options.from, std::move(token).value()};
  target.io_timeout_ms = kTailIoTimeoutMs;
  if (Status url = ParseAdminUrl(target.url).status(); !url.ok()) return fail(url);
  StatusOr<std::string> worker = ResolveWorkerName(options.worker, "the worker's NAME");
  if (!worker.ok()) return fail(worker.status());
  if (options.sampling && !(*options.sampling > 0 && *options.sampling <= 1)) {
    return fail(Status(ErrorCode::kInvalidInput, "--sampling must be above 0 and at most 1"));
  }

  // Ctrl-C ends the stream cleanly (and the exit status is 0).
  struct sigaction on_interrupt {};
  on_interrupt.sa_handler = OnInterrupt;
  sigemptyset(&on_interrupt.sa_mask);
  sigaction(SIGINT, &on_interrupt, nullptr);
  sigaction(SIGTERM, &on_interrupt, nullptr);

  const bool json = options.format == "json";
  bool output_closed = false;
  StreamOptions stream;
  stream.stop_requested = [] { return interrupted.load(); };
  stream.on_connected = [&] {
    std::cerr << fmt::format("Connected to {} at {}; waiting for requests (Ctrl-C to stop)\n",
                             *worker, options.from);
  };
  auto on_line = [&](std::string_view line) {
    if (json) {
      if (line.empty()) return true;
      std::cout << line << '\n';
    } else {
      std::string text = FormatTailEvent(line);
      if (text.empty()) return true;
      std::cout << text;
    }
    std::cout.flush();
    // stdout went away (`edge tail | head`): done.
    output_closed = !std::cout;
    return !output_closed;
  };
  Status status = Stream(target, TailPath(*worker, options), on_line, stream);
  if (!status.ok()) return fail(status);
  if (interrupted.load() || output_closed) return 0;
  return fail(Status(ErrorCode::kIo, "the node ended the stream"));
}

}  // namespace edge::cli
