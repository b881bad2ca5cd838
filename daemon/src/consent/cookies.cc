#include "consent/cookies.h"

#include <array>
#include <string>

namespace scrubd::consent {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigits(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int64_t ToInt(std::string_view digits) {
  int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::pair<std::string_view, std::string_view> SplitPair(std::string_view piece) {
  size_t eq = piece.find('=');
  if (eq == std::string_view::npos) return {std::string_view(), piece};
  std::string_view value = Trim(piece.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return {Trim(piece.substr(0, eq)), value};
}

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> ParseCookieHeader(
    std::string_view header) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t pos = 0;
  while (pos <= header.size() && out.size() < kMaxCookies) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view piece = Trim(header.substr(pos, semi - pos));
    if (!piece.empty()) out.push_back(SplitPair(piece));
    pos = semi + 1;
  }
  return out;
}

std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name) {
  for (const auto& [n, v] : ParseCookieHeader(header))
    if (n == name) return v;
  return std::nullopt;
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return Status::InvalidInput("bad %-escape at offset " + std::to_string(i));
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

namespace {

Status Invalid(std::string_view cookie, std::string_view what) {
  return Status::InvalidInput(std::string(cookie) + ": " + std::string(what));
}

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// "C0001:1,C0002:0" (a trailing comma allowed); ids [A-Za-z0-9_.-]{1,64}, flags 0/1.
Status ParseFlagList(std::string_view list, std::string_view field,
                     std::vector<std::pair<std::string, bool>>* out) {
  const std::string f = "OptanonConsent field " + std::string(field);
  size_t pos = 0, n = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view entry = list.substr(pos, comma - pos);
    pos = comma + 1;
    ++n;
    if (entry.empty()) continue;
    if (out->size() >= kMaxConsentListEntries) return Status::TooLarge(f + ": too many entries");
    size_t colon = entry.rfind(':');
    std::string_view id = colon == std::string_view::npos ? entry : entry.substr(0, colon);
    std::string_view flag = colon == std::string_view::npos ? "" : entry.substr(colon + 1);
    bool id_ok = !id.empty() && id.size() <= 64;
    for (char c : id) id_ok = id_ok && IsIdChar(c);
    const std::string at = ": entry " + std::to_string(n);
    if (!id_ok) return Status::InvalidInput(f + at + ": bad id");
    if (flag != "0" && flag != "1") return Status::InvalidInput(f + at + ": flag is not 0 or 1");
    for (const auto& [seen, unused] : *out)
      if (seen == id) return Status::InvalidInput(f + at + ": duplicate id");
    out->emplace_back(std::string(id), flag == "1");
  }
  return Status::Ok();
}

Result<bool> ParseWord(std::string_view v, std::string_view f, std::string_view yes,
                       std::string_view no) {
  if (v == yes) return true;
  if (v == no) return false;
  return Status::InvalidInput("OptanonConsent field " + std::string(f) + ": not " +
                              std::string(yes) + " or " + std::string(no));
}

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// JS Date.prototype.toString(): "Sat Apr 12 2025 12:05:16 GMT+0100 (zone name)". The zone
// name is locale text and is ignored.
std::optional<int64_t> ParseJsDate(std::string_view s) {
  if (s.size() < 33 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[15] != ' ') return {};
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i)
    if (s.substr(4, 3) == kMonths[i]) month = int(i) + 1;
  std::string_view dd = s.substr(8, 2), yyyy = s.substr(11, 4), hh = s.substr(16, 2),
                   mi = s.substr(19, 2), ss = s.substr(22, 2), oh = s.substr(29, 2),
                   om = s.substr(31, 2);
  if (month == 0 || s[18] != ':' || s[21] != ':' || s.substr(24, 4) != " GMT" ||
      (s[28] != '+' && s[28] != '-'))
    return {};
  for (auto part : {dd, yyyy, hh, mi, ss, oh, om})
    if (!IsDigits(part, 4)) return {};
  const int64_t d = ToInt(dd), h = ToInt(hh), m = ToInt(mi), sec = ToInt(ss);
  const int64_t off = (ToInt(oh) * 60 + ToInt(om)) * 60 * (s[28] == '-' ? -1 : 1);
  if (d < 1 || d > 31 || h > 23 || m > 59 || sec > 60 || ToInt(oh) > 14 || ToInt(om) > 59)
    return {};
  return DaysFromCivil(ToInt(yyyy), month, int(d)) * 86400 + h * 3600 + m * 60 + sec - off;
}

bool IsVersion(std::string_view v) {
  if (v.empty() || v.size() > 32) return false;
  for (char c : v)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  return true;
}

// The fields ParseOptanonConsent reads; each may appear once.
constexpr std::array<std::string_view, 9> kOneTrustFields = {
    "groups",  "hosts",     "genVendors",       "isGpcEnabled",     "browserGpcFlag",
    "version", "datestamp", "interactionCount", "AwaitingReconsent"};

Status ApplyOneTrustField(size_t field, std::string_view v, OneTrustConsent* out) {
  const std::string_view name = kOneTrustFields[field];
  switch (field) {
    case 0: return ParseFlagList(v, name, &out->groups);
    case 1: return ParseFlagList(v, name, &out->hosts);
    case 2: return ParseFlagList(v, name, &out->general_vendors);
    case 3:
    case 4: {
      auto b = ParseWord(v, name, "1", "0");
      if (!b.ok()) return b.status();
      (field == 3 ? out->is_gpc_enabled : out->browser_gpc_flag) = *b;
      return Status::Ok();
    }
    case 5: out->version = IsVersion(v) ? std::string(v) : std::string(); return Status::Ok();
    case 6: out->datestamp_unix = ParseJsDate(v); return Status::Ok();
    case 7:
      if (!IsDigits(v, 6))
        return Status::InvalidInput("OptanonConsent field interactionCount: not a count");
      out->interaction_count = int(ToInt(v));
      return Status::Ok();
    default: {
      auto b = ParseWord(v, name, "true", "false");
      if (!b.ok()) return b.status();
      out->awaiting_reconsent = *b;
      return Status::Ok();
    }
  }
}

// One key=value piece at `offset` of the cookie; `seen` marks the fields already read.
Status ApplyOneTrustPiece(std::string_view piece, size_t offset, uint32_t* seen,
                          OneTrustConsent* out) {
  size_t eq = piece.find('=');
  std::string_view raw_key = eq == std::string_view::npos ? piece : piece.substr(0, eq);
  std::string_view raw_value = eq == std::string_view::npos ? "" : piece.substr(eq + 1);
  auto key = PercentDecode(raw_key, true);
  if (!key.ok())
    return Invalid("OptanonConsent", "bad %-escape in the key at offset " + std::to_string(offset));
  size_t field = kOneTrustFields.size();
  for (size_t i = 0; i < kOneTrustFields.size(); ++i)
    if (*key == kOneTrustFields[i]) field = i;
  if (field == kOneTrustFields.size()) return Status::Ok();  // not read: ids, URLs, places
  const std::string name(kOneTrustFields[field]);
  if (*seen & (1u << field)) return Invalid("OptanonConsent", "duplicate field " + name);
  *seen |= 1u << field;
  auto value = PercentDecode(raw_value, true);
  if (!value.ok()) return Invalid("OptanonConsent field " + name, value.status().message());
  return ApplyOneTrustField(field, *value, out);
}

}  // namespace

std::optional<bool> OneTrustConsent::Group(std::string_view id) const {
  for (const auto& [g, granted] : groups)
    if (g == id) return granted;
  return std::nullopt;
}

Result<OneTrustConsent> ParseOptanonConsent(std::string_view cookie_value) {
  if (cookie_value.size() > kMaxConsentCookieBytes)
    return Status::TooLarge("OptanonConsent: value over " + std::to_string(kMaxConsentCookieBytes) +
                            " bytes");
  OneTrustConsent out;
  uint32_t seen = 0;
  size_t pos = 0;
  while (pos <= cookie_value.size()) {
    size_t amp = cookie_value.find('&', pos);
    if (amp == std::string_view::npos) amp = cookie_value.size();
    std::string_view piece = cookie_value.substr(pos, amp - pos);
    if (!piece.empty()) {
      Status st = ApplyOneTrustPiece(piece, pos, &seen, &out);
      if (!st.ok()) return st;
    }
    pos = amp + 1;
  }
  if (!(seen & 1u)) return Invalid("OptanonConsent", "no groups field");
  if (out.groups.empty()) return Invalid("OptanonConsent", "empty groups field");
  return out;
}

namespace {

// A cursor over the decoded Cookiebot object text.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  void SkipSpace() {
    while (i < s.size() && (IsSpace(s[i]) || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool Eat(char c) {
    SkipSpace();
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
};

Status CookiebotError(std::string_view what, size_t offset) {
  return Status::InvalidInput("CookieConsent: " + std::string(what) + " at offset " +
                              std::to_string(offset));
}

bool IsBareChar(char c) { return IsIdChar(c) || c == '+' || c == '$'; }

// A quoted ('..' or "..", backslash escapes) or bare token; `quoted` says which.
Status ReadToken(Cursor* c, std::string* out, bool* quoted) {
  c->SkipSpace();
  out->clear();
  const size_t start = c->i;
  if (c->i < c->s.size() && (c->s[c->i] == '\'' || c->s[c->i] == '"')) {
    const char q = c->s[c->i++];
    while (c->i < c->s.size() && c->s[c->i] != q) {
      if (c->s[c->i] == '\\' && c->i + 1 < c->s.size()) ++c->i;
      out->push_back(c->s[c->i++]);
    }
    if (c->i >= c->s.size()) return CookiebotError("unterminated quote", start);
    ++c->i;
    *quoted = true;
    return Status::Ok();
  }
  while (c->i < c->s.size() && IsBareChar(c->s[c->i])) out->push_back(c->s[c->i++]);
  if (out->empty()) return CookiebotError("expected a key or value", start);
  *quoted = false;
  return Status::Ok();
}

constexpr std::array<std::string_view, 8> kCookiebotFields = {
    "stamp", "necessary", "preferences", "statistics", "marketing", "method", "ver", "utc"};

Status ApplyCookiebotField(size_t field, const std::string& v, bool quoted, CookiebotConsent* out) {
  const std::string f = "CookieConsent field " + std::string(kCookiebotFields[field]);
  if (field >= 1 && field <= 4) {
    if (quoted || (v != "true" && v != "false"))
      return Status::InvalidInput(f + ": not true or false");
    bool* flags[] = {&out->necessary, &out->preferences, &out->statistics, &out->marketing};
    *flags[field - 1] = v == "true";
  } else if (field == 0) {
    if (v == "-1") out->not_required = true;  // the stamp itself is an id: never kept
  } else if (field == 5) {
    bool word = !v.empty() && v.size() <= 32;
    for (char ch : v) word = word && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
    if (!word) return Status::InvalidInput(f + ": not a word");
    out->method = v;
  } else if (field == 6) {
    if (!IsDigits(v, 9)) return Status::InvalidInput(f + ": not a number");
    out->version = int(ToInt(v));
  } else {
    if (!IsDigits(v, 16)) return Status::InvalidInput(f + ": not a number");
    out->utc_ms = ToInt(v);
  }
  return Status::Ok();
}

// One key:value entry; `seen` marks the fields already read.
Status ReadCookiebotEntry(Cursor* c, uint32_t* seen, CookiebotConsent* out) {
  std::string key, value;
  bool quoted = false;
  const size_t at = c->i;
  Status st = ReadToken(c, &key, &quoted);
  if (!st.ok()) return st;
  if (!c->Eat(':')) return CookiebotError("expected ':'", c->i);
  st = ReadToken(c, &value, &quoted);
  if (!st.ok()) return st;
  for (size_t f = 0; f < kCookiebotFields.size(); ++f) {
    if (key != kCookiebotFields[f]) continue;
    if (*seen & (1u << f)) return CookiebotError("duplicate key", at);
    *seen |= 1u << f;
    return ApplyCookiebotField(f, value, quoted, out);
  }
  return Status::Ok();  // region, iab2, ...: not read
}

Result<CookiebotConsent> ParseCookiebotObject(std::string_view text) {
  Cursor c{text};
  if (!c.Eat('{')) return CookiebotError("expected '{'", c.i);
  CookiebotConsent out;
  uint32_t seen = 0;
  for (size_t n = 0; !c.Eat('}'); ++n) {
    if (n >= 64) return Status::TooLarge("CookieConsent: too many entries");
    Status st = ReadCookiebotEntry(&c, &seen, &out);
    if (!st.ok()) return st;
    if (!c.Eat(',')) {
      if (!c.Eat('}')) return CookiebotError("expected ',' or '}'", c.i);
      break;
    }
  }
  c.SkipSpace();
  if (c.i != text.size()) return CookiebotError("text after '}'", c.i);
  for (size_t f = 2; f <= 4; ++f)
    if (!(seen & (1u << f)))
      return Status::InvalidInput("CookieConsent: missing field " +
                                  std::string(kCookiebotFields[f]));
  if (!(seen & (1u << 1))) out.necessary = true;  // Cookiebot: necessary is always allowed
  return out;
}

}  // namespace

Result<CookiebotConsent> ParseCookiebotConsent(std::string_view cookie_value) {
  if (cookie_value.size() > kMaxConsentCookieBytes)
    return Status::TooLarge("CookieConsent: value over " + std::to_string(kMaxConsentCookieBytes) +
                            " bytes");
  auto decoded = PercentDecode(cookie_value, false);  // stamps are base64: '+' stays '+'
  if (!decoded.ok()) return Status::InvalidInput("CookieConsent: " + decoded.status().message());
  std::string_view text = Trim(*decoded);
  CookiebotConsent out;
  if (text == "-1") {
    out.not_required = true;
    return out;
  }
  if (text == "0") {
    out.necessary = true;
    return out;
  }
  return ParseCookiebotObject(text);
}

}  // namespace scrubd::consent
