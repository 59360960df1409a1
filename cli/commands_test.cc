// What the admin commands make of what they send and receive (their HTTP
// client is tested in edge-sync/http_client_test.cc).
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>

#include "cli/account_command.h"
#include "cli/secret_command.h"
#include "cli/tail_command.h"

namespace edge::cli {
namespace {

TEST(TailFormatTest, PrettyLikeWrangler) {
  EXPECT_EQ(
      FormatTailEvent(R"({"type":"request","time":"2026-11-27T06:51:04.123Z","request_id":"1-2",)"
                      R"("worker":"api","version":3,"method":"GET","url":"http://a.example/x",)"
                      R"("status":200,"outcome":"ok","cpu_ms":0.4,"wall_ms":1.2,"logs":[)"
                      R"({"time":1764226264123,"level":"log","message":"hi"},)"
                      R"({"time":1764226264124,"level":"warn","message":"two\nlines"}]})"),
      "GET http://a.example/x - Ok @ 2026-11-27 06:51:04\n"
      "  (log) hi\n"
      "  (warn) two\n"
      "    lines\n");
  EXPECT_EQ(FormatTailEvent(R"({"type":"request","time":1764226264123,"method":"POST",)"
                            R"("url":"http://a.example/","outcome":"exceededCpu","logs":[]})"),
            "POST http://a.example/ - Exceeded CPU Limit @ 2025-11-27 06:51:04\n");
  EXPECT_EQ(FormatTailEvent(R"({"type":"scheduled","time":"2026-11-27T06:50:00.002Z","worker":"api",)"
                            R"("cron":"*/5 * * * *","scheduledTime":1764226200000,"outcome":"ok",)"
                            R"("logs":[{"time":1764226200001,"level":"log","message":"swept"}]})"),
            "\"*/5 * * * *\" - Ok @ 2026-11-27 06:50:00\n"
            "  (log) swept\n");
  EXPECT_EQ(FormatTailEvent(R"({"type":"heartbeat"})"), "");
  EXPECT_EQ(FormatTailEvent(""), "");
  EXPECT_EQ(FormatTailEvent(R"({"type":"somethingNew"})"), "");
  EXPECT_EQ(FormatTailEvent(R"({"type":"dropped","count":7})"),
            "(7 events dropped: this tail fell behind)\n");
  EXPECT_EQ(FormatTailEvent("not json"), "not json\n");
}

TEST(TailFormatTest, QueryValuesAreEncoded) {
  TailCommandOptions options;
  EXPECT_EQ(TailPath("api", options), "/workers/api/tail");
  options.status = "error";
  options.method = "GET";
  options.search = "a b&c=d/é";
  options.sampling = 0.5;
  EXPECT_EQ(TailPath("api", options),
            "/workers/api/tail?status=error&method=GET&search=a%20b%26c%3Dd%2F%C3%A9"
            "&sampling=0.5");
}

TEST(SecretValueTest, OneTrailingNewlineGoes) {
  EXPECT_EQ(StripOneNewline("value\n"), "value");
  EXPECT_EQ(StripOneNewline("value\r\n"), "value");
  EXPECT_EQ(StripOneNewline("value\n\n"), "value\n");
  EXPECT_EQ(StripOneNewline("value"), "value");
  EXPECT_EQ(StripOneNewline("\n"), "");
}

// Refusals made before anything is sent: the node is never asked.
TEST(AccountCommandTest, RefusesWhatItCannotDoSafely) {
  auto refusal = [](AccountCommandOptions options) {
    options.to = "http://127.0.0.1:1";  // nothing listens: a request would fail otherwise
    options.token_file = "/nonexistent/token";
    std::ostringstream out, err;
    EXPECT_EQ(RunAccountCommand(options, out, err), 1);
    EXPECT_EQ(out.str(), "");
    return err.str();
  };
  auto make = [](std::string action) {
    AccountCommandOptions options;
    options.action = std::move(action);
    options.name = "shop";
    return options;
  };
  AccountCommandOptions create = make("create");
  EXPECT_NE(refusal(create).find("give --token-out FILE"), std::string::npos);
  AccountCommandOptions remove = make("delete");
  EXPECT_NE(refusal(remove).find("add --yes"), std::string::npos);
  AccountCommandOptions token = make("token");
  EXPECT_NE(refusal(token).find("give --rotate"), std::string::npos);
  token.rotate = token.revoke = true;
  EXPECT_NE(refusal(token).find("give --rotate"), std::string::npos);
  AccountCommandOptions rotate = make("token");
  rotate.rotate = true;
  EXPECT_NE(refusal(rotate).find("--token-out"), std::string::npos);
  // Past those checks, the token file is read first.
  AccountCommandOptions list = make("list");
  EXPECT_NE(refusal(list).find("/nonexistent/token"), std::string::npos);
}

}  // namespace
}  // namespace edge::cli
