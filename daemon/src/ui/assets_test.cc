// The embedded console and rrweb-player assets and the /admin/ui/ routes: every name the
// interface promises is there with its type, unknown or crafted paths answer 404 without
// echoing them, and every answer carries the strict CSP and the no-sniff / no-store headers.
#include "ui/assets.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace scrubd::ui {
namespace {

std::string HeaderValue(const server::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

void ExpectSecurityHeaders(const server::HttpResponse& r) {
  EXPECT_EQ(HeaderValue(r, "Content-Security-Policy"), ContentSecurityPolicy());
  EXPECT_EQ(HeaderValue(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderValue(r, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderValue(r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(HeaderValue(r, "Referrer-Policy"), "no-referrer");
}

TEST(UiAssets, EveryPromisedNameIsEmbeddedWithItsType) {
  const std::pair<const char*, const char*> kWant[] = {
      {"rrweb-player.js", "text/javascript; charset=utf-8"},
      {"rrweb-player.css", "text/css; charset=utf-8"},
      {"index.html", "text/html; charset=utf-8"},
      {"console.js", "text/javascript; charset=utf-8"},
      {"console.css", "text/css; charset=utf-8"}};
  for (const auto& [name, type] : kWant) {
    const Asset* a = FindAsset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->name, name);
    EXPECT_EQ(a->content_type, type) << name;
    EXPECT_GT(a->bytes.size(), 100u) << name;
    // The trailing source-map comment is dropped (the maps are not embedded).
    std::string_view tail = a->bytes.substr(a->bytes.size() - 100);
    EXPECT_EQ(tail.find("sourceMappingURL"), std::string_view::npos) << name;
  }
}

TEST(UiAssets, PlayerIsTheRrwebPlayerUmdBundle) {
  const Asset* js = FindAsset("rrweb-player.js");
  ASSERT_NE(js, nullptr);
  EXPECT_GT(js->bytes.size(), 100'000u);  // the whole bundle, replayer included
  EXPECT_NE(js->bytes.find("rrwebPlayer"), std::string_view::npos);  // the UMD global
  EXPECT_EQ(js->bytes.find("</script"), std::string_view::npos);     // safe to inline
  const Asset* css = FindAsset("rrweb-player.css");
  ASSERT_NE(css, nullptr);
  EXPECT_NE(css->bytes.find(".rr-player"), std::string_view::npos);
}

TEST(UiAssets, UnknownNamesAreNotFound) {
  for (const char* name : {"", "index", "INDEX.HTML", "../index.html", "/index.html",
                           "rrweb-player.js.map", "console.js ", "web/console.js"})
    EXPECT_EQ(FindAsset(name), nullptr) << name;
}

TEST(UiAssets, IndexHasNoInlineScriptOrHandler) {
  const Asset* index = FindAsset("index.html");
  ASSERT_NE(index, nullptr);
  std::string html(index->bytes);
  int scripts = 0;
  const std::regex script_tag("<script([^>]*)>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag);
       it != std::sregex_iterator(); ++it) {
    ++scripts;
    EXPECT_NE((*it)[1].str().find(" src=\""), std::string::npos) << "inline: " << it->str();
  }
  EXPECT_EQ(scripts, 2);  // rrweb-player.js, console.js
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+\\s*=", std::regex::icase)));
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing from another origin
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(UiAssets, PreviewScriptNeverParsesHtmlOrFetches) {
  const Asset* js = FindAsset("preview.js");
  ASSERT_NE(js, nullptr);
  ASSERT_NE(FindAsset("preview.css"), nullptr);
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                           "eval(", "new Function", "srcdoc", "createContextualFragment", "fetch(",
                           "XMLHttpRequest", "Storage", "</script", "<!--"})
    EXPECT_EQ(js->bytes.find(sink), std::string_view::npos) << sink;
  EXPECT_NE(js->bytes.find("scrubd-preview-data"), std::string_view::npos);
}

TEST(UiAssets, ConsoleScriptNeverParsesHtml) {
  const Asset* js = FindAsset("console.js");
  ASSERT_NE(js, nullptr);
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                           "eval(", "new Function", "srcdoc", "createContextualFragment"})
    EXPECT_EQ(js->bytes.find(sink), std::string_view::npos) << sink;
  EXPECT_NE(js->bytes.find("sessionStorage"), std::string_view::npos);
  EXPECT_EQ(js->bytes.find("localStorage"), std::string_view::npos);
}

TEST(UiAssets, CspIsStrict) {
  std::string_view csp = ContentSecurityPolicy();
  EXPECT_NE(csp.find("default-src 'none'"), std::string_view::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string_view::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
  EXPECT_NE(csp.find("object-src 'none'"), std::string_view::npos);
  EXPECT_NE(csp.find("base-uri 'none'"), std::string_view::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string_view::npos);
  EXPECT_EQ(csp.find("*"), std::string_view::npos);
  // 'unsafe-inline' only for styles (the replayer rebuilds recorded <style>), never scripts.
  size_t script = csp.find("script-src");
  EXPECT_EQ(csp.substr(script, csp.find(';', script) - script).find("unsafe-inline"),
            std::string_view::npos);
}

TEST(ServeUi, RootServesIndexAndAssetsByName) {
  server::HttpResponse r = ServeUi("/admin/ui/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, FindAsset("index.html")->bytes);
  ExpectSecurityHeaders(r);
  for (const char* name :
       {"rrweb-player.js", "rrweb-player.css", "console.js", "console.css", "index.html"}) {
    server::HttpResponse a = ServeUi(std::string("/admin/ui/") + name);
    EXPECT_EQ(a.status, 200u) << name;
    EXPECT_EQ(a.body, FindAsset(name)->bytes) << name;
    EXPECT_EQ(a.content_type, FindAsset(name)->content_type) << name;
    ExpectSecurityHeaders(a);
  }
}

TEST(ServeUi, BareMountRedirectsToTheSlash) {
  server::HttpResponse r = ServeUi("/admin/ui");
  EXPECT_EQ(r.status, 308u);
  EXPECT_EQ(HeaderValue(r, "Location"), "/admin/ui/");
  ExpectSecurityHeaders(r);
}

TEST(ServeUi, CraftedPathsAre404AndNeverEchoed) {
  const char* kCanary = "CANARY7f3a<script>alert(1)</script>";
  for (std::string p : {std::string("/admin/ui/../../etc/passwd"), std::string("/admin/ui/%2e%2e/"),
                        std::string("/admin/ui/index.html/"), std::string("/admin/ui//index.html"),
                        std::string("/admin/ui/") + kCanary, std::string("/admin/uix"),
                        std::string("/admin/ui/console.js%00")}) {
    server::HttpResponse r = ServeUi(p);
    EXPECT_EQ(r.status, 404u) << p;
    EXPECT_EQ(r.content_type, "application/json") << p;
    EXPECT_EQ(r.body.find("CANARY"), std::string::npos) << p;
    EXPECT_EQ(r.body.find("passwd"), std::string::npos) << p;
    ExpectSecurityHeaders(r);
  }
}

TEST(ServeUi, PathsUnderTheMount) {
  EXPECT_TRUE(IsUiPath("/admin/ui"));
  EXPECT_TRUE(IsUiPath("/admin/ui/"));
  EXPECT_TRUE(IsUiPath("/admin/ui/console.js"));
  EXPECT_FALSE(IsUiPath("/admin/uix"));
  EXPECT_FALSE(IsUiPath("/admin/u"));
  EXPECT_FALSE(IsUiPath("/admin/api/whoami"));
  EXPECT_FALSE(IsUiPath("/x/admin/ui/"));
}

TEST(HandleUiRequest, MethodsAndHead) {
  server::HttpRequest req;
  req.method = "HEAD";
  req.target = "/admin/ui/console.js?v=1";
  server::HttpResponse head = HandleUiRequest(req);
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.content_type, "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(head);
  req.method = "GET";
  EXPECT_EQ(HandleUiRequest(req).body, FindAsset("console.js")->bytes);  // query ignored
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    req.method = m;
    server::HttpResponse r = HandleUiRequest(req);
    EXPECT_EQ(r.status, 405u) << m;
    EXPECT_EQ(HeaderValue(r, "Allow"), "GET, HEAD");
    ExpectSecurityHeaders(r);
  }
}

}  // namespace
}  // namespace scrubd::ui
