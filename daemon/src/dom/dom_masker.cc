#include "dom/dom_masker.h"

#include <boost/json.hpp>

#include "dom/css.h"
#include "dom/masker.h"
#include "dom/schema.h"

// Event dispatch, Input events, CSS rule events and plugins; the node walk is in
// snapshot_walk.cc, mutations in mutation.cc (dom/masker.h).
namespace scrubd::dom {
namespace masker_internal {

namespace {

// What rrweb sends as the `text` of an unmasked checkbox or radio: its state word. Any other
// text is a value the page (or a forged event) put there: masked.
bool IsCheckboxDefault(const json::value& text) {
  if (!text.is_string()) return false;
  std::string_view s = text.as_string();
  return s == "on" || s == "off" || s.empty();
}

}  // namespace

Verdict Masker::Input(json::object& data) {
  auto id = NodeId(data, "id");
  const WindowState::Node* n = id ? Live(*id) : nullptr;
  json::value* text = data.if_contains("text");
  if (n == nullptr) {
    Count("dom.unknown_id", "mask");
    if (text) MaskString(*text, true, "dom.input");
    UnknownFields(
        data, [](std::string_view k) { return KnownIncrementalField(5, k); }, kUnknownRegion);
    return Verdict::kKeep;
  }
  if (n->flags & nf::kDropped) {
    Count("dom.block", "drop");
    return Verdict::kDrop;
  }
  TagKind tag = GetTag(n->flags);
  bool field = IsFormField(tag) && (n->flags & nf::kKindMask) == nf::kKindElement;
  if (text && (!field || (n->flags & (nf::kInputMasked | nf::kSelfBlock))))
    MaskString(*text, true, "dom.input");
  else if (text && (n->flags & nf::kStateOnly) && !IsCheckboxDefault(*text))
    MaskString(*text, true, "dom.input");  // a checkbox / radio reports only on/off itself
  UnknownFields(
      data, [](std::string_view k) { return KnownIncrementalField(5, k); },
      field ? n->flags : n->flags | nf::kInputMasked);
  return Verdict::kKeep;
}

// StyleSheetRule / StyleDeclaration / AdoptedStyleSheet: rule text of a sheet owned by node
// `id` follows the owner's region. Without `id` (constructed sheets known by styleId only)
// the owner is unknown to rrweb's own model and the text is left to the detector pass.
Verdict Masker::CssRules(json::object& data) {
  const json::value* idv = data.if_contains("id");
  if (idv == nullptr) return Verdict::kKeep;
  auto id = NodeId(idv);
  const WindowState::Node* n = id ? Live(*id) : nullptr;
  if (n != nullptr && (n->flags & nf::kDropped)) {
    Count("dom.block", "drop");
    return Verdict::kDrop;
  }
  if (n == nullptr) Count("dom.unknown_id", "mask");
  if (n == nullptr || CssMasked(n->flags)) {
    ForEachCssTextField(data, [&](json::value& v) { MaskCss(v); });
  }
  return Verdict::kKeep;
}

Verdict Masker::Plugin(json::object& data) {
  std::string_view plugin;
  if (const json::value* p = data.if_contains("plugin"); p && p->is_string())
    plugin = p->get_string();
  if (plugin == "rrweb/console@1") {
    if (p_.console == policies::PluginAction::kDrop) {
      Count("dom.console", "drop");
      return Verdict::kDrop;
    }
    return Verdict::kKeep;  // strings scrubbed by the generic pass
  }
  if (plugin != "rrweb/network@1") return Verdict::kKeep;
  if (p_.network == policies::PluginAction::kDrop) {
    Count("dom.network", "drop");
    return Verdict::kDrop;
  }
  // rrweb/network@1 sends {payload: {requests: [{...}, ...]}}; any other shape could hide
  // headers or bodies from the rules below: dropped.
  json::value* payload = data.if_contains("payload");
  json::array* requests = nullptr;
  if (payload && payload->is_object()) {
    if (json::value* r = payload->as_object().if_contains("requests"); r && r->is_array())
      requests = &r->as_array();
  }
  bool shape_ok = requests != nullptr;
  for (size_t i = 0; shape_ok && i < requests->size(); ++i) {
    const json::object* o = (*requests)[i].if_object();
    shape_ok = o != nullptr;
    for (const char* hk : {"requestHeaders", "responseHeaders"}) {
      const json::value* h = shape_ok ? o->if_contains(hk) : nullptr;
      if (h != nullptr && !h->is_object() && !h->is_null()) shape_ok = false;
    }
  }
  if (!shape_ok) {
    Count("dom.network_invalid", "drop");
    return Verdict::kDrop;
  }
  auto always = [&](std::string_view lower) {
    if (lower == "authorization" || lower == "cookie" || lower == "set-cookie" ||
        lower == "x-api-key" || lower == "proxy-authorization")
      return true;
    return std::find(p_.redact_headers.begin(), p_.redact_headers.end(), lower) !=
           p_.redact_headers.end();
  };
  for (auto& rq : *requests) {
    json::object* o = rq.if_object();
    for (const char* hk : {"requestHeaders", "responseHeaders"}) {
      json::value* h = o->if_contains(hk);
      if (h == nullptr || !h->is_object()) continue;
      for (auto& kv : h->as_object()) {
        if (always(ToLower(kv.key())) &&
            !(kv.value().is_string() && kv.value().get_string() == "[REDACTED]")) {
          kv.value() = "[REDACTED]";
          Count("dom.network_header", "replace");
        }
      }
    }
    if (p_.network_bodies == policies::PluginAction::kDrop) {
      for (const char* bk : {"requestBody", "responseBody"}) {
        json::value* b = o->if_contains(bk);
        if (b != nullptr && !b->is_null()) {
          *b = nullptr;
          Count("dom.network_body", "remove");
        }
      }
    }
  }
  return Verdict::kKeep;
}

Verdict Masker::Event(json::object& event) {
  const json::value* tv = event.if_contains("type");
  if (tv == nullptr || !tv->is_int64()) return Verdict::kKeep;
  json::value* dv = event.if_contains("data");
  int64_t type = tv->get_int64();
  if (type == 2) {
    if (dv == nullptr || !dv->is_object()) {
      Count("dom.undecoded", "drop");
      return Verdict::kDrop;
    }
    return FullSnapshot(dv->as_object());
  }
  if (dv == nullptr || !dv->is_object()) return Verdict::kKeep;
  json::object& data = dv->as_object();
  if (type == 6) return Plugin(data);
  if (type != 3) return Verdict::kKeep;
  if (st_.policy_fingerprint() != sel_.fingerprint()) {
    // State computed under another policy (reload, or a file from before an upgrade): trust
    // nothing until the next FullSnapshot; every id is unknown and masks.
    if (st_.size() > 0 || st_.has_snapshot()) st_.Clear();
    st_.set_policy_fingerprint(sel_.fingerprint());
  }
  const json::value* sv = data.if_contains("source");
  if (sv == nullptr || !sv->is_int64()) return Verdict::kKeep;
  const int64_t source = sv->get_int64();
  if (source != 5) {  // Input: by its field's region (Input)
    // A node-less source (Selection, MouseMove, ...) has no region: its text masks.
    const json::value* idv = data.if_contains("id");
    uint32_t f = source == 0 || idv == nullptr ? kUnknownRegion : RegionOf(NodeId(idv));
    UnknownFields(
        data, [source](std::string_view k) { return KnownIncrementalField(source, k); }, f);
  }
  switch (source) {
    case 0: return Mutation(data);
    case 5: return Input(data);
    case 8:
    case 13:
    case 15: return CssRules(data);
    case 9:
      if (p_.block_media) {
        Count("dom.media", "drop");
        return Verdict::kDrop;
      }
      return Verdict::kKeep;
    case 11:  // legacy rrweb Log source: same policy as the console plugin
      if (p_.console == policies::PluginAction::kDrop) {
        Count("dom.console", "drop");
        return Verdict::kDrop;
      }
      return Verdict::kKeep;
    default: return Verdict::kKeep;
  }
}

}  // namespace masker_internal

namespace json = boost::json;
using masker_internal::kMaxDepth;
using masker_internal::Masker;
using policies::CompiledSelectors;
using policies::MaskingPolicy;

Verdict MaskEvent(json::object& event, const MaskingPolicy& policy, WindowState& state,
                  rules::RedactionCounts* counts, Deadline* deadline) {
  if (deadline != nullptr && deadline->Expired()) return Verdict::kDrop;
  std::shared_ptr<const CompiledSelectors> compiled = policy.compiled;
  if (compiled == nullptr) {  // a policy assembled in code without Compile(): compile here
    MaskingPolicy copy = policy;
    if (!copy.Compile().ok()) {
      if (counts) ++counts->errors;
      return Verdict::kDrop;
    }
    compiled = copy.compiled;
  }
  if (!HasValidIntegers(event, kMaxDepth)) {
    if (counts) {
      ++counts->by_rule["dom.bad_type"];
      ++counts->by_method["drop"];
    }
    return Verdict::kInvalid;
  }
  Masker m(policy, *compiled, state, counts, deadline);
  Verdict v = m.Event(event);
  return deadline != nullptr && deadline->expired() ? Verdict::kDrop : v;
}

}  // namespace scrubd::dom
