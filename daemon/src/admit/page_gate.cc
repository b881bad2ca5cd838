// Page tracking for blocking.urls. The verdict, never the URL, is kept per window.
#include "admit/page_gate.h"

#include <boost/json.hpp>
#include <optional>
#include <vector>

#include "admit/url_canon.h"
#include "dom/page_state.h"
#include "dom/state_store.h"

namespace scrubd::admit {
namespace {

namespace json = boost::json;
using Page = dom::PageState::Page;

Page VerdictFor(const policies::BlockingPolicy& b, std::string_view url) {
  return UrlBlocked(b, url) ? Page::kBlocked : Page::kAllowed;
}

const json::string* StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

// The page an analytics event reports: blocked when $current_url or $pathname matches,
// allowed when either is present, unknown without them.
Page EventPage(const json::object& ev, const policies::BlockingPolicy& b) {
  const json::value* props = ev.if_contains("properties");
  if (!props || !props->is_object()) return Page::kUnknown;
  Page page = Page::kUnknown;
  for (std::string_view key : {"$current_url", "$pathname"}) {
    const json::string* url = StringAt(props->get_object(), key);
    if (!url) continue;
    if (UrlBlocked(b, *url)) return Page::kBlocked;
    page = Page::kAllowed;
  }
  return page;
}

// The page an rrweb event navigates to: a Meta (4) href, or a custom (5) `$url_changed` /
// `$pageview` event's payload href. Unknown for every other event.
Page NavigationPage(const json::value& r, const policies::BlockingPolicy& b) {
  if (!r.is_object()) return Page::kUnknown;
  const json::object& o = r.get_object();
  const json::value* t = o.if_contains("type");
  const json::value* d = o.if_contains("data");
  if (!t || !t->is_int64() || !d || !d->is_object()) return Page::kUnknown;
  const json::object& data = d->get_object();
  if (t->get_int64() == 4) {
    const json::string* href = StringAt(data, "href");
    return href ? VerdictFor(b, *href) : Page::kUnknown;
  }
  if (t->get_int64() != 5) return Page::kUnknown;
  const json::string* tag = StringAt(data, "tag");
  if (!tag || (*tag != "$url_changed" && *tag != "$pageview")) return Page::kUnknown;
  const json::value* payload = data.if_contains("payload");
  if (!payload || !payload->is_object()) return Page::kUnknown;
  for (std::string_view key : {"href", "url", "$current_url"})
    if (const json::string* href = StringAt(payload->get_object(), key))
      return VerdictFor(b, *href);
  return Page::kUnknown;
}

bool Drops(Page page, const policies::BlockingPolicy& b) {
  return page == Page::kBlocked || (page == Page::kUnknown && b.unknown_url_drop);
}

// A recording: rrweb events in order; a navigation changes the page for what follows it.
bool FilterRecording(ingest::Event& ev, const policies::BlockingPolicy& b, dom::PageState* state,
                     std::map<std::string, uint64_t>* dropped, uint64_t* events_in) {
  json::array* items = ingest::SnapshotItems(ev.json);
  if (!items) return true;  // not a recording shape: ScrubEvent decides
  Page page = state->Under(b.urls_fingerprint);
  std::vector<bool> drop(items->size());
  uint64_t n = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    if (Page nav = NavigationPage((*items)[i], b); nav != Page::kUnknown) page = nav;
    drop[i] = Drops(page, b);
    n += drop[i];
  }
  if (page != Page::kUnknown) state->Set(page, b.urls_fingerprint);
  if (n == 0) return true;
  json::array kept(items->storage());
  kept.reserve(items->size() - n);
  for (size_t i = 0; i < items->size(); ++i)
    if (!drop[i]) kept.emplace_back(std::move((*items)[i]));
  *items = std::move(kept);
  (*dropped)["blocked_page"] += n;
  *events_in += n;
  if (!items->empty()) return true;
  if (ev.undecodable) {
    (*dropped)["undecodable"] += ev.undecodable;
    *events_in += ev.undecodable;
  }
  return false;
}

}  // namespace

// Both the URL as sent and its canonical form (admit/url_canon.h) are matched: an encoding
// of a blocked page is blocked, and a pattern written against the raw text still matches it.
bool UrlBlocked(const policies::BlockingPolicy& b, std::string_view url) {
  if (b.urls.empty()) return false;
  const std::string canonical = CanonicalUrl(url);
  for (const auto& re : b.urls)
    if (RE2::PartialMatch(canonical, *re) || RE2::PartialMatch(url, *re)) return true;
  return false;
}

bool PageGate::Apply(ingest::Event& ev, const policies::Policy& policy,
                     std::map<std::string, uint64_t>* dropped, uint64_t* events_in) const {
  const policies::BlockingPolicy& b = policy.blocking;
  if (b.urls.empty()) return true;
  std::optional<dom::StateStore::Lease> lease;
  dom::PageState local;  // no store or no window: nothing carries over
  dom::PageState* state = &local;
  if (state_ && !ev.window_id.empty()) {
    lease.emplace(state_->Acquire(ev.token, ev.session_id, ev.window_id));
    state = &lease->state().page();
  }
  if (ev.is_snapshot) return FilterRecording(ev, b, state, dropped, events_in);
  Page own = EventPage(ev.json, b);
  if (own != Page::kUnknown) state->Set(own, b.urls_fingerprint);
  Page page = own != Page::kUnknown ? own : state->Under(b.urls_fingerprint);
  // An event that names no page and no window (server-side capture) is judged by its own URL.
  bool drop = page == Page::kBlocked ||
              (page == Page::kUnknown && !ev.window_id.empty() && b.unknown_url_drop);
  if (!drop) return true;
  (*dropped)["blocked_page"]++;
  (*events_in)++;
  return false;
}

}  // namespace scrubd::admit
