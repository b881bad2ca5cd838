// Writes the seed corpora of the fuzz targets from the captured posthog-js fixtures:
//   OUT/decode/   every request body as captured
//   OUT/cv/       every nested cv field, as raw gzip bytes
//   OUT/dom/      every recording's rrweb events (cv decoded) as one JSON array
//   OUT/scanner/  "key\nvalue" for the string values of the decoded events
//   OUT/tcf/      the TC strings of the IAB reference vectors (consent/testdata)
// Usage: fuzz_seeds FIXTURE_DIR... OUT. Test tool; not built into scrubd.
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "dom/testing/fixture_codec.h"
#include "ingest/decode.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const char kTcfVectors[] =
#include "consent/testdata/tcf_vectors.inc"
    ;

void Write(const fs::path& dir, const std::string& name, std::string_view data) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(data.data(), std::streamsize(data.size()));
}

// The raw cv fields of one still-encoded rrweb event.
void CvFields(const json::value& ev, std::vector<std::string>* out) {
  if (!ev.is_object() || !ev.get_object().contains("cv")) return;
  const json::value* d = ev.get_object().if_contains("data");
  auto take = [&](const json::value& f) {
    if (!f.is_string()) return;
    auto bytes = scrubd::ingest::Latin1ToBytes(f.get_string());
    if (bytes.ok()) out->push_back(*bytes);
  };
  if (!d) return;
  take(*d);
  if (d->is_object())
    for (const auto& kv : d->get_object()) take(kv.value());
}

void Strings(const json::value& v, std::string_view key, std::set<std::string>* out) {
  if (v.is_string() && out->size() < 400)
    out->insert(std::string(key) + "\n" + std::string(v.get_string()));
  if (v.is_array())
    for (const auto& e : v.get_array()) Strings(e, key, out);
  if (v.is_object())
    for (const auto& kv : v.get_object()) Strings(kv.value(), kv.key(), out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fputs("usage: fuzz_seeds FIXTURE_DIR... OUT\n", stderr);
    return 2;
  }
  fs::path out = argv[argc - 1];
  int n = 0;
  std::set<std::string> strings;
  for (int a = 1; a < argc - 1; ++a) {
    for (const auto& e : fs::directory_iterator(argv[a])) {
      if (e.path().extension() != ".body") continue;
      std::string stem = fs::path(argv[a]).filename().string() + "-" + e.path().stem().string();
      auto raw = scrubd::dom::testing::ReadFile(e.path().string());
      if (!raw.ok()) continue;
      Write(out / "decode", stem, *raw);
      auto text = scrubd::dom::testing::Gunzip(*raw);
      json::error_code ec;
      json::value body = json::parse(text.ok() ? *text : *raw, ec);
      std::vector<std::string> cv;
      if (!ec) {
        json::array events = body.is_array() ? body.get_array() : json::array{body};
        for (const auto& ev : events) {
          const json::value* p =
              ev.is_object() ? ev.get_object().if_contains("properties") : nullptr;
          const json::value* sd =
              p && p->is_object() ? p->get_object().if_contains("$snapshot_data") : nullptr;
          if (sd && sd->is_array())
            for (const auto& item : sd->get_array()) CvFields(item, &cv);
        }
      }
      for (size_t i = 0; i < cv.size(); ++i)
        Write(out / "cv", stem + "-" + std::to_string(i), cv[i]);
      auto rec = scrubd::dom::testing::LoadSnapshotEvents(e.path().string());
      if (rec.ok() && !rec->empty()) {
        json::array arr(rec->begin(), rec->end());
        Write(out / "dom", stem, json::serialize(arr));
        for (const auto& ev : *rec) Strings(ev, "", &strings);
      }
      ++n;
    }
  }
  int i = 0;
  for (const auto& s : strings) Write(out / "scanner", std::to_string(i++), s);
  const json::value tcf = json::parse(kTcfVectors);
  for (const auto& v : tcf.as_array())
    Write(out / "tcf", std::string(v.at("name").as_string()), v.at("tc").as_string());
  // Cookie headers as browsers send them, with each consent platform's cookie.
  const char* cookies[] = {
      "euconsent-v2=CPc8G0APc8G0AAHABBENCZCsAP_AAH_AAAqIHWtf_X_fb39j-_59_9t0eY1f9_7_v-0zjheds-8Nyd_"
      "X_L8X42M7vF36pq4KuR4Eu3LBIQdlHOHcTUmw6okVrzPsbk2Mr7NKJ7PEmnMbO2dYGH9_n93TuZKY7__8___z__-v_v_"
      "___"
      "f_r-3_3__59X---_e_V399zLv9__3__"
      "9gfaASYal8AF2JY4Mk0aVQogQhWEh0AoAKKEYWiawgZXBTsrgI9QQMAEBqAjAiBBiCjFgEAAAAASURASAHggEQBEAgAB"
      "ACpAQgAIkAQWAFgYBAAKAaFiBFAEIEhBkcFRymBARItFBPJWAJRd7GmEIZRYAUCj-iowEShBAsDISFg4AAA."
      "YAAAAAAAAAAA; "
      "OptanonConsent=isGpcEnabled=0&datestamp=Mon+Nov+06+2023&version=202310.1.0&groups=C0001%3A1%"
      "2CC0002%3A1%2CC0003%3A0&interactionCount=1",
      "CookieConsent={stamp:%27-1%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%"
      "2Cmarketing:true%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1700000000000%2Cregion:%27de%27}; "
      "_ga=1",
      "CookieConsent=-1; site_consent=yes; a=\"quoted\"; =novalue; x",
  };
  i = 0;
  for (const char* c : cookies) Write(out / "cookie", std::to_string(i++), c);
  std::printf("fuzz_seeds: %d bodies, %zu scanner strings -> %s\n", n, strings.size(), out.c_str());
  return n > 0 ? 0 : 1;
}
