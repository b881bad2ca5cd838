// UTC civil-calendar arithmetic and RFC 3339 date-times (OpenDSR timestamps, `--now` of
// purge, posthog event timestamps). Pure functions, no timegm, no locale, no TZ; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd {

inline constexpr int64_t kMsPerDay = 86'400'000;

// Floor division (rounds toward negative infinity).
inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);
bool IsLeapYear(int64_t y);
unsigned DaysInMonth(int64_t y, unsigned m);

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). 't' and 'z' are
// accepted in lower case; the fraction (1-9 digits) is truncated to milliseconds; a leap second
// (:60) counts as the next second. Anything else (dates that do not exist, missing offset,
// trailing bytes, over 40 bytes) is kInvalidInput with a message that never quotes the input.
Result<int64_t> ParseRfc3339Ms(std::string_view text);
// UTC, "2018-10-02T15:00:00Z", or with ".123" when the millisecond part is non-zero.
std::string FormatRfc3339Ms(int64_t ms);

}  // namespace scrubd
