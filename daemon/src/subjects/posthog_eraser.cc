// PostHog person API, as documented (posthog.com/docs/api/persons and
// posthog.com/docs/privacy/data-deletion) and as posthog/api/person.py serves it:
//   GET    /api/projects/:project_id/persons/?distinct_id=<id>  -> {"results": [{"uuid",
//          "distinct_ids", ...}], "next": <absolute URL or null>}   (limit/offset pages)
//   DELETE /api/projects/:project_id/persons/:uuid/?delete_events=true&delete_recordings=true
//          -> 202 (older releases 204); 404 when the person is gone.
// Authorization: Bearer <personal API key>. Logs carry HTTP codes and counts only.
#include "subjects/posthog_eraser.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <string_view>

namespace scrubd::subjects {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

constexpr size_t kMaxKeyBytes = 512;
constexpr size_t kMaxLookupBody = 4u << 20;  // a page of 100 persons with their properties
constexpr size_t kMaxPagesPerId = 20;        // 2,000 persons for one distinct id: never real
constexpr size_t kMaxNextQuery = 2048;

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

Status CheckHost(const std::string& api_host) {
  Result<sink::UpstreamUrl> url = sink::ParseUpstreamUrl(api_host);
  if (!url.ok()) return Status::InvalidConfig("posthog_api_host: " + url.status().message());
  if (!url->tls && !IsLoopback(url->host))
    return Status::InvalidConfig(
        "posthog_api_host: must be https:// (http:// only to a loopback address), the personal "
        "API key is sent with every call");
  return Status::Ok();
}

Status CheckProjectId(const std::string& id) {
  if (id.empty() || id.size() > 20 || id.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidConfig(
        "posthog_project_id: must be the numeric project id (1-20 digits)");
  return Status::Ok();
}

Result<std::string> ReadKeyFile(const std::filesystem::path& file, Env* env) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return Status::InvalidConfig(file.string() + ": cannot stat the PostHog API key file");
  if (!S_ISREG(st.st_mode))
    return Status::InvalidConfig(file.string() + ": the PostHog API key file is not a file");
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidConfig(file.string() + ": PostHog API key file must be mode 0600, is " +
                                 mode);
  }
  Result<std::string> raw = env->ReadFile(file);
  if (!raw.ok())
    return Status::InvalidConfig(file.string() + ": cannot read the PostHog API key file");
  std::string key = std::move(raw).value();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!key.empty() && space(key.back())) key.pop_back();
  size_t lead = 0;
  while (lead < key.size() && space(key[lead])) ++lead;
  key.erase(0, lead);
  if (key.empty()) return Status::InvalidConfig(file.string() + ": the PostHog API key is empty");
  if (key.size() > kMaxKeyBytes)
    return Status::InvalidConfig(file.string() + ": the PostHog API key is too long");
  for (char c : key)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return Status::InvalidConfig(file.string() +
                                   ": the PostHog API key must be one token of printable ASCII");
  return key;
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// 8-4-4-4-12 hex: the only shape that goes into a DELETE path (a hostile or broken upstream
// cannot steer the request elsewhere with "../" or a query).
bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::optional<milliseconds> RetryAfterOf(const sink::UpstreamResponse& r) {
  for (const auto& [k, v] : r.headers)
    if (k == "retry-after" && !v.empty() && v.size() <= 9 &&
        v.find_first_not_of("0123456789") == std::string::npos)
      return std::min<milliseconds>(milliseconds(std::stoll(v) * 1000), kMaxRetryAfter);
  return std::nullopt;  // absent, or the HTTP-date form: the backoff schedule applies
}

// What one HTTP answer means for the attempt; `phase` is "lookup" or "delete".
UpstreamEraseResult Classify(const sink::UpstreamResponse& r, std::string_view phase) {
  UpstreamEraseResult out;
  out.detail = std::string(phase) + "_http_" + std::to_string(r.status);
  if (r.status == 429 || r.status == 408 || r.status >= 500) {
    out.outcome = EraseAttempt::kRetry;
    out.retry_after = RetryAfterOf(r).value_or(milliseconds(0));
  } else {
    out.outcome = EraseAttempt::kFailed;  // 401/403 (key or scope), other 4xx, odd 1xx/3xx
  }
  return out;
}

// One lookup page: the uuids of the persons that carry `distinct_id`, and the next page's
// query ("" when none). An empty result with `outcome` kDone means the page parsed.
struct Page {
  UpstreamEraseResult verdict;  // kDone when the page parsed and checked out
  std::vector<std::string> uuids;
  std::string next_query;
};

Status CheckPerson(const json::value& p, const std::string& distinct_id, std::string* uuid) {
  const json::object* o = p.if_object();
  if (!o) return Status::InvalidInput("lookup_bad_shape");
  const json::value* u = o->if_contains("uuid");
  if (!u || !u->is_string() || !IsUuid(u->get_string()))
    return Status::InvalidInput("lookup_bad_uuid");
  // PostHog ignores a filter it does not know: a person listed without the id asked for means
  // the filter was not applied, and deleting the list would delete other people.
  const json::value* ids = o->if_contains("distinct_ids");
  if (!ids || !ids->is_array()) return Status::InvalidInput("lookup_bad_shape");
  bool carries = std::any_of(
      ids->get_array().begin(), ids->get_array().end(),
      [&](const json::value& v) { return v.is_string() && v.get_string() == distinct_id; });
  if (!carries) return Status::InvalidInput("lookup_unfiltered");
  *uuid = std::string(u->get_string());
  return Status::Ok();
}

Status NextQueryOf(const json::object& page, std::string* next_query) {
  const json::value* next = page.if_contains("next");
  if (!next || next->is_null()) return Status::Ok();
  if (!next->is_string()) return Status::InvalidInput("lookup_bad_next");
  std::string_view url = next->get_string();
  // Only the query is taken: the path is ours and the host is the configured one, so the
  // bearer key is never sent to a host named by a response.
  size_t q = url.find('?');
  if (q == std::string_view::npos || url.size() - q - 1 > kMaxNextQuery)
    return Status::InvalidInput("lookup_bad_next");
  std::string_view query = url.substr(q + 1);
  for (char c : query)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '#')
      return Status::InvalidInput("lookup_bad_next");
  *next_query = std::string(query);
  return Status::Ok();
}

// Malformed JSON is kRetry (a proxy's error page or a truncated body is transient); valid JSON
// of the wrong shape is kFailed (the API changed or the filter was ignored: an operator must
// look, retrying cannot help).
Page ParsePage(const std::string& body, const std::string& distinct_id) {
  Page page;
  page.verdict.outcome = EraseAttempt::kFailed;
  if (body.size() > kMaxLookupBody) {
    page.verdict.detail = "lookup_too_large";
    return page;
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    page.verdict.outcome = EraseAttempt::kRetry;
    page.verdict.detail = "lookup_bad_json";
    return page;
  }
  const json::object* o = v.if_object();
  const json::value* results = o ? o->if_contains("results") : nullptr;
  if (!results || !results->is_array()) {
    page.verdict.detail = "lookup_bad_shape";
    return page;
  }
  for (const json::value& p : results->get_array()) {
    std::string uuid;
    if (Status s = CheckPerson(p, distinct_id, &uuid); !s.ok()) {
      page.verdict.detail = s.message();
      return page;
    }
    page.uuids.push_back(std::move(uuid));
  }
  if (Status s = NextQueryOf(*o, &page.next_query); !s.ok()) {
    page.verdict.detail = s.message();
    return page;
  }
  page.verdict.outcome = EraseAttempt::kDone;
  return page;
}

class PosthogEraser : public UpstreamEraser {
 public:
  PosthogEraser(PosthogEraseConfig cfg, sink::UpstreamClient* client)
      : cfg_(std::move(cfg)), client_(client) {}

  UpstreamEraseResult Erase(const std::vector<std::string>& distinct_ids) override {
    std::set<std::string> uuids;  // dedupes a person reached through several distinct ids
    for (const std::string& id : distinct_ids) {
      if (id.empty()) continue;
      UpstreamEraseResult r = Lookup(id, &uuids);
      if (r.outcome != EraseAttempt::kDone) return Finish(std::move(r), uuids.size(), 0);
    }
    uint64_t deleted = 0;
    for (const std::string& uuid : uuids) {
      UpstreamEraseResult r = Delete(uuid);
      if (r.outcome != EraseAttempt::kDone) return Finish(std::move(r), uuids.size(), deleted);
      ++deleted;
    }
    UpstreamEraseResult done;
    done.outcome = EraseAttempt::kDone;
    done.detail = uuids.empty() ? "no_person" : "deleted";
    return Finish(std::move(done), uuids.size(), deleted);
  }

 private:
  std::string PersonsPath() const { return "/api/projects/" + cfg_.project_id + "/persons/"; }

  sink::UpstreamRequest Request(std::string method, std::string target) const {
    sink::UpstreamRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = {{"Authorization", "Bearer " + cfg_.api_key}, {"Accept", "application/json"}};
    return req;
  }

  UpstreamEraseResult Lookup(const std::string& id, std::set<std::string>* uuids) {
    std::string query = "distinct_id=" + PercentEncode(id);
    for (size_t page_no = 0; page_no < kMaxPagesPerId; ++page_no) {
      Result<sink::UpstreamResponse> resp =
          client_->Exchange(Request("GET", PersonsPath() + "?" + query));
      if (!resp.ok()) return Network("lookup");
      if (resp->status < 200 || resp->status >= 300) return Classify(*resp, "lookup");
      Page page = ParsePage(resp->body, id);
      if (page.verdict.outcome != EraseAttempt::kDone) return page.verdict;
      uuids->insert(page.uuids.begin(), page.uuids.end());
      if (page.next_query.empty() || page.next_query == query) return page.verdict;
      query = std::move(page.next_query);
    }
    // More pages than any real person has: delete what was found, then report kRetry (offsets
    // shift as persons go, so the next attempt sees the rest).
    page_cap_hit_ = true;
    UpstreamEraseResult more;
    more.outcome = EraseAttempt::kDone;
    return more;
  }

  UpstreamEraseResult Delete(const std::string& uuid) {
    Result<sink::UpstreamResponse> resp = client_->Exchange(
        Request("DELETE", PersonsPath() + uuid + "/?delete_events=true&delete_recordings=true"));
    if (!resp.ok()) return Network("delete");
    UpstreamEraseResult r;
    if ((resp->status >= 200 && resp->status < 300) || resp->status == 404) {
      r.outcome = EraseAttempt::kDone;
      return r;
    }
    return Classify(*resp, "delete");
  }

  static UpstreamEraseResult Network(std::string_view phase) {
    UpstreamEraseResult r;
    r.outcome = EraseAttempt::kRetry;
    r.detail = std::string(phase) + "_network";
    return r;
  }

  UpstreamEraseResult Finish(UpstreamEraseResult r, uint64_t found, uint64_t deleted) {
    r.persons_found = found;
    r.persons_deleted = deleted;
    if (r.outcome == EraseAttempt::kDone && page_cap_hit_) {
      r.outcome = EraseAttempt::kRetry;
      r.detail = "lookup_page_cap";
    }
    page_cap_hit_ = false;
    const char* what = r.outcome == EraseAttempt::kDone    ? "done"
                       : r.outcome == EraseAttempt::kRetry ? "retry"
                                                           : "failed";
    auto level = r.outcome == EraseAttempt::kFailed  ? spdlog::level::err
                 : r.outcome == EraseAttempt::kRetry ? spdlog::level::warn
                                                     : spdlog::level::info;
    spdlog::log(level, "posthog erasure: {} ({}); persons found={} deleted={}", what, r.detail,
                found, deleted);
    return r;
  }

  PosthogEraseConfig cfg_;
  sink::UpstreamClient* client_;
  bool page_cap_hit_ = false;
};

}  // namespace

Result<PosthogEraseConfig> LoadPosthogEraseConfig(const std::string& api_host,
                                                  const std::string& project_id,
                                                  const std::filesystem::path& key_file, Env* env) {
  if (Status s = CheckHost(api_host); !s.ok()) return s;
  if (Status s = CheckProjectId(project_id); !s.ok()) return s;
  Result<std::string> key = ReadKeyFile(key_file, env ? env : Env::Default());
  if (!key.ok()) return key.status();
  return PosthogEraseConfig{api_host, project_id, std::move(key).value()};
}

Result<std::unique_ptr<sink::UpstreamClient>> MakePosthogApiClient(const PosthogEraseConfig& cfg,
                                                                   bool insecure) {
  Result<sink::UpstreamUrl> url = sink::ParseUpstreamUrl(cfg.api_host);
  if (!url.ok()) return Status::InvalidConfig("posthog_api_host: " + url.status().message());
  sink::ClientOptions opts;
  opts.max_response_bytes = 2 * kMaxLookupBody;  // larger: over kMaxLookupBody is kFailed
  opts.insecure = insecure;
  return sink::MakeBeastClient(std::move(url).value(), opts);
}

std::unique_ptr<UpstreamEraser> MakePosthogEraser(PosthogEraseConfig cfg,
                                                  sink::UpstreamClient* client) {
  return std::make_unique<PosthogEraser>(std::move(cfg), client);
}

milliseconds RetryDelay(uint32_t attempt, double unit_random) {
  int n = static_cast<int>(std::clamp<uint32_t>(attempt, 1, 64));
  return sink::BackoffDelay(sink::BackoffPolicy{kRetryBase, kRetryMax}, n, unit_random);
}

milliseconds RetryDelay(uint32_t attempt) {
  thread_local std::mt19937_64 gen(std::random_device{}());
  return RetryDelay(attempt, std::uniform_real_distribution<double>(0.0, 1.0)(gen));
}

milliseconds NextRetryDelay(const UpstreamEraseResult& r, uint32_t attempt) {
  return std::max(RetryDelay(attempt), r.retry_after);
}

}  // namespace scrubd::subjects
