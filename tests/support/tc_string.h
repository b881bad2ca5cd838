// Tests only: builds TCF v2.2 TC strings (core segment, optional publisher TC segment) bit by
// bit, so consent tests can say "purpose 1 granted, vendor 755 consented" without a CMP.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scrubd::testing {

struct TcSpec {
  std::vector<int> purposes;  // consented purposes (1..24)
  std::vector<int> vendors;   // consented vendors (bitfield encoding)
  int policy_version = 4;
  int64_t created_ds = 17000000000;  // 2023-11-14 in deciseconds
  bool service_specific = true;
  std::vector<int> publisher_purposes;  // non-empty: a publisher TC segment (type 3)
};

class TcBits {
 public:
  void Put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bits_.push_back((v >> i) & 1);
  }
  void Flags(const std::vector<int>& ids, int n) {
    for (int i = 1; i <= n; ++i) {
      bool on = false;
      for (int id : ids) on |= id == i;
      bits_.push_back(on);
    }
  }
  std::string Base64Url() const {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (size_t i = 0; i < bits_.size(); i += 6) {
      int v = 0;
      for (size_t j = 0; j < 6; ++j) v = v * 2 + (i + j < bits_.size() ? bits_[i + j] : 0);
      out += a[v];
    }
    return out;
  }

 private:
  std::vector<int> bits_;
};

inline std::string MakeTcString(const TcSpec& s) {
  TcBits b;
  b.Put(2, 6);                 // Version
  b.Put(s.created_ds, 36);     // Created
  b.Put(s.created_ds, 36);     // LastUpdated
  b.Put(7, 12);                // CmpId
  b.Put(1, 12);                // CmpVersion
  b.Put(1, 6);                 // ConsentScreen
  b.Put(4, 6), b.Put(13, 6);   // ConsentLanguage "EN"
  b.Put(150, 12);              // VendorListVersion
  b.Put(s.policy_version, 6);  // TcfPolicyVersion
  b.Put(s.service_specific ? 1 : 0, 1);
  b.Put(0, 1);               // UseNonStandardTexts
  b.Put(0, 12);              // SpecialFeatureOptIns
  b.Flags(s.purposes, 24);   // PurposesConsent
  b.Put(0, 24);              // PurposesLITransparency
  b.Put(0, 1);               // PurposeOneTreatment
  b.Put(3, 6), b.Put(4, 6);  // PublisherCC "DE"
  int max = 0;
  for (int v : s.vendors) max = v > max ? v : max;
  b.Put(max, 16), b.Put(0, 1);  // vendor consents: bitfield
  b.Flags(s.vendors, max);
  b.Put(0, 16), b.Put(0, 1);  // vendor LI: none
  b.Put(0, 12);               // NumPubRestrictions
  std::string out = b.Base64Url();
  if (!s.publisher_purposes.empty()) {
    TcBits p;
    p.Put(3, 3);  // SegmentType publisher TC
    p.Flags(s.publisher_purposes, 24);
    p.Put(0, 24);
    p.Put(0, 6);
    out += "." + p.Base64Url();
  }
  return out;
}

}  // namespace scrubd::testing
