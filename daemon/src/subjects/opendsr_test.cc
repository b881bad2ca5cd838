#include "subjects/opendsr.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "subjects/deadlines.h"
#include "subjects/signing.h"

namespace scrubd::subjects {
namespace {
namespace json = boost::json;

constexpr const char* kCanary = "canary.q7x@example.com";
constexpr const char* kId = "a7551968-d5d6-44b2-9831-815ac9017798";

// Same field names as subjects::RequestRecord (subject_store.h), so the templates are exercised
// exactly as the service will call them.
struct FakeRecord {
  std::string id, type, regulation, status;
  int64_t submitted_ms = 0, received_ms = 0, expected_ms = 0, updated_ms = 0;
  std::vector<std::string> seeds, tokens, callback_urls;
  std::string result_json, reason;
};

FakeRecord Record(std::string type, std::string status) {
  FakeRecord r;
  r.id = kId;
  r.type = std::move(type);
  r.regulation = "gdpr";
  r.status = std::move(status);
  return r;
}

json::object Valid() {
  return json::parse(R"({
    "subject_request_id": "a7551968-d5d6-44b2-9831-815ac9017798",
    "subject_request_type": "erasure",
    "regulation": "gdpr",
    "submitted_time": "2018-10-02T15:00:00Z",
    "subject_identities": [
      {"identity_type": "email", "identity_value": "johndoe@example.com",
       "identity_format": "raw"}],
    "api_version": "2.0",
    "status_callback_urls": ["https://examplecontroller.com/opendsr/callbacks"],
    "extensions": {"example-processor.com": {"foo-processor-custom-id": 123456,
                                             "property_id": "123456"}}
  })")
      .as_object();
}

Result<DsrRequest> Parse(const json::object& o) { return ParseDsrRequest(json::serialize(o)); }

// The parse must fail with a message naming `field`.
void ExpectRejected(const json::object& o, const std::string& field,
                    Code code = Code::kInvalidInput) {
  Result<DsrRequest> r = Parse(o);
  ASSERT_FALSE(r.ok()) << json::serialize(o);
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
}

json::object& Identity(json::object& o, size_t i = 0) {
  return o["subject_identities"].as_array()[i].as_object();
}

TEST(OpenDsrParse, AcceptsTheSpecExample) {
  Result<DsrRequest> r = Parse(Valid());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->subject_request_id, kId);
  EXPECT_EQ(r->subject_request_type, "erasure");
  EXPECT_EQ(r->regulation, "gdpr");
  EXPECT_EQ(r->submitted_ms, 1538492400000);
  ASSERT_EQ(r->identities.size(), 1u);
  EXPECT_EQ(r->identities[0].type, "email");
  EXPECT_EQ(r->identities[0].value, "johndoe@example.com");
  EXPECT_EQ(r->identities[0].format, "raw");
  ASSERT_EQ(r->callback_urls.size(), 1u);
  EXPECT_EQ(r->api_version, "2.0");
}

TEST(OpenDsrParse, OptionalFieldsMayBeAbsentAndUnknownOnesAreIgnored) {
  json::object o = Valid();
  o.erase("api_version");
  o.erase("status_callback_urls");
  o.erase("extensions");
  o["property_id"] = "legacy-opengdpr-1.0-field";
  o["some_future_field"] = json::object{{"x", 1}};
  Result<DsrRequest> r = Parse(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->callback_urls.empty());
  EXPECT_EQ(r->api_version, "");
}

TEST(OpenDsrParse, EveryTypeRegulationAndIdentityCombination) {
  for (const char* type : {"erasure", "access", "portability"})
    for (const char* reg : {"gdpr", "ccpa"})
      for (const char* itype : {"controller_customer_id", "email"}) {
        json::object o = Valid();
        o["subject_request_type"] = type;
        o["regulation"] = reg;
        Identity(o)["identity_type"] = itype;
        EXPECT_TRUE(Parse(o).ok()) << type << reg << itype;
      }
  json::object o = Valid();
  Identity(o)["identity_format"] = "sha256";
  Identity(o)["identity_value"] = std::string(64, 'A');
  Result<DsrRequest> r = Parse(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->identities[0].value, std::string(64, 'a'));  // normalised to lower case
}

TEST(OpenDsrParse, RequiredFields) {
  for (const char* f : {"subject_request_id", "subject_request_type", "regulation",
                        "submitted_time", "subject_identities"}) {
    json::object o = Valid();
    o.erase(f);
    ExpectRejected(o, std::string(f) + " field is required");
    o = Valid();
    o[f] = nullptr;
    ExpectRejected(o, f);
    o = Valid();
    o[f] = 17;  // wrong type
    ExpectRejected(o, f);
  }
  for (const char* f : {"identity_type", "identity_value", "identity_format"}) {
    json::object o = Valid();
    Identity(o).erase(f);
    ExpectRejected(o, std::string("subject_identities[0].") + f);
    o = Valid();
    Identity(o)[f] = json::array{};
    ExpectRejected(o, std::string("subject_identities[0].") + f);
  }
}

TEST(OpenDsrParse, SubjectRequestIdIsALowercaseUuidV4) {
  EXPECT_TRUE(IsUuidV4(kId));
  EXPECT_TRUE(IsUuidV4("00000000-0000-4000-b000-000000000000"));
  for (const char* bad :
       {"A7551968-D5D6-44B2-9831-815AC9017798", "a7551968-d5d6-14b2-9831-815ac9017798",
        "a7551968-d5d6-44b2-c831-815ac9017798", "a7551968-d5d6-44b2-7831-815ac9017798",
        "00000000-0000-0000-0000-000000000000", "a7551968d5d644b29831815ac9017798",
        "a7551968-d5d6-44b2-9831-815ac901779", "a7551968-d5d6-44b2-9831-815ac90177980",
        "{a7551968-d5d6-44b2-9831-815ac9017798}", "g7551968-d5d6-44b2-9831-815ac9017798",
        "a7551968_d5d6-44b2-9831-815ac9017798", ""}) {
    EXPECT_FALSE(IsUuidV4(bad)) << bad;
    json::object o = Valid();
    o["subject_request_id"] = bad;
    ExpectRejected(o, "subject_request_id");
  }
}

TEST(OpenDsrParse, EnumsAndTimes) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"subject_request_type", "delete"},
      {"subject_request_type", "Erasure"},
      {"subject_request_type", "rectification"},
      {"regulation", "GDPR"},
      {"regulation", "lgpd"},
      {"submitted_time", "2018-10-02"},
      {"submitted_time", "yesterday"},
      {"submitted_time", "2018-02-30T00:00:00Z"}};
  for (const auto& [field, value] : cases) {
    json::object o = Valid();
    o[field] = value;
    ExpectRejected(o, field);
  }
}

TEST(OpenDsrParse, IdentityRules) {
  auto with = [](std::function<void(json::object&)> edit) {
    json::object o = Valid();
    edit(Identity(o));
    return o;
  };
  const std::string at = "subject_identities[0].";
  ExpectRejected(with([](auto& i) { i["identity_type"] = "android_id"; }), at + "identity_type");
  ExpectRejected(with([](auto& i) { i["identity_format"] = "md5"; }), at + "identity_format");
  ExpectRejected(with([](auto& i) { i["identity_format"] = "sha1"; }), at + "identity_format");
  ExpectRejected(with([](auto& i) { i["identity_value"] = ""; }), at + "identity_value");
  ExpectRejected(with([](auto& i) { i["identity_value"] = std::string(513, 'x'); }),
                 at + "identity_value");
  ExpectRejected(with([](auto& i) { i["identity_value"] = "a\nb"; }), at + "identity_value");
  ExpectRejected(with([](auto& i) {
                   i["identity_format"] = "sha256";
                   i["identity_value"] = std::string(63, 'a');
                 }),
                 at + "identity_value");
  ExpectRejected(with([](auto& i) {
                   i["identity_format"] = "sha256";
                   i["identity_value"] = std::string(63, 'a') + "g";
                 }),
                 at + "identity_value");
  json::object o = Valid();
  o["subject_identities"] = json::array{};
  ExpectRejected(o, "subject_identities must not be empty");
  o["subject_identities"] = json::array{"johndoe@example.com"};
  ExpectRejected(o, "subject_identities[0] must be an object");
  o["subject_identities"] = json::object{};
  ExpectRejected(o, "subject_identities must be an array");
  json::array many;
  json::object base = Valid();
  for (int i = 0; i < 17; ++i) many.push_back(Identity(base));
  o["subject_identities"] = many;
  ExpectRejected(o, "more than 16");
  many.pop_back();
  o["subject_identities"] = many;
  EXPECT_TRUE(Parse(o).ok());
  // The index names which identity failed.
  many[9].as_object()["identity_format"] = "md5";
  o["subject_identities"] = many;
  ExpectRejected(o, "subject_identities[9].identity_format");
}

TEST(OpenDsrParse, CallbackUrlRules) {
  for (const char* bad :
       {"ftp://examplecontroller.com/cb", "javascript:alert(1)", "https://user:pw@example.com/cb",
        "https://example.com/cb#frag", "https:///cb", "https://exa mple.com/cb",
        "https://example.com:0/cb", "https://example.com:65536/cb", "https://example.com:/cb",
        "https://ex_ample.com/cb", "https://[::1/cb", "file:///etc/passwd", "//example.com/cb",
        "https://example.com/caf\xc3\xa9"}) {
    json::object o = Valid();
    o["status_callback_urls"] = json::array{bad};
    ExpectRejected(o, "status_callback_urls[0]");
  }
  json::object o = Valid();
  o["status_callback_urls"] = json::array{"https://a.example/cb", 7};
  ExpectRejected(o, "status_callback_urls[1] must be a string");
  o["status_callback_urls"] = "https://a.example/cb";
  ExpectRejected(o, "status_callback_urls must be an array");
  o["status_callback_urls"] = json::array{"https://a.example/" + std::string(2100, 'p')};
  ExpectRejected(o, "status_callback_urls[0]");
  json::array nine;
  for (int i = 0; i < 9; ++i)
    nine.push_back(json::string("https://a.example/" + std::to_string(i)));
  o["status_callback_urls"] = nine;
  ExpectRejected(o, "more than 8");
  o["status_callback_urls"] =
      json::array{"http://127.0.0.1:8080/cb?k=v", "https://[2001:db8::1]/x", "HTTPS://Example.COM"};
  EXPECT_TRUE(Parse(o).ok());  // address classes are checked when sending (callbacks.h)
}

TEST(OpenDsrParse, OptionalFieldShapes) {
  json::object o = Valid();
  o["api_version"] = 2;
  ExpectRejected(o, "api_version");
  o["api_version"] = "2.0; DROP";
  ExpectRejected(o, "api_version");
  o["api_version"] = std::string(17, '2');
  ExpectRejected(o, "api_version");
  o = Valid();
  o["extensions"] = json::array{};
  ExpectRejected(o, "extensions must be an object");
  o["extensions"] = json::object{{"p.example", std::string(17000, 'e')}};
  ExpectRejected(o, "extensions", Code::kTooLarge);
}

TEST(OpenDsrParse, MalformedBodies) {
  const std::string valid = json::serialize(Valid());
  for (std::string bad :
       {std::string(""), std::string("null"), std::string("[]"), std::string("\"x\""),
        valid.substr(0, valid.size() - 1), valid + "x", std::string("{\"subject_request_id\": }"),
        std::string("{'a': 1}"), valid + valid}) {
    Result<DsrRequest> r = ParseDsrRequest(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
  }
  // Bad UTF-8 inside a string value, and an overlong encoding.
  for (std::string bytes :
       {std::string("\xff\xfe"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
    std::string body = valid;
    body.replace(body.find("johndoe"), 7, bytes);
    Result<DsrRequest> r = ParseDsrRequest(body);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
  }
}

TEST(OpenDsrParse, DuplicateKeysLastOneWins) {
  std::string body = json::serialize(Valid());
  body.insert(1, "\"regulation\":\"lgpd\",");  // first occurrence invalid, last valid
  Result<DsrRequest> r = ParseDsrRequest(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->regulation, "gdpr");
  body = json::serialize(Valid());
  body.insert(body.size() - 1, ",\"regulation\":\"lgpd\"");
  EXPECT_FALSE(ParseDsrRequest(body).ok());
}

TEST(OpenDsrParse, SizeAndDepthBounds) {
  std::string big = json::serialize(Valid());
  big.insert(1, "\"pad\":\"" + std::string(70000, 'p') + "\",");
  Result<DsrRequest> r = ParseDsrRequest(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  std::string deep = "{\"extensions\":" + std::string(40, '[') + std::string(40, ']') + "}";
  r = ParseDsrRequest(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  DsrLimits tight;
  tight.max_body_bytes = 100;
  EXPECT_EQ(ParseDsrRequest(json::serialize(Valid()), tight).status().code(), Code::kTooLarge);
}

// A canary email placed in every field the body accepts (and in a key, and in a broken body)
// never appears in the error body, in any escaped form.
TEST(DsrCanary, NeverInAnErrorBody) {
  const std::string c = kCanary;
  std::vector<std::function<void(json::object&)>> edits = {
      [&](auto& o) { o["subject_request_id"] = c; },
      [&](auto& o) { o["subject_request_type"] = c; },
      [&](auto& o) { o["regulation"] = c; },
      [&](auto& o) { o["submitted_time"] = c; },
      [&](auto& o) { o["api_version"] = c; },
      [&](auto& o) { o["extensions"] = c; },
      [&](auto& o) { o["status_callback_urls"] = json::array{c}; },
      [&](auto& o) { o["status_callback_urls"] = json::array{"https://" + c + "/cb"}; },
      [&](auto& o) { o["status_callback_urls"] = json::array{"https://x.example/" + c + "#f"}; },
      [&](auto& o) { o["status_callback_urls"] = c; },
      [&](auto& o) { o["subject_identities"] = json::array{c}; },
      [&](auto& o) { o["subject_identities"] = c; },
      [&](auto& o) { Identity(o)["identity_type"] = c; },
      [&](auto& o) { Identity(o)["identity_format"] = c; },
      [&](auto& o) { Identity(o)["identity_value"] = c + "\x01"; },
      [&](auto& o) {
        Identity(o)["identity_format"] = "sha256";
        Identity(o)["identity_value"] = c;
      },
      [&](auto& o) { Identity(o)["identity_value"] = c + std::string(600, 'x'); },
      [&](auto& o) {
        o[c] = c;  // an unknown field is ignored, then another field fails
        o.erase("regulation");
      },
  };
  int checked = 0;
  for (auto& edit : edits) {
    json::object o = Valid();
    // The canary is also a valid identity elsewhere in the same request.
    o["subject_identities"].as_array().push_back(json::object{
        {"identity_type", "email"}, {"identity_value", c}, {"identity_format", "raw"}});
    edit(o);
    Result<DsrRequest> r = Parse(o);
    ASSERT_FALSE(r.ok()) << json::serialize(o);
    std::string body = DsrErrorBody(r.status());
    for (const std::string& needle :
         {c, std::string("canary"), std::string("q7x"), std::string("canary.q7x%40example.com")})
      EXPECT_EQ(body.find(needle), std::string::npos) << body;
    ++checked;
  }
  // Broken JSON right after the canary, and an over-long body full of it.
  for (std::string body : {"{\"subject_request_id\": \"" + c + "\" \"x\"}",
                           "{\"a\":\"" + c + std::string(70000, 'x') + "\"}"}) {
    std::string err = DsrErrorBody(ParseDsrRequest(body).status());
    EXPECT_EQ(err.find("canary"), std::string::npos) << err;
    ++checked;
  }
  EXPECT_EQ(checked, 20);
}

TEST(DsrCanary, NeverInStatusOrCallbackShapedBodies) {
  FakeRecord rec = Record("erasure", "completed");
  rec.seeds = {"i:pid_abc"};
  rec.reason = kCanary;  // a free-text reason a caller might have stored
  std::string body = StatusResponse(rec, "", R"({"counts":{"sessions":2}})", "ctl");
  EXPECT_EQ(body.find("canary"), std::string::npos);
}

TEST(DsrError, ShapeMatchesTheSpec) {
  EXPECT_EQ(DsrErrorBody(400, "subject_request_id field is required",
                         {{"Validation", "IllegalArgumentException",
                           "subject_request_id field is required."}}),
            R"({"error":{"code":400,"message":"subject_request_id field is required",)"
            R"("errors":[{"domain":"Validation","reason":"IllegalArgumentException",)"
            R"("message":"subject_request_id field is required."}]}})");
  EXPECT_EQ(DsrErrorBody(404, "no such request", {}),
            R"({"error":{"code":404,"message":"no such request"}})");
  json::object o = Valid();
  o.erase("regulation");
  json::value v = json::parse(DsrErrorBody(Parse(o).status()));
  EXPECT_EQ(v.at("error").at("code").as_int64(), 400);
  EXPECT_EQ(v.at("error").at("message").as_string(), "regulation field is required");
  const json::object& d = v.at("error").at("errors").as_array()[0].as_object();
  EXPECT_EQ(d.at("domain").as_string(), "Validation");
  EXPECT_EQ(d.at("reason").as_string(), "IllegalArgumentException");
  EXPECT_EQ(json::parse(DsrErrorBody(Status::TooLarge("big")))
                .at("error")
                .at("errors")
                .as_array()[0]
                .at("reason")
                .as_string(),
            "RequestTooLarge");
}

TEST(DsrResponse, CreatedCarriesTimesAndTheEncodedRequest) {
  const std::string raw = "{\"subject_request_id\":\"x\"}\n";
  int64_t received = 1538492401000;
  int64_t expected = ExpectedCompletionMs("gdpr", received, false);
  json::value v = json::parse(CreatedResponse("ctl-1", kId, received, expected, raw));
  EXPECT_EQ(v.at("controller_id").as_string(), "ctl-1");
  EXPECT_EQ(v.at("subject_request_id").as_string(), kId);
  EXPECT_EQ(v.at("received_time").as_string(), "2018-10-02T15:00:01Z");
  EXPECT_EQ(v.at("expected_completion_time").as_string(), "2018-11-02T15:00:01Z");
  EXPECT_EQ(v.at("encoded_request").as_string(), Base64(raw));
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(DsrResponse, StatusByTypeAndState) {
  FakeRecord rec = Record("access", "completed");
  rec.regulation = "ccpa";
  rec.received_ms = 1538492401000;
  rec.expected_ms = ExpectedCompletionMs("ccpa", rec.received_ms, false);
  json::value v =
      json::parse(StatusResponse(rec, "https://scrubd.example/v1/results/1", R"({"x":1})", "ctl"));
  EXPECT_EQ(v.at("request_status").as_string(), "completed");
  EXPECT_EQ(v.at("controller_id").as_string(), "ctl");
  EXPECT_EQ(v.at("subject_request_id").as_string(), kId);
  EXPECT_EQ(v.at("expected_completion_time").as_string(), "2018-11-16T15:00:01Z");
  EXPECT_EQ(v.at("received_time").as_string(), "2018-10-02T15:00:01Z");
  EXPECT_EQ(v.at("results_url").as_string(), "https://scrubd.example/v1/results/1");
  EXPECT_FALSE(v.as_object().contains("receipt"));  // access: no receipt

  rec.type = "erasure";
  v = json::parse(StatusResponse(rec, "https://ignored.example", R"({"audit_seq":42})", "ctl"));
  EXPECT_FALSE(v.as_object().contains("results_url"));
  EXPECT_EQ(v.at("receipt").at("audit_seq").as_int64(), 42);
  v = json::parse(StatusResponse(rec, "", "not json", "ctl"));
  EXPECT_FALSE(v.as_object().contains("receipt"));

  for (auto [stored, wire] :
       std::vector<std::pair<std::string, std::string>>{{"pending", "pending"},
                                                        {"in_progress", "in_progress"},
                                                        {"cancelled", "cancelled"},
                                                        {"deferred", "in_progress"},
                                                        {"failed", "in_progress"},
                                                        {"", "in_progress"}}) {
    rec.status = stored;
    v = json::parse(StatusResponse(rec, "", R"({"audit_seq":42})", "ctl"));
    EXPECT_EQ(v.at("request_status").as_string(), wire) << stored;
    EXPECT_FALSE(v.as_object().contains("receipt")) << stored;  // only once completed
  }
}

TEST(DsrResponse, CancelledAndDiscovery) {
  json::value c = json::parse(CancelledResponse("ctl", kId, 1538492401000));
  EXPECT_EQ(c.at("controller_id").as_string(), "ctl");
  EXPECT_EQ(c.at("subject_request_id").as_string(), kId);
  EXPECT_EQ(c.at("received_time").as_string(), "2018-10-02T15:00:01Z");
  EXPECT_EQ(c.at("api_version").as_string(), "2.0");

  DiscoveryOptions opts;
  opts.processor_certificate = "https://scrubd.example/v1/certificate.pem";
  json::value d = json::parse(DiscoveryResponse("ctl", opts));
  EXPECT_EQ(d.at("api_version").as_string(), "2.0");
  EXPECT_EQ(d.at("processor_certificate").as_string(), opts.processor_certificate);
  EXPECT_EQ(json::serialize(d.at("supported_subject_request_types")),
            R"(["erasure","access","portability"])");
  const json::array& ids = d.at("supported_identities").as_array();
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(json::serialize(ids[0]),
            R"({"identity_type":"controller_customer_id","identity_format":"raw"})");
  EXPECT_EQ(json::serialize(ids[3]), R"({"identity_type":"email","identity_format":"sha256"})");
  opts.processor_certificate.clear();
  opts.access = false;
  d = json::parse(DiscoveryResponse("ctl", opts));
  EXPECT_FALSE(d.as_object().contains("processor_certificate"));
  EXPECT_EQ(json::serialize(d.at("supported_subject_request_types")), R"(["erasure"])");
}

TEST(DsrSigning, SignsTheRawBodyAndVerifies) {
  auto signer = DsrSigner::Generate("scrubd.example");
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  const std::string body = CancelledResponse("ctl", kId, 0);
  auto headers = (*signer)->Headers(body);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].first, "X-OpenDSR-Processor-Domain");
  EXPECT_EQ(headers[0].second, "scrubd.example");
  EXPECT_EQ(headers[1].first, "X-OpenDSR-Signature");
  const std::string pub = (*signer)->PublicPem();
  EXPECT_NE(pub.find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_TRUE(DsrSigner::Verify(pub, body, headers[1].second));
  EXPECT_FALSE(DsrSigner::Verify(pub, body + " ", headers[1].second));
  std::string flipped = headers[1].second;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DsrSigner::Verify(pub, body, flipped));
  EXPECT_FALSE(DsrSigner::Verify(pub, body, "not base64!"));
  EXPECT_FALSE(DsrSigner::Verify("garbage", body, headers[1].second));

  auto reloaded = DsrSigner::FromPrivatePem((*signer)->PrivatePem(), "scrubd.example");
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->PublicPem(), pub);
  EXPECT_TRUE(DsrSigner::Verify(pub, body, *(*reloaded)->Sign(body)));
  EXPECT_EQ(DsrSigner::FromPrivatePem("-----BEGIN PRIVATE KEY-----\nAAAA\n", "d").status().code(),
            Code::kInvalidConfig);
}

}  // namespace
}  // namespace scrubd::subjects
