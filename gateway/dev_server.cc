#include "gateway/dev_server.h"

#include <uv.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "bindings/bindings.h"
#include "gateway/http_server.h"
#include "gateway/worker_host.h"
#include "runtime/log.h"
#include "runtime/project.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

// Everything `edge dev` runs on its loop.
class DevServer {
 public:
  DevServer(uv_loop_t* loop, const DevOptions& options)
      : loop_(loop),
        options_(options),
        host_(loop, natives_, fmt::format("{}:{}", options.ip, options.port)),
        server_(loop, options.limits,
                [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
                  host_.Handle(std::move(request), std::move(writer));
                }) {
    bindings::RegisterNatives(natives_);
  }

  ~DevServer() { Close(); }

  int Start() {
    StatusOr<runtime::Project> project = runtime::LoadProject(options_.path);
    if (!project.ok()) {
      Log(LogLevel::kError, "{}", project.status().message());
      return 1;
    }
    auto worker = runtime::Worker::Load(loop_, natives_, project->spec);
    if (!worker.ok()) {
      Log(LogLevel::kError, "cannot load worker '{}': {}", project->spec.name,
          worker.status().message());
      return 1;
    }
    project_ = std::move(project).value();
    Watch(**worker);
    host_.SetWorker(std::move(worker).value());

    Status listening = server_.Listen(options_.ip, options_.port, false);
    if (!listening.ok()) {
      Log(LogLevel::kError, "cannot listen on {}:{}: {}", options_.ip, options_.port,
          listening.message());
      return 1;
    }
    for (int signum : {SIGINT, SIGTERM}) {
      auto* signal = new uv_signal_t;
      uv_signal_init(loop_, signal);
      signal->data = this;
      uv_signal_start(signal, OnSignal, signum);
      signals_.push_back(signal);
    }
    uv_timer_init(loop_, &debounce_);
    debounce_.data = this;
    debounce_ready_ = true;

    std::string host = options_.ip.find(':') != std::string::npos ? "[" + options_.ip + "]"
                                                                  : options_.ip;
    printf("Ready on http://%s:%d\n", host.c_str(), server_.port());
    fflush(stdout);
    Log(LogLevel::kInfo, "serving worker '{}' from {}", project_.spec.name,
        project_.spec.entry_path);
    return 0;
  }

 private:
  // Watches the folder of every module and of the config file: editors
  // often replace a file instead of writing it, which a watch on the file
  // itself would miss.
  void Watch(const runtime::Worker& worker) {
    if (!options_.watch) return;
    watched_files_.clear();
    for (const std::string& path : worker.module_paths()) watched_files_.insert(path);
    if (!project_.config_path.empty()) watched_files_.insert(project_.config_path);
    std::set<std::string> dirs;
    for (const std::string& file : watched_files_) {
      dirs.insert(fs::path(file).parent_path().string());
    }
    // Keep watches that are still wanted; drop the others.
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (dirs.count(it->first) == 0) {
        uv_fs_event_stop(it->second);
        uv_close(reinterpret_cast<uv_handle_t*>(it->second),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_event_t*>(h); });
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
    for (const std::string& dir : dirs) {
      if (watchers_.count(dir) != 0) continue;
      auto* watcher = new uv_fs_event_t;
      uv_fs_event_init(loop_, watcher);
      watcher->data = this;
      int rc = uv_fs_event_start(watcher, OnFileEvent, dir.c_str(), 0);
      if (rc != 0) {
        Log(LogLevel::kWarn, "cannot watch {}: {}", dir, uv_strerror(rc));
        uv_close(reinterpret_cast<uv_handle_t*>(watcher),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_event_t*>(h); });
        continue;
      }
      watchers_.emplace(dir, watcher);
    }
  }

  static void OnFileEvent(uv_fs_event_t* handle, const char* filename, int events, int status) {
    auto* self = static_cast<DevServer*>(handle->data);
    if (status != 0 || filename == nullptr || self->stopping_) return;
    char dir[4096];
    size_t size = sizeof dir;
    if (uv_fs_event_getpath(handle, dir, &size) != 0) return;
    std::string path = (fs::path(std::string(dir, size)) / filename).string();
    if (self->watched_files_.count(path) == 0) return;
    // Editors write in several steps: reload once things are quiet.
    uv_timer_start(&self->debounce_, OnDebounce, 100, 0);
  }

  static void OnDebounce(uv_timer_t* timer) { static_cast<DevServer*>(timer->data)->Reload(); }

  void Reload() {
    StatusOr<runtime::Project> project = runtime::LoadProject(options_.path);
    if (!project.ok()) {
      Log(LogLevel::kError, "reload failed, still serving the last good version: {}",
          project.status().message());
      return;
    }
    auto worker = runtime::Worker::Load(loop_, natives_, project->spec);
    if (!worker.ok()) {
      Log(LogLevel::kError, "reload failed, still serving the last good version: {}",
          worker.status().message());
      return;
    }
    project_ = std::move(project).value();
    Watch(**worker);
    host_.SetWorker(std::move(worker).value());
    Log(LogLevel::kInfo, "reloaded worker '{}'", project_.spec.name);
  }

  static void OnSignal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<DevServer*>(handle->data);
    if (self->stopping_) {
      Log(LogLevel::kWarn, "second signal: exiting without waiting for requests in flight");
      _exit(1);
    }
    self->stopping_ = true;
    Log(LogLevel::kInfo, "{} received: finishing requests in flight, then exiting",
        signum == SIGINT ? "SIGINT" : "SIGTERM");
    self->server_.Shutdown([self] { self->Close(); });
  }

  // Releases every handle so the loop ends.
  void Close() {
    host_.Clear();
    for (auto& [dir, watcher] : watchers_) {
      uv_fs_event_stop(watcher);
      uv_close(reinterpret_cast<uv_handle_t*>(watcher),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_event_t*>(h); });
    }
    watchers_.clear();
    for (uv_signal_t* signal : signals_) {
      uv_signal_stop(signal);
      uv_close(reinterpret_cast<uv_handle_t*>(signal),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
    }
    signals_.clear();
    if (debounce_ready_) {
      debounce_ready_ = false;
      uv_timer_stop(&debounce_);
      uv_close(reinterpret_cast<uv_handle_t*>(&debounce_), nullptr);
    }
  }

  uv_loop_t* loop_;
  DevOptions options_;
  runtime::NativeRegistry natives_;
  runtime::Project project_;
  WorkerHost host_;
  HttpServer server_;
  std::map<std::string, uv_fs_event_t*> watchers_;
  std::set<std::string> watched_files_;
  std::vector<uv_signal_t*> signals_;
  uv_timer_t debounce_;
  bool debounce_ready_ = false;
  bool stopping_ = false;
};

}  // namespace

int RunDevServer(const DevOptions& options) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code;
  {
    DevServer server(&loop, options);
    code = server.Start();
    if (code == 0) uv_run(&loop, UV_RUN_DEFAULT);
  }
  // Let close callbacks of the server's own handles run.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return code;
}

}  // namespace edge::gateway
