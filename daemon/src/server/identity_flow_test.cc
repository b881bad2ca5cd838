// Identity through the whole App: a canary email planted as every identifier, in $set /
// $set_once, in a /flags/ body and as $ip never reaches the data dir nor the upstream; ids
// arrive pseudonymised (stable, per project), the client address truncated.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>

#include "dom/state_store.h"
#include "ingest/gzip.h"
#include "scrub/identity.h"
#include "server/app.h"
#include "server/flags_proxy.h"
#include "sink/local_store.h"
#include "sink/upstream.h"
#include "support/canary.h"
#include "support/fixtures.h"
#include "support/recording_upstream.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::RecordingClient;
using scrubd::testing::TempDir;

constexpr char kMaster[] = "identity-master-key-for-tests-01";
constexpr char kToken[] = "phc_identity1";
constexpr char kCanary[] = "canary.zq@example.com";
// Pieces that must not survive anywhere, not even partly masked.
constexpr const char* kCanaryParts[] = {"canary.zq",  "Canary Zq",    "canary%2Ezq",
                                        "zq@example", "203.0.113.77", "6.6.6.6"};

// The bytes as sent, plus every gzip stream in them inflated.
std::string Readable(std::string_view bytes) {
  std::string out(bytes);
  for (size_t at = bytes.find("\x1f\x8b\x08"); at != std::string_view::npos;
       at = bytes.find("\x1f\x8b\x08", at + 1)) {
    Result<std::string> raw = ingest::Gunzip(bytes.substr(at), {});
    if (raw.ok()) out += *raw;
  }
  return out;
}

std::string DataDirText(const std::filesystem::path& dir) {
  return scrubd::testing::DirBytes(dir, Readable);
}

std::string EventsBody(const std::string& token, const std::string& distinct_id) {
  json::object set{{"email", kCanary}, {"name", "Canary Zq"}, {"plan", "pro-plan"}};
  json::object props{{"distinct_id", distinct_id},
                     {"$anon_distinct_id", "anon.canary.zq@example.com"},
                     {"$device_id", "device.canary.zq@example.com"},
                     {"$user_id", distinct_id},
                     {"$session_id", "01a20355-1c58-723a-837c-2bcc756c76c4"},
                     {"$window_id", "01a20355-1c58-723a-837c-2bcc756c76c5"},
                     {"token", token},
                     {"$ip", "203.0.113.77"},
                     {"$set", set}};
  json::object identify{
      {"uuid", "01a20355-1c58-723a-837c-2bcc756c7601"},
      {"event", "$identify"},
      {"properties", props},
      {"$set", set},
      {"$set_once", json::object{{"first_seen_email", kCanary},
                                 {"nested", json::object{{"a", json::array{kCanary}}}}}}};
  json::object alias_props = props;
  alias_props["alias"] = "alias.canary.zq@example.com";
  alias_props.erase("$set");
  json::object alias{{"uuid", "01a20355-1c58-723a-837c-2bcc756c7602"},
                     {"event", "$create_alias"},
                     {"properties", alias_props}};
  return json::serialize(json::object{{"api_key", token}, {"batch", json::array{identify, alias}}});
}

std::string FlagsBody() {
  return json::serialize(json::object{
      {"token", kToken},
      {"distinct_id", kCanary},
      {"$anon_distinct_id", "anon.canary.zq@example.com"},
      {"$device_id", "device.canary.zq@example.com"},
      {"groups", json::object{{"company", "acme"}}},
      {"person_properties", json::object{{"email", kCanary},
                                         {"plan", "pro-plan"},
                                         {"$initial_pathname", "/"},
                                         {"$initial_name", "Canary Zq"}}},
      {"group_properties",
       json::object{{"company", json::object{{"owner", kCanary}, {"owner_name", "Canary Zq"}}},
                    {"team", json::object{{"lead", "Canary Zq"}}}}},
      {"evaluation_environments", json::array{"production"}},
      {"timezone", "UTC"}});
}

class IdentityFlowTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(""); }

  void Build(const std::string& policy_yaml) {
    app_.reset();
    upstream_.reset();
    std::vector<std::string> files;
    if (!policy_yaml.empty()) {
      files.push_back((dir_.path() / "p.yaml").string());
      std::ofstream(files.back()) << "version: 1\n" << policy_yaml;
    }
    auto set = policies::LoadPolicySet(files, {"hash-key-0123456789abcdef", kMaster});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    auto st = dom::StateStore::Open(o);
    ASSERT_TRUE(st.ok());
    state_ = std::move(st).value();
    sink::UpstreamOptions uo;
    uo.url = "http://127.0.0.1:9";
    uo.spool_dir = dir_.path() / "spool";
    auto up = sink::Upstream::Open(uo, &client_);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    upstream_ = std::move(up).value();
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    cfg.upstream_and_store = true;
    app_ = std::make_unique<App>(cfg, *set, store_.get(), state_.get(), nullptr, upstream_.get());
  }

  // As sent through a reverse proxy on the same host that appended the client's address.
  HttpResponse Post(const std::string& target, const std::string& body,
                    const std::string& content_type = "application/json") {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.peer = "127.0.0.1";
    r.headers = {{"content-type", content_type},
                 {"x-forwarded-for", "6.6.6.6, 203.0.113.77"},
                 {"x-real-ip", "6.6.6.6"},
                 {"forwarded", "for=6.6.6.6"},
                 {"cookie", std::string("ph_") + kToken + "_posthog=" + kCanary}};
    return app_->Handle(r);
  }

  void Forward() {
    while (upstream_->forwarder()->RunOnce().outcome != sink::Forwarder::Outcome::kIdle) {
    }
  }

  std::string UpstreamText() const {
    std::string all;
    for (const auto& r : client_.seen) {
      all += r.target + "\n";
      for (const auto& [k, v] : r.headers) all += k + ": " + v + "\n";
      all += Readable(r.body) + "\n";
    }
    return all;
  }

  void ExpectNoCanary(const std::string& where, const std::string& text) {
    for (const char* part : kCanaryParts)
      EXPECT_EQ(text.find(part), std::string::npos) << part << " in " << where;
  }

  std::string Pid(std::string_view raw, std::string_view token = kToken) {
    return scrub::IdentifierPseudonym(kMaster, token, raw);
  }

  TempDir dir_;
  RecordingClient client_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<sink::Upstream> upstream_;
  std::unique_ptr<App> app_;
};

TEST_F(IdentityFlowTest, CanaryInEveryIdentityPositionReachesNeitherDiskNorUpstream) {
  ASSERT_EQ(Post("/e/", EventsBody(kToken, kCanary)).status, 200u);
  std::string snapshot = json::serialize(json::array{json::object{
      {"event", "$snapshot"},
      {"properties",
       json::object{{"$snapshot_data",
                     json::array{json::object{
                         {"type", 4},
                         {"data", json::object{{"href", "http://x/"}, {"width", 1}, {"height", 1}}},
                         {"timestamp", 1795352239383}}}},
                    {"$session_id", "01a20355-1c58-723a-837c-2bcc756c76c4"},
                    {"$window_id", "01a20355-1c58-723a-837c-2bcc756c76c5"},
                    {"distinct_id", kCanary},
                    {"$device_id", "device.canary.zq@example.com"},
                    {"token", kToken}}}}});
  Result<std::string> gz = ingest::Gzip(snapshot);
  ASSERT_TRUE(gz.ok());
  ASSERT_EQ(Post("/s/", *gz, "text/plain").status, 200u);
  Result<std::string> flags = ingest::Gzip(FlagsBody());
  ASSERT_TRUE(flags.ok());
  ASSERT_EQ(Post("/flags/?v=2&compression=gzip-js", *flags, "text/plain").status, 200u);
  ExpectNoCanary("data dir, spooled", DataDirText(dir_.path()));
  Forward();
  ASSERT_EQ(client_.seen.size(), 3u);  // flags, events, recording
  ExpectNoCanary("data dir", DataDirText(dir_.path()));
  ExpectNoCanary("upstream", UpstreamText());
  // The recording index carries the pseudonym, never the raw id nor "[EMAIL]".
  auto sessions = store_->ListSessions(10);
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ(sessions->front().distinct_id, Pid(kCanary));
}

TEST_F(IdentityFlowTest, UpstreamGetsJoinablePseudonymsAndTruncatedAddress) {
  ASSERT_EQ(Post("/e/", EventsBody(kToken, kCanary)).status, 200u);
  ASSERT_EQ(Post("/flags/?v=2", FlagsBody()).status, 200u);
  Forward();
  ASSERT_EQ(client_.seen.size(), 2u);
  // /flags/: plain JSON, the same pseudonym as the events, person_properties by policy.
  const sink::UpstreamRequest& f = client_.seen[0];
  EXPECT_EQ(f.target, "/flags/?v=2");
  json::object fb = json::parse(f.body).as_object();
  EXPECT_EQ(fb.at("distinct_id").as_string(), Pid(kCanary));
  EXPECT_EQ(fb.at("$device_id").as_string(), Pid("device.canary.zq@example.com"));
  EXPECT_EQ(fb.at("person_properties").at("plan").as_string(), "pro-plan");
  EXPECT_EQ(fb.at("person_properties").at("email").as_string(), "[REDACTED]");
  EXPECT_EQ(fb.at("groups").at("company").as_string(), Pid("acme"));  // a group key is an id
  EXPECT_EQ(fb.at("person_properties").at("$initial_pathname").as_string(), "/");
  EXPECT_EQ(fb.at("person_properties").at("$initial_name").as_string(), "[REDACTED]");
  EXPECT_EQ(fb.at("group_properties").at("company").at("owner_name").as_string(), "[REDACTED]");
  EXPECT_EQ(fb.at("group_properties").at("team").at("lead").as_string(), "[REDACTED]");
  EXPECT_EQ(fb.at("token").as_string(), kToken);
  // Events: every id pseudonymised, plan kept, $ip and X-Forwarded-For truncated.
  const sink::UpstreamRequest& e = client_.seen[1];
  json::object eb = json::parse(*ingest::Gunzip(e.body, {})).as_object();
  const json::object& identify = eb.at("batch").at(0).at("properties").as_object();
  EXPECT_EQ(identify.at("distinct_id").as_string(), Pid(kCanary));
  EXPECT_EQ(identify.at("$anon_distinct_id").as_string(), Pid("anon.canary.zq@example.com"));
  EXPECT_EQ(identify.at("$ip").as_string(), "203.0.113.0");
  EXPECT_EQ(identify.at("$set").at("plan").as_string(), "pro-plan");
  EXPECT_EQ(eb.at("batch").at(0).at("$set").at("plan").as_string(), "pro-plan");
  const json::object& alias = eb.at("batch").at(1).at("properties").as_object();
  EXPECT_EQ(alias.at("alias").as_string(), Pid("alias.canary.zq@example.com"));
  for (const sink::UpstreamRequest* r : {&f, &e}) {
    int forwarded = 0;
    for (const auto& [k, v] : r->headers) {
      std::string name = k;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_NE(name, "x-real-ip");
      EXPECT_NE(name, "forwarded");
      EXPECT_NE(name, "cookie");
      if (name == "x-forwarded-for") {
        EXPECT_EQ(v, "203.0.113.0");
        ++forwarded;
      }
      if (name == "content-type" && r == &f) {
        EXPECT_EQ(v, "application/json");
      }
    }
    EXPECT_EQ(forwarded, 1) << r->target;
  }
}

TEST_F(IdentityFlowTest, PseudonymStableAcrossRequestsAndDistinctPerProject) {
  ASSERT_EQ(Post("/e/", EventsBody(kToken, kCanary)).status, 200u);
  ASSERT_EQ(Post("/e/", EventsBody(kToken, kCanary)).status, 200u);
  ASSERT_EQ(Post("/e/", EventsBody("phc_identity2", kCanary)).status, 200u);
  ASSERT_EQ(Post("/e/", EventsBody(kToken, "other.person@example.com")).status, 200u);
  Forward();
  ASSERT_EQ(client_.seen.size(), 4u);
  std::vector<std::string> ids;
  for (const auto& r : client_.seen) {
    json::object b = json::parse(*ingest::Gunzip(r.body, {})).as_object();
    ids.emplace_back(b.at("batch").at(0).at("properties").at("distinct_id").as_string());
    EXPECT_TRUE(scrub::IsIdentifierPseudonym(ids.back())) << ids.back();
  }
  EXPECT_EQ(ids[0], ids[1]);  // stable
  EXPECT_NE(ids[0], ids[2]);  // per project
  EXPECT_EQ(ids[2], Pid(kCanary, "phc_identity2"));
  EXPECT_NE(ids[0], ids[3]);  // two emails never collapse
}

TEST_F(IdentityFlowTest, UndecodableFlagsBodyIsNotForwarded) {
  struct Case {
    std::string body;
    std::string content_type;
  } cases[] = {{std::string("\x1f\x8b\x08\x00garbage", 11), "text/plain"},
               {"{not json", "application/json"},
               {"[1,2]", "application/json"},
               {R"({"distinct_id":"canary.zq@example.com"})", "application/json"},  // no token
               {R"({"token":{"a":1},"distinct_id":"x"})", "application/json"},
               {"data=%%%", "application/x-www-form-urlencoded"}};
  for (const Case& c : cases) {
    HttpResponse r = Post("/flags/?v=2", c.body, c.content_type);
    EXPECT_GE(r.status, 400u) << c.body;
    EXPECT_LT(r.status, 500u) << c.body;
  }
  HttpRequest q;
  q.method = "GET";
  q.target = "/decide/?v=3&data=eyJkaXN0aW5jdF9pZCI6ImEifQ";
  EXPECT_EQ(app_->Handle(q).status, 400u);
  EXPECT_TRUE(client_.seen.empty());
}

TEST_F(IdentityFlowTest, Base64FormFlagsBodyIsScrubbedToo) {
  // The sendBeacon shape: data=<urlencoded base64 of the JSON>.
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = FlagsBody(), b64;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    b64 += kB64[(n >> 18) & 63];
    b64 += kB64[(n >> 12) & 63];
    b64 += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    b64 += i + 2 < in.size() ? kB64[n & 63] : '=';
  }
  std::string form = "data=";
  for (char c : b64)
    form += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  ASSERT_EQ(
      Post("/decide/?v=3&compression=base64", form, "application/x-www-form-urlencoded").status,
      200u);
  ASSERT_EQ(client_.seen.size(), 1u);
  EXPECT_EQ(client_.seen[0].target, "/decide/?v=3");
  EXPECT_EQ(json::parse(client_.seen[0].body).at("distinct_id").as_string(), Pid(kCanary));
  ExpectNoCanary("upstream", UpstreamText());
}

TEST_F(IdentityFlowTest, ProxiedQueryIsRebuiltFromAnAllowlist) {
  ASSERT_EQ(Post("/flags/?v=2&email=canary.zq%40example.com&ver=canary.zq", FlagsBody()).status,
            200u);
  for (const char* target :
       {"/flags/?distinct_id=canary.zq@example.com&v=2", "/decide/?v=3&u=canary%2Ezq",
        "/array/phc_identity1/config?email=canary.zq%40example.com",
        "/array/phc_identity1/config.js?ip=203.0.113.77&token=canary.zq",
        "/static/x.js?u=Canary%20Zq&v=canary.zq&_=1700000000000"}) {
    HttpRequest q;
    q.method = "GET";
    q.target = target;
    EXPECT_EQ(app_->Handle(q).status, 200u) << target;
  }
  ASSERT_EQ(client_.seen.size(), 6u);
  EXPECT_EQ(client_.seen[0].target, "/flags/?v=2");
  EXPECT_EQ(client_.seen[1].target, "/flags/?v=2");
  EXPECT_EQ(client_.seen[2].target, "/decide/?v=3");
  EXPECT_EQ(client_.seen[3].target, "/array/phc_identity1/config");
  EXPECT_EQ(client_.seen[4].target, "/array/phc_identity1/config.js");
  EXPECT_EQ(client_.seen[5].target, "/static/x.js?_=1700000000000");
  ExpectNoCanary("upstream", UpstreamText());
  EXPECT_EQ(UpstreamText().find("%40"), std::string::npos);
  EXPECT_EQ(AllowlistedTarget("/flags/?v=2&compression=gzip-js&_=12&x=1", true),
            "/flags/?v=2&_=12");
  EXPECT_EQ(AllowlistedTarget("/s?ver=1.2.3-beta.1&config=true&token=phc_a&email=a", false),
            "/s?ver=1.2.3-beta.1&config=true&token=phc_a");
}

TEST_F(IdentityFlowTest, ClientIpDropSendsNoAddress) {
  Build("client_ip: drop\n");
  ASSERT_EQ(Post("/e/", EventsBody(kToken, kCanary)).status, 200u);
  ASSERT_EQ(Post("/flags/?v=2", FlagsBody()).status, 200u);
  Forward();
  ASSERT_EQ(client_.seen.size(), 2u);
  for (const auto& r : client_.seen)
    for (const auto& [k, v] : r.headers) EXPECT_NE(k, "x-forwarded-for");
  std::string text = UpstreamText();
  EXPECT_EQ(text.find("\"$ip\""), std::string::npos);
  EXPECT_EQ(text.find("203.0.113"), std::string::npos);
  ExpectNoCanary("upstream", text);
}

}  // namespace
}  // namespace scrubd::server
