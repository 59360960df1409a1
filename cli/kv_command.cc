#include "cli/kv_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "base/json_text.h"
#include "bindings/kv/kv_store.h"
#include "gateway/node/toml_file.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

struct KvNamespaceConfig {
  std::string binding;
  std::string id;
};

struct Config {
  std::string file;
  fs::path project_dir;
  std::vector<KvNamespaceConfig> namespaces;
};

// The `[[kv_namespaces]]` of the project's config, read the way
// runtime/project.cc reads them (a namespace without an id is stored under
// its binding name). Only these keys are read: `edge kv` works even when
// the worker itself does not load.
StatusOr<Config> ReadConfig(const std::string& explicit_path) {
  std::error_code ec;
  fs::path file;
  if (!explicit_path.empty()) {
    file = fs::absolute(explicit_path, ec);
    if (ec || !fs::is_regular_file(file, ec)) {
      return Status(ErrorCode::kNotFound, fmt::format("{}: no such file", explicit_path));
    }
  } else {
    fs::path cwd = fs::current_path(ec);
    file = cwd / "edge.toml";
    if (!fs::exists(file, ec)) file = cwd / "wrangler.toml";
    if (!fs::exists(file, ec)) {
      return Status(ErrorCode::kNotFound,
                    fmt::format("no edge.toml or wrangler.toml in {}: run `edge kv` in the "
                                "project folder, or pass --config FILE",
                                cwd.string()));
    }
  }
  Config config;
  config.file = file.lexically_normal().string();
  config.project_dir = file.lexically_normal().parent_path();
  StatusOr<toml::table> parsed = gateway::ParseTomlFile(config.file);
  if (!parsed.ok()) return parsed.status();
  toml::table& table = *parsed;
  if (const toml::node* kv = table.get("kv_namespaces")) {
    const toml::array* list = kv->as_array();
    if (list == nullptr) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: kv_namespaces must be an array of tables", config.file));
    }
    for (const toml::node& node : *list) {
      const toml::table* entry = node.as_table();
      auto binding = entry ? (*entry)["binding"].value<std::string>() : std::nullopt;
      if (!binding || binding->empty()) {
        return Status(ErrorCode::kInvalidInput,
                      fmt::format("{}: each [[kv_namespaces]] needs a binding name", config.file));
      }
      config.namespaces.push_back({*binding, (*entry)["id"].value<std::string>().value_or(*binding)});
    }
  }
  return config;
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, fmt::format("{}: cannot open", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return Status(ErrorCode::kIo, fmt::format("{}: cannot read", path));
  return bytes.str();
}

Status CheckJson(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  simdjson::error_code error = parser.parse(text.data(), text.size(), true).get(element);
  if (error != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("--metadata is not JSON: {}", simdjson::error_message(error)));
  }
  return Status::Ok();
}

// The expiration to store, by Workers' rules.
StatusOr<uint64_t> Expiration(const KvCommandOptions& options, uint64_t now) {
  if (options.ttl) {
    if (*options.ttl < static_cast<int64_t>(bindings::kKvMinTtlSeconds)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("--ttl {}: an expiration TTL must be at least {} seconds",
                                *options.ttl, bindings::kKvMinTtlSeconds));
    }
    return now + static_cast<uint64_t>(*options.ttl);
  }
  if (options.expiration) {
    if (*options.expiration < static_cast<int64_t>(now + bindings::kKvMinTtlSeconds)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("--expiration {}: must be at least {} seconds in the future "
                                "(seconds since the UNIX epoch; now is {})",
                                *options.expiration, bindings::kKvMinTtlSeconds, now));
    }
    return static_cast<uint64_t>(*options.expiration);
  }
  return uint64_t{0};
}

Status Run(const KvCommandOptions& options, std::ostream& out) {
  const std::string& action = options.action;
  if (action != "get" && action != "put" && action != "delete" && action != "list") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("unknown action \"{}\": use get, put, delete or list", action));
  }
  if (options.binding.empty()) return Status(ErrorCode::kInvalidInput, "--binding NAME is required");
  StatusOr<Config> config = ReadConfig(options.config);
  if (!config.ok()) return config.status();
  const KvNamespaceConfig* ns = nullptr;
  std::string known;
  for (const KvNamespaceConfig& entry : config->namespaces) {
    if (entry.binding == options.binding) ns = &entry;
    known += (known.empty() ? "" : ", ") + entry.binding;
  }
  if (ns == nullptr) {
    return Status(ErrorCode::kNotFound,
                  known.empty()
                      ? fmt::format("no KV binding \"{}\": {} has no [[kv_namespaces]]",
                                    options.binding, config->file)
                      : fmt::format("no KV binding \"{}\" in {}; its KV bindings are: {}",
                                    options.binding, config->file, known));
  }

  std::error_code ec;
  fs::path state = options.persist_to.empty() ? config->project_dir / ".edge" / "state"
                                              : fs::absolute(options.persist_to, ec);
  auto store = bindings::KvStore::Open(state.string());
  if (!store.ok()) return store.status();
  bindings::KvStore& kv = **store;

  if (action != "list" && options.key.empty()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{} needs a KEY", action));
  }
  if (action == "get") {
    auto entry = kv.Get(ns->id, options.key);
    if (!entry.ok()) return entry.status();
    if (!*entry) {
      return Status(ErrorCode::kNotFound,
                    fmt::format("no value for \"{}\" in KV binding {}", options.key, options.binding));
    }
    out.write((*entry)->value.data(), static_cast<std::streamsize>((*entry)->value.size()));
    out.flush();
    return Status::Ok();
  }
  if (action == "put") {
    if (options.value.has_value() == !options.path.empty()) {
      return Status(ErrorCode::kInvalidInput, "put needs a VALUE or --path FILE (one of them)");
    }
    std::string value;
    if (options.value) {
      value = *options.value;
    } else {
      auto bytes = ReadWholeFile(options.path);
      if (!bytes.ok()) return bytes.status();
      value = std::move(bytes).value();
    }
    if (!options.metadata.empty()) EDGE_RETURN_IF_ERROR(CheckJson(options.metadata));
    auto expiration = Expiration(options, kv.Now());
    if (!expiration.ok()) return expiration.status();
    EDGE_RETURN_IF_ERROR(kv.Put(ns->id, options.key, value, options.metadata, *expiration));
    out << fmt::format("Wrote {} bytes to \"{}\" in KV binding {}.\n", value.size(), options.key,
                       options.binding);
    return Status::Ok();
  }
  if (action == "delete") {
    EDGE_RETURN_IF_ERROR(kv.Delete(ns->id, options.key));
    out << fmt::format("Deleted \"{}\" from KV binding {}.\n", options.key, options.binding);
    return Status::Ok();
  }
  // list: every key under the prefix, page after page.
  std::string json = "[";
  std::string cursor;
  bool first = true;
  for (;;) {
    auto page = kv.List(ns->id, options.prefix, bindings::kKvMaxListLimit, cursor);
    if (!page.ok()) return page.status();
    for (const bindings::KvListKey& key : page->keys) {
      json += first ? "\n  " : ",\n  ";
      first = false;
      json += "{\"name\": " + base::JsonString(key.name);
      if (key.expiration != 0) json += fmt::format(", \"expiration\": {}", key.expiration);
      if (!key.metadata.empty()) json += ", \"metadata\": " + key.metadata;
      json += "}";
    }
    if (page->complete) break;
    cursor = page->cursor;
  }
  json += first ? "]\n" : "\n]\n";
  out << json;
  return Status::Ok();
}

}  // namespace

int RunKvCommand(const KvCommandOptions& options, std::ostream& out, std::ostream& err) {
  Status status = Run(options, out);
  if (status.ok()) return 0;
  err << "edge kv: " << status.message() << "\n";
  return 1;
}

int RunKvCommand(const KvCommandOptions& options) {
  return RunKvCommand(options, std::cout, std::cerr);
}

}  // namespace edge::cli
