// edge_policy_cost [ROUNDS]: what the gateway's policies cost one request
// on one core, before any isolate is entered: a JWT verified with RS256
// (RSA-2048), ES256 (P-256), EdDSA (Ed25519) and HS256, and a 4 KB JSON
// body validated against a schema of the shape an API gateway checks
// (nested objects, an array of items through a $ref, patterns, formats,
// enums, bounds). Keys and tokens are made here with OpenSSL; each figure
// is the median over ROUNDS rounds (default 15) of the mean of a round's
// calls, in the thread's CPU time (as `openssl speed` counts by default)
// and in wall time: on a shared machine the first is the cost, the second
// what a request waited. Run by bench/policy_cost.sh; figures in
// docs/performance.md.
#include <fmt/core.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "gateway/policy/json_schema.h"
#include "gateway/policy/jwt.h"
#include "gateway/policy/testing/jwt_tokens.h"

namespace {

using edge::gateway::JwtAlg;
using edge::gateway::testing::GenerateKey;
using edge::gateway::testing::Pkey;

const std::string kClaims =
    R"({"iss":"https://issuer.example","aud":"api","sub":"user-1","scope":"orders:write",)"
    R"("exp":4102444800,"iat":1700000000})";

double ThreadCpuMicros() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

struct Figure {
  double cpu_us;
  double wall_us;
};

// Microseconds per call of `run`, the median of `rounds` rounds of `calls`.
Figure Time(int rounds, int calls, const std::function<bool()>& run) {
  std::vector<double> cpu, wall;
  for (int round = 0; round < rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = ThreadCpuMicros();
    for (int i = 0; i < calls; ++i) {
      if (!run()) {
        fmt::print(stderr, "a call failed\n");
        std::exit(1);
      }
    }
    cpu.push_back((ThreadCpuMicros() - cpu_start) / calls);
    std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    wall.push_back(took.count() / calls);
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[cpu.size() / 2], wall[wall.size() / 2]};
}

void Print(const std::string& name, Figure figure) {
  fmt::print("{:<34} {:>10.1f} {:>10.1f}\n", name, figure.cpu_us, figure.wall_us);
}

const char kSchema[] = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["order_id", "customer", "items", "placed_at"],
  "additionalProperties": false,
  "properties": {
    "order_id": {"type": "string", "format": "uuid"},
    "placed_at": {"type": "string", "format": "date-time"},
    "currency": {"enum": ["EUR", "USD", "GBP", "JPY"]},
    "customer": {
      "type": "object",
      "required": ["email", "name"],
      "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "phone": {"type": "string", "pattern": "^\\+?[0-9 ()-]{6,20}$"}
      }
    },
    "items": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/definitions/item"}},
    "notes": {"type": ["string", "null"], "maxLength": 500}
  },
  "definitions": {
    "item": {
      "type": "object",
      "required": ["sku", "quantity", "unit_price"],
      "additionalProperties": false,
      "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,8}$"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
        "unit_price": {"type": "number", "exclusiveMinimum": 0},
        "gift": {"type": "boolean"},
        "tags": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 20}}
      }
    }
  }
})";

// An order of about 4 KB that the schema accepts.
std::string Body() {
  std::string items;
  for (int i = 0; items.size() < 3770; ++i) {
    items += fmt::format(R"({}{{"sku":"ABC-{:06}","quantity":{},"unit_price":{}.99,"gift":{},)"
                         R"("tags":["spring","sale"]}})",
                         i ? "," : "", 1000 + i, 1 + i % 7, 3 + i, i % 2 ? "true" : "false");
  }
  return R"({"order_id":"123e4567-e89b-12d3-a456-426614174000","placed_at":"2026-12-07T18:30:00.123Z",)"
         R"("currency":"EUR","customer":{"email":"ada@example.com","name":"Ada Lovelace",)"
         R"("phone":"+44 20 7946 0958"},"notes":null,"items":[)" +
         items + "]}";
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  edge::gateway::JwtPolicy policy;
  policy.issuer = "https://issuer.example";
  policy.audiences = {"api"};
  policy.algorithms = {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA, JwtAlg::kHS256};
  policy.clock = [] { return int64_t{1700000100}; };

  struct Way {
    const char* name;
    Pkey pkey;
    const char* alg;
  };
  Way ways[] = {
      {"JWT RS256 (RSA-2048)", GenerateKey("RSA"), "RS256"},
      {"JWT ES256 (P-256)", GenerateKey("EC", "P-256"), "ES256"},
      {"JWT EdDSA (Ed25519)", GenerateKey("ED25519"), "EdDSA"},
  };
  fmt::print("{:<34} {:>10} {:>10}\n", "us per call", "CPU", "wall");
  for (Way& way : ways) {
    auto keys = edge::gateway::ParseJwtKeys(edge::gateway::testing::PublicPem(way.pkey.get()), "k1");
    std::string token = edge::gateway::testing::SignedToken(
        fmt::format(R"({{"alg":"{}","typ":"JWT","kid":"k1"}})", way.alg), kClaims, way.pkey.get());
    Print(way.name, Time(rounds, 2000, [&] { return edge::gateway::VerifyJwt(token, policy, *keys).ok(); }));
  }
  {
    std::string secret(32, 's');
    edge::gateway::JwtKeySet keys;
    keys.keys.push_back(*edge::gateway::JwtHmacKey(secret, "k1"));
    std::string token =
        edge::gateway::testing::HmacToken(R"({"alg":"HS256","typ":"JWT","kid":"k1"})", kClaims, secret);
    Print("JWT HS256", Time(rounds, 2000, [&] { return edge::gateway::VerifyJwt(token, policy, keys).ok(); }));
  }
  auto schema = edge::gateway::JsonSchema::Compile(kSchema);
  if (!schema.ok()) {
    fmt::print(stderr, "{}\n", schema.status().message());
    return 1;
  }
  std::string body = Body();
  Print(fmt::format("JSON Schema, {} B body", body.size()),
        Time(rounds, 2000, [&] { return !(*schema)->Validate(body).has_value(); }));
  Print("JSON Schema compile (at deploy)",
        Time(rounds, 200, [&] { return edge::gateway::JsonSchema::Compile(kSchema).ok(); }));
  return 0;
}
