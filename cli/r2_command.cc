#include "cli/r2_command.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "base/json_text.h"
#include "bindings/r2/r2_store.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

// Bytes read from a file (or stdin) at a time.
constexpr size_t kChunkBytes = 1u << 20;
// `edge dev` has no accounts: its buckets have the empty owner.
const std::string kLocalOwner;

Status Run(const R2CommandOptions& options, std::ostream& out) {
  if (!options.to.empty() || !options.token_file.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  "--to and --token-file: a node's buckets cannot be reached from here yet (the "
                  "admin API has no R2 endpoints); `edge r2` works on the local `edge dev` state");
  }
  std::error_code ec;
  fs::path state = options.persist_to.empty() ? fs::current_path(ec) / ".edge" / "state"
                                              : fs::absolute(options.persist_to, ec);
  auto store = bindings::R2Store::Open(state.string());
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
  size_t slash = options.target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == options.target.size()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("\"{}\": name an object as BUCKET/KEY", options.target));
  }
  std::string bucket = options.target.substr(0, slash);
  std::string key = options.target.substr(slash + 1);
  if (!bindings::R2Store::ValidBucketName(bucket)) {
    return Status(ErrorCode::kInvalidInput, fmt::format("\"{}\" is not a valid bucket name", bucket));
  }
  if (options.action == "delete") {
    EDGE_RETURN_IF_ERROR(store->Delete(kLocalOwner, bucket, {key}));
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
      for (size_t done = 0; done < bytes->size();) {
        ssize_t n = ::write(fd, bytes->data() + done, bytes->size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          status = Status(ErrorCode::kIo, "cannot write the object out");
          break;
        }
        done += static_cast<size_t>(n);
      }
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
  out << fmt::format("Uploaded '{}' to bucket '{}': {} bytes, etag {}.\n", key, bucket,
                     (*meta)->size, (*meta)->etag);
  return Status::Ok();
}

}  // namespace

CLI::App* AddR2Command(CLI::App& app, R2CommandOptions& options) {
  CLI::App* r2 = app.add_subcommand(
      "r2", "Manage the R2 buckets and objects of the local `edge dev` state (wrangler's shape)");
  r2->require_subcommand(1);
  auto common = [&](CLI::App* command) {
    command->add_option("--persist-to", options.persist_to,
                        "The state folder `edge dev --persist-to` uses (default: ./.edge/state)");
    command->add_option("--to", options.to, "A node's admin API URL (not supported yet)");
    command->add_option("--token-file", options.token_file, "With --to: the token's file");
  };
  CLI::App* bucket = r2->add_subcommand("bucket", "create, list or delete buckets");
  bucket->require_subcommand(1);
  for (const char* action : {"create", "delete"}) {
    CLI::App* command = bucket->add_subcommand(action, fmt::format("{} bucket NAME", action));
    command->add_option("name", options.target, "The bucket's name")->required();
    common(command);
  }
  common(bucket->add_subcommand("list", "Print the buckets as a JSON array"));
  CLI::App* object = r2->add_subcommand("object", "put, get or delete objects");
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
  return r2;
}

int RunR2Command(CLI::App* r2, R2CommandOptions& options) {
  CLI::App* group = r2->get_subcommands().front();
  options.what = group->get_name();
  options.action = group->get_subcommands().front()->get_name();
  return RunR2Command(options, std::cout, std::cerr);
}

int RunR2Command(const R2CommandOptions& options, std::ostream& out, std::ostream& err) {
  Status status = Run(options, out);
  if (status.ok()) return 0;
  err << "edge r2: " << status.message() << "\n";
  return 1;
}

}  // namespace edge::cli
