#include "runtime/project.h"

#include "base/cron_expression.h"

#include <fmt/core.h>

#include <toml++/toml.h>

#include "runtime/compatibility_flags.h"
#include "runtime/module_loader.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <sstream>

namespace edge::runtime {
namespace fs = std::filesystem;

namespace {

Status ConfigError(const std::string& file, const std::string& what) {
  return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", file, what));
}

// One entry of `route`/`routes`, as wrangler accepts it: a pattern, or a
// table with `pattern` (and zone_name/zone_id, which a node has no use
// for), or a custom domain (`custom_domain = true`: the whole host).
StatusOr<std::string> ReadRoute(const std::string& file, const toml::node& node) {
  if (auto pattern = node.value_exact<std::string>()) return *pattern;
  const toml::table* entry = node.as_table();
  auto pattern = entry ? (*entry)["pattern"].value_exact<std::string>() : std::nullopt;
  if (!pattern) {
    return ConfigError(file, "a route must be a pattern string or a table with `pattern`");
  }
  if ((*entry)["custom_domain"].value_or(false) && pattern->find('/') == std::string::npos) {
    return *pattern + "/*";
  }
  return *pattern;
}

StatusOr<std::optional<std::vector<std::string>>> ReadRoutes(const std::string& file,
                                                             const toml::table& table) {
  const toml::node* route = table.get("route");
  const toml::node* routes = table.get("routes");
  if (route != nullptr && routes != nullptr) {
    return ConfigError(file, "set `route` or `routes`, not both");
  }
  std::vector<std::string> patterns;
  if (route != nullptr) {
    StatusOr<std::string> pattern = ReadRoute(file, *route);
    if (!pattern.ok()) return pattern.status();
    patterns.push_back(std::move(pattern).value());
  } else if (routes != nullptr) {
    const toml::array* list = routes->as_array();
    if (list == nullptr) return ConfigError(file, "`routes` must be an array");
    for (const toml::node& item : *list) {
      StatusOr<std::string> pattern = ReadRoute(file, item);
      if (!pattern.ok()) return pattern.status();
      patterns.push_back(std::move(pattern).value());
    }
  } else {
    return std::optional<std::vector<std::string>>();
  }
  return std::optional<std::vector<std::string>>(std::move(patterns));
}

}  // namespace

// `[[queues.producers]]` and `[[queues.consumers]]`: producers become
// `queue` bindings, consumers spec.queue_consumers. Unknown keys and values
// out of Workers' ranges are errors naming them.
Status ReadQueues(const std::string& file, const toml::node& node, WorkerSpec* spec) {
  const toml::table* queues = node.as_table();
  if (queues == nullptr) return ConfigError(file, "[queues] must be a table");
  for (const auto& [key, value] : *queues) {
    if (key.str() != "producers" && key.str() != "consumers") {
      return ConfigError(file, fmt::format("[queues] has no key '{}' (known: producers, consumers)", key.str()));
    }
  }
  auto entries = [&](const char* what) -> StatusOr<std::vector<const toml::table*>> {
    std::vector<const toml::table*> out;
    const toml::node* list_node = queues->get(what);
    if (list_node == nullptr) return out;
    const toml::array* list = list_node->as_array();
    if (list == nullptr) return ConfigError(file, fmt::format("queues.{} must be an array of tables", what));
    for (const toml::node& item : *list) {
      if (!item.is_table()) return ConfigError(file, fmt::format("queues.{} must be an array of tables", what));
      out.push_back(item.as_table());
    }
    return out;
  };
  auto producers = entries("producers");
  if (!producers.ok()) return producers.status();
  for (const toml::table* entry : *producers) {
    for (const auto& [key, value] : *entry) {
      if (key.str() != "binding" && key.str() != "queue" && key.str() != "delivery_delay") {
        return ConfigError(file, fmt::format("[[queues.producers]] has no key '{}' (known: binding, queue)", key.str()));
      }
    }
    auto binding = (*entry)["binding"].value_exact<std::string>();
    auto queue = (*entry)["queue"].value_exact<std::string>();
    if (!binding || binding->empty() || !queue || queue->empty()) {
      return ConfigError(file, "each [[queues.producers]] needs binding and queue");
    }
    if (entry->get("delivery_delay") != nullptr) {
      return ConfigError(file, "[[queues.producers]] delivery_delay is not supported by edge: pass delaySeconds to send()");
    }
    spec->bindings.push_back({*binding, "queue", {{"queue", *queue}}});
  }
  auto consumers = entries("consumers");
  if (!consumers.ok()) return consumers.status();
  for (const toml::table* entry : *consumers) {
    QueueConsumerSpec consumer;
    auto queue = (*entry)["queue"].value_exact<std::string>();
    if (!queue || queue->empty()) return ConfigError(file, "each [[queues.consumers]] needs a queue");
    consumer.queue = *queue;
    struct Number {
      const char* key;
      int64_t min, max;
      uint32_t* out;
    };
    const Number numbers[] = {
        {"max_batch_size", 1, 100, &consumer.max_batch_size},
        {"max_batch_timeout", 0, 60, &consumer.max_batch_timeout_s},
        {"max_retries", 0, 100, &consumer.max_retries},
        {"max_concurrency", 1, 250, &consumer.max_concurrency},
        {"retry_delay", 0, 43200, &consumer.retry_delay_s},
    };
    for (const auto& [key, value] : *entry) {
      bool known = key.str() == "queue" || key.str() == "dead_letter_queue";
      for (const Number& number : numbers) known |= key.str() == number.key;
      if (!known) {
        return ConfigError(file, fmt::format("[[queues.consumers]] has no key '{}' (known: queue, max_batch_size, "
                                             "max_batch_timeout, max_retries, dead_letter_queue, max_concurrency, "
                                             "retry_delay)", key.str()));
      }
    }
    for (const Number& number : numbers) {
      const toml::node* value = entry->get(number.key);
      if (value == nullptr) continue;
      auto integer = value->value_exact<int64_t>();
      if (!integer || *integer < number.min || *integer > number.max) {
        return ConfigError(file, fmt::format("[[queues.consumers]] {} must be an integer from {} to {}",
                                             number.key, number.min, number.max));
      }
      *number.out = static_cast<uint32_t>(*integer);
    }
    if (const toml::node* dlq = entry->get("dead_letter_queue")) {
      auto name = dlq->value_exact<std::string>();
      if (!name) return ConfigError(file, "[[queues.consumers]] dead_letter_queue must be a string");
      consumer.dead_letter_queue = *name;
    }
    spec->queue_consumers.push_back(std::move(consumer));
  }
  return Status::Ok();
}

// `[[ratelimits]]`: each a `ratelimit` binding. Workers' rules: namespace_id
// an integer (written as a string or a number), simple.limit a positive
// integer, simple.period 10 or 60 seconds.
Status ReadRateLimits(const std::string& file, const toml::node& node, WorkerSpec* spec) {
  const toml::array* list = node.as_array();
  if (list == nullptr || !list->is_array_of_tables()) {
    return ConfigError(file, "ratelimits must be an array of tables ([[ratelimits]])");
  }
  for (const toml::node& item : *list) {
    const toml::table& entry = *item.as_table();
    for (const auto& [key, value] : entry) {
      if (key.str() != "name" && key.str() != "namespace_id" && key.str() != "simple") {
        return ConfigError(file, fmt::format("[[ratelimits]] has no key '{}' (known: name, namespace_id, simple)",
                                             key.str()));
      }
    }
    auto name = entry["name"].value_exact<std::string>();
    if (!name || name->empty()) return ConfigError(file, "each [[ratelimits]] needs a name");
    std::string namespace_id;
    if (auto text = entry["namespace_id"].value_exact<std::string>()) {
      namespace_id = *text;
    } else if (auto number = entry["namespace_id"].value_exact<int64_t>()) {
      namespace_id = std::to_string(*number);
    }
    if (namespace_id.empty() || namespace_id.size() > 19 ||
        !std::all_of(namespace_id.begin(), namespace_id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return ConfigError(file, fmt::format("[[ratelimits]] {}: namespace_id must be an integer", *name));
    }
    const toml::table* simple = entry["simple"].as_table();
    if (simple == nullptr) {
      return ConfigError(file, fmt::format("[[ratelimits]] {}: simple = {{ limit, period }} is required", *name));
    }
    for (const auto& [key, value] : *simple) {
      if (key.str() != "limit" && key.str() != "period") {
        return ConfigError(file, fmt::format("[[ratelimits]] {}: simple has no key '{}' (known: limit, period)",
                                             *name, key.str()));
      }
    }
    auto limit = (*simple)["limit"].value_exact<int64_t>();
    if (!limit || *limit < 1 || *limit > 1'000'000) {
      return ConfigError(file, fmt::format("[[ratelimits]] {}: simple.limit must be an integer from 1 to 1000000",
                                           *name));
    }
    auto period = (*simple)["period"].value_exact<int64_t>();
    if (!period || (*period != 10 && *period != 60)) {
      return ConfigError(file, fmt::format("[[ratelimits]] {}: simple.period must be 10 or 60", *name));
    }
    spec->bindings.push_back({*name,
                              "ratelimit",
                              {{"namespace_id", namespace_id},
                               {"limit", std::to_string(*limit)},
                               {"period", std::to_string(*period)}}});
  }
  return Status::Ok();
}

StatusOr<Project> LoadProject(const std::string& path) {
  std::error_code ec;
  fs::path target = fs::absolute(path, ec).lexically_normal();
  if (ec || !fs::exists(target, ec)) {
    return Status(ErrorCode::kNotFound, fmt::format("{}: no such file or folder", path));
  }
  Project project;
  if (fs::is_regular_file(target, ec)) {
    std::string ext = target.extension().string();
    if (ext != ".js" && ext != ".mjs") {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: a worker file must end in .js or .mjs", path));
    }
    project.spec.name = target.stem().string();
    project.spec.root_dir = target.parent_path().string();
    project.spec.entry_path = target.string();
    return project;
  }

  fs::path config = target / "edge.toml";
  if (!fs::exists(config, ec)) config = target / "wrangler.toml";
  if (!fs::exists(config, ec)) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("{}: no edge.toml or wrangler.toml in this folder", path));
  }
  std::string file = config.string();
  // Debian's toml++ is built with exceptions: a parse error is thrown, and
  // caught here so it stays a Status.
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& error) {
    return ConfigError(fmt::format("{}:{}:{}", file, error.source().begin.line,
                                   error.source().begin.column),
                       std::string(error.description()));
  }
  project.config_path = file;
  project.spec.root_dir = target.string();

  auto name = table["name"].value<std::string>();
  project.spec.name = name ? *name : target.filename().string();
  auto main = table["main"].value<std::string>();
  if (!main) return ConfigError(file, "`main` (the worker's entry module) is required");
  fs::path entry = (target / *main).lexically_normal();
  if (!fs::is_regular_file(entry, ec)) {
    return ConfigError(file, fmt::format("main = \"{}\": no such file", *main));
  }
  project.spec.entry_path = entry.string();
  if (const toml::node* account = table.get("account_id")) {
    auto value = account->value<std::string>();
    if (!value) return ConfigError(file, "account_id must be a string");
    project.account_id = *value;
  }
  if (auto date = table["compatibility_date"].value<std::string>()) {
    project.compatibility_date = *date;
    project.spec.compatibility_date = *date;
  }
  // compatibility_flags = ["nodejs_compat", ...] (wrangler's key).
  if (const toml::node* flags = table.get("compatibility_flags")) {
    const toml::array* list = flags->as_array();
    if (list == nullptr) return ConfigError(file, "compatibility_flags must be an array of strings");
    for (const toml::node& item : *list) {
      auto flag = item.value_exact<std::string>();
      if (!flag) return ConfigError(file, "compatibility_flags must be an array of strings");
      project.spec.compatibility_flags.push_back(*flag);
    }
    Status valid = CheckCompatibilityFlags(project.spec.compatibility_flags);
    if (!valid.ok()) return ConfigError(file, valid.message());
  }

  if (const toml::node* limits = table.get("limits")) {
    if (!limits->is_table()) return ConfigError(file, "[limits] must be a table");
    const toml::table& keys = *limits->as_table();
    struct Limit {
      const char* key;
      int64_t min;  // 0 or 1, but for memory_mb
      int64_t max;
      std::optional<uint64_t>* value;
    };
    constexpr int64_t kNoMax = INT64_MAX;
    const Limit all[] = {
        {"cpu_ms", 1, kNoMax, &project.cpu_ms},
        {"memory_mb", kMinMemoryMb, kMaxMemoryMb, &project.memory_mb},
        {"startup_cpu_ms", 1, kNoMax, &project.startup_cpu_ms},
        {"wall_ms", 0, kNoMax, &project.wall_ms},
        {"subrequests", 0, UINT32_MAX, &project.subrequests},
        {"request_bytes", 0, kNoMax, &project.request_bytes},
        {"response_bytes", 0, kNoMax, &project.response_bytes},
        {"background_cpu_ms", 1, kNoMax, &project.background_cpu_ms},
    };
    // A typo must not deploy silently with the default in its place.
    for (const auto& [key, value] : keys) {
      bool known = false;
      for (const Limit& limit : all) known |= key.str() == limit.key;
      if (!known) {
        return ConfigError(file, fmt::format("[limits] has no key '{}' (known: cpu_ms, memory_mb, "
                                             "startup_cpu_ms, wall_ms, subrequests, "
                                             "request_bytes, response_bytes, background_cpu_ms)",
                                             key.str()));
      }
    }
    for (const Limit& limit : all) {
      const toml::node* node = keys.get(limit.key);
      if (node == nullptr) continue;
      auto number = node->value_exact<int64_t>();
      if (limit.min > 1 && (!number || *number < limit.min || *number > limit.max)) {
        std::string got = number ? fmt::format(" (got {})", *number) : std::string();
        return ConfigError(file, fmt::format("[limits] {} must be an integer from {} to {}{}",
                                             limit.key, limit.min, limit.max, got));
      }
      if (!number || *number < limit.min) {
        return ConfigError(file, fmt::format("[limits] {} must be a {} integer", limit.key,
                                             limit.min == 1 ? "positive" : "non-negative"));
      }
      if (*number > limit.max) {
        return ConfigError(file, fmt::format("[limits] {} must be at most {} (got {})", limit.key,
                                             limit.max, *number));
      }
      *limit.value = static_cast<uint64_t>(*number);
    }
    if (project.cpu_ms) project.spec.cpu_limit_ms = *project.cpu_ms;
    if (project.memory_mb) {
      project.spec.heap_limit_bytes = static_cast<size_t>(*project.memory_mb) << 20;
    }
    if (project.startup_cpu_ms) project.spec.startup_cpu_limit_ms = *project.startup_cpu_ms;
    if (project.background_cpu_ms) {
      project.spec.background_cpu_limit_ms = *project.background_cpu_ms;
    }
  }

  // [triggers] crons = ["*/5 * * * *", ...] (wrangler's keys).
  if (const toml::node* triggers = table.get("triggers")) {
    if (!triggers->is_table()) return ConfigError(file, "[triggers] must be a table");
    for (const auto& [key, value] : *triggers->as_table()) {
      if (key.str() != "crons") {
        return ConfigError(file, fmt::format("[triggers] has no key '{}' (known: crons)", key.str()));
      }
    }
    if (const toml::node* crons = triggers->as_table()->get("crons")) {
      const toml::array* list = crons->as_array();
      if (list == nullptr) return ConfigError(file, "[triggers] crons must be an array of strings");
      for (const toml::node& item : *list) {
        auto text = item.value<std::string>();
        if (!text) return ConfigError(file, "[triggers] crons must be an array of strings");
        StatusOr<base::CronExpression> cron = base::CronExpression::Parse(*text);
        if (!cron.ok()) return ConfigError(file, fmt::format("[triggers] {}", cron.status().message()));
        project.spec.crons.push_back(*text);
      }
    }
  }

  StatusOr<std::optional<std::vector<std::string>>> routes = ReadRoutes(file, table);
  if (!routes.ok()) return routes.status();
  project.routes = std::move(routes).value();

  // [[kv_namespaces]] binding = "NAME", id = "..." (wrangler's keys; a
  // namespace without an id is stored under its binding name).
  if (const toml::node* kv = table.get("kv_namespaces")) {
    const toml::array* list = kv->as_array();
    if (list == nullptr) return ConfigError(file, "kv_namespaces must be an array of tables");
    for (const toml::node& item : *list) {
      const toml::table* entry = item.as_table();
      auto binding = entry ? (*entry)["binding"].value<std::string>() : std::nullopt;
      if (!binding || binding->empty()) {
        return ConfigError(file, "each [[kv_namespaces]] needs a binding name");
      }
      std::string id = (*entry)["id"].value<std::string>().value_or(*binding);
      project.spec.bindings.push_back({*binding, "kv", {{"namespace", id}}});
    }
  }
  // [queues] producers = [{ binding, queue }], consumers = [{ queue,
  // max_batch_size, ... }] (wrangler's keys, written [[queues.producers]]).
  if (const toml::node* queues = table.get("queues")) {
    Status read = ReadQueues(file, *queues, &project.spec);
    if (!read.ok()) return read;
  }
  // [[r2_buckets]] binding = "NAME", bucket_name = "..." (wrangler's keys).
  if (const toml::node* r2 = table.get("r2_buckets")) {
    const toml::array* list = r2->as_array();
    if (list == nullptr) return ConfigError(file, "r2_buckets must be an array of tables");
    for (const toml::node& item : *list) {
      const toml::table* entry = item.as_table();
      auto binding = entry ? (*entry)["binding"].value<std::string>() : std::nullopt;
      auto bucket = entry ? (*entry)["bucket_name"].value<std::string>() : std::nullopt;
      if (!binding || binding->empty() || !bucket) {
        return ConfigError(file, "each [[r2_buckets]] needs binding and bucket_name");
      }
      if (!ValidR2BucketName(*bucket)) {
        return ConfigError(file, fmt::format("[[r2_buckets]] bucket_name \"{}\" is not a valid R2 bucket "
                                             "name (3 to 63 of a-z, 0-9 and '-', starting and ending "
                                             "with a letter or digit)",
                                             *bucket));
      }
      project.spec.bindings.push_back({*binding, "r2", {{"bucket", *bucket}}});
    }
  }
  // [[r2_event_notifications]] bucket, queue, event_types, prefix, suffix:
  // the host sends R2's event messages to the queue (whether the queue
  // exists is the host's check, when it loads or deploys the worker).
  if (const toml::node* notifications = table.get("r2_event_notifications")) {
    const toml::array* list = notifications->as_array();
    if (list == nullptr) return ConfigError(file, "r2_event_notifications must be an array of tables");
    for (const toml::node& item : *list) {
      const toml::table* entry = item.as_table();
      if (entry == nullptr) return ConfigError(file, "r2_event_notifications must be an array of tables");
      for (const auto& [key, value] : *entry) {
        if (key.str() != "bucket" && key.str() != "queue" && key.str() != "event_types" &&
            key.str() != "prefix" && key.str() != "suffix") {
          return ConfigError(file, fmt::format("[[r2_event_notifications]] has no key '{}' (known: bucket, "
                                               "queue, event_types, prefix, suffix)", key.str()));
        }
      }
      R2EventNotificationSpec rule;
      auto bucket = (*entry)["bucket"].value_exact<std::string>();
      auto queue = (*entry)["queue"].value_exact<std::string>();
      if (!bucket || !queue || queue->empty()) {
        return ConfigError(file, "each [[r2_event_notifications]] needs bucket, queue and event_types");
      }
      if (!ValidR2BucketName(*bucket)) {
        return ConfigError(file, fmt::format("[[r2_event_notifications]] bucket \"{}\" is not a valid R2 "
                                             "bucket name", *bucket));
      }
      rule.bucket = *bucket;
      rule.queue = *queue;
      const toml::array* types = (*entry)["event_types"].as_array();
      if (types == nullptr || types->empty()) {
        return ConfigError(file, "[[r2_event_notifications]] event_types must be a non-empty array "
                                 "(\"object-create\", \"object-delete\")");
      }
      for (const toml::node& type : *types) {
        auto text = type.value_exact<std::string>();
        if (!text || (*text != "object-create" && *text != "object-delete")) {
          return ConfigError(file, fmt::format("[[r2_event_notifications]] unknown event type {} (known: "
                                               "object-create, object-delete)",
                                               text ? "\"" + *text + "\"" : std::string("(not a string)")));
        }
        if (std::find(rule.event_types.begin(), rule.event_types.end(), *text) == rule.event_types.end()) {
          rule.event_types.push_back(*text);
        }
      }
      for (auto [key, out] : {std::pair{"prefix", &rule.prefix}, std::pair{"suffix", &rule.suffix}}) {
        const toml::node* value = entry->get(key);
        if (value == nullptr) continue;
        auto text = value->value_exact<std::string>();
        if (!text || text->size() > 1024) {
          return ConfigError(file, fmt::format("[[r2_event_notifications]] {} must be a string of at most "
                                               "1024 bytes", key));
        }
        *out = *text;
      }
      project.spec.r2_event_notifications.push_back(std::move(rule));
    }
  }
  // [[workflows]] name = "orders", binding = "FLOW", class_name = "OrderFlow"
  // (wrangler's keys): the worker defines the class, env.FLOW creates its
  // instances. script_name (a class in another worker) is not supported.
  if (const toml::node* workflows = table.get("workflows")) {
    const toml::array* list = workflows->as_array();
    if (list == nullptr) return ConfigError(file, "workflows must be an array of tables ([[workflows]])");
    for (const toml::node& item : *list) {
      const toml::table* entry = item.as_table();
      if (entry == nullptr) return ConfigError(file, "workflows must be an array of tables ([[workflows]])");
      for (const auto& [key, value] : *entry) {
        if (key.str() == "script_name") {
          return ConfigError(file, "[[workflows]] script_name is not supported by edge yet: define the "
                                   "workflow's class in this worker");
        }
        if (key.str() != "name" && key.str() != "binding" && key.str() != "class_name") {
          return ConfigError(file, fmt::format("[[workflows]] has no key '{}' (known: name, binding, class_name)",
                                               key.str()));
        }
      }
      auto name = (*entry)["name"].value_exact<std::string>();
      auto binding = (*entry)["binding"].value_exact<std::string>();
      auto class_name = (*entry)["class_name"].value_exact<std::string>();
      if (!name || name->empty()) return ConfigError(file, "each [[workflows]] needs a name (a string)");
      if (!binding || binding->empty()) return ConfigError(file, "each [[workflows]] needs a binding (a string)");
      if (!class_name || class_name->empty()) {
        return ConfigError(file, "each [[workflows]] needs a class_name (the exported class)");
      }
      bool valid = name->size() <= 64;
      for (char c : *name) {
        valid &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      }
      if (!valid) {
        return ConfigError(file, fmt::format("[[workflows]] name \"{}\" is not a valid workflow name (1 to 64 of "
                                             "a-z, A-Z, 0-9, _ and -)",
                                             name->substr(0, 80)));
      }
      project.spec.bindings.push_back(
          {*binding, "workflow", {{"workflow", *name}, {"class_name", *class_name}}});
    }
  }
  // [[services]] binding = "AUTH", service = "auth-worker", and optionally
  // entrypoint = "Admin" (a named export of that worker's main module).
  if (const toml::node* services = table.get("services")) {
    const toml::array* list = services->as_array();
    if (list == nullptr) return ConfigError(file, "services must be an array of tables");
    for (const toml::node& item : *list) {
      const toml::table* entry = item.as_table();
      auto binding = entry ? (*entry)["binding"].value<std::string>() : std::nullopt;
      auto service = entry ? (*entry)["service"].value<std::string>() : std::nullopt;
      if (!binding || !service) {
        return ConfigError(file, "each [[services]] needs binding and service");
      }
      EnvBinding bound{*binding, "service", {{"service", *service}}};
      if (const toml::node* entrypoint = entry->get("entrypoint")) {
        auto name = entrypoint->value<std::string>();
        if (!name || name->empty()) {
          return ConfigError(file, fmt::format("[[services]] {}: entrypoint must be the name of "
                                               "an export (a non-empty string)",
                                               *binding));
        }
        bound.options.emplace_back("entrypoint", *name);
      }
      project.spec.bindings.push_back(std::move(bound));
    }
  }

  // [[ratelimits]] name = "LIMITER", namespace_id = "1001",
  // simple = { limit = 100, period = 60 } (Workers' keys).
  if (const toml::node* ratelimits = table.get("ratelimits")) {
    Status read = ReadRateLimits(file, *ratelimits, &project.spec);
    if (!read.ok()) return read;
  }
  // [[policies]]: carried as JSON; gateway/policy gives them a meaning.
  if (const toml::node* policies = table.get("policies")) {
    const toml::array* list = policies->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      return ConfigError(file, "policies must be an array of tables ([[policies]])");
    }
    std::ostringstream json;
    json << toml::json_formatter(*list);
    project.policies_json = json.str();
  }

  if (const toml::node* vars_node = table.get("vars")) {
    const toml::table* vars = vars_node->as_table();
    if (vars == nullptr) return ConfigError(file, "[vars] must be a table");
    for (auto&& [key, value] : *vars) {
      WorkerVar var;
      var.name = std::string(key.str());
      if (auto text = value.value_exact<std::string>()) {
        var.value = *text;
      } else {
        std::ostringstream json;
        json << toml::json_formatter(value);
        var.value = json.str();
        var.is_json = true;
      }
      project.spec.vars.push_back(std::move(var));
    }
  }
  StatusOr<std::vector<WorkerVar>> secrets = ReadDevVars((target / ".dev.vars").string());
  if (!secrets.ok()) return secrets.status();
  project.spec.secrets = std::move(secrets).value();
  return project;
}

bool ValidR2BucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-'; });
}

StatusOr<std::vector<WorkerVar>> ReadDevVars(const std::string& path) {
  std::vector<WorkerVar> vars;
  std::error_code ec;
  if (!fs::exists(path, ec)) return vars;
  StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream lines(*text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.starts_with("export ")) line = line.substr(7);
    size_t equals = line.find('=');
    if (equals == std::string::npos) {
      // Never echo the line: it may hold a secret.
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}:{}: expected NAME=value", path, number));
    }
    std::string name = line.substr(0, equals);
    name.erase(name.find_last_not_of(" \t") + 1);
    std::string value = line.substr(equals + 1);
    value.erase(0, value.find_first_not_of(" \t") == std::string::npos
                       ? value.size()
                       : value.find_first_not_of(" \t"));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      char quote = value.front();
      value = value.substr(1, value.size() - 2);
      if (quote == '"') {
        // Double quotes understand \n, \t, \" and \\, as dotenv does.
        std::string unescaped;
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) {
            char next = value[++i];
            unescaped += next == 'n' ? '\n' : next == 't' ? '\t' : next;
          } else {
            unescaped += value[i];
          }
        }
        value = std::move(unescaped);
      }
    } else {
      size_t comment = value.find(" #");
      if (comment != std::string::npos) value.erase(comment);
      value.erase(value.find_last_not_of(" \t") + 1);
    }
    if (name.empty()) {
      return Status(ErrorCode::kInvalidInput, fmt::format("{}:{}: empty name", path, number));
    }
    vars.push_back({name, value, false});
  }
  return vars;
}

}  // namespace edge::runtime
