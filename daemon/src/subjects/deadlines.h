// Legal deadlines of data-subject requests (GDPR Art. 12(3), CCPA 1798.130) and the RFC 3339
// timestamps OpenDSR carries. Pure UTC civil-calendar arithmetic: no timegm, no locale, no TZ.
// Any thread may call any function (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd::subjects {

// When a request received at `received_ms` (Unix ms, UTC) is due.
// - "gdpr": one calendar month later, the day clamped to the end of the target month
//   (31 Jan -> 28/29 Feb, 31 Mar -> 30 Apr); `extended` adds two further months, counted (and
//   clamped) from the original day, so 31 Jan extended -> 30 Apr.
// - "ccpa": 45 days later; `extended` adds 45 more (90 in all).
// The time of day is kept. Any other regulation is treated as "gdpr", the shorter deadline.
int64_t ExpectedCompletionMs(std::string_view regulation, int64_t received_ms, bool extended);

// `months` calendar months after `ms`, day clamped to the target month's last day.
int64_t AddCalendarMonthsMs(int64_t ms, int months);

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

}  // namespace scrubd::subjects
