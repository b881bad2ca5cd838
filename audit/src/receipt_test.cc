#include "scrubd/audit/receipt.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "recent_leaves.h"
#include "scrubd/audit/cli.h"
#include "scrubd/audit/log.h"
#include "test_util.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::Slurp;
using testing::Spit;
using testing::TempDir;

constexpr char kPayload[] =
    R"({"request_id":"4b6e3a6c-0c1e-4f5e-9a57-1d2b3c4d5e6f","subject":"pid_canary_subject",)"
    R"("counts":{"sessions":3,"chunks":17,"events":40,"spool":1,"dead":0,"dom_state":2},)"
    R"("scan":{"clean":true,"index_rows":0,"files":0,"needle_hits":0},"upstream":"acknowledged"})";

std::string RequestJson() {
  json::object r = json::parse(kPayload).as_object();
  r["type"] = "erasure";
  return json::serialize(r);
}

// Applies `edit` to the parsed receipt and re-serialises it.
std::string Edit(const std::string& receipt, const std::function<void(json::object&)>& edit) {
  json::object r = json::parse(receipt).as_object();
  edit(r);
  return json::serialize(r);
}

json::object& Audit(json::object& r) { return r["audit"].as_object(); }

class ReceiptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.checkpoint_every_entries = 64;
    auto log = Log::Open(Dir(), o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log_->Append("batch", R"({"n":1})").ok());
  }
  void TearDown() override {
    if (log_) {
      EXPECT_TRUE(log_->Close().ok());
    }
  }
  fs::path Dir() const { return tmp_.path() / "data" / "audit"; }
  std::string MakeOne() {
    auto seq = log_->Append("erasure_completed", kPayload);
    EXPECT_TRUE(seq.ok());
    auto r = MakeReceipt(*log_, Dir(), seq.value(), RequestJson());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::string();
  }
  TempDir tmp_;
  std::unique_ptr<Log> log_;
};

TEST_F(ReceiptTest, MadeWhileAppendsContinueVerifies) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) ASSERT_TRUE(log_->Append("batch", R"({"n":2})").ok());
  });
  std::vector<std::string> receipts;
  for (int i = 0; i < 20; ++i) receipts.push_back(MakeOne());
  stop = true;
  writer.join();
  const std::string pem = log_->PublicKeyPem();
  for (const std::string& r : receipts) EXPECT_TRUE(VerifyReceipt(r, pem).ok()) << r;
  ASSERT_TRUE(log_->Close().ok());
  VerifyReport rep = Verify(Dir(), Dir() / "public.pem", std::nullopt);
  EXPECT_TRUE(rep.ok) << FormatReport(rep);
  log_.reset();
}

TEST_F(ReceiptTest, EveryTamperedFieldFails) {
  const std::string r = MakeOne();
  const std::string pem = log_->PublicKeyPem();
  ASSERT_TRUE(VerifyReceipt(r, pem).ok());
  using Mutator = std::function<void(json::object&)>;
  const std::vector<std::pair<std::string, Mutator>> cases = {
      {"count",
       [](json::object& o) { o["request"].as_object()["counts"].as_object()["chunks"] = 16; }},
      {"scan", [](json::object& o) { o["request"].as_object()["scan"].as_object()["files"] = 1; }},
      {"request id", [](json::object& o) { o["request"].as_object()["request_id"] = "x"; }},
      {"subject", [](json::object& o) { o["request"].as_object()["subject"] = "pid_other"; }},
      {"type", [](json::object& o) { o["request"].as_object()["type"] = "access"; }},
      {"dropped field", [](json::object& o) { o["request"].as_object().erase("scan"); }},
      {"added field", [](json::object& o) { o["request"].as_object()["note"] = "all good"; }},
      {"seq", [](json::object& o) { Audit(o)["seq"] = Audit(o)["seq"].to_number<uint64_t>() + 1; }},
      {"tree size",
       [](json::object& o) {
         Audit(o)["tree_size"] = Audit(o)["tree_size"].to_number<uint64_t>() + 1;
       }},
      {"path element",
       [](json::object& o) {
         json::string& h = Audit(o)["inclusion_path"].as_array()[0].as_string();
         h[5] = h[5] == '0' ? '1' : '0';
       }},
      {"path dropped", [](json::object& o) { Audit(o)["inclusion_path"].as_array().pop_back(); }},
      {"note",
       [](json::object& o) {
         json::string& n = Audit(o)["checkpoint"].as_string();
         n[n.find('\n') + 1] = n[n.find('\n') + 1] == '9' ? '8' : '9';
       }},
      {"note signature",
       [](json::object& o) {
         json::string& n = Audit(o)["checkpoint"].as_string();
         n[n.size() - 5] = n[n.size() - 5] == 'A' ? 'B' : 'A';
       }},
      {"entry",
       [](json::object& o) {
         json::string& e = Audit(o)["entry"].as_string();
         e[e.size() - 8] = e[e.size() - 8] == 'A' ? 'B' : 'A';
       }},
      {"unknown audit field", [](json::object& o) { Audit(o)["verified"] = true; }},
      {"version", [](json::object& o) { o["receipt_version"] = 2; }},
  };
  for (const auto& [name, mutate] : cases) {
    const std::string bad = Edit(r, mutate);
    ASSERT_NE(bad, json::serialize(json::parse(r))) << name;
    EXPECT_FALSE(VerifyReceipt(bad, pem).ok()) << name;
  }
  EXPECT_FALSE(VerifyReceipt("not json", pem).ok());
  EXPECT_FALSE(VerifyReceipt("[]", pem).ok());
  EXPECT_FALSE(VerifyReceipt(r.substr(0, r.size() / 2), pem).ok());
}

TEST_F(ReceiptTest, RequestFieldOrderDoesNotMatter) {
  auto seq = log_->Append("erasure_completed", kPayload);
  ASSERT_TRUE(seq.ok());
  // The same fields in another order, counts re-serialised by a different writer.
  json::object req = json::parse(RequestJson()).as_object();
  json::object reordered;
  reordered["type"] = "erasure";
  reordered["counts"] =
      json::parse(R"({"dom_state":2,"dead":0,"spool":1,"events":40,"chunks":17,"sessions":3})");
  for (const char* k : {"upstream", "scan", "subject", "request_id"}) reordered[k] = req[k];
  auto r = MakeReceipt(*log_, Dir(), seq.value(), json::serialize(reordered));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(VerifyReceipt(r.value(), log_->PublicKeyPem()).ok());
}

TEST_F(ReceiptTest, WrongPublicKeyFailsEmbeddedKeyIgnored) {
  const std::string r = MakeOne();
  TempDir other;
  auto log2 = Log::Open(other.path() / "audit", Options{});
  ASSERT_TRUE(log2.ok());
  const std::string other_pem = log2.value()->PublicKeyPem();
  Status s = VerifyReceipt(r, other_pem);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not signed by the given key"), std::string::npos) << s.message();
  // Replacing the embedded key changes nothing: it is never trusted.
  std::string swapped = Edit(r, [&](json::object& o) { Audit(o)["public_key"] = other_pem; });
  EXPECT_TRUE(VerifyReceipt(swapped, log_->PublicKeyPem()).ok());
  EXPECT_FALSE(VerifyReceipt(swapped, other_pem).ok());
  EXPECT_TRUE(log2.value()->Close().ok());
}

TEST_F(ReceiptTest, EntryOfAnotherTypeFails) {
  auto seq = log_->Append("batch", kPayload);
  ASSERT_TRUE(seq.ok());
  EXPECT_FALSE(MakeReceipt(*log_, Dir(), seq.value(), RequestJson()).ok());
  // A genuinely signed proof of that batch entry, grafted into a valid receipt.
  const std::string good = MakeOne();
  std::string pem;
  auto proof = log_->ProveRecent(seq.value(), &pem);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  std::string grafted = Edit(good, [&](json::object& o) {
    json::array path;
    for (const Hash& h : proof->path) path.emplace_back(HexEncode(h));
    Audit(o)["seq"] = proof->seq;
    Audit(o)["entry"] = Base64Encode(AsBytes(proof->entry_body));
    Audit(o)["tree_size"] = proof->tree_size;
    Audit(o)["inclusion_path"] = path;
    Audit(o)["checkpoint"] = proof->checkpoint_note;
  });
  Status s = VerifyReceipt(grafted, pem);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'batch' entry"), std::string::npos) << s.message();
  // A request that does not match its entry is refused at creation.
  auto seq2 = log_->Append("erasure_completed", kPayload);
  ASSERT_TRUE(seq2.ok());
  std::string other = RequestJson();
  other.replace(other.find("\"chunks\":17"), 11, "\"chunks\":18");
  EXPECT_FALSE(MakeReceipt(*log_, Dir(), seq2.value(), other).ok());
  EXPECT_FALSE(MakeReceipt(*log_, Dir(), log_->Size() + 5, RequestJson()).ok());
}

TEST_F(ReceiptTest, OldEntryBeyondWindowFallsBackToProve) {
  auto seq = log_->Append("erasure_completed", kPayload);
  ASSERT_TRUE(seq.ok());
  for (uint64_t i = 0; i < 2 * RecentLeaves::kDefaultWindow + 10; ++i) {
    ASSERT_TRUE(log_->Append("batch", R"({"n":3})").ok());
  }
  std::string pem;
  auto recent = log_->ProveRecent(seq.value(), &pem);
  EXPECT_EQ(recent.status().code(), Code::kNotFound);
  auto r = MakeReceipt(*log_, Dir(), seq.value(), RequestJson());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(VerifyReceipt(r.value(), log_->PublicKeyPem()).ok());
}

TEST_F(ReceiptTest, ReceiptsSurviveReopen) {
  auto seq = log_->Append("erasure_completed", kPayload);
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(log_->Close().ok());
  auto log = Log::Open(Dir(), Options{});
  ASSERT_TRUE(log.ok());
  log_ = std::move(log).value();
  auto r = MakeReceipt(*log_, Dir(), seq.value(), RequestJson());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(VerifyReceipt(r.value(), log_->PublicKeyPem()).ok());
}

// The window's paths and roots equal the full-tree ones at every size, across folds.
TEST(RecentLeavesTest, PathsEqualFullTreePaths) {
  RecentLeaves w(4);
  std::vector<Hash> all;
  for (uint64_t i = 0; i < 70; ++i) {
    Hash h{};
    h[0] = static_cast<uint8_t>(i);
    h[1] = 0x5a;
    all.push_back(LeafHash(h));
    w.Append(all.back(), {0, i});
    RecentLeaves::Snapshot s = w.Take(w.end());
    for (uint64_t n = std::max<uint64_t>(s.base, 1); n <= w.end(); ++n) {
      ASSERT_EQ(s.Root(n), RootFromLeafHashes(std::span(all).subspan(0, n))) << n;
      for (uint64_t m = s.base; m < n; ++m) {
        auto p = s.Path(m, n);
        ASSERT_TRUE(p.has_value()) << m << "/" << n;
        EXPECT_EQ(*p, InclusionPath(all, m, n)) << m << "/" << n;
      }
    }
    if (s.base > 0) {
      EXPECT_FALSE(s.Path(s.base - 1, w.end()).has_value());
    }
  }
  EXPECT_GE(w.base(), 60u);
}

struct CliRun {
  int code;
  std::string out;
};

CliRun Cli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = RunAuditCli(static_cast<int>(argv.size()), argv.data());
  std::string out = ::testing::internal::GetCapturedStdout();
  out += ::testing::internal::GetCapturedStderr();
  return {code, out};
}

TEST_F(ReceiptTest, CliExitCodes) {
  const fs::path file = tmp_.path() / "receipt.json";
  Spit(file, MakeOne());
  const std::string data = (tmp_.path() / "data").string();
  CliRun ok = Cli({"verify", "--data-dir", data, "--receipt", file.string()});
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(ok.out.rfind("OK: request 4b6e3a6c-0c1e-4f5e-9a57-1d2b3c4d5e6f: entry ", 0), 0u)
      << ok.out;
  EXPECT_NE(ok.out.find("(erasure_completed) is included in the signed tree"), std::string::npos);
  const fs::path pem = tmp_.path() / "pinned.pem";
  Spit(pem, log_->PublicKeyPem());
  EXPECT_EQ(Cli({"verify", "--receipt", file.string(), "--public-key", pem.string()}).code, 0);
  std::string cmd = std::string(SCRUBD_AUDIT_VERIFY_BIN) + " --receipt " + file.string() +
                    " --public-key " + pem.string() + " > /dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0);

  // Usage: no key source, conflicting modes.
  EXPECT_EQ(Cli({"verify", "--receipt", file.string()}).code, 2);
  EXPECT_EQ(Cli({"verify", "--data-dir", data, "--receipt", file.string(), "--proof", "x"}).code,
            2);
  // Invalid: one line, a reason.
  std::string text = Slurp(file);
  text.replace(text.find("\"chunks\":17"), 11, "\"chunks\":99");
  Spit(file, text);
  CliRun bad = Cli({"verify", "--data-dir", data, "--receipt", file.string()});
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_EQ(bad.out.rfind("FAILED: receipt request field 'counts' differs", 0), 0u) << bad.out;
  EXPECT_EQ(std::count(bad.out.begin(), bad.out.end(), '\n'), 1) << bad.out;
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  EXPECT_EQ(Cli({"verify", "--data-dir", data, "--receipt", "/nonexistent"}).code, 1);
}

TEST_F(ReceiptTest, CliAcceptsReceiptSignedBeforeKeyRotation) {
  const fs::path file = tmp_.path() / "receipt.json";
  Spit(file, MakeOne());
  ASSERT_TRUE(log_->RotateKey().ok());
  const std::string data = (tmp_.path() / "data").string();
  const fs::path now_pem = tmp_.path() / "new.pem";
  Spit(now_pem, log_->PublicKeyPem());
  EXPECT_EQ(Cli({"verify", "--receipt", file.string(), "--public-key", now_pem.string()}).code, 1);
  CliRun r = Cli({"verify", "--data-dir", data, "--receipt", file.string()});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("key-0000.pub.pem"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace scrubd::audit
