// UTC civil-calendar arithmetic and RFC 3339 timestamps (scrubd/common/rfc3339.h).
#include "scrubd/common/rfc3339.h"

#include <cstdio>

namespace scrubd {
namespace {

// Reads exactly `n` ASCII digits at `*pos`; false if any is not a digit.
bool Digits(std::string_view s, size_t* pos, size_t n, int64_t* out) {
  if (*pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char a, char b = 0) {
  if (*pos >= s.size() || (s[*pos] != a && (b == 0 || s[*pos] != b))) return false;
  ++*pos;
  return true;
}

Status Bad(const char* what) {
  return Status::InvalidInput(std::string("not an RFC 3339 date-time: ") + what);
}

// The "+HH:MM" / "-HH:MM" / "Z" suffix, as minutes east of UTC.
Result<int64_t> ParseOffset(std::string_view s, size_t* pos) {
  if (Expect(s, pos, 'Z', 'z')) return int64_t{0};
  if (*pos >= s.size() || (s[*pos] != '+' && s[*pos] != '-')) return Bad("missing offset");
  int64_t sign = s[*pos] == '-' ? -1 : 1;
  ++*pos;
  int64_t oh = 0, om = 0;
  if (!Digits(s, pos, 2, &oh) || !Expect(s, pos, ':') || !Digits(s, pos, 2, &om))
    return Bad("malformed offset");
  if (oh > 23 || om > 59) return Bad("offset out of range");
  return sign * (oh * 60 + om);
}

}  // namespace

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t doe = days - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

Result<int64_t> ParseRfc3339Ms(std::string_view s) {
  if (s.size() > 40) return Bad("too long");
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, &p, 4, &y) || !Expect(s, &p, '-') || !Digits(s, &p, 2, &mo) ||
      !Expect(s, &p, '-') || !Digits(s, &p, 2, &d))
    return Bad("malformed date");
  if (!Expect(s, &p, 'T', 't')) return Bad("missing 'T'");
  if (!Digits(s, &p, 2, &h) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &mi) ||
      !Expect(s, &p, ':') || !Digits(s, &p, 2, &sec))
    return Bad("malformed time");
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo)))
    return Bad("no such date");
  if (h > 23 || mi > 59 || sec > 60) return Bad("time out of range");
  int64_t frac_ms = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (p - start < 3) frac_ms = frac_ms * 10 + (s[p] - '0');
      ++p;
    }
    if (p == start || p - start > 9) return Bad("malformed fraction");
    for (size_t n = p - start; n < 3; ++n) frac_ms *= 10;
  }
  Result<int64_t> offset_min = ParseOffset(s, &p);
  if (!offset_min.ok()) return offset_min.status();
  if (p != s.size()) return Bad("trailing characters");
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - *offset_min * 60;
  return secs * 1000 + frac_ms;
}

std::string FormatRfc3339Ms(int64_t ms) {
  const int64_t days = FloorDiv(ms, kMsPerDay);
  const int64_t rem = ms - days * kMsPerDay;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  const int64_t secs = rem / 1000, milli = rem % 1000;
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                        static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (milli != 0) {
    std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(milli));
    out += buf;
  }
  return out + "Z";
}

}  // namespace scrubd
