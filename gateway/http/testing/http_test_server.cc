#include "gateway/http/testing/http_test_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>

namespace edge::gateway::testing {

TestServer::~TestServer() {
  loop_.Call([this] { server_.reset(); });
  loop_.Stop();
}

void TestServer::Start(RequestHandler handler, ServerLimits limits,
                       std::shared_ptr<TlsContext> tls) {
  loop_.Call([&] {
    server_ = std::make_unique<HttpServer>(loop_.loop(), limits, std::move(handler));
    ListenOptions options;
    options.tls = tls;
    Status status = server_->Listen("127.0.0.1", 0, options);
    ASSERT_TRUE(status.ok()) << status.message();
    port_ = server_->port();
  });
  ASSERT_GT(port_, 0);
}

size_t TestServer::connections() {
  return loop_.Call([this] { return server_->connection_count(); });
}

bool TestServer::WaitForConnections(size_t n) {
  return Eventually([&] { return connections() == n; });
}

RequestHandler EchoHandler(Recorder* recorder) {
  return [recorder](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (recorder != nullptr) recorder->Add(request);
    std::string body = request.method + " " + request.target + "\n" + request.body;
    writer->Start(200, "", {{"Content-Type", "text/plain"}}, body.size());
    writer->Write(body);
    writer->Finish();
  };
}

void Answer(ResponseWriter& writer, std::string_view body) {
  writer.Start(200, "", {}, body.size());
  writer.Write(body);
  writer.Finish();
}

void WriteSelfSignedCertificate(const std::vector<std::string>& names, const std::string& cert_path,
                                const std::string& key_path) {
  static std::atomic<long> serial{1};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  std::string san;
  for (const std::string& name : names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  ASSERT_NE(extension, nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);

  FILE* cert_file = fopen(cert_path.c_str(), "w");
  ASSERT_NE(cert_file, nullptr);
  EXPECT_EQ(PEM_write_X509(cert_file, cert), 1);
  fclose(cert_file);
  FILE* key_file = fopen(key_path.c_str(), "w");
  ASSERT_NE(key_file, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  fclose(key_file);
  X509_free(cert);
  EVP_PKEY_free(key);
}

void TlsFixture::SetUp() {
  const std::string& dir = dir_.path();
  ASSERT_FALSE(dir.empty());
  a_ = {{"a.example", "c.example"}, dir + "/a.pem", dir + "/a.key"};
  b_ = {{"*.b.example"}, dir + "/b.pem", dir + "/b.key"};
  ASSERT_NO_FATAL_FAILURE(WriteSelfSignedCertificate(a_.hosts, a_.cert_path, a_.key_path));
  ASSERT_NO_FATAL_FAILURE(WriteSelfSignedCertificate(b_.hosts, b_.cert_path, b_.key_path));
  StatusOr<std::shared_ptr<TlsContext>> context = TlsContext::Create({a_, b_});
  ASSERT_TRUE(context.ok()) << context.status().message();
  tls_ = context.value();
}

std::unique_ptr<Client> TlsFixture::ConnectTls(const TestServer& server,
                                               const std::string& server_name) {
  auto client = std::make_unique<Client>(server.port());
  EXPECT_TRUE(client->connected());
  TlsClientOptions options;
  options.server_name = server_name;
  EXPECT_TRUE(client->StartTls(options)) << client->tls_error();
  return client;
}

void TransportTest::Start(TestServer& server, RequestHandler handler, ServerLimits limits) {
  server.Start(std::move(handler), limits, tls() ? tls_ : nullptr);
}

std::unique_ptr<Client> TransportTest::Connect(const TestServer& server,
                                               const std::string& server_name) {
  if (tls()) return ConnectTls(server, server_name);
  auto client = std::make_unique<Client>(server.port());
  EXPECT_TRUE(client->connected());
  return client;
}

std::unique_ptr<Client> TransportTest::StartEcho(TestServer& server, Recorder* recorder) {
  Start(server, EchoHandler(recorder));
  return Connect(server);
}

std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  return info.param == Transport::kTls ? "Tls" : "Plain";
}

}  // namespace edge::gateway::testing
