#include "subjects/deadlines.h"

#include <gtest/gtest.h>

#include <string>

namespace scrubd::subjects {
namespace {

int64_t Ms(const std::string& s) {
  Result<int64_t> r = ParseRfc3339Ms(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

std::string Gdpr(const std::string& received, bool extended = false) {
  return FormatRfc3339Ms(ExpectedCompletionMs("gdpr", Ms(received), extended));
}
std::string Ccpa(const std::string& received, bool extended = false) {
  return FormatRfc3339Ms(ExpectedCompletionMs("ccpa", Ms(received), extended));
}

TEST(DeadlineCivil, RoundTripsEveryDayOverFiveCenturies) {
  int64_t days = DaysFromCivil(1800, 1, 1);
  for (int64_t y = 1800; y < 2300; ++y)
    for (unsigned m = 1; m <= 12; ++m)
      for (unsigned d = 1; d <= DaysInMonth(y, m); ++d, ++days) {
        ASSERT_EQ(DaysFromCivil(y, m, d), days) << y << "-" << m << "-" << d;
        int64_t yy = 0;
        unsigned mm = 0, dd = 0;
        CivilFromDays(days, &yy, &mm, &dd);
        ASSERT_EQ(yy, y);
        ASSERT_EQ(mm, m);
        ASSERT_EQ(dd, d);
      }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
}

TEST(DeadlineCivil, LeapYears) {
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_EQ(DaysInMonth(2100, 2), 28u);
  EXPECT_EQ(DaysInMonth(2000, 2), 29u);
}

TEST(DeadlineGdpr, EndOfJanuaryClampsToEndOfFebruary) {
  EXPECT_EQ(Gdpr("2023-01-29T10:00:00Z"), "2023-02-28T10:00:00Z");
  EXPECT_EQ(Gdpr("2023-01-30T10:00:00Z"), "2023-02-28T10:00:00Z");
  EXPECT_EQ(Gdpr("2023-01-31T10:00:00Z"), "2023-02-28T10:00:00Z");
  EXPECT_EQ(Gdpr("2024-01-29T10:00:00Z"), "2024-02-29T10:00:00Z");
  EXPECT_EQ(Gdpr("2024-01-30T10:00:00Z"), "2024-02-29T10:00:00Z");
  EXPECT_EQ(Gdpr("2024-01-31T10:00:00Z"), "2024-02-29T10:00:00Z");
  EXPECT_EQ(Gdpr("2024-01-28T10:00:00Z"), "2024-02-28T10:00:00Z");
  EXPECT_EQ(Gdpr("2100-01-31T00:00:00Z"), "2100-02-28T00:00:00Z");  // not leap
  EXPECT_EQ(Gdpr("2000-01-31T00:00:00Z"), "2000-02-29T00:00:00Z");  // leap
  EXPECT_EQ(Gdpr("1900-01-30T00:00:00Z"), "1900-02-28T00:00:00Z");
}

TEST(DeadlineGdpr, ShortMonthsAndYearRoll) {
  EXPECT_EQ(Gdpr("2023-03-31T23:59:59Z"), "2023-04-30T23:59:59Z");
  EXPECT_EQ(Gdpr("2023-08-31T08:30:00Z"), "2023-09-30T08:30:00Z");
  EXPECT_EQ(Gdpr("2023-05-31T08:30:00Z"), "2023-06-30T08:30:00Z");
  EXPECT_EQ(Gdpr("2023-12-31T12:00:00Z"), "2024-01-31T12:00:00Z");
  EXPECT_EQ(Gdpr("2023-12-15T00:00:00.250Z"), "2024-01-15T00:00:00.250Z");
  EXPECT_EQ(Gdpr("2023-02-28T01:02:03Z"), "2023-03-28T01:02:03Z");
  EXPECT_EQ(Gdpr("2024-02-29T01:02:03Z"), "2024-03-29T01:02:03Z");
  EXPECT_EQ(Gdpr("2018-10-02T15:00:01Z"), "2018-11-02T15:00:01Z");
}

TEST(DeadlineGdpr, ExtensionIsTwoFurtherMonthsFromTheOriginalDay) {
  EXPECT_EQ(Gdpr("2023-01-31T10:00:00Z", true), "2023-04-30T10:00:00Z");  // not Apr 28
  EXPECT_EQ(Gdpr("2023-11-30T10:00:00Z", true), "2024-02-29T10:00:00Z");
  EXPECT_EQ(Gdpr("2022-11-30T10:00:00Z", true), "2023-02-28T10:00:00Z");
  EXPECT_EQ(Gdpr("2023-12-31T10:00:00Z", true), "2024-03-31T10:00:00Z");
  EXPECT_EQ(Gdpr("2023-10-31T10:00:00Z", true), "2024-01-31T10:00:00Z");
  EXPECT_EQ(Gdpr("2023-06-15T10:00:00Z", true), "2023-09-15T10:00:00Z");
  EXPECT_EQ(Gdpr("2099-11-29T10:00:00Z", true), "2100-02-28T10:00:00Z");
}

TEST(DeadlineGdpr, UnknownRegulationGetsTheShorterGdprDeadline) {
  int64_t t = Ms("2023-01-31T10:00:00Z");
  EXPECT_EQ(ExpectedCompletionMs("lgpd", t, false), ExpectedCompletionMs("gdpr", t, false));
}

TEST(DeadlineCcpa, FortyFiveDaysAndNinetyExtended) {
  EXPECT_EQ(Ccpa("2023-01-01T09:00:00Z"), "2023-02-15T09:00:00Z");
  EXPECT_EQ(Ccpa("2023-01-01T09:00:00Z", true), "2023-04-01T09:00:00Z");
  EXPECT_EQ(Ccpa("2023-12-01T09:00:00Z"), "2024-01-15T09:00:00Z");  // across year end
  EXPECT_EQ(Ccpa("2023-12-20T23:59:59.999Z"), "2024-02-03T23:59:59.999Z");
  EXPECT_EQ(Ccpa("2023-12-20T00:00:00Z", true), "2024-03-19T00:00:00Z");  // leap Feb
  EXPECT_EQ(Ccpa("2022-12-20T00:00:00Z", true), "2023-03-20T00:00:00Z");
}

TEST(DeadlineRfc3339, OffsetsAndFractions) {
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(Ms("1969-12-31T19:00:00-05:00"), 0);
  EXPECT_EQ(Ms("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(Ms("1970-01-01T00:00:00.123456789Z"), 123);
  EXPECT_EQ(Ms("1970-01-01t00:00:01z"), 1000);
  EXPECT_EQ(Ms("2018-10-02T15:00:00Z"), 1538492400000);
  EXPECT_EQ(Ms("2018-10-02T20:30:00+05:30"), 1538492400000);
  EXPECT_EQ(Ms("1998-12-31T23:59:60Z"), Ms("1999-01-01T00:00:00Z"));  // leap second
  // A deadline is computed in UTC: 23:30 -01:00 on 31 Jan is 00:30 UTC on 1 Feb.
  EXPECT_EQ(Gdpr("2023-01-31T23:30:00-01:00"), "2023-03-01T00:30:00Z");
  EXPECT_EQ(FormatRfc3339Ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Ms(1538492400000), "2018-10-02T15:00:00Z");
}

TEST(DeadlineRfc3339, RejectsGarbage) {
  for (const char* bad : {"",
                          "2018",
                          "2018-10-02",
                          "2018-10-02T15:00:00",
                          "2018-10-02 15:00:00Z",
                          "2018-10-02T15:00Z",
                          "2018-13-02T15:00:00Z",
                          "2018-00-02T15:00:00Z",
                          "2023-02-29T15:00:00Z",
                          "2100-02-29T15:00:00Z",
                          "2018-04-31T15:00:00Z",
                          "2018-10-00T15:00:00Z",
                          "2018-10-02T24:00:00Z",
                          "2018-10-02T15:60:00Z",
                          "2018-10-02T15:00:61Z",
                          "2018-10-02T15:00:00.Z",
                          "2018-10-02T15:00:00.1234567890Z",
                          "2018-10-02T15:00:00+2:00",
                          "2018-10-02T15:00:00+24:00",
                          "2018-10-02T15:00:00+01:60",
                          "2018-10-02T15:00:00+0100",
                          "2018-10-02T15:00:00Zjunk",
                          "2018-10-02T15:00:00Z ",
                          " 2018-10-02T15:00:00Z",
                          "+2018-10-02T15:00:00Z",
                          "2018-1a-02T15:00:00Z",
                          "2018-10-02T15:00:00.000000000000000000000000000001Z",
                          "1e18",
                          "-1"}) {
    Result<int64_t> r = ParseRfc3339Ms(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidInput);
      if (std::string(bad).size() > 3)
        EXPECT_EQ(r.status().message().find(bad), std::string::npos);  // never echoes
    }
  }
}

TEST(DeadlineRfc3339, FormatParseRoundTrip) {
  for (int64_t ms : {int64_t{0}, int64_t{951782400123}, int64_t{4107542399999},
                     int64_t{-62135596800000} /* 0001-01-01 */}) {
    EXPECT_EQ(Ms(FormatRfc3339Ms(ms)), ms) << FormatRfc3339Ms(ms);
  }
}

}  // namespace
}  // namespace scrubd::subjects
