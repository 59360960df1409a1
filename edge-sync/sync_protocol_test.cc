// The sync API end to end: a SyncServer over a real SyncLog, served by an
// HttpServer on a loop thread, and a SyncClient tailing it (sometimes
// through a TCP proxy that damages what passes).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "base/base64.h"
#include "base/sha256.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/http_client/http_client.h"
#include "base/http_client/testing/test_server.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/entry.h"
#include "edge-sync/epoch.h"
#include "edge-sync/kv_forwarder.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot.h"
#include "edge-sync/snapshot_relay.h"
#include "edge-sync/sync_client.h"
#include "edge-sync/sync_log.h"
#include "edge-sync/sync_server.h"
#include "edge-sync/testing/entries.h"
#include "gateway/http/http_server.h"
#include "gateway/node/loop_tasks.h"

namespace edge::sync {
namespace {

using gateway::HttpRequest;
using gateway::HttpServer;
using gateway::ResponseWriter;
using Clock = std::chrono::steady_clock;

// A fresh folder for a log, in memory when /dev/shm is there: the log
// syncs every append to disk, which is slow on a real one.
std::string TempDir() {
  char pattern[] = "/dev/shm/edge-sync-test-XXXXXX";
  if (mkdtemp(pattern) != nullptr) return pattern;
  return base::testing::MakeTempDir();
}

// Polls `condition` until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// A libuv loop on a thread of its own; Run executes on it and waits.
class LoopThread {
 public:
  LoopThread() {
    uv_loop_init(&loop_);
    tasks_ = std::make_unique<gateway::LoopTasks>(&loop_);
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }
  ~LoopThread() {
    Run([this] { tasks_->Close(); });
    thread_.join();
    tasks_.reset();
    uv_loop_close(&loop_);
  }
  void Run(const std::function<void()>& task) {
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    tasks_->Post([&] {
      task();
      done.set_value();
    });
    finished.wait();
  }
  uv_loop_t* loop() { return &loop_; }
  // Runs `task` on the loop later (any thread).
  void Post(std::function<void()> task) { tasks_->Post(std::move(task)); }

 private:
  uv_loop_t loop_;
  std::unique_ptr<gateway::LoopTasks> tasks_;
  std::thread thread_;
};

// What a ResponseWriter was asked to hold, for the backpressure test.
struct WriterStats {
  std::atomic<size_t> max_buffered{0};
  std::atomic<size_t> bytes{0};
  std::atomic<int> drain_waits{0};
};

// Passes everything on, and watches the buffer.
class CountingWriter : public ResponseWriter {
 public:
  CountingWriter(std::shared_ptr<ResponseWriter> inner, WriterStats* stats)
      : inner_(std::move(inner)), stats_(stats) {}
  void Start(int status, std::string_view reason, const gateway::HeaderList& headers,
             std::optional<uint64_t> content_length) override {
    inner_->Start(status, reason, headers, content_length);
  }
  void Write(std::string_view chunk) override {
    // What was queued before this write: a well-behaved stream never
    // writes on top of a full buffer by much.
    size_t before = inner_->BufferedBytes();
    if (before > stats_->max_buffered) stats_->max_buffered = before;
    stats_->bytes += chunk.size();
    inner_->Write(chunk);
  }
  void Finish() override { inner_->Finish(); }
  void Abort() override { inner_->Abort(); }
  bool Aborted() const override { return inner_->Aborted(); }
  size_t BufferedBytes() const override { return inner_->BufferedBytes(); }
  void OnDrain(std::function<void()> callback) override {
    if (inner_->BufferedBytes() >= gateway::kWriterDrainThreshold) ++stats_->drain_waits;
    inner_->OnDrain(std::move(callback));
  }
  void OnAbort(std::function<void()> callback) override { inner_->OnAbort(std::move(callback)); }

 private:
  std::shared_ptr<ResponseWriter> inner_;
  WriterStats* stats_;
};

// The origin's side: SyncServer + HttpServer on 127.0.0.1, on a loop thread.
class TestOrigin {
 public:
  TestOrigin(SyncLog& log, SyncServerOptions options) : log_(log), options_(std::move(options)) {}
  ~TestOrigin() { StopServing(); }

  // Serves on `port` (0: a free one).
  void Serve(int port = 0) {
    loop_.Run([&] {
      sync_ = std::make_unique<SyncServer>(loop_.loop(), log_, options_);
      http_ = std::make_unique<HttpServer>(
          loop_.loop(), gateway::ServerLimits{},
          [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
            if (counting_) writer = std::make_shared<CountingWriter>(writer, &writer_stats_);
            if (!sync_->Handle(request, writer)) {
              writer->Start(404, "", {}, 0);
              writer->Finish();
            }
          });
      Status status = http_->Listen("127.0.0.1", port, false);
      EXPECT_TRUE(status.ok()) << status.message();
      port_ = http_->port();
    });
  }
  void StopServing() {
    loop_.Run([&] {
      sync_.reset();
      http_.reset();
    });
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t readers() {
    size_t count = 0;
    loop_.Run([&] { count = sync_ ? sync_->readers() : 0; });
    return count;
  }
  std::vector<ReaderInfo> Readers() {
    std::vector<ReaderInfo> out;
    loop_.Run([&] {
      if (sync_) out = sync_->Readers();
    });
    return out;
  }
  bool Handles(const std::string& target) {
    bool handled = true;
    loop_.Run([&] {
      HttpRequest request;
      request.method = "GET";
      request.target = target;
      handled = sync_->Handle(request, nullptr);
    });
    return handled;
  }
  // SyncServer::Close, with the HttpServer still serving.
  void CloseSync() {
    loop_.Run([&] { sync_->Close(); });
  }
  void CountWrites() { counting_ = true; }
  WriterStats& writer_stats() { return writer_stats_; }

 private:
  SyncLog& log_;
  SyncServerOptions options_;
  LoopThread loop_;
  std::unique_ptr<SyncServer> sync_;
  std::unique_ptr<HttpServer> http_;
  int port_ = 0;
  bool counting_ = false;
  WriterStats writer_stats_;
};

// A TCP proxy in front of the origin that can damage one byte going to the
// client: the byte after the first occurrence of `marker`, once.
class TamperingProxy {
 public:
  explicit TamperingProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TamperingProxy() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    close(listen_fd_);
    for (auto& thread : threads_) thread.join();
  }

  void CorruptAfter(std::string marker) {
    std::lock_guard<std::mutex> lock(mutex_);
    marker_ = std::move(marker);
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  bool corrupted() const { return corrupted_.load(); }

 private:
  void AcceptLoop() {
    for (;;) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (stopping_) return;
        continue;
      }
      ++connections_;
      threads_.emplace_back([this, client] { Relay(client); });
    }
  }

  void Relay(int client) {
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(upstream);
      close(client);
      return;
    }
    std::string window;  // the last bytes seen from upstream, to find the marker
    bool corrupt_next = false;
    char buffer[16384];
    for (;;) {
      if (stopping_) break;
      pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
      if (poll(fds, 2, 100) <= 0) continue;
      if (fds[0].revents != 0) {
        ssize_t n = recv(client, buffer, sizeof buffer, 0);
        if (n <= 0 || send(upstream, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      }
      if (fds[1].revents != 0) {
        ssize_t n = recv(upstream, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          for (ssize_t i = 0; i < n && !marker_.empty(); ++i) {
            if (corrupt_next) {
              // Another character of the same class, so the damage is in
              // the content, not in the framing.
              buffer[i] = buffer[i] == 'A' ? 'B' : buffer[i] == 'B' ? 'A' : buffer[i] ^ 1;
              corrupt_next = false;
              marker_.clear();
              corrupted_ = true;
              break;
            }
            window.push_back(buffer[i]);
            if (window.size() > marker_.size()) window.erase(0, window.size() - marker_.size());
            if (window == marker_) corrupt_next = true;
          }
        }
        if (send(client, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      }
    }
    close(upstream);
    close(client);
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<bool> corrupted_{false};
  std::thread accept_thread_;
  std::vector<std::thread> threads_;  // touched by the accept thread only until it is joined
  std::mutex mutex_;
  std::string marker_;
};

// The PoP's state as the test sees it.
struct Replica {
  std::mutex mutex;
  std::vector<uint64_t> applied;
  std::map<uint64_t, std::optional<std::string>> blobs;  // by seq
  std::map<uint64_t, int> connection_at_apply;           // seq -> the proxy's connection count
  std::atomic<uint64_t> cursor{0};
  std::atomic<int> apply_sleep_us{0};
  std::function<int()> connection_count;
  bool out_of_order = false;
  int resets = 0;
  std::vector<uint64_t> reset_seqs;
  std::map<std::string, std::string> reset_blobs;
  uint64_t reset_head = 0, reset_compacted_through = 0;
  VerifyKey key;  // the origin's, to read snapshots back

  SyncClient::ApplyFn Apply() {
    return [this](const SignedEntry& line, const Entry& entry,
                  const std::optional<std::string>& blob) {
      if (int sleep = apply_sleep_us.load(); sleep > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(sleep));
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (line.seq != cursor + 1 || entry.seq != line.seq) out_of_order = true;
      applied.push_back(line.seq);
      blobs[line.seq] = blob;
      if (connection_count) connection_at_apply[line.seq] = connection_count();
      cursor = line.seq;
      return Status::Ok();
    };
  }
  SyncClient::ResetFn Reset() {
    return [this](const SnapshotFile& file, const SyncClient::FetchBlobFn& fetch_blob) {
      std::vector<uint64_t> seqs;
      std::map<std::string, std::string> snapshot_blobs;
      Status read = ForEachSnapshotEntry(file.path, key, [&](const VerifiedEntry& verified) {
        seqs.push_back(verified.line.seq);
        if (verified.entry.blob.empty()) return Status::Ok();
        StatusOr<std::string> blob = fetch_blob(verified.entry.blob);
        if (!blob.ok()) return blob.status();
        snapshot_blobs[verified.entry.blob] = *blob;
        return Status::Ok();
      });
      if (!read.ok()) return read;
      std::lock_guard<std::mutex> lock(mutex);
      ++resets;
      reset_seqs = std::move(seqs);
      reset_blobs = std::move(snapshot_blobs);
      reset_head = file.info.head;
      reset_compacted_through = file.info.compacted_through;
      applied.clear();
      cursor = file.info.head;
      return Status::Ok();
    };
  }
  std::vector<uint64_t> Applied() {
    std::lock_guard<std::mutex> lock(mutex);
    return applied;
  }
};

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t seq = first; seq <= last; ++seq) out.push_back(seq);
  return out;
}

class SyncProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    StatusOr<SigningKey> key = SigningKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status().message();
    signing_ = std::make_unique<SigningKey>(std::move(key).value());
    StatusOr<std::unique_ptr<SyncLog>> log = SyncLog::Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(log).value();
  }
  void TearDown() override {
    client_.reset();
    origin_.reset();
    log_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartOrigin(SyncServerOptions options = {}) {
    if (options.heartbeat_ms == SyncServerOptions{}.heartbeat_ms) options.heartbeat_ms = 200;
    // The origin signs its snapshots' manifests.
    SigningKey* signing = signing_.get();
    if (!options.sign_manifest) {
      options.sign_manifest = [signing](std::string_view manifest) {
        return signing->SignBytes(manifest);
      };
    }
    // And the log's state in heartbeats and 410s.
    if (!options.sign_state) {
      options.sign_state = [signing](std::string_view statement) {
        return signing->SignBytes(statement);
      };
    }
    origin_ = std::make_unique<TestOrigin>(*log_, options);
    origin_->Serve();
  }

  // Starts the origin, a TamperingProxy to it that corrupts what follows
  // `marker`, and the client through the proxy, whose connections the
  // replica counts.
  std::unique_ptr<TamperingProxy> StartThroughTamperingProxy(const std::string& marker) {
    StartOrigin();
    auto proxy = std::make_unique<TamperingProxy>(origin_->port());
    proxy->CorruptAfter(marker);
    replica_.connection_count = [p = proxy.get()] { return p->connections(); };
    StartClient(proxy->url());
    return proxy;
  }

  VerifyKey Verifier() {
    StatusOr<VerifyKey> key = VerifyKey::FromPem(signing_->PublicPem());
    EXPECT_TRUE(key.ok()) << key.status().message();
    return std::move(key).value();
  }

  void StartClient(const std::string& url, uint64_t initial_backoff_ms = 20,
                   bool check_epochs = false) {
    SyncClientOptions options{.from_url = url,
                              .token = "",
                              .pop_id = "pop-test",
                              .key = Verifier(),
                              .initial_backoff_ms = initial_backoff_ms,
                              .max_backoff_ms = 300};
    options.io_timeout_ms = 5000;
    if (check_epochs) {
      options.epoch = [this] {
        std::lock_guard<std::mutex> lock(epoch_mutex_);
        return epoch_;
      };
      options.set_epoch = [this](const std::string& epoch) {
        std::lock_guard<std::mutex> lock(epoch_mutex_);
        epoch_ = epoch;
        return Status::Ok();
      };
    }
    options.snapshot_dir = dir_ + "/snapshot";
    replica_.key = Verifier();
    client_ = std::make_unique<SyncClient>(
        std::move(options), [this] { return replica_.cursor.load(); }, replica_.Apply(),
        replica_.Reset());
    client_->Start();
  }

  // Appends a KV put (inline value) of `key`, or of a fresh key.
  uint64_t AppendPut(std::string key = "", std::string value = "value") {
    uint64_t seq = log_->head() + 1;
    Entry entry = testing::KvEntry(EntryType::kKvPut, seq, "ns",
                                   key.empty() ? "key-" + std::to_string(seq) : key);
    entry.value = std::move(value);
    Status status = log_->Append(signing_->Sign(entry));
    EXPECT_TRUE(status.ok()) << status.message();
    return entry.seq;
  }
  // Appends a KV put whose value is a blob.
  uint64_t AppendBlobPut(const std::string& bytes) {
    uint64_t seq = log_->head() + 1;
    Entry entry = testing::KvEntry(EntryType::kKvPut, seq, "ns", "blob-" + std::to_string(seq));
    entry.blob = base::Sha256Hex(bytes);
    Status status = log_->Append(signing_->Sign(entry), bytes);
    EXPECT_TRUE(status.ok()) << status.message();
    return entry.seq;
  }

  bool AppliedUpTo(uint64_t seq) {
    return WaitUntil([&] { return replica_.cursor.load() >= seq; });
  }

  std::string dir_;
  std::unique_ptr<SigningKey> signing_;
  std::unique_ptr<SyncLog> log_;
  std::unique_ptr<TestOrigin> origin_;
  Replica replica_;
  std::unique_ptr<SyncClient> client_;
  std::mutex epoch_mutex_;
  std::string epoch_;  // the replica's epoch, when the test checks epochs
};

TEST_F(SyncProtocolTest, CatchesUpThenTailsLiveEntries) {
  for (int i = 0; i < 10; ++i) AppendPut();
  std::string bytes(10000, 'b');
  AppendBlobPut(bytes);
  StartOrigin();
  StartClient(origin_->url());
  ASSERT_TRUE(AppliedUpTo(11));

  // Live entries, appended while connected.
  for (int i = 0; i < 5; ++i) AppendPut();
  uint64_t with_blob = AppendBlobPut("a live blob");
  ASSERT_TRUE(AppliedUpTo(17));
  EXPECT_EQ(replica_.Applied(), Range(1, 17));
  EXPECT_FALSE(replica_.out_of_order);
  {
    std::lock_guard<std::mutex> lock(replica_.mutex);
    EXPECT_EQ(replica_.blobs[11], bytes);
    EXPECT_EQ(replica_.blobs[with_blob], "a live blob");
    EXPECT_EQ(replica_.blobs[3], std::nullopt);
  }

  // Heartbeats keep the PoP's view of the origin fresh.
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().origin_head == 17; }));
  uint64_t contact = client_->stats().last_contact_ms;
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().last_contact_ms > contact; }));
  SyncClient::Stats stats = client_->stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(stats.applied, 17u);
  EXPECT_EQ(stats.refused, 0u);
  EXPECT_EQ(stats.reconnects, 0u);

  // The fleet view.
  EXPECT_EQ(origin_->readers(), 1u);
  ASSERT_TRUE(WaitUntil([&] {
    auto readers = origin_->Readers();
    return readers.size() == 1 && readers[0].cursor == 17;
  }));
  ReaderInfo reader = origin_->Readers()[0];
  EXPECT_EQ(reader.pop_id, "pop-test");
  EXPECT_EQ(reader.remote.rfind("127.0.0.1:", 0), 0u) << reader.remote;
  EXPECT_GT(reader.connected_since_ms, 0u);
  EXPECT_GE(reader.last_contact_ms, reader.connected_since_ms);

  client_->Stop();
  EXPECT_FALSE(client_->stats().connected);
  EXPECT_TRUE(WaitUntil([&] { return origin_->readers() == 0; }));
}

TEST_F(SyncProtocolTest, ReconnectsAfterTheOriginRestarts) {
  for (int i = 0; i < 3; ++i) AppendPut();
  StartOrigin();
  int port = origin_->port();
  StartClient(origin_->url());
  ASSERT_TRUE(AppliedUpTo(3));

  origin_->StopServing();
  ASSERT_TRUE(WaitUntil([&] { return !client_->stats().connected; }));
  // Written while the origin does not serve, then served again.
  for (int i = 0; i < 3; ++i) AppendPut();
  // It says why it is not connected (the stream's end, or an attempt to
  // reconnect that failed, after a backoff).
  EXPECT_TRUE(WaitUntil([&] { return !client_->stats().last_error.empty(); }));
  origin_->Serve(port);
  ASSERT_TRUE(AppliedUpTo(6));
  AppendPut();
  ASSERT_TRUE(AppliedUpTo(7));
  EXPECT_EQ(replica_.Applied(), Range(1, 7));
  EXPECT_FALSE(replica_.out_of_order);
  SyncClient::Stats stats = client_->stats();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_EQ(stats.refused, 0u);
  EXPECT_TRUE(WaitUntil([&] { return client_->stats().connected; }));
}

TEST_F(SyncProtocolTest, TamperedEntryIsRefusedAndNothingAfterItApplied) {
  for (int i = 0; i < 6; ++i) AppendPut();
  // The first base64 character of entry 3's bytes.
  auto proxy = StartThroughTamperingProxy("{\"seq\":3,\"entry\":\"");
  ASSERT_TRUE(AppliedUpTo(6));
  EXPECT_TRUE(proxy->corrupted());
  EXPECT_EQ(replica_.Applied(), Range(1, 6));
  EXPECT_FALSE(replica_.out_of_order);
  SyncClient::Stats stats = client_->stats();
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_GE(stats.reconnects, 1u);
  std::lock_guard<std::mutex> lock(replica_.mutex);
  // 1 and 2 came over the first connection; 3 and later only over another.
  EXPECT_EQ(replica_.connection_at_apply[1], 1);
  EXPECT_EQ(replica_.connection_at_apply[2], 1);
  for (uint64_t seq = 3; seq <= 6; ++seq) EXPECT_GE(replica_.connection_at_apply[seq], 2) << seq;
}

TEST_F(SyncProtocolTest, BlobWithOtherContentIsRefused) {
  AppendPut();
  uint64_t seq = AppendBlobPut("BLOB-PAYLOAD:the real content");
  AppendPut();
  auto proxy = StartThroughTamperingProxy("BLOB-PAYLOAD:");
  ASSERT_TRUE(AppliedUpTo(3));
  EXPECT_TRUE(proxy->corrupted());
  EXPECT_EQ(client_->stats().refused, 1u);
  EXPECT_EQ(replica_.Applied(), Range(1, 3));
  std::lock_guard<std::mutex> lock(replica_.mutex);
  EXPECT_EQ(replica_.blobs[seq], "BLOB-PAYLOAD:the real content");
  // The blob fetched over the second log connection was the good one.
  EXPECT_GE(replica_.connection_at_apply[seq], 3);
}

TEST_F(SyncProtocolTest, GapsAndStrayLinesAreRefused) {
  auto put = [&](uint64_t seq) {
    Entry entry = testing::KvEntry(EntryType::kKvPut, seq, "ns", "k");
    entry.value = "v";
    return signing_->Sign(entry).Line();
  };
  // A server that skips entry 2 (a gap), after lines a reader skips:
  // control lines of any type, and an entry it applied already.
  std::string body = "{\"type\":\"heartbeat\",\"head\":3}\n{\"type\":\"from-the-future\"}\n" +
                     put(1) + put(1) + put(3) + put(4);
  std::string stray = "{\"type\":\"heartbeat\",\"head\":3}\n{\"no\":\"type\"}\n" + put(2);
  std::atomic<int> requests{0};
  base::testing::TestServer server([&](base::testing::ServerConnection& connection) {
    base::testing::ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    // The first connection has the gap; later ones a line that is
    // neither an entry nor a control line.
    const std::string& lines = requests++ == 0 ? body : stray;
    connection.Write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        "Content-Length: " +
        std::to_string(lines.size()) + "\r\nConnection: close\r\n\r\n" + lines);
  });
  StartClient("http://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().refused >= 2; }));
  client_->Stop();
  EXPECT_EQ(replica_.Applied(), (std::vector<uint64_t>{1}));
  SyncClient::Stats stats = client_->stats();
  EXPECT_EQ(stats.applied, 1u);
  // The heartbeats are not signed: their head is not believed (and they
  // are counted); the head is what the entries showed.
  EXPECT_EQ(stats.origin_head, 1u);
  EXPECT_GE(stats.unverified, 1u);
  EXPECT_FALSE(stats.last_error.empty());
}

TEST_F(SyncProtocolTest, CompactedCursorTakesASnapshot) {
  // Ten writes of one key (nine superseded), a blob, then more.
  for (int i = 0; i < 10; ++i) AppendPut("same", "v" + std::to_string(i));
  uint64_t blob_seq = AppendBlobPut("snapshot blob");
  AppendPut("other");
  StatusOr<size_t> dropped = log_->Compact(12);
  ASSERT_TRUE(dropped.ok()) << dropped.status().message();
  EXPECT_EQ(*dropped, 9u);
  ASSERT_EQ(log_->compacted_through(), 12u);
  StartOrigin();

  // What a reader below the compaction point is told.
  base::HttpTarget target{origin_->url(), ""};
  StatusOr<base::HttpResponse> gone = base::Request(target, "GET", "/sync/log?after=3");
  ASSERT_TRUE(gone.ok()) << gone.status().message();
  EXPECT_EQ(gone->status, 410);
  EXPECT_NE(gone->body.find("\"compacted_through\":12,\"head\":12"), std::string::npos)
      << gone->body;

  StartClient(origin_->url());
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().snapshots == 1; }));
  {
    std::lock_guard<std::mutex> lock(replica_.mutex);
    EXPECT_EQ(replica_.resets, 1);
    EXPECT_EQ(replica_.reset_seqs, (std::vector<uint64_t>{10, 11, 12}));
    EXPECT_EQ(replica_.reset_head, 12u);
    EXPECT_EQ(replica_.reset_compacted_through, 12u);
    ASSERT_EQ(replica_.reset_blobs.size(), 1u);
    EXPECT_EQ(replica_.reset_blobs[base::Sha256Hex("snapshot blob")], "snapshot blob");
  }
  (void)blob_seq;
  // Then it tails from the snapshot's head.
  AppendPut();
  ASSERT_TRUE(AppliedUpTo(13));
  EXPECT_EQ(replica_.Applied(), (std::vector<uint64_t>{13}));
  EXPECT_EQ(client_->stats().refused, 0u);
}

TEST_F(SyncProtocolTest, SnapshotsBeyondTheLimitGet503WithRetryAfter) {
  // More than the socket buffers hold, so a reader that stops reading keeps
  // its snapshot stream open.
  std::string value(3000, 'x');
  for (int i = 0; i < 4000; ++i) AppendPut("", value);
  SyncServerOptions options;
  options.max_snapshot_streams = 1;
  StartOrigin(options);
  base::HttpTarget target{origin_->url(), ""};
  std::promise<void> first_line;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  size_t lines = 0;
  std::thread slow([&] {
    bool told = false;
    Status status = base::Stream(target, "/sync/snapshot", [&](std::string_view) {
      ++lines;
      if (!told) {
        told = true;
        first_line.set_value();
        released.wait();
      }
      return true;
    });
    EXPECT_TRUE(status.ok()) << status.message();
  });
  first_line.get_future().wait();
  StatusOr<base::HttpResponse> busy = base::Request(target, "GET", "/sync/snapshot");
  ASSERT_TRUE(busy.ok()) << busy.status().message();
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->Header("Retry-After"), "5");
  release.set_value();
  slow.join();
  EXPECT_EQ(lines, 4002u);  // header, entries, end
  // The stream ended: the next one is served.
  StatusOr<base::HttpResponse> again = base::Request(target, "GET", "/sync/snapshot");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->status, 200);
}

// A relay's side of /sync/snapshot: SnapshotRelay behind an HttpServer.
class TestRelay {
 public:
  TestRelay(const std::string& upstream, size_t max_streams) {
    loop_.Run([&] {
      relay_ = std::make_unique<SnapshotRelay>(
          base::HttpTarget{upstream, ""}, max_streams, 5,
          [this](std::function<void()> task) { loop_.Post(std::move(task)); });
      http_ = std::make_unique<HttpServer>(
          loop_.loop(), gateway::ServerLimits{},
          [this](HttpRequest, std::shared_ptr<ResponseWriter> writer) { relay_->Serve(writer); });
      Status status = http_->Listen("127.0.0.1", 0, false);
      EXPECT_TRUE(status.ok()) << status.message();
      port_ = http_->port();
    });
  }
  ~TestRelay() {
    relay_->Stop();
    loop_.Run([&] { http_.reset(); });
  }
  SnapshotRelay& relay() { return *relay_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  LoopThread loop_;
  std::unique_ptr<SnapshotRelay> relay_;
  std::unique_ptr<HttpServer> http_;
  int port_ = 0;
};

TEST_F(SyncProtocolTest, RelayStreamsSnapshotsWithinItsLimit) {
  std::string value(3000, 'x');
  for (int i = 0; i < 4000; ++i) AppendPut("", value);
  StartOrigin();
  base::HttpTarget origin{origin_->url(), ""};
  StatusOr<base::HttpResponse> direct = base::Request(origin, "GET", "/sync/snapshot");
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  TestRelay relay(origin_->url(), 1);
  base::HttpTarget target{relay.url(), ""};

  // A reader that stops after its first line holds the relay's one stream.
  std::promise<void> first_line;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::string body;
  std::thread slow([&] {
    bool told = false;
    Status status = base::Stream(target, "/sync/snapshot", [&](std::string_view line) {
      body.append(line);
      body.push_back('\n');
      if (!told) {
        told = true;
        first_line.set_value();
        released.wait();
      }
      return true;
    });
    EXPECT_TRUE(status.ok()) << status.message();
  });
  first_line.get_future().wait();
  StatusOr<base::HttpResponse> busy = base::Request(target, "GET", "/sync/snapshot");
  ASSERT_TRUE(busy.ok()) << busy.status().message();
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->Header("Retry-After"), "5");
  EXPECT_EQ(relay.relay().active(), 1u);
  release.set_value();
  slow.join();
  // Byte for byte the origin's snapshot.
  EXPECT_EQ(body, direct->body);
  ASSERT_TRUE(WaitUntil([&] { return relay.relay().active() == 0; }));
  StatusOr<base::HttpResponse> again = base::Request(target, "GET", "/sync/snapshot");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body, direct->body);
}

TEST_F(SyncProtocolTest, RelayPassesOnTheUpstreamsRefusalAndStopEndsStreams) {
  AppendPut();
  SyncServerOptions options;
  options.max_snapshot_streams = 0;  // the origin is always busy
  StartOrigin(options);
  {
    TestRelay relay(origin_->url(), 2);
    StatusOr<base::HttpResponse> busy =
        base::Request(base::HttpTarget{relay.url(), ""}, "GET", "/sync/snapshot");
    ASSERT_TRUE(busy.ok()) << busy.status().message();
    EXPECT_EQ(busy->status, 503);
    EXPECT_EQ(busy->Header("Retry-After"), "5");
  }
  // An upstream that cannot be reached: 502.
  {
    TestRelay relay("http://127.0.0.1:1", 2);
    StatusOr<base::HttpResponse> down =
        base::Request(base::HttpTarget{relay.url(), ""}, "GET", "/sync/snapshot");
    ASSERT_TRUE(down.ok()) << down.status().message();
    EXPECT_EQ(down->status, 502);
  }
  // Stop cuts a stream in progress short (the reader sees it incomplete)
  // and returns.
  std::string value(3000, 'x');
  for (int i = 0; i < 4000; ++i) AppendPut("", value);
  origin_.reset();
  StartOrigin();
  auto relay = std::make_unique<TestRelay>(origin_->url(), 2);
  std::promise<void> first_line;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::string last;
  Status status;
  std::thread slow([&] {
    bool told = false;
    status = base::Stream(base::HttpTarget{relay->url(), ""}, "/sync/snapshot",
                          [&](std::string_view line) {
                            last = std::string(line);
                            if (!told) {
                              told = true;
                              first_line.set_value();
                              released.wait();
                            }
                            return true;
                          });
  });
  first_line.get_future().wait();
  relay->relay().Stop();
  EXPECT_EQ(relay->relay().active(), 0u);
  release.set_value();
  slow.join();
  EXPECT_FALSE(last.starts_with("{\"type\":\"end\"")) << last;
  relay.reset();
}

TEST_F(SyncProtocolTest, SlowReaderGetsBatchesNotTheWholeLog) {
  // More than the kernel's socket buffers hold (a few MB each way).
  const int kEntries = 5000;
  std::string value(3000, 'x');  // about 5.4 KB a line: 28 MB in all
  for (int i = 0; i < kEntries; ++i) AppendPut("", value);
  StartOrigin();
  origin_->CountWrites();
  replica_.apply_sleep_us = 300;  // slower than the node can write
  StartClient(origin_->url());
  ASSERT_TRUE(WaitUntil([&] { return replica_.cursor.load() >= 3000; }, std::chrono::seconds(60)));
  replica_.apply_sleep_us = 0;
  ASSERT_TRUE(
      WaitUntil([&] { return replica_.cursor.load() == kEntries; }, std::chrono::seconds(60)));
  EXPECT_EQ(replica_.Applied(), Range(1, kEntries));
  WriterStats& stats = origin_->writer_stats();
  RecordProperty("bytes", std::to_string(stats.bytes.load()));
  RecordProperty("drain_waits", std::to_string(stats.drain_waits.load()));
  RecordProperty("max_buffered", std::to_string(stats.max_buffered.load()));
  EXPECT_GT(stats.bytes.load(), size_t{25} << 20);
  // The server waited for the connection to drain instead of queuing the log.
  EXPECT_GT(stats.drain_waits.load(), 0);
  EXPECT_LT(stats.max_buffered.load(), size_t{1} << 20);
}

TEST_F(SyncProtocolTest, StopReturnsPromptlyWhileBlocked) {
  AppendPut();
  StartOrigin(SyncServerOptions{.heartbeat_ms = 60000});
  StartClient(origin_->url());
  ASSERT_TRUE(AppliedUpTo(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // now blocked reading
  auto started = Clock::now();
  client_->Stop();
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1000));

  // And while it waits out a long backoff against an origin that is gone.
  origin_->StopServing();
  replica_.cursor = 0;
  StartClient(origin_->url(), /*initial_backoff_ms=*/60000);
  ASSERT_TRUE(WaitUntil([&] { return !client_->stats().last_error.empty(); }));
  started = Clock::now();
  client_->Stop();
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1000));
}

TEST_F(SyncProtocolTest, CloseEndsStreamsAndReleasesTheLoop) {
  // Alone, the server does not keep its loop alive, and Close leaves nothing on it.
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    SyncServer server(&loop, *log_);
    EXPECT_EQ(uv_loop_alive(&loop), 0);
    server.Close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);

  // A reader's stream ends (and it can tell: the body ends), later requests get 503.
  AppendPut();
  StartOrigin();
  base::HttpTarget target{origin_->url(), ""};
  std::atomic<int> lines{0};
  std::promise<Status> ended;
  std::thread reader([&] {
    ended.set_value(base::Stream(target, "/sync/log?after=0", [&](std::string_view) {
      ++lines;
      return true;
    }));
  });
  ASSERT_TRUE(WaitUntil([&] { return lines.load() >= 2; }));  // a heartbeat and entry 1
  origin_->CloseSync();
  std::future<Status> result = ended.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  reader.join();
  EXPECT_TRUE(result.get().ok());
  EXPECT_EQ(origin_->readers(), 0u);
  StatusOr<base::HttpResponse> closed = base::Request(target, "GET", "/sync/log?after=0");
  ASSERT_TRUE(closed.ok()) << closed.status().message();
  EXPECT_EQ(closed->status, 503);
}

TEST_F(SyncProtocolTest, EndpointsAnswerAsDocumented) {
  AppendPut();
  std::string bytes = "blob bytes";
  AppendBlobPut(bytes);
  StartOrigin();
  base::HttpTarget target{origin_->url(), ""};

  StatusOr<base::HttpResponse> blob =
      base::Request(target, "GET", "/sync/blobs/" + base::Sha256Hex(bytes));
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(blob->status, 200);
  EXPECT_EQ(blob->body, bytes);
  EXPECT_EQ(blob->Header("Content-Type"), "application/octet-stream");
  StatusOr<base::HttpResponse> missing =
      base::Request(target, "GET", "/sync/blobs/" + base::Sha256Hex("nope"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  StatusOr<base::HttpResponse> bad_name = base::Request(target, "GET", "/sync/blobs/ABC");
  ASSERT_TRUE(bad_name.ok());
  EXPECT_EQ(bad_name->status, 400);
  StatusOr<base::HttpResponse> bad_after = base::Request(target, "GET", "/sync/log?after=x");
  ASSERT_TRUE(bad_after.ok());
  EXPECT_EQ(bad_after->status, 400);
  StatusOr<base::HttpResponse> post = base::Request(target, "POST", "/sync/log", "{}");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 405);
  StatusOr<base::HttpResponse> unknown = base::Request(target, "GET", "/sync/nothing");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404);
  EXPECT_FALSE(origin_->Handles("/workers"));
  EXPECT_FALSE(origin_->Handles("/sync"));

  // The snapshot, line by line.
  std::vector<std::string> lines;
  Status status = base::Stream(target, "/sync/snapshot", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "{\"type\":\"snapshot\",\"head\":2,\"compacted_through\":0}");
  StatusOr<std::vector<SignedEntry>> stored = log_->ReadAfter(0, 10);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(lines[1] + "\n", (*stored)[0].Line());
  EXPECT_EQ(lines[2] + "\n", (*stored)[1].Line());
  // The end line carries the origin's signature over the manifest: the
  // head, the compaction point, the count and the lines' SHA-256.
  ASSERT_TRUE(lines[3].starts_with("{\"type\":\"end\",\"count\":2,\"sig\":\"")) << lines[3];
  std::string sig = lines[3].substr(lines[3].find("\"sig\":\"") + 7);
  sig = sig.substr(0, sig.find('"'));
  StatusOr<std::string> signature = base::Base64Decode(sig);
  ASSERT_TRUE(signature.ok());
  StatusOr<VerifyKey> verify = VerifyKey::FromPem(signing_->PublicPem());
  ASSERT_TRUE(verify.ok());
  EXPECT_TRUE(verify->VerifyBytes(
      SnapshotManifest(2, 0, 2, base::Sha256Hex(lines[1] + "\n" + lines[2] + "\n")), *signature));
  EXPECT_FALSE(verify->VerifyBytes(
      SnapshotManifest(3, 0, 2, base::Sha256Hex(lines[1] + "\n" + lines[2] + "\n")), *signature));

  // The log stream: a heartbeat first, then the entries after the cursor.
  lines.clear();
  status = base::Stream(target, "/sync/log?after=1", [&](std::string_view line) {
    lines.emplace_back(line);
    return lines.size() < 2;
  });
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(lines.size(), 2u);
  // {"type":"heartbeat","head":2,"state":{...signed...}}
  const std::string prefix = "{\"type\":\"heartbeat\",\"head\":2,\"state\":";
  ASSERT_EQ(lines[0].substr(0, prefix.size()), prefix) << lines[0];
  std::string state_json = lines[0].substr(prefix.size(), lines[0].size() - prefix.size() - 1);
  StatusOr<LogState> state = VerifyLogState(state_json, *verify);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->head, 2u);
  EXPECT_EQ(state->compacted_through, 0u);
  EXPECT_GT(state->time_ms, 0u);
  EXPECT_EQ(lines[1] + "\n", (*stored)[1].Line());
}

// With epochs checked: no entry is applied before the connection showed a
// signed state of the replica's epoch (a relay still in an older history
// is not believed), and a signed state of another epoch makes the client
// take a snapshot, even one behind its cursor, then store that epoch.
TEST_F(SyncProtocolTest, EpochsAreCheckedBeforeEntriesAreApplied) {
  const std::string old_epoch(32, 'a'), new_epoch(32, 'b');
  ASSERT_TRUE(log_->PutMeta(kEpochMetaKey, new_epoch).ok());
  for (int i = 0; i < 3; ++i) AppendPut("k" + std::to_string(i));
  StartOrigin();
  {
    std::lock_guard<std::mutex> lock(epoch_mutex_);
    epoch_ = old_epoch;
  }
  replica_.cursor = 5;  // past the restored log's head (3)
  StartClient(origin_->url(), 20, /*check_epochs=*/true);
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().snapshots == 1; }));
  {
    std::lock_guard<std::mutex> lock(epoch_mutex_);
    EXPECT_EQ(epoch_, new_epoch);
  }
  {
    std::lock_guard<std::mutex> lock(replica_.mutex);
    EXPECT_EQ(replica_.resets, 1);
    EXPECT_EQ(replica_.reset_head, 3u);
  }
  client_->Stop();

  // A server that sends entries after a heartbeat without a signed state.
  std::string body = "{\"type\":\"heartbeat\",\"head\":4}\n" + (*log_->ReadAfter(0, 10))[0].Line();
  base::testing::TestServer server([&](base::testing::ServerConnection& connection) {
    base::testing::ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    connection.Write("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  replica_.cursor = 0;
  size_t applied_before = replica_.Applied().size();
  StartClient("http://127.0.0.1:" + std::to_string(server.port()), 20, /*check_epochs=*/true);
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().reconnects >= 2; }));
  client_->Stop();
  EXPECT_EQ(replica_.Applied().size(), applied_before);
  EXPECT_NE(client_->stats().last_error.find("before a state signed by the origin"),
            std::string::npos)
      << client_->stats().last_error;
}

// Heartbeats and 410s count only with the origin's signature: a forged
// state (another key), an altered one, or a 410 the signed state does not
// back is ignored and counted; no snapshot is taken for it.
TEST_F(SyncProtocolTest, UnsignedOrForgedHeartbeatsAnd410sAreIgnored) {
  StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  LogState state{std::string(32, 'a'), 9, 0, 1700000000000};
  std::string genuine = LogStateJson(state, signing_->SignBytes(LogStateStatement(state)));
  std::string forged = LogStateJson(state, other->SignBytes(LogStateStatement(state)));
  LogState altered_state = state;
  altered_state.head = 99;
  std::string altered = LogStateJson(altered_state, signing_->SignBytes(LogStateStatement(state)));
  // Compacted through 5 by the origin's word, but this 410 is for cursor 7.
  LogState short_state{std::string(32, 'a'), 9, 5, 1700000000001};
  std::string not_past =
      LogStateJson(short_state, signing_->SignBytes(LogStateStatement(short_state)));
  std::atomic<int> requests{0};
  base::testing::TestServer server([&](base::testing::ServerConnection& connection) {
    base::testing::ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    int n = requests++;
    std::string body, status = "200 OK";
    if (n == 0) {
      body = "{\"type\":\"heartbeat\",\"head\":50,\"state\":" + forged + "}\n" +
             "{\"type\":\"heartbeat\",\"head\":50,\"state\":" + altered + "}\n" +
             "{\"type\":\"heartbeat\",\"head\":50}\n" +
             "{\"type\":\"heartbeat\",\"head\":9,\"state\":" + genuine + "}\n";
    } else if (n == 1) {
      status = "410 Gone";
      body = "{\"error\":\"take a snapshot\",\"compacted_through\":50,\"head\":50}\n";
    } else if (n == 2) {
      status = "410 Gone";
      body = "{\"error\":\"x\",\"compacted_through\":50,\"head\":50,\"state\":" + forged + "}\n";
    } else {
      status = "410 Gone";
      body = "{\"error\":\"x\",\"compacted_through\":5,\"head\":9,\"state\":" + not_past + "}\n";
    }
    connection.Write("HTTP/1.1 " + status +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  replica_.cursor = 7;
  StartClient("http://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(WaitUntil([&] { return requests.load() >= 5; }));
  client_->Stop();
  SyncClient::Stats stats = client_->stats();
  // Three bad heartbeats, then 410s: unsigned, forged, not past the cursor.
  EXPECT_GE(stats.unverified, 6u);
  EXPECT_EQ(stats.snapshots, 0u);
  EXPECT_EQ(stats.origin_head, 9u);  // the genuine heartbeat's, not 50 or 99
  std::optional<LogState> latest = client_->LatestState();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->time_ms, 1700000000001u);
  {
    std::lock_guard<std::mutex> lock(replica_.mutex);
    EXPECT_EQ(replica_.resets, 0);
  }
}

// KvForwarder with its durable queue against an origin that acknowledges
// some writes and refuses one (400): the writes go in order, the refused
// one is counted and removed (not retried), acknowledged ones leave the
// queue, and the PoP's own write shadows log entries before its own.
TEST(KvForwarderTest, SendsInOrderRemovesAcknowledgedAndRefused) {
  std::mutex mutex;
  std::vector<std::string> seen;
  base::testing::TestServer origin(base::testing::TestServer::EachRequest([&](base::testing::
                                                                                  ServerConnection&
                                                                                      connection,
                                                                              const base::testing::
                                                                                  ServerRequest&
                                                                                      r) {
    uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(r.method + " " + r.target);
      seq = seen.size() + 10;
    }
    if (r.target.find("/bad") != std::string::npos) {
      connection.Respond(400, {{"Connection", "close"}}, "{\"error\":\"key not valid UTF-8\"}");
    } else {
      connection.Respond(200, {{"Connection", "close"}}, "{\"seq\":" + std::to_string(seq) + "}");
    }
    connection.Shutdown();
  }));
  base::testing::TempDir dir;
  base::HttpTarget upstream;
  upstream.url = "http://127.0.0.1:" + std::to_string(origin.port());
  {
    auto queue = KvForwardQueue::Open(dir.path());
    ASSERT_TRUE(queue.ok()) << queue.status().message();
    KvForwarder forwarder(upstream, std::move(queue).value());
    ASSERT_TRUE(forwarder.Restore().ok());
    ASSERT_TRUE(forwarder.Forward(bindings::KvWrite{false, "data", "one", "1", "", 0}).ok());
    ASSERT_TRUE(forwarder.Forward(bindings::KvWrite{false, "data", "bad", "x", "", 0}).ok());
    ASSERT_TRUE(forwarder.Forward(bindings::KvWrite{true, "data", "two", "", "", 0}).ok());
    EXPECT_FALSE(forwarder.ShouldApply("data", "one", 5));
    forwarder.Start();
    for (int i = 0; i < 500 && forwarder.pending() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(forwarder.pending(), 0u);
    EXPECT_EQ(forwarder.forwarded(), 3u);
    EXPECT_EQ(forwarder.refused(), 1u);
    // Acknowledged as seq 11: entries before it stay shadowed, not after.
    EXPECT_FALSE(forwarder.ShouldApply("data", "one", 10));
    EXPECT_TRUE(forwarder.ShouldApply("data", "one", 11));
    forwarder.Stop();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(seen, (std::vector<std::string>{"PUT /kv/data/one", "PUT /kv/data/bad",
                                              "DELETE /kv/data/two"}));
  }
  auto queue = KvForwardQueue::Open(dir.path());
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ((*queue)->count(), 0u);
}

}  // namespace
}  // namespace edge::sync
