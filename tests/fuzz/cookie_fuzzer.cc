// libFuzzer target for the consent cookie readers: the input is a whole Cookie header. Its
// OptanonConsent and CookieConsent values, and the input itself as either value, go through the
// parsers. Checks the bounds: pairs are views inside the input, at most kMaxCookies of them;
// decoding never grows a value; lists stay under kMaxConsentListEntries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "consent/cookies.h"

namespace {

namespace c = scrubd::consent;

void Check(bool ok) {
  if (!ok) std::abort();
}

void ParseBoth(std::string_view v) {
  auto ot = c::ParseOptanonConsent(v);
  if (ot.ok()) {
    Check(!ot->groups.empty() && ot->groups.size() <= c::kMaxConsentListEntries);
    Check(ot->hosts.size() <= c::kMaxConsentListEntries);
    Check(ot->general_vendors.size() <= c::kMaxConsentListEntries);
  }
  auto cb = c::ParseCookiebotConsent(v);
  if (cb.ok()) Check(cb->method.size() <= 32);
  for (bool plus : {false, true}) {
    auto d = c::PercentDecode(v, plus);
    if (d.ok()) Check(d->size() <= v.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto pairs = c::ParseCookieHeader(in);
  Check(pairs.size() <= c::kMaxCookies);
  for (const auto& [name, value] : pairs) {
    Check(name.empty() || (name.data() >= in.data() && name.data() + name.size() <= in.end()));
    Check(value.empty() || (value.data() >= in.data() && value.data() + value.size() <= in.end()));
  }
  if (auto v = c::FindCookie(in, "OptanonConsent")) ParseBoth(*v);
  if (auto v = c::FindCookie(in, "CookieConsent")) ParseBoth(*v);
  ParseBoth(in);
  return 0;
}
