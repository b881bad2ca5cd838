// IAB TCF v2.2 TC string decoder (cookie `euconsent-v2`): core segment, disclosed-vendors
// (type 1) and publisher-TC (type 3) segments, validity rules and renderers (docs/tcf.md).
// Pure functions of their input; thread-safe. Errors name the field, never quote the input.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::consent {

// Inputs longer than this (bytes, all segments and dots) are refused before decoding.
inline constexpr size_t kMaxTcStringBytes = 16 * 1024;

// A vendor section (consent, LI, disclosed, or a restriction's list).
struct TcfVendorSet {
  uint16_t max_vendor_id = 0;
  bool is_range_encoding = false;
  std::vector<bool> bits;         // bits[id] for id in 1..max_vendor_id (size max_vendor_id + 1)
  bool Has(int vendor_id) const;  // false outside 1..max_vendor_id
  std::vector<int> Ids() const;   // ascending
};

struct TcfPublisherRestriction {
  int purpose_id = 0;
  int restriction_type = 0;  // 0 not allowed, 1 require consent, 2 require LI, 3 undefined
  TcfVendorSet vendors;      // max_vendor_id = the highest listed id; always range encoded
};

// Segment type 3.
struct TcfPublisherTc {
  std::bitset<24> purposes_consent, purposes_li_transparency;  // bit i = purpose i+1
  int num_custom_purposes = 0;
  std::vector<bool> custom_purposes_consent, custom_purposes_li;  // index i = custom purpose i+1
};

struct TcString {
  int version = 0;
  int64_t created_ds = 0;  // deciseconds since the Unix epoch
  int64_t last_updated_ds = 0;
  int cmp_id = 0;
  int cmp_version = 0;
  int consent_screen = 0;
  std::string consent_language;  // two letters, upper case
  int vendor_list_version = 0;
  int policy_version = 0;
  bool is_service_specific = false;
  bool use_non_standard_texts = false;
  std::bitset<12> special_feature_opt_ins;  // bit i = special feature i+1
  std::bitset<24> purposes_consent;         // bit i = purpose i+1
  std::bitset<24> purposes_li_transparency;
  bool purpose_one_treatment = false;
  std::string publisher_cc;
  TcfVendorSet vendor_consents, vendor_legitimate_interests;
  std::vector<TcfPublisherRestriction> publisher_restrictions;
  std::optional<TcfVendorSet> disclosed_vendors;  // segment type 1
  std::optional<TcfPublisherTc> publisher_tc;     // segment type 3
  bool PurposeConsent(int purpose) const;         // 1..24, false outside
};

// Structural decode of a whole TC string (core + optional segments), bounded: inputs over
// kMaxTcStringBytes rejected; every read bounds-checked; ranges with end < start or ids >
// max_vendor_id rejected. kInvalidInput whose message names the field, never quoting input.
Result<TcString> DecodeTcString(std::string_view s);

// Validity: version 2; policy_version >= 4 when created after 2023-09-30; LastUpdated not
// before Created; consent language and publisher country letters A-Z (docs/tcf.md).
Status CheckTcfValidity(const TcString& tc);

// Decoded fields as JSON (stable snake_case keys) and as readable text.
std::string TcStringJson(const TcString& tc);
std::string TcStringText(const TcString& tc);

}  // namespace scrubd::consent
