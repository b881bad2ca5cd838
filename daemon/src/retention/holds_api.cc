// Hold placement / release with their audit entries, and the /admin/holds routes.
#include "retention/holds_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <mutex>
#include <optional>

#include "ingest/decode.h"
#include "retention/strict_json.h"
#include "scrubd/audit/log.h"
#include "server/keys.h"
#include "subjects/deadlines.h"
#include "subjects/facts.h"

namespace scrubd::retention {
namespace json = boost::json;

namespace {

constexpr size_t kMaxBodyBytes = 16 << 10;
constexpr size_t kMaxIdBytes = 512;

std::mutex& ChangeMutex() {  // one place or release at a time: check, audit, write
  static std::mutex mu;
  return mu;
}

Status CheckRaw(std::string_view value, const char* field) {
  if (value.size() > kMaxIdBytes)
    return Status::InvalidInput(std::string(field) + " is at most 512 bytes");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidInput(std::string(field) + " has control characters");
  return Status::Ok();
}

// The hold a request describes, seeds computed, not yet stored.
Result<Hold> HoldOf(const subjects::Stores& stores, const HoldRequest& req) {
  if (req.distinct_id.empty() == req.session_id.empty())
    return Status::InvalidInput("give one of distinct_id or session");
  if (!req.token.empty() && req.session_id.empty())
    return Status::InvalidInput("token goes with a session hold only");
  for (const auto& [v, f] : {std::pair{&req.distinct_id, "distinct_id"},
                             {&req.session_id, "session"},
                             {&req.token, "token"}})
    if (Status s = CheckRaw(*v, f); !s.ok()) return s;
  Hold h;
  h.reason = req.reason;
  if (!req.session_id.empty()) {
    h.kind = kHoldSession;
    h.session_id = req.session_id;
    h.token = req.token;
    return h;
  }
  h.kind = kHoldDistinctId;
  if (subjects::IsIllegalIdentifier(req.distinct_id))
    return Status::InvalidInput("distinct_id is a value PostHog never uses as a person id");
  Result<std::vector<std::pair<std::string, std::string>>> seeds =
      subjects::SeedsOf(stores, {subjects::Identity{"distinct_id", req.distinct_id, "raw"}});
  if (!seeds.ok()) return seeds.status();
  for (const auto& [token, node] : *seeds) h.seeds.push_back(subjects::JoinSeed(token, node));
  if (h.seeds.empty())
    return Status::InvalidInput(
        "distinct_id: no project has recorded data yet (a hold covers the projects seen)");
  return h;
}

// What the audit log says a hold is about: pseudonyms only.
json::object Target(const Hold& h, const subjects::Stores& stores) {
  if (h.kind == kHoldSession)
    return {{"session", server::Pseudonym(stores.pseudonym_key, h.session_id)},
            {"any_token", h.token.empty()}};
  return {{"subject", subjects::SubjectId(stores, h.seeds)}, {"seeds", h.seeds.size()}};
}

subjects::ApiReply Error(unsigned status, std::string_view code, std::string_view message) {
  return subjects::ErrorReply(status, code, message);
}

subjects::ApiReply FromStatus(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidInput: return Error(400, "invalid_input", s.message());
    case Code::kNotFound: return Error(404, "not_found", s.message());
    case Code::kTooLarge: return Error(413, "too_large", s.message());
    default: return Error(503, "unavailable", "holds are unavailable; retry later");
  }
}

// {"distinct_id" | "session", "token"?, "reason"}: strings only, nothing else.
Result<HoldRequest> ParseBody(const std::string& body) {
  Result<json::value> parsed = ParseStrict(body, 4);  // a key given twice is refused
  if (!parsed.ok()) return Status::InvalidInput("body must be a JSON object");
  const json::value& v = *parsed;
  if (!v.is_object()) return Status::InvalidInput("body must be a JSON object");
  HoldRequest r;
  for (const auto& kv : v.as_object()) {
    std::string* field = kv.key() == "distinct_id" ? &r.distinct_id
                         : kv.key() == "session"   ? &r.session_id
                         : kv.key() == "token"     ? &r.token
                         : kv.key() == "reason"    ? &r.reason
                                                   : nullptr;
    if (!field)
      return Status::InvalidInput("unknown field (allowed: distinct_id, session, token, reason)");
    if (!kv.value().is_string())
      return Status::InvalidInput(std::string(kv.key()) + " must be a string");
    *field = std::string(kv.value().as_string());
  }
  return r;
}

subjects::ApiReply List(const HoldsContext& ctx, std::string_view query) {
  std::optional<std::string> all = ingest::FormValue(query, "all");
  if (all && *all != "1" && *all != "true" && *all != "0" && *all != "false")
    return Error(400, "invalid_input", "all must be 1, true, 0 or false");
  Result<std::vector<Hold>> holds = ctx.holds->List(all && (*all == "1" || *all == "true"));
  if (!holds.ok()) return FromStatus(holds.status());
  return {200, "application/json", HoldsJson(*holds, *ctx.stores)};
}

}  // namespace

Result<Hold> PlaceHold(const HoldsContext& ctx, const HoldRequest& req, std::string_view caller) {
  if (!ctx.holds || !ctx.stores || !ctx.stores->audit)
    return Status::Internal("holds need the hold store and the audit log");
  Result<Hold> h = HoldOf(*ctx.stores, req);
  if (!h.ok()) return h.status();
  std::lock_guard lock(ChangeMutex());
  std::unique_lock gate(ctx.holds->gate());  // no purge batch or erasure deletes meanwhile
  Result<Hold> added = ctx.holds->Add(std::move(h).value());
  if (!added.ok()) return added.status();
  json::object entry{{"hold_id", added->id}, {"kind", added->kind}, {"caller", caller}};
  for (const auto& kv : Target(*added, *ctx.stores)) entry[kv.key()] = kv.value();
  Result<uint64_t> seq = ctx.stores->audit->Append("hold_added", json::serialize(entry));
  if (!seq.ok()) {
    spdlog::error("hold {} is in place but its audit entry failed: {}", added->id,
                  seq.status().ToString());
    return Status::Unavailable("hold " + added->id + " is in place but its audit entry failed");
  }
  spdlog::info("hold {} added kind={}", added->id, added->kind);
  return added;
}

Result<Hold> ReleaseHold(const HoldsContext& ctx, const std::string& id, std::string_view caller) {
  if (!ctx.holds || !ctx.stores || !ctx.stores->audit)
    return Status::Internal("holds need the hold store and the audit log");
  if (!IsHoldId(id)) return Status::InvalidInput("a hold id is hold_ and 16 hex digits");
  std::optional<Hold> released;
  {
    std::lock_guard lock(ChangeMutex());
    Result<std::vector<Hold>> all = ctx.holds->List(true);
    if (!all.ok()) return all.status();
    auto it = std::find_if(all->begin(), all->end(), [&](const Hold& h) { return h.id == id; });
    if (it == all->end()) return Status::NotFound("no such hold");
    if (it->released_ms != 0) return Status::InvalidInput("the hold is already released");
    json::object entry{{"hold_id", id}, {"kind", it->kind}, {"caller", caller}};
    if (Result<uint64_t> seq = ctx.stores->audit->Append("hold_released", json::serialize(entry));
        !seq.ok())
      return seq.status();
    Result<Hold> r = ctx.holds->Release(id);
    if (!r.ok()) return r.status();
    released = std::move(r).value();
  }
  spdlog::info("hold {} released", id);
  if (ctx.on_release) ctx.on_release();
  return *released;
}

std::string HoldJson(const Hold& h, const subjects::Stores& stores) {
  json::object o{{"hold_id", h.id},
                 {"kind", h.kind},
                 {"status", h.released_ms ? "released" : "active"},
                 {"reason", h.reason},
                 {"created_time", subjects::FormatRfc3339Ms(h.created_ms)}};
  if (h.kind == kHoldSession) {
    o["session_id"] = h.session_id;
    o["token"] = h.token;
  } else {
    o["subject"] = subjects::SubjectId(stores, h.seeds);
  }
  if (h.released_ms) o["released_time"] = subjects::FormatRfc3339Ms(h.released_ms);
  return json::serialize(o);
}

std::string HoldsJson(const std::vector<Hold>& holds, const subjects::Stores& stores) {
  json::array a;
  for (const Hold& h : holds) a.push_back(json::parse(HoldJson(h, stores)));
  return json::serialize(json::object{{"holds", std::move(a)}});
}

subjects::ApiReply HandleAdminHolds(const HoldsContext& ctx, const subjects::ApiRequest& req,
                                    std::string_view caller) {
  constexpr std::string_view kBase = "/admin/holds";
  std::string_view target = req.path;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (!path.starts_with(kBase)) return Error(404, "not_found", "unknown holds endpoint");
  std::string_view rest = path.substr(kBase.size());
  if (rest.empty() || rest == "/") {
    if (req.method == "GET") return List(ctx, query);
    if (req.method != "POST") return Error(405, "method_not_allowed", "use GET or POST");
    if (req.body.size() > kMaxBodyBytes) return Error(413, "too_large", "body too large");
    Result<HoldRequest> parsed = ParseBody(req.body);
    if (!parsed.ok()) return FromStatus(parsed.status());
    Result<Hold> h = PlaceHold(ctx, *parsed, caller);
    if (!h.ok()) return FromStatus(h.status());
    return {201, "application/json", HoldJson(*h, *ctx.stores)};
  }
  constexpr std::string_view kRelease = "/release";
  if (!rest.starts_with('/') || !rest.ends_with(kRelease) || rest.size() <= kRelease.size() + 1)
    return Error(404, "not_found", "unknown holds endpoint");
  std::string id(rest.substr(1, rest.size() - 1 - kRelease.size()));
  if (!IsHoldId(id)) return Error(400, "invalid_input", "a hold id is hold_ and 16 hex digits");
  if (req.method != "POST") return Error(405, "method_not_allowed", "use POST");
  Result<Hold> h = ReleaseHold(ctx, id, caller);
  if (!h.ok()) return FromStatus(h.status());
  return {200, "application/json", HoldJson(*h, *ctx.stores)};
}

}  // namespace scrubd::retention
