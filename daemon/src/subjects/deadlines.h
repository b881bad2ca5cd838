// Legal deadlines of data-subject requests (GDPR Art. 12(3), CCPA 1798.130) and the RFC 3339
// calendar month arithmetic they need (UTC, no timegm, no locale, no TZ).
// Any thread may call any function (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scrubd/common/rfc3339.h"
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

// The calendar and RFC 3339 functions live in scrubd/common/rfc3339.h.
using scrubd::CivilFromDays;
using scrubd::DaysFromCivil;
using scrubd::DaysInMonth;
using scrubd::FormatRfc3339Ms;
using scrubd::IsLeapYear;
using scrubd::ParseRfc3339Ms;

}  // namespace scrubd::subjects
