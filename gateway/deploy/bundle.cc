// The bundle format: encoding, decoding and the checks on its values.
// (Conversions from projects and to worker specs: bundle_convert.cc.)
#include "gateway/deploy/bundle.h"

#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_notifications.h"
#include "bindings/workflows/workflow_store.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/cron_expression.h"
#include "base/json_text.h"
#include "base/utf8.h"
#include "gateway/deploy/route_table.h"
#include "runtime/project.h"
#include "runtime/compatibility_flags.h"

namespace edge::gateway {
namespace {

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// The limits, their JSON keys and allowed ranges, in the order EncodeBundle
// writes them.
struct LimitField {
  std::string_view key;
  uint64_t min;
  uint64_t max;
  uint64_t (*get)(const WorkerLimits&);
  void (*set)(WorkerLimits&, uint64_t);
};
constexpr uint64_t kNoMax = UINT64_MAX;
constexpr LimitField kLimitFields[] = {
    {"cpu_ms", 1, 300000, [](const WorkerLimits& l) { return l.cpu_ms; },
     [](WorkerLimits& l, uint64_t v) { l.cpu_ms = v; }},
    {"memory_mb", runtime::kMinMemoryMb, runtime::kMaxMemoryMb, [](const WorkerLimits& l) { return l.memory_mb; },
     [](WorkerLimits& l, uint64_t v) { l.memory_mb = v; }},
    {"startup_cpu_ms", 1, 10000, [](const WorkerLimits& l) { return l.startup_cpu_ms; },
     [](WorkerLimits& l, uint64_t v) { l.startup_cpu_ms = v; }},
    {"wall_ms", 0, 86400000, [](const WorkerLimits& l) { return l.wall_ms; },
     [](WorkerLimits& l, uint64_t v) { l.wall_ms = v; }},
    {"subrequests", 0, 10000,
     [](const WorkerLimits& l) { return static_cast<uint64_t>(l.subrequests); },
     [](WorkerLimits& l, uint64_t v) { l.subrequests = static_cast<uint32_t>(v); }},
    {"request_bytes", 0, kNoMax, [](const WorkerLimits& l) { return l.request_bytes; },
     [](WorkerLimits& l, uint64_t v) { l.request_bytes = v; }},
    {"response_bytes", 0, kNoMax, [](const WorkerLimits& l) { return l.response_bytes; },
     [](WorkerLimits& l, uint64_t v) { l.response_bytes = v; }},
    // Workers' limit for a cron trigger's invocation is 15 minutes of CPU.
    {"background_cpu_ms", 1, 900000, [](const WorkerLimits& l) { return l.background_cpu_ms; },
     [](WorkerLimits& l, uint64_t v) { l.background_cpu_ms = v; }},
};
// Written by EncodeBundle only when not the default (a limit added after
// bundles were stored: their bytes, and so their SHA-256, stay the same).
bool OmittedWhenDefault(std::string_view key) { return key == "background_cpu_ms"; }

Status CheckLimit(const LimitField& field, uint64_t value) {
  if (value >= field.min && value <= field.max) return Status::Ok();
  if (field.max == kNoMax) {
    return Invalid(fmt::format("limits.{} must be an integer of at least {} (got {})", field.key,
                               field.min, value));
  }
  return Invalid(fmt::format("limits.{} must be an integer from {} to {} (got {})", field.key,
                             field.min, field.max, value));
}

Status CheckModuleName(std::string_view name) {
  if (name.empty()) return Invalid("a module name cannot be empty");
  std::string shown = base::JsonString(name);
  if (!base::IsValidUtf8(name))
    return Invalid(fmt::format("module {}: the name is not valid UTF-8", shown));
  if (name.front() == '/') {
    return Invalid(fmt::format("module {}: the name must be a relative path, not absolute", shown));
  }
  for (char c : name) {
    if (c == '\\') {
      return Invalid(fmt::format("module {}: use '/' to separate folders, not '\\'", shown));
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Invalid(fmt::format("module {}: the name contains a NUL or control character", shown));
    }
  }
  size_t start = 0;
  for (;;) {
    size_t end = name.find('/', start);
    std::string_view segment =
        name.substr(start, end == std::string_view::npos ? end : end - start);
    if (segment.empty()) {
      return Invalid(
          fmt::format("module {}: the name has an empty segment ('//' or a final '/')", shown));
    }
    if (segment == "." || segment == "..") {
      return Invalid(
          fmt::format("module {}: the name may not contain '{}' segments", shown, segment));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

Status CheckCompatibilityDate(std::string_view date) {
  if (date.empty()) return Status::Ok();
  auto digits = [&](size_t from, size_t count) {
    for (size_t i = from; i < from + count; ++i) {
      if (date[i] < '0' || date[i] > '9') return false;
    }
    return true;
  };
  bool shape = date.size() == 10 && digits(0, 4) && date[4] == '-' && digits(5, 2) &&
               date[7] == '-' && digits(8, 2);
  int month = shape ? (date[5] - '0') * 10 + (date[6] - '0') : 0;
  int day = shape ? (date[8] - '0') * 10 + (date[9] - '0') : 0;
  if (!shape || month < 1 || month > 12 || day < 1 || day > 31) {
    return Invalid(
        fmt::format("compatibility_date {} must be a date written YYYY-MM-DD", base::JsonString(date)));
  }
  return Status::Ok();
}

// The is_json text of a var, minified; nullopt when it is not JSON.
std::optional<std::string> MinifyJson(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element element;
  if (parser.parse(text.data(), text.size()).get(element) != simdjson::SUCCESS) return std::nullopt;
  return simdjson::minify(element);
}

void SortBundle(WorkerBundle& bundle) {
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::stable_sort(bundle.modules.begin(), bundle.modules.end(), by_name);
  std::stable_sort(bundle.vars.begin(), bundle.vars.end(), by_name);
  auto by_binding = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(bundle.kv_namespaces.begin(), bundle.kv_namespaces.end(), by_binding);
  std::stable_sort(bundle.services.begin(), bundle.services.end(),
                   [](const auto& a, const auto& b) { return a.binding < b.binding; });
  std::stable_sort(bundle.queue_producers.begin(), bundle.queue_producers.end(), by_binding);
  std::stable_sort(bundle.queue_consumers.begin(), bundle.queue_consumers.end(),
                   [](const auto& a, const auto& b) { return a.queue < b.queue; });
  std::stable_sort(bundle.r2_buckets.begin(), bundle.r2_buckets.end(), by_binding);
  std::stable_sort(bundle.ratelimits.begin(), bundle.ratelimits.end(), by_name);
  std::stable_sort(bundle.workflows.begin(), bundle.workflows.end(),
                   [](const auto& a, const auto& b) { return a.binding < b.binding; });
}

}  // namespace

Status CheckWorkerName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '-'));
  }
  if (ok) return Status::Ok();
  return Invalid(fmt::format(
      "{} is not a valid worker name: use 1 to 63 characters from a-z, 0-9, '_' and '-', "
      "starting with a letter or a digit (Workers' naming rule)",
      base::JsonString(name)));
}

Status CheckBindingName(std::string_view name) {
  bool ok = !name.empty() && !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '$');
  }
  if (ok) return Status::Ok();
  return Invalid(fmt::format(
      "{} is not a valid binding name: it must be a JavaScript identifier (ASCII letters, "
      "digits, '_' and '$', not starting with a digit)",
      base::JsonString(name)));
}

Status CheckSecretName(const WorkerBundle& bundle, std::string_view name) {
  EDGE_RETURN_IF_ERROR(CheckBindingName(name));
  auto clash = [&](std::string_view kind) {
    return Invalid(
        fmt::format("the secret {} has the name of one of the worker's {}; bindings "
                    "share `env`, so their names must differ",
                    base::JsonString(name), kind));
  };
  for (const auto& var : bundle.vars) {
    if (var.name == name) return clash("vars");
  }
  for (const auto& kv : bundle.kv_namespaces) {
    if (kv.first == name) return clash("kv_namespaces");
  }
  for (const auto& service : bundle.services) {
    if (service.binding == name) return clash("services");
  }
  for (const auto& bucket : bundle.r2_buckets) {
    if (bucket.first == name) return clash("r2_buckets");
  }
  for (const auto& limiter : bundle.ratelimits) {
    if (limiter.name == name) return clash("ratelimits");
  }
  for (const auto& workflow : bundle.workflows) {
    if (workflow.binding == name) return clash("workflows");
  }
  return Status::Ok();
}

Status CheckAccountName(std::string_view name) {
  bool valid = !name.empty() && name.size() <= 64 && isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    valid = valid && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  if (!valid) {
    return Invalid(fmt::format("account {} must be 1 to 64 letters, digits, '_' or '-', starting "
                               "with a letter or digit",
                               base::JsonString(name)));
  }
  return Status::Ok();
}

namespace {

// The numeric keys of a queue consumer, with Workers' ranges.
struct QueueNumber {
  const char* key;
  uint32_t runtime::QueueConsumerSpec::*field;
  uint32_t min, max;
};
constexpr QueueNumber kQueueNumbers[] = {
    {"max_batch_size", &runtime::QueueConsumerSpec::max_batch_size, 1, 100},
    {"max_batch_timeout", &runtime::QueueConsumerSpec::max_batch_timeout_s, 0, 60},
    {"max_retries", &runtime::QueueConsumerSpec::max_retries, 0, 100},
    {"max_concurrency", &runtime::QueueConsumerSpec::max_concurrency, 0, 250},
    {"retry_delay", &runtime::QueueConsumerSpec::retry_delay_s, 0, 43200},
};

}  // namespace

Status ValidateBundle(const WorkerBundle& bundle) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(bundle.name));
  if (!bundle.account.empty()) EDGE_RETURN_IF_ERROR(CheckAccountName(bundle.account));
  EDGE_RETURN_IF_ERROR(CheckCompatibilityDate(bundle.compatibility_date));
  EDGE_RETURN_IF_ERROR(runtime::CheckCompatibilityFlags(bundle.compatibility_flags));

  if (bundle.modules.empty()) return Invalid("a bundle needs at least one module");
  std::set<std::string_view> names;
  uint64_t total = 0;
  for (const BundleModule& module : bundle.modules) {
    EDGE_RETURN_IF_ERROR(CheckModuleName(module.name));
    if (!names.insert(module.name).second) {
      return Invalid(fmt::format("module {} is listed twice", base::JsonString(module.name)));
    }
    total += module.content.size();
  }
  if (total > kMaxModuleBytes) {
    return Invalid(fmt::format("the modules total {} bytes, over the limit of {} bytes (10 MiB)",
                               total, kMaxModuleBytes));
  }
  if (bundle.main_module.empty()) return Invalid("\"main\" (the entry module) is empty");
  if (!names.contains(bundle.main_module)) {
    return Invalid(
        fmt::format("main {} is not one of the bundle's modules", base::JsonString(bundle.main_module)));
  }

  // Vars, KV namespaces and services are all properties of `env`.
  std::map<std::string, std::string_view> bindings;  // name -> where it was seen
  auto claim = [&](const std::string& name, std::string_view where) -> Status {
    if (!base::IsValidUtf8(name))
      return Invalid(fmt::format("{}: a binding name is not valid UTF-8", where));
    Status valid = CheckBindingName(name);
    if (!valid.ok()) return Invalid(fmt::format("{}: {}", where, valid.message()));
    auto [it, inserted] = bindings.emplace(name, where);
    if (!inserted) {
      return Invalid(fmt::format(
          "the binding name \"{}\" is used twice ({} and {}); bindings share `env`, so their "
          "names must differ",
          name, it->second, where));
    }
    return Status::Ok();
  };
  for (const runtime::WorkerVar& var : bundle.vars) {
    EDGE_RETURN_IF_ERROR(claim(var.name, "vars"));
    if (!base::IsValidUtf8(var.value)) {
      return Invalid(fmt::format("vars.{}: the value is not valid UTF-8", var.name));
    }
  }
  for (const auto& [binding, id] : bundle.kv_namespaces) {
    EDGE_RETURN_IF_ERROR(claim(binding, "kv_namespaces"));
    // The KV store's limit on a namespace id (an LMDB key).
    if (id.empty() || id.size() > 511 || !base::IsValidUtf8(id)) {
      return Invalid(
          fmt::format("kv_namespaces: the id of \"{}\" must be 1 to 511 bytes of UTF-8", binding));
    }
  }
  for (const auto& [binding, bucket] : bundle.r2_buckets) {
    EDGE_RETURN_IF_ERROR(claim(binding, "r2_buckets"));
    if (!runtime::ValidR2BucketName(bucket)) {
      return Invalid(fmt::format("r2_buckets: the bucket_name of \"{}\" is not a valid R2 bucket name",
                                 binding));
    }
  }
  for (const RateLimitEntry& limiter : bundle.ratelimits) {
    EDGE_RETURN_IF_ERROR(claim(limiter.name, "ratelimits"));
    bool digits = !limiter.namespace_id.empty() && limiter.namespace_id.size() <= 19;
    for (char c : limiter.namespace_id) digits = digits && c >= '0' && c <= '9';
    if (!digits) {
      return Invalid(fmt::format("ratelimits: the namespace_id of \"{}\" must be an integer", limiter.name));
    }
    if (limiter.limit < 1 || limiter.limit > 1'000'000) {
      return Invalid(fmt::format("ratelimits: simple.limit of \"{}\" must be an integer from 1 to 1000000",
                                 limiter.name));
    }
    if (limiter.period != 10 && limiter.period != 60) {
      return Invalid(fmt::format("ratelimits: simple.period of \"{}\" must be 10 or 60", limiter.name));
    }
  }
  if (!bundle.policies.empty()) {
    if (bundle.policies.size() > kMaxPoliciesBytes) {
      return Invalid(fmt::format("policies: more than {} bytes of JSON", kMaxPoliciesBytes));
    }
    simdjson::dom::parser parser;
    simdjson::dom::array tables;
    if (parser.parse(bundle.policies.data(), bundle.policies.size()).get_array().get(tables) !=
        simdjson::SUCCESS) {
      return Invalid("policies must be an array of objects");
    }
    size_t count = 0;
    for (simdjson::dom::element table : tables) {
      if (!table.is_object()) return Invalid("policies must be an array of objects");
      if (++count > kMaxPolicyTables) {
        return Invalid(fmt::format("policies: more than {} tables", kMaxPolicyTables));
      }
    }
  }
  if (bundle.workflows.size() > kMaxWorkflowBindings) {
    return Invalid(fmt::format("workflows: more than {} workflows", kMaxWorkflowBindings));
  }
  std::set<std::string> workflow_names;
  for (const WorkflowBindingEntry& workflow : bundle.workflows) {
    EDGE_RETURN_IF_ERROR(claim(workflow.binding, "workflows"));
    Status name = bindings::ValidateWorkflowName(workflow.name);
    if (!name.ok()) return Invalid(fmt::format("workflows: {}", name.message()));
    if (!workflow_names.insert(workflow.name).second) {
      return Invalid(fmt::format("workflows: the workflow \"{}\" is named twice", workflow.name));
    }
    if (!CheckBindingName(workflow.class_name).ok()) {
      return Invalid(fmt::format("workflows: the class_name of \"{}\" must be the name of an exported class",
                                 workflow.binding));
    }
  }
  for (const ServiceBindingEntry& service : bundle.services) {
    EDGE_RETURN_IF_ERROR(claim(service.binding, "services"));
    Status target = CheckWorkerName(service.service);
    if (!target.ok()) {
      return Invalid(
          fmt::format("services: the target of \"{}\": {}", service.binding, target.message()));
    }
    // A named export of the target's main module: an identifier.
    if (!service.entrypoint.empty() && !CheckBindingName(service.entrypoint).ok()) {
      return Invalid(fmt::format(
          "services: the entrypoint of \"{}\" must be the name of an export (an identifier)",
          service.binding));
    }
  }

  for (const LimitField& field : kLimitFields) {
    EDGE_RETURN_IF_ERROR(CheckLimit(field, field.get(bundle.limits)));
  }
  if (bundle.routes) {
    for (const std::string& route : *bundle.routes) {
      StatusOr<ParsedRoute> parsed = ParseRoutePattern(route);
      if (!parsed.ok()) return Invalid(fmt::format("routes: {}", parsed.status().message()));
    }
  }
  if (bundle.crons.size() > kMaxCronTriggers) {
    return Invalid(fmt::format("triggers.crons: {} cron triggers, over the limit of {}",
                               bundle.crons.size(), kMaxCronTriggers));
  }
  for (const std::string& cron : bundle.crons) {
    StatusOr<base::CronExpression> parsed = base::CronExpression::Parse(cron);
    if (!parsed.ok()) return Invalid(fmt::format("triggers.crons: {}", parsed.status().message()));
  }
  if (bundle.queue_producers.size() > kMaxQueueBindings ||
      bundle.queue_consumers.size() > kMaxQueueBindings) {
    return Invalid(fmt::format("queues: more than {} producers or consumers", kMaxQueueBindings));
  }
  for (const auto& [binding, queue] : bundle.queue_producers) {
    EDGE_RETURN_IF_ERROR(claim(binding, "queues.producers"));
    Status name = bindings::ValidateQueueName(queue);
    if (!name.ok()) return Invalid(fmt::format("queues.producers: {}", name.message()));
  }
  std::set<std::string> consumed;
  for (const runtime::QueueConsumerSpec& consumer : bundle.queue_consumers) {
    Status name = bindings::ValidateQueueName(consumer.queue);
    if (name.ok() && !consumer.dead_letter_queue.empty()) {
      name = bindings::ValidateQueueName(consumer.dead_letter_queue);
    }
    if (!name.ok()) return Invalid(fmt::format("queues.consumers: {}", name.message()));
    if (!consumed.insert(consumer.queue).second) {
      return Invalid(fmt::format("queues.consumers: the queue \"{}\" is consumed twice", consumer.queue));
    }
    if (consumer.dead_letter_queue == consumer.queue) {
      return Invalid(fmt::format("queues.consumers: \"{}\" cannot be its own dead-letter queue", consumer.queue));
    }
    for (const QueueNumber& number : kQueueNumbers) {
      uint32_t value = consumer.*(number.field);
      if (value < number.min || value > number.max) {
        return Invalid(fmt::format("queues.consumers: {} must be {} to {} (got {})", number.key,
                                   number.min, number.max, value));
      }
    }
  }
  if (bundle.r2_event_notifications.size() > kMaxR2EventNotifications) {
    return Invalid(fmt::format("r2_event_notifications: more than {}", kMaxR2EventNotifications));
  }
  for (const runtime::R2EventNotificationSpec& spec : bundle.r2_event_notifications) {
    auto rule = bindings::R2RuleFromSpec(spec);
    if (!rule.ok()) return Invalid(fmt::format("r2_event_notifications: {}", rule.status().message()));
  }
  return Status::Ok();
}

namespace {

// The elements of `list` in the order of `less`, without copying them (a
// bundle may hold 10 MiB of modules).
template <typename T, typename Less>
std::vector<const T*> Sorted(const std::vector<T>& list, Less less) {
  std::vector<const T*> sorted;
  for (const T& item : list) sorted.push_back(&item);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const T* a, const T* b) { return less(*a, *b); });
  return sorted;
}

}  // namespace

std::string EncodeBundle(const WorkerBundle& bundle) {
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  auto by_binding = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::string out = "{\"name\":";
  base::AppendJsonString(out, bundle.name);
  out += ",\"main\":";
  base::AppendJsonString(out, bundle.main_module);
  out += ",\"compatibility_date\":";
  base::AppendJsonString(out, bundle.compatibility_date);
  if (!bundle.compatibility_flags.empty()) {  // absent when empty: older bundles keep their bytes
    out += ",\"compatibility_flags\":";
    base::AppendJsonStringArray(out, bundle.compatibility_flags);
  }
  if (!bundle.account.empty()) {  // absent when empty: older bundles keep their bytes
    out += ",\"account\":";
    base::AppendJsonString(out, bundle.account);
  }

  out += ",\"modules\":[";
  bool first = true;
  for (const BundleModule* module : Sorted(bundle.modules, by_name)) {
    out += first ? "{\"name\":" : ",{\"name\":";
    first = false;
    base::AppendJsonString(out, module->name);
    out += ",\"content\":\"";
    out += base::Base64Encode(module->content);
    out += "\"}";
  }

  out += "],\"vars\":{";
  simdjson::dom::parser parser;
  first = true;
  for (const runtime::WorkerVar* var : Sorted(bundle.vars, by_name)) {
    if (!first) out += ',';
    first = false;
    base::AppendJsonString(out, var->name);
    out += ':';
    std::optional<std::string> json = var->is_json ? MinifyJson(parser, var->value) : std::nullopt;
    if (json) {
      out += *json;
    } else {
      base::AppendJsonString(out, var->value);
    }
  }

  auto pairs = [&](std::string_view key, std::string_view second_key,
                   const std::vector<std::pair<std::string, std::string>>& list) {
    out += fmt::format("\"{}\":[", key);
    bool first_pair = true;
    for (const auto* pair : Sorted(list, by_binding)) {
      out += first_pair ? "{\"binding\":" : ",{\"binding\":";
      first_pair = false;
      base::AppendJsonString(out, pair->first);
      out += fmt::format(",\"{}\":", second_key);
      base::AppendJsonString(out, pair->second);
      out += '}';
    }
    out += ']';
  };
  out += "},";
  pairs("kv_namespaces", "id", bundle.kv_namespaces);
  out += ',';
  out += "\"services\":[";
  bool first_service = true;
  for (const ServiceBindingEntry* service :
       Sorted(bundle.services, [](const auto& a, const auto& b) { return a.binding < b.binding; })) {
    out += first_service ? "{\"binding\":" : ",{\"binding\":";
    first_service = false;
    base::AppendJsonString(out, service->binding);
    out += ",\"service\":";
    base::AppendJsonString(out, service->service);
    // Written only when set: bundles without one keep their bytes.
    if (!service->entrypoint.empty()) {
      out += ",\"entrypoint\":";
      base::AppendJsonString(out, service->entrypoint);
    }
    out += '}';
  }
  out += ']';
  // Only when there are some: bundles without buckets keep their bytes.
  if (!bundle.r2_buckets.empty()) {
    out += ',';
    pairs("r2_buckets", "bucket_name", bundle.r2_buckets);
  }
  if (!bundle.workflows.empty()) {
    out += ",\"workflows\":[";
    bool first_workflow = true;
    for (const WorkflowBindingEntry* workflow :
         Sorted(bundle.workflows, [](const auto& a, const auto& b) { return a.binding < b.binding; })) {
      out += first_workflow ? "{\"binding\":" : ",{\"binding\":";
      first_workflow = false;
      base::AppendJsonString(out, workflow->binding);
      out += ",\"name\":";
      base::AppendJsonString(out, workflow->name);
      out += ",\"class_name\":";
      base::AppendJsonString(out, workflow->class_name);
      out += '}';
    }
    out += ']';
  }

  out += ",\"limits\":{";
  first = true;
  static const WorkerLimits kDefaults;
  for (const LimitField& field : kLimitFields) {
    if (OmittedWhenDefault(field.key) && field.get(bundle.limits) == field.get(kDefaults)) continue;
    out += fmt::format("{}\"{}\":{}", first ? "" : ",", field.key, field.get(bundle.limits));
    first = false;
  }
  out += '}';
  if (bundle.routes) {
    out += ",\"routes\":";
    base::AppendJsonStringArray(out, *bundle.routes);
  }
  if (!bundle.crons.empty()) {
    out += ",\"triggers\":{\"crons\":";
    base::AppendJsonStringArray(out, bundle.crons);
    out += '}';
  }
  if (!bundle.queue_producers.empty() || !bundle.queue_consumers.empty()) {
    out += ",\"queues\":{";
    pairs("producers", "queue", bundle.queue_producers);
    out += ",\"consumers\":[";
    for (size_t i = 0; i < bundle.queue_consumers.size(); ++i) {
      const runtime::QueueConsumerSpec& consumer = bundle.queue_consumers[i];
      out += i == 0 ? "{\"queue\":" : ",{\"queue\":";
      base::AppendJsonString(out, consumer.queue);
      for (const QueueNumber& number : kQueueNumbers) {
        out += fmt::format(",\"{}\":{}", number.key, consumer.*(number.field));
      }
      if (!consumer.dead_letter_queue.empty()) {
        out += ",\"dead_letter_queue\":";
        base::AppendJsonString(out, consumer.dead_letter_queue);
      }
      out += '}';
    }
    out += "]}";
  }
  if (!bundle.ratelimits.empty()) {
    out += ",\"ratelimits\":[";
    bool first_limiter = true;
    for (const RateLimitEntry* entry : Sorted(bundle.ratelimits, by_name)) {
      const RateLimitEntry& limiter = *entry;
      out += first_limiter ? "{\"name\":" : ",{\"name\":";
      first_limiter = false;
      base::AppendJsonString(out, limiter.name);
      out += ",\"namespace_id\":";
      base::AppendJsonString(out, limiter.namespace_id);
      out += fmt::format(",\"simple\":{{\"limit\":{},\"period\":{}}}}}", limiter.limit, limiter.period);
    }
    out += ']';
  }
  if (!bundle.policies.empty()) {
    out += ",\"policies\":";
    out += bundle.policies;
  }
  // Only when there are some: older bundles keep their bytes.
  if (!bundle.r2_event_notifications.empty()) {
    out += ",\"r2_event_notifications\":";
    base::AppendJsonArray(out, bundle.r2_event_notifications,
                          [](std::string& text, const runtime::R2EventNotificationSpec& spec) {
                            text += "{\"bucket\":";
                            base::AppendJsonString(text, spec.bucket);
                            text += ",\"queue\":";
                            base::AppendJsonString(text, spec.queue);
                            text += ",\"event_types\":";
                            base::AppendJsonStringArray(text, spec.event_types);
                            text += ",\"prefix\":";
                            base::AppendJsonString(text, spec.prefix);
                            text += ",\"suffix\":";
                            base::AppendJsonString(text, spec.suffix);
                            text += '}';
                          });
  }
  out += '}';
  return out;
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Reads one JSON document into a WorkerBundle; every type error names the
// key.
class Decoder {
 public:
  StatusOr<WorkerBundle> Decode(std::string_view json) {
    element root;
    simdjson::error_code error = parser_.parse(json.data(), json.size()).get(root);
    if (error != simdjson::SUCCESS) {
      return Invalid(
          fmt::format("the bundle is not valid JSON: {}", simdjson::error_message(error)));
    }
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
      return Invalid("the bundle must be a JSON object");
    }
    std::set<std::string_view> seen;
    for (simdjson::dom::key_value_pair field : object) {
      std::string_view key = field.key;
      if (!seen.insert(key).second) {
        return Invalid(fmt::format("the key {} appears twice in the bundle", base::JsonString(key)));
      }
      if (key == "name") {
        EDGE_RETURN_IF_ERROR(String(field.value, "\"name\"", bundle_.name));
      } else if (key == "main") {
        EDGE_RETURN_IF_ERROR(String(field.value, "\"main\"", bundle_.main_module));
      } else if (key == "compatibility_date") {
        EDGE_RETURN_IF_ERROR(
            String(field.value, "\"compatibility_date\"", bundle_.compatibility_date));
      } else if (key == "compatibility_flags") {
        EDGE_RETURN_IF_ERROR(Items(
            field.value, "compatibility_flags must be an array of strings",
            [&](element item) -> Status {
              if (bundle_.compatibility_flags.size() >= runtime::kMaxCompatibilityFlags) {
                return Invalid(fmt::format("compatibility_flags: more than {} flags",
                                           runtime::kMaxCompatibilityFlags));
              }
              return String(item, "each of compatibility_flags",
                            bundle_.compatibility_flags.emplace_back());
            }));
      } else if (key == "account") {
        EDGE_RETURN_IF_ERROR(String(field.value, "\"account\"", bundle_.account));
      } else if (key == "modules") {
        EDGE_RETURN_IF_ERROR(Modules(field.value));
      } else if (key == "vars") {
        EDGE_RETURN_IF_ERROR(Vars(field.value));
      } else if (key == "kv_namespaces") {
        EDGE_RETURN_IF_ERROR(Pairs(field.value, "kv_namespaces", "id", bundle_.kv_namespaces));
      } else if (key == "services") {
        EDGE_RETURN_IF_ERROR(Services(field.value));
      } else if (key == "r2_buckets") {
        EDGE_RETURN_IF_ERROR(Pairs(field.value, "r2_buckets", "bucket_name", bundle_.r2_buckets));
      } else if (key == "workflows") {
        EDGE_RETURN_IF_ERROR(Workflows(field.value));
      } else if (key == "limits") {
        EDGE_RETURN_IF_ERROR(Limits(field.value));
      } else if (key == "routes") {
        EDGE_RETURN_IF_ERROR(Routes(field.value));
      } else if (key == "triggers") {
        EDGE_RETURN_IF_ERROR(Triggers(field.value));
      } else if (key == "queues") {
        EDGE_RETURN_IF_ERROR(Queues(field.value));
      } else if (key == "ratelimits") {
        EDGE_RETURN_IF_ERROR(RateLimits(field.value));
      } else if (key == "policies") {
        if (!field.value.is_array()) return Invalid("policies must be an array of objects");
        bundle_.policies = simdjson::minify(field.value);
      } else if (key == "r2_event_notifications") {
        EDGE_RETURN_IF_ERROR(R2EventNotifications(field.value));
      } else {
        return Invalid(fmt::format(
            "unknown key {} in the bundle (known: name, main, compatibility_date, "
            "compatibility_flags, account, "
            "modules, vars, kv_namespaces, services, r2_buckets, workflows, limits, routes, triggers, "
            "queues, ratelimits, policies, r2_event_notifications)",
            base::JsonString(key)));
      }
    }
    if (!seen.contains("name")) return Invalid("the bundle has no \"name\" (the worker's name)");
    if (!seen.contains("main")) return Invalid("the bundle has no \"main\" (the entry module)");
    if (!seen.contains("modules")) return Invalid("the bundle has no \"modules\"");
    SortBundle(bundle_);
    EDGE_RETURN_IF_ERROR(ValidateBundle(bundle_));
    return std::move(bundle_);
  }

 private:
  static Status String(element value, std::string_view what, std::string& out) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return Invalid(fmt::format("{} must be a string", what));
    }
    out = std::string(text);
    return Status::Ok();
  }

  // An object whose keys are all among `known`, each read by `read`.
  template <typename Read>
  // `known` keys are required; `optional` ones may be left out.
  static Status Fields(element value, std::string_view what,
                       std::initializer_list<std::string_view> known, Read read,
                       std::initializer_list<std::string_view> optional = {}) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      return Invalid(fmt::format("{} must be an object", what));
    }
    std::set<std::string_view> seen;
    for (simdjson::dom::key_value_pair field : object) {
      std::string_view key = field.key;
      if (std::find(known.begin(), known.end(), key) == known.end() &&
          std::find(optional.begin(), optional.end(), key) == optional.end()) {
        std::string list;
        for (std::string_view name : known)
          list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
        for (std::string_view name : optional)
          list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
        return Invalid(fmt::format("{}: unknown key {} (known: {})", what, base::JsonString(key), list));
      }
      if (!seen.insert(key).second) {
        return Invalid(fmt::format("{}: the key {} appears twice", what, base::JsonString(key)));
      }
      EDGE_RETURN_IF_ERROR(read(key, field.value));
    }
    for (std::string_view key : known) {
      if (!seen.contains(key)) return Invalid(fmt::format("{}: \"{}\" is missing", what, key));
    }
    return Status::Ok();
  }

  // Each item of an array, read by `read`; anything but an array is
  // refused with `not_an_array`.
  template <typename Read>
  static Status Items(element value, std::string not_an_array, Read read) {
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) return Invalid(std::move(not_an_array));
    for (element item : array) EDGE_RETURN_IF_ERROR(read(item));
    return Status::Ok();
  }

  Status Modules(element value) {
    // Names and base64 texts first: the size limit is checked on the
    // decoded sizes before anything is decoded.
    std::vector<std::pair<std::string, std::string_view>> encoded;
    uint64_t total = 0;
    size_t index = 0;
    EDGE_RETURN_IF_ERROR(Items(
        value, "\"modules\" must be an array of {\"name\", \"content\"} objects",
        [&](element item) -> Status {
          std::string name;
          std::string_view content;
          std::string what = fmt::format("modules[{}]", index++);
          EDGE_RETURN_IF_ERROR(Fields(
              item, what, {"name", "content"}, [&](std::string_view key, element field) -> Status {
                if (key == "name") return String(field, what + ".name", name);
                if (field.get_string().get(content) != simdjson::SUCCESS) {
                  return Invalid(fmt::format("{}.content must be a base64 string", what));
                }
                return Status::Ok();
              }));
          total += base::Base64DecodedSize(content);
          encoded.emplace_back(std::move(name), content);
          return Status::Ok();
        }));
    if (total > kMaxModuleBytes) {
      return Invalid(fmt::format("the modules total {} bytes, over the limit of {} bytes (10 MiB)",
                                 total, kMaxModuleBytes));
    }
    for (auto& [name, content] : encoded) {
      StatusOr<std::string> bytes = base::Base64Decode(content);
      if (!bytes.ok()) {
        return Invalid(
            fmt::format("module {}: content: {}", base::JsonString(name), bytes.status().message()));
      }
      bundle_.modules.push_back({std::move(name), std::move(bytes).value()});
    }
    return Status::Ok();
  }

  Status Vars(element value) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      return Invalid("\"vars\" must be an object of names to values");
    }
    for (simdjson::dom::key_value_pair field : object) {
      runtime::WorkerVar var;
      var.name = std::string(field.key);
      std::string_view text;
      if (field.value.get_string().get(text) == simdjson::SUCCESS) {
        var.value = std::string(text);
      } else {
        var.value = simdjson::minify(field.value);
        var.is_json = true;
      }
      bundle_.vars.push_back(std::move(var));
    }
    return Status::Ok();
  }

  static Status Pairs(element value, std::string_view key, std::string_view second_key,
                      std::vector<std::pair<std::string, std::string>>& out) {
    size_t index = 0;
    return Items(
        value,
        fmt::format("\"{}\" must be an array of {{\"binding\", \"{}\"}} objects", key, second_key),
        [&](element item) -> Status {
          std::pair<std::string, std::string> pair;
          std::string what = fmt::format("{}[{}]", key, index++);
          EDGE_RETURN_IF_ERROR(Fields(
              item, what, {"binding", second_key}, [&](std::string_view field_key, element field) {
                return field_key == "binding"
                           ? String(field, what + ".binding", pair.first)
                           : String(field, fmt::format("{}.{}", what, field_key), pair.second);
              }));
          out.push_back(std::move(pair));
          return Status::Ok();
        });
  }

  // [{"binding", "name", "class_name"}, ...]
  Status Workflows(element value) {
    size_t index = 0;
    return Items(
        value, "\"workflows\" must be an array of {\"binding\", \"name\", \"class_name\"} objects",
        [&](element item) -> Status {
          if (bundle_.workflows.size() >= kMaxWorkflowBindings) {
            return Invalid(fmt::format("workflows: more than {} workflows", kMaxWorkflowBindings));
          }
          WorkflowBindingEntry entry;
          std::string what = fmt::format("workflows[{}]", index++);
          EDGE_RETURN_IF_ERROR(Fields(item, what, {"binding", "name", "class_name"},
                                      [&](std::string_view key, element field) {
                                        std::string& out = key == "binding" ? entry.binding
                                                           : key == "name"  ? entry.name
                                                                            : entry.class_name;
                                        return String(field, fmt::format("{}.{}", what, key), out);
                                      }));
          bundle_.workflows.push_back(std::move(entry));
          return Status::Ok();
        });
  }

  // [{"binding", "service", "entrypoint"?}, ...]
  Status Services(element value) {
    size_t index = 0;
    return Items(
        value,
        "\"services\" must be an array of {\"binding\", \"service\", \"entrypoint\"?} objects",
        [&](element item) -> Status {
          ServiceBindingEntry entry;
          std::string what = fmt::format("services[{}]", index++);
          EDGE_RETURN_IF_ERROR(Fields(
              item, what, {"binding", "service"},
              [&](std::string_view key, element field) {
                std::string& out = key == "binding"   ? entry.binding
                                   : key == "service" ? entry.service
                                                      : entry.entrypoint;
                return String(field, fmt::format("{}.{}", what, key), out);
              },
              {"entrypoint"}));
          bundle_.services.push_back(std::move(entry));
          return Status::Ok();
        });
  }

  Status Limits(element value) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      return Invalid("\"limits\" must be an object");
    }
    std::set<std::string_view> seen;
    for (simdjson::dom::key_value_pair field : object) {
      std::string_view key = field.key;
      const LimitField* limit = nullptr;
      for (const LimitField& candidate : kLimitFields) {
        if (candidate.key == key) limit = &candidate;
      }
      if (limit == nullptr) {
        return Invalid(fmt::format(
            "limits: unknown key {} (known: cpu_ms, memory_mb, startup_cpu_ms, wall_ms, "
            "subrequests, request_bytes, response_bytes, background_cpu_ms)",
            base::JsonString(key)));
      }
      if (!seen.insert(key).second) {
        return Invalid(fmt::format("limits: the key {} appears twice", base::JsonString(key)));
      }
      uint64_t number = 0;
      element_type type = field.value.type();
      if (type == element_type::UINT64) {
        number = field.value.get_uint64().value_unsafe();
      } else if (type == element_type::INT64) {
        int64_t signed_number = field.value.get_int64().value_unsafe();
        if (signed_number < 0) {
          return Invalid(fmt::format("limits.{} cannot be negative (got {})", key, signed_number));
        }
        number = static_cast<uint64_t>(signed_number);
      } else {
        return Invalid(fmt::format("limits.{} must be an integer", key));
      }
      EDGE_RETURN_IF_ERROR(CheckLimit(*limit, number));
      limit->set(bundle_.limits, number);
    }
    // No cpu_ms: the default that follows memory_mb.
    if (!seen.contains("cpu_ms")) bundle_.limits.cpu_ms = DefaultCpuMs(bundle_.limits.memory_mb);
    return Status::Ok();
  }

  Status Routes(element value) {
    std::vector<std::string> routes;
    EDGE_RETURN_IF_ERROR(Items(
        value, "\"routes\" must be an array of route patterns (strings)",
        [&](element item) { return String(item, "each of \"routes\"", routes.emplace_back()); }));
    bundle_.routes = std::move(routes);
    return Status::Ok();
  }

  // {"crons": ["...", ...]}: each checked by ValidateBundle.
  Status Triggers(element value) {
    return Fields(value, "triggers", {"crons"}, [&](std::string_view, element crons) -> Status {
      return Items(crons, "triggers.crons must be an array of cron expressions (strings)",
                   [&](element item) -> Status {
                     if (bundle_.crons.size() >= kMaxCronTriggers) {
                       return Invalid(fmt::format(
                           "triggers.crons: more than {} cron triggers", kMaxCronTriggers));
                     }
                     return String(item, "each of triggers.crons", bundle_.crons.emplace_back());
                   });
    });
  }

  // {"producers": [{binding, queue}], "consumers": [{queue, ...}]}: the
  // values are checked by ValidateBundle.
  Status Queues(element value) {
    return Fields(value, "queues", {"producers", "consumers"},
                  [&](std::string_view key, element list) -> Status {
      if (key == "producers") return Pairs(list, "queues.producers", "queue", bundle_.queue_producers);
      size_t index = 0;
      return Items(list, "queues.consumers must be an array of objects", [&](element item) -> Status {
        if (bundle_.queue_consumers.size() >= kMaxQueueBindings) {
          return Invalid(fmt::format("queues.consumers: more than {}", kMaxQueueBindings));
        }
        runtime::QueueConsumerSpec consumer;
        std::string what = fmt::format("queues.consumers[{}]", index++);
        // Only the queue is required (a consumer without a dead-letter
        // queue is written without the key).
        EDGE_RETURN_IF_ERROR(Fields(
            item, what, {"queue"},
            [&](std::string_view field_key, element field) -> Status {
              if (field_key == "queue") return String(field, what + ".queue", consumer.queue);
              if (field_key == "dead_letter_queue") {
                return String(field, what + ".dead_letter_queue", consumer.dead_letter_queue);
              }
              uint64_t number = 0;
              if (field.get_uint64().get(number) != simdjson::SUCCESS || number > 1000000) {
                return Invalid(fmt::format("{}.{} must be a non-negative integer", what, field_key));
              }
              for (const QueueNumber& known : kQueueNumbers) {
                if (known.key == field_key) consumer.*(known.field) = static_cast<uint32_t>(number);
              }
              return Status::Ok();
            },
            {"dead_letter_queue", "max_batch_size", "max_batch_timeout", "max_retries", "max_concurrency",
             "retry_delay"}));
        if (consumer.queue.empty()) return Invalid(fmt::format("{} needs a queue", what));
        bundle_.queue_consumers.push_back(std::move(consumer));
        return Status::Ok();
      });
    });
  }

  // [{"name", "namespace_id", "simple": {"limit", "period"}}]: the values
  // are checked by ValidateBundle.
  Status RateLimits(element value) {
    size_t index = 0;
    return Items(value, "ratelimits must be an array of objects", [&](element item) -> Status {
      if (bundle_.ratelimits.size() >= kMaxQueueBindings) {
        return Invalid(fmt::format("ratelimits: more than {}", kMaxQueueBindings));
      }
      RateLimitEntry limiter;
      std::string what = fmt::format("ratelimits[{}]", index++);
      EDGE_RETURN_IF_ERROR(Fields(
          item, what, {"name", "namespace_id", "simple"},
          [&](std::string_view key, element field) -> Status {
            if (key == "name") return String(field, what + ".name", limiter.name);
            if (key == "namespace_id") return String(field, what + ".namespace_id", limiter.namespace_id);
            return Fields(field, what + ".simple", {"limit", "period"},
                          [&](std::string_view number_key, element number) -> Status {
                            uint64_t n = 0;
                            if (number.get_uint64().get(n) != simdjson::SUCCESS || n > 1'000'000) {
                              return Invalid(fmt::format("{}.simple.{} must be a positive integer", what,
                                                         number_key));
                            }
                            (number_key == "limit" ? limiter.limit : limiter.period) =
                                static_cast<uint32_t>(n);
                            return Status::Ok();
                          });
          }));
      bundle_.ratelimits.push_back(std::move(limiter));
      return Status::Ok();
    });
  }

  // [{bucket, queue, event_types, prefix, suffix}]: the values are checked
  // by ValidateBundle.
  Status R2EventNotifications(element value) {
    size_t index = 0;
    return Items(value, "r2_event_notifications must be an array of objects", [&](element item) -> Status {
      if (bundle_.r2_event_notifications.size() >= kMaxR2EventNotifications) {
        return Invalid(fmt::format("r2_event_notifications: more than {}", kMaxR2EventNotifications));
      }
      runtime::R2EventNotificationSpec spec;
      std::string what = fmt::format("r2_event_notifications[{}]", index++);
      EDGE_RETURN_IF_ERROR(Fields(
          item, what, {"bucket", "queue", "event_types"},
          [&](std::string_view key, element field) -> Status {
            if (key == "bucket") return String(field, what + ".bucket", spec.bucket);
            if (key == "queue") return String(field, what + ".queue", spec.queue);
            if (key == "prefix") return String(field, what + ".prefix", spec.prefix);
            if (key == "suffix") return String(field, what + ".suffix", spec.suffix);
            return Items(field, what + ".event_types must be an array of strings", [&](element type) -> Status {
              if (spec.event_types.size() >= 2) return Invalid(what + ".event_types: more than 2");
              return String(type, what + ".event_types", spec.event_types.emplace_back());
            });
          },
          {"prefix", "suffix"}));
      bundle_.r2_event_notifications.push_back(std::move(spec));
      return Status::Ok();
    });
  }

  simdjson::dom::parser parser_;
  WorkerBundle bundle_;
};

}  // namespace

StatusOr<WorkerBundle> DecodeBundle(std::string_view json) { return Decoder().Decode(json); }

}  // namespace edge::gateway
