// RequestLog and the JSON helpers it writes with. Every line is parsed back
// with simdjson, which also checks that it is valid UTF-8.
#include "gateway/node/request_log.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/json_escape.h"
#include "base/utf8.h"

namespace edge::gateway {
namespace {

template <typename T>
T Get(simdjson::simdjson_result<simdjson::dom::element> result) {
  T value{};
  EXPECT_EQ(result.get(value), simdjson::SUCCESS);
  return value;
}

// A file path of its own under the test temp dir, removed afterwards.
class TempPath {
 public:
  explicit TempPath(const std::string& name)
      : path_(::testing::TempDir() + "/edge_" + name + "_" + std::to_string(::getpid()) + ".log") {
    std::remove(path_.c_str());
  }
  ~TempPath() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

const std::string kReplacement = "\xEF\xBF\xBD";

// ---------------------------------------------------------------------------
// JSON helpers

TEST(JsonEscapeTest, EscapesAndRepairsUtf8) {
  EXPECT_EQ(base::JsonEscape("plain"), "\"plain\"");
  EXPECT_EQ(base::JsonEscape("a\"b\\c\n\r\t"), "\"a\\\"b\\\\c\\n\\r\\t\"");
  EXPECT_EQ(base::JsonEscape(std::string_view("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(base::JsonEscape("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  EXPECT_EQ(base::JsonEscape("a\xFFz"), "\"a" + kReplacement + "z\"");
}

TEST(JsonEscapeTest, ReplacesEachMaximalSubpartOnce) {
  struct Case {
    std::string in, out;
  };
  const std::string r = kReplacement;
  for (const Case& c : {
           Case{"\xE2\x82"
                "A",
                r + "A"},                                 // truncated 3-byte sequence
           Case{"\xE2\x82", r},                           // truncated at the end
           Case{"\xC0\xAF", r + r},                       // overlong: C0 is never valid
           Case{"\xE0\x80\x80", r + r + r},               // overlong 3-byte
           Case{"\xED\xA0\x80", r + r + r},               // a surrogate
           Case{"\xF0\x80\x80", r + r + r},               // overlong 4-byte
           Case{"\xF4\x90\x80\x80", r + r + r + r},       // past U+10FFFF
           Case{"\xF0\x9F\x98", r},                       // truncated 4-byte
           Case{"\x80\xBF", r + r},                       // lone continuation bytes
           Case{"\xF5\xFE\xFF", r + r + r},               // never valid
           Case{"\xED\x9F\xBF", "\xED\x9F\xBF"},          // U+D7FF, the last before surrogates
           Case{"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},  // U+10FFFF
       }) {
    EXPECT_EQ(base::ToWellFormedUtf8(c.in), c.out) << testing::PrintToString(c.in);
    EXPECT_EQ(base::IsValidUtf8(c.in), c.in == c.out) << testing::PrintToString(c.in);
  }
}

TEST(JsonEscapeTest, AgreesWithSimdjsonOnRandomBytes) {
  std::mt19937 random(42);
  // Bytes weighted towards the interesting ones: leads, continuations, ASCII.
  const unsigned char alphabet[] = {'a',  0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                    0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    size_t length = random() % 8;
    for (size_t k = 0; k < length; ++k) {
      text += static_cast<char>(alphabet[random() % sizeof(alphabet)]);
    }
    bool valid = simdjson::validate_utf8(text.data(), text.size());
    ASSERT_EQ(base::IsValidUtf8(text), valid) << testing::PrintToString(text);
    std::string repaired = base::ToWellFormedUtf8(text);
    ASSERT_TRUE(simdjson::validate_utf8(repaired.data(), repaired.size()));
    if (valid) {
      ASSERT_EQ(repaired, text);
    }
  }
}

TEST(JsonEscapeTest, MillisAndTimes) {
  auto millis = [](uint64_t ns) {
    std::string out;
    base::AppendMillis(out, ns);
    return out;
  };
  EXPECT_EQ(millis(0), "0.000");
  EXPECT_EQ(millis(499), "0.000");
  EXPECT_EQ(millis(500), "0.001");
  EXPECT_EQ(millis(1'234'567), "1.235");
  EXPECT_EQ(millis(12'000'000'000), "12000.000");
  EXPECT_EQ(millis(UINT64_MAX), "18446744073709.552");
  EXPECT_EQ(base::FormatUtcTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(base::FormatUtcTime(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(base::FormatUtcTime(1795762264007), "2026-11-27T06:51:04.007Z");
  // The same second again (its calendar part is reused), then the next one.
  EXPECT_EQ(base::FormatUtcTime(1795762264999), "2026-11-27T06:51:04.999Z");
  EXPECT_EQ(base::FormatUtcTime(1795762265000), "2026-11-27T06:51:05.000Z");
  EXPECT_EQ(base::FormatUtcTime(1795762264090), "2026-11-27T06:51:04.090Z");
}

// ---------------------------------------------------------------------------
// RequestLog

InvocationRecord HostileRecord() {
  InvocationRecord record;
  record.request_id = "1f-2a";
  record.start_unix_ms = 1795762264123;
  record.worker = "api";
  record.version = 7;
  record.method = "GET";
  record.url = "https://example.com/a\"b?c=\xFF\n";
  record.remote = "[::1]:5555";
  record.status = 500;
  record.outcome = "exception";
  record.cpu_ns = 1'234'000;
  record.wall_ns = 56'789'012;
  record.bytes_in = 12;
  record.bytes_out = 345;
  return record;
}

TEST(RequestLogTest, AccessLineIsValidJsonWithEveryField) {
  TempPath file("access");
  {
    StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(file.path());
    ASSERT_TRUE(log.ok()) << log.status().message();
    (*log)->Access(HostileRecord());
  }
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with(
      "{\"time\":\"2026-11-27T06:51:04.123Z\",\"type\":\"access\",\"request_id\":\"1f-2a\","))
      << lines[0];
  simdjson::dom::parser parser;
  simdjson::dom::element line;
  ASSERT_EQ(parser.parse(lines[0]).get(line), simdjson::SUCCESS) << lines[0];
  EXPECT_EQ(Get<std::string_view>(line["worker"]), "api");
  EXPECT_EQ(Get<uint64_t>(line["version"]), 7u);
  EXPECT_EQ(Get<std::string_view>(line["method"]), "GET");
  EXPECT_EQ(Get<std::string_view>(line["url"]),
            "https://example.com/a\"b?c=" + kReplacement + "\n");
  EXPECT_EQ(Get<int64_t>(line["status"]), 500);
  EXPECT_EQ(Get<std::string_view>(line["outcome"]), "exception");
  EXPECT_DOUBLE_EQ(Get<double>(line["cpu_ms"]), 1.234);
  EXPECT_DOUBLE_EQ(Get<double>(line["wall_ms"]), 56.789);
  EXPECT_EQ(Get<uint64_t>(line["bytes_in"]), 12u);
  EXPECT_EQ(Get<uint64_t>(line["bytes_out"]), 345u);
  EXPECT_EQ(Get<std::string_view>(line["remote"]), "[::1]:5555");
  EXPECT_NE(lines[0].find("\"cpu_ms\":1.234,\"wall_ms\":56.789,"), std::string::npos);
}

TEST(RequestLogTest, ConsoleLinesSurviveHostileMessages) {
  TempPath file("console");
  const std::vector<std::string> messages = {
      "plain",
      "quotes \" and \\ backslashes \\\"",
      "new\nlines\r\n and tabs\t",
      std::string("a NUL \0 inside", 14),
      "invalid \xFF\xFE bytes \xC0\xAF overlong \xED\xA0\x80 surrogate \xE2\x82",
      "\x1B[31mANSI\x1B[0m \x7F",
      "}{\"type\":\"access\"}\n{",
      "emoji \xF0\x9F\x98\x80 and \xE2\x80\xA8 line separator",
      "",
  };
  {
    StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(file.path());
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (const std::string& message : messages) {
      (*log)->Console("api\n", 2, "1-1", "warn\"", message, 1700000000123);
    }
    (*log)->Console("api", 2, "", "log", "outside a request", 1700000000123);
    (*log)->Console("api", 2, "", "log", "now");
  }
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), messages.size() + 2);
  simdjson::dom::parser parser;
  for (size_t i = 0; i < messages.size(); ++i) {
    simdjson::dom::element line;
    ASSERT_EQ(parser.parse(lines[i]).get(line), simdjson::SUCCESS) << lines[i];
    EXPECT_EQ(Get<std::string_view>(line["time"]), "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(Get<std::string_view>(line["type"]), "console");
    EXPECT_EQ(Get<std::string_view>(line["worker"]), "api\n");
    EXPECT_EQ(Get<uint64_t>(line["version"]), 2u);
    EXPECT_EQ(Get<std::string_view>(line["request_id"]), "1-1");
    EXPECT_EQ(Get<std::string_view>(line["level"]), "warn\"");
    EXPECT_EQ(Get<std::string_view>(line["message"]), base::ToWellFormedUtf8(messages[i])) << lines[i];
  }
  EXPECT_EQ(Get<std::string_view>([&] {
              simdjson::dom::element line;
              EXPECT_EQ(parser.parse(lines[3]).get(line), simdjson::SUCCESS);
              return line["message"];
            }()),
            std::string_view("a NUL \0 inside", 14));

  simdjson::dom::element outside;
  ASSERT_EQ(parser.parse(lines[messages.size()]).get(outside), simdjson::SUCCESS);
  EXPECT_EQ(outside["request_id"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(lines[messages.size()],
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"type\":\"console\",\"worker\":\"api\","
            "\"version\":2,\"level\":\"log\",\"message\":\"outside a request\"}");
  simdjson::dom::element now;
  ASSERT_EQ(parser.parse(lines.back()).get(now), simdjson::SUCCESS);
  EXPECT_TRUE(Get<std::string_view>(now["time"]).starts_with("20"));
}

TEST(RequestLogTest, AppendsAndKeepsLinesWholeAcrossThreads) {
  TempPath file("threads");
  {
    StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(file.path());
    ASSERT_TRUE(log.ok());
    (*log)->Console("api", 1, "", "log", "first");
  }
  constexpr int kThreads = 4, kPerThread = 300;
  {
    StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(file.path());
    ASSERT_TRUE(log.ok());
    RequestLog* raw = log->get();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([raw, t] {
        for (int i = 0; i < kPerThread; ++i) {
          if (i % 2) {
            raw->Access(HostileRecord());
          } else {
            raw->Console("api", 1, std::to_string(t), "log", std::string(200 + i, 'x') + "\xFF\n");
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), 1u + kThreads * kPerThread);
  EXPECT_NE(lines[0].find("\"message\":\"first\""), std::string::npos);  // appended, not truncated
  simdjson::dom::parser parser;
  for (const std::string& text : lines) {
    simdjson::dom::element line;
    ASSERT_EQ(parser.parse(text).get(line), simdjson::SUCCESS) << text;
  }
}

TEST(RequestLogTest, FlushWritesEveryLineGivenSoFar) {
  TempPath file("flush");
  StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(file.path());
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 100; ++i) (*log)->Console("api", 1, "", "log", std::to_string(i));
  (*log)->Flush();
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_NE(lines[99].find("\"message\":\"99\""), std::string::npos);
}

// A disk that does not keep up: the log writes into a pipe nobody reads yet.
// Serving threads never wait for it; past the bound, lines are dropped and
// counted, and once the reader catches up every line kept is written.
TEST(RequestLogTest, ASlowDiskDropsLinesInsteadOfStallingTheCaller) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::FILE* file = ::fdopen(fds[1], "w");
  ASSERT_NE(file, nullptr);
  constexpr size_t kBound = 16 * 1024;
  auto log = std::make_unique<RequestLog>(file, true, kBound);
  std::atomic<uint64_t> hooked{0};
  log->set_on_dropped([&](uint64_t lines) { hooked += lines; });
  constexpr int kLines = 5000;  // ~1 MB: far past the pipe's buffer and the bound
  for (int i = 0; i < kLines; ++i) {
    log->Console("api", 1, "", "log", std::string(180, 'x') + std::to_string(i));
  }
  uint64_t dropped = log->dropped_lines();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(hooked.load(), dropped);
  std::string read;
  std::thread reader([&] {
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) read.append(buffer, n);
  });
  log.reset();  // writes what it kept, then closes the pipe: the reader ends
  reader.join();
  ::close(fds[0]);
  size_t lines = 0;
  for (char c : read) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines + dropped, static_cast<size_t>(kLines));
  EXPECT_LT(dropped, static_cast<uint64_t>(kLines));
}

TEST(RequestLogTest, OpenFailsWithIoAndDashIsStdout) {
  StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open("/nonexistent-dir/x/requests.log");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), ErrorCode::kIo);
  EXPECT_NE(log.status().message().find("/nonexistent-dir/x/requests.log"), std::string::npos);
  EXPECT_TRUE(RequestLog::Open("-").ok());
  EXPECT_TRUE(RequestLog::Open("").ok());
}

}  // namespace
}  // namespace edge::gateway
