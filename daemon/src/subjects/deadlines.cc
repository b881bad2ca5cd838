#include "subjects/deadlines.h"

namespace scrubd::subjects {

int64_t AddCalendarMonthsMs(int64_t ms, int months) {
  const int64_t days = FloorDiv(ms, kMsPerDay);
  const int64_t time_of_day = ms - days * kMsPerDay;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  const int64_t month_index = y * 12 + (m - 1) + months;
  const int64_t ny = FloorDiv(month_index, 12);
  const unsigned nm = static_cast<unsigned>(month_index - ny * 12) + 1;
  const unsigned nd = d < DaysInMonth(ny, nm) ? d : DaysInMonth(ny, nm);
  return DaysFromCivil(ny, nm, nd) * kMsPerDay + time_of_day;
}

int64_t ExpectedCompletionMs(std::string_view regulation, int64_t received_ms, bool extended) {
  if (regulation == "ccpa") return received_ms + (extended ? 90 : 45) * kMsPerDay;
  return AddCalendarMonthsMs(received_ms, extended ? 3 : 1);
}

}  // namespace scrubd::subjects
