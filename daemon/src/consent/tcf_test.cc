// TC string decoder tests: IAB reference-suite vectors (testdata/tcf_vectors.inc), hand-built
// strings for every encoding via a bit writer, truncation, bounds and validity.
#include "consent/tcf.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace scrubd::consent {
namespace {

namespace json = boost::json;

const char kVectors[] =
#include "consent/testdata/tcf_vectors.inc"
    ;

std::vector<int> Ints(const json::value& v) {
  std::vector<int> out;
  for (const auto& e : v.as_array()) out.push_back(static_cast<int>(e.to_number<int64_t>()));
  return out;
}

template <size_t N>
std::vector<int> Ones(const std::bitset<N>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i)
    if (b[i]) out.push_back(static_cast<int>(i) + 1);
  return out;
}

std::vector<int> Ones(const std::vector<bool>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < b.size(); ++i)
    if (b[i]) out.push_back(static_cast<int>(i) + 1);
  return out;
}

// Checks every key of `want` (reference or published) against the decoded string.
void Expect(const TcString& tc, const json::object& want, const std::string& ctx) {
  json::object got = json::parse(TcStringJson(tc)).as_object();
  for (const auto& [k, v] : want) {
    SCOPED_TRACE(ctx + " " + std::string(k));
    if (k == "vendor_consent_ids") {
      EXPECT_EQ(tc.vendor_consents.Ids(), Ints(v));
    } else if (k == "vendor_li_ids") {
      EXPECT_EQ(tc.vendor_legitimate_interests.Ids(), Ints(v));
    } else if (k == "disclosed_vendor_ids") {
      EXPECT_EQ(tc.disclosed_vendors ? tc.disclosed_vendors->Ids() : std::vector<int>{}, Ints(v));
    } else if (k == "pub_purposes_consent" || k == "pub_purposes_li" ||
               k == "custom_purposes_consent" || k == "custom_purposes_li") {
      TcfPublisherTc p = tc.publisher_tc.value_or(TcfPublisherTc{});
      std::vector<int> g = k == "pub_purposes_consent"      ? Ones(p.purposes_consent)
                           : k == "pub_purposes_li"         ? Ones(p.purposes_li_transparency)
                           : k == "custom_purposes_consent" ? Ones(p.custom_purposes_consent)
                                                            : Ones(p.custom_purposes_li);
      EXPECT_EQ(g, Ints(v));
    } else if (k == "pub_purposes_consent_count") {
      ASSERT_TRUE(tc.publisher_tc.has_value());
      EXPECT_EQ(static_cast<int64_t>(tc.publisher_tc->purposes_consent.count()), v.as_int64());
    } else if (k == "purposes_consent_include") {
      for (int p : Ints(v)) EXPECT_TRUE(tc.PurposeConsent(p)) << p;
    } else if (k == "restriction_1_1_vendor_ids") {
      bool found = false;
      for (const auto& pr : tc.publisher_restrictions)
        if (pr.purpose_id == 1 && pr.restriction_type == 1) {
          found = true;
          EXPECT_EQ(pr.vendors.Ids(), Ints(v));
        }
      EXPECT_TRUE(found);
    } else {
      ASSERT_TRUE(got.contains(k)) << k;
      EXPECT_EQ(json::serialize(got.at(k)), json::serialize(v));
    }
  }
}

TEST(TcfVectors, MatchPublishedAndReferenceDecodes) {
  const json::value parsed = json::parse(kVectors);
  const json::array& vecs = parsed.as_array();
  ASSERT_GE(vecs.size(), 15u);
  int decoded = 0, refused = 0;
  for (const auto& e : vecs) {
    const json::object& v = e.as_object();
    std::string name(v.at("name").as_string());
    std::string tc_str(v.at("tc").as_string());
    const json::object& pub = v.at("published").as_object();
    const json::object& ref = v.at("reference").as_object();
    auto tc = DecodeTcString(tc_str);
    if (pub.contains("error")) {
      EXPECT_FALSE(tc.ok()) << name;
      ++refused;
      continue;
    }
    ASSERT_TRUE(tc.ok()) << name << ": " << tc.status().ToString();
    Expect(*tc, pub, name + " published");
    if (!ref.contains("error")) Expect(*tc, ref, name + " reference");
    ++decoded;
  }
  EXPECT_EQ(decoded, 12);
  EXPECT_EQ(refused, 5);
}

TEST(TcfVectors, EveryPrefixNeverCrashes) {
  const json::value vecs = json::parse(kVectors);
  for (const auto& e : vecs.as_array()) {
    std::string s(e.as_object().at("tc").as_string());
    for (size_t n = 0; n < s.size(); ++n) (void)DecodeTcString(s.substr(0, n));
    // A core segment cut before its vendor sections always fails.
    for (size_t n = 0; n < 36 && n < s.size(); ++n)
      EXPECT_FALSE(DecodeTcString(s.substr(0, n)).ok());
  }
}

// MSB-first bit writer -> base64url without padding.
class BitWriter {
 public:
  BitWriter& Int(int bits, int64_t v) {
    for (int i = bits - 1; i >= 0; --i) bits_.push_back((v >> i) & 1);
    return *this;
  }
  BitWriter& Letters(const char* two) { return Int(6, two[0] - 'A').Int(6, two[1] - 'A'); }
  size_t size() const { return bits_.size(); }
  std::string Encode(size_t nbits) const {
    static const char kDict[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (size_t i = 0; i < nbits; i += 6) {
      int v = 0;
      for (size_t k = i; k < i + 6; ++k) v = (v << 1) | (k < nbits ? bits_[k] : 0);
      out.push_back(kDict[v]);
    }
    return out;
  }
  std::string Encode() const { return Encode(bits_.size()); }

 private:
  std::vector<int> bits_;
};

constexpr int64_t kCreated = int64_t{1700000000} * 10;  // 2023-11-14, after the cutoff

void Head(BitWriter& w, int policy = 4, bool service_specific = true) {
  w.Int(6, 2).Int(36, kCreated).Int(36, kCreated + 10).Int(12, 300).Int(12, 7).Int(6, 3);
  w.Letters("DE").Int(12, 150).Int(6, policy).Int(1, service_specific).Int(1, 0);
  w.Int(12, 0b010000000000);              // special feature 2
  w.Int(24, 0b110000000000000000000000);  // purposes 1, 2
  w.Int(24, 0b010000000000000000000000);  // LI purpose 2
  w.Int(1, 0).Letters("FR");
}

// Vendor consents as a bitfield {2, 5} (max 5), LI as ranges {3, 10-12} (max 12).
void Vendors(BitWriter& w) {
  w.Int(16, 5).Int(1, 0).Int(5, 0b01001);
  w.Int(16, 12).Int(1, 1).Int(12, 2).Int(1, 0).Int(16, 3).Int(1, 1).Int(16, 10).Int(16, 12);
}

std::string Core(int restrictions = 0) {
  BitWriter w;
  Head(w);
  Vendors(w);
  w.Int(12, restrictions);
  return w.Encode();
}

TEST(TcfHandBuilt, CoreBitfieldAndRange) {
  auto tc = DecodeTcString(Core());
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  EXPECT_EQ(tc->cmp_id, 300);
  EXPECT_EQ(tc->cmp_version, 7);
  EXPECT_EQ(tc->consent_screen, 3);
  EXPECT_EQ(tc->consent_language, "DE");
  EXPECT_EQ(tc->publisher_cc, "FR");
  EXPECT_EQ(tc->vendor_list_version, 150);
  EXPECT_EQ(tc->created_ds, kCreated);
  EXPECT_EQ(Ones(tc->special_feature_opt_ins), std::vector<int>({2}));
  EXPECT_TRUE(tc->PurposeConsent(1));
  EXPECT_FALSE(tc->PurposeConsent(3));
  EXPECT_FALSE(tc->PurposeConsent(0));
  EXPECT_FALSE(tc->PurposeConsent(25));
  EXPECT_FALSE(tc->vendor_consents.is_range_encoding);
  EXPECT_EQ(tc->vendor_consents.Ids(), std::vector<int>({2, 5}));
  EXPECT_TRUE(tc->vendor_legitimate_interests.is_range_encoding);
  EXPECT_EQ(tc->vendor_legitimate_interests.Ids(), std::vector<int>({3, 10, 11, 12}));
  EXPECT_FALSE(tc->vendor_consents.Has(0));
  EXPECT_FALSE(tc->vendor_consents.Has(6));
  EXPECT_FALSE(tc->vendor_consents.Has(-1));
  EXPECT_TRUE(CheckTcfValidity(*tc).ok());
  EXPECT_FALSE(tc->disclosed_vendors.has_value());
  EXPECT_FALSE(tc->publisher_tc.has_value());
}

TEST(TcfHandBuilt, RestrictionsDisclosedAndPublisherTc) {
  BitWriter w;
  Head(w);
  Vendors(w);
  w.Int(12, 2);
  w.Int(6, 2).Int(2, 0).Int(12, 1).Int(1, 0).Int(16, 8);               // purpose 2 not allowed: 8
  w.Int(6, 7).Int(2, 1).Int(12, 1).Int(1, 1).Int(16, 20).Int(16, 22);  // purpose 7 consent: 20-22
  BitWriter d;
  d.Int(3, 1).Int(16, 9).Int(1, 0).Int(9, 0b100000001);  // disclosed 1, 9
  BitWriter p;
  p.Int(3, 3).Int(24, 1).Int(24, 0b100000000000000000000000).Int(6, 3).Int(3, 0b101).Int(3, 0b010);
  auto tc = DecodeTcString(w.Encode() + "." + d.Encode() + "." + p.Encode());
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  ASSERT_EQ(tc->publisher_restrictions.size(), 2u);
  EXPECT_EQ(tc->publisher_restrictions[0].purpose_id, 2);
  EXPECT_EQ(tc->publisher_restrictions[0].restriction_type, 0);
  EXPECT_EQ(tc->publisher_restrictions[0].vendors.Ids(), std::vector<int>({8}));
  EXPECT_EQ(tc->publisher_restrictions[1].restriction_type, 1);
  EXPECT_EQ(tc->publisher_restrictions[1].vendors.Ids(), std::vector<int>({20, 21, 22}));
  ASSERT_TRUE(tc->disclosed_vendors.has_value());
  EXPECT_EQ(tc->disclosed_vendors->Ids(), std::vector<int>({1, 9}));
  ASSERT_TRUE(tc->publisher_tc.has_value());
  EXPECT_EQ(Ones(tc->publisher_tc->purposes_consent), std::vector<int>({24}));
  EXPECT_EQ(Ones(tc->publisher_tc->purposes_li_transparency), std::vector<int>({1}));
  EXPECT_EQ(tc->publisher_tc->num_custom_purposes, 3);
  EXPECT_EQ(Ones(tc->publisher_tc->custom_purposes_consent), std::vector<int>({1, 3}));
  EXPECT_EQ(Ones(tc->publisher_tc->custom_purposes_li), std::vector<int>({2}));
  json::value j = json::parse(TcStringJson(*tc));
  EXPECT_EQ(j.at("disclosed_vendors").at("ids").as_array().size(), 2u);
  EXPECT_NE(TcStringText(*tc).find("restriction purpose 7 type 1: 20 21 22"), std::string::npos);
}

TEST(TcfHandBuilt, TruncationAtEveryBitErrors) {
  BitWriter w;
  Head(w);
  Vendors(w);
  w.Int(12, 1).Int(6, 2).Int(2, 1).Int(12, 1).Int(1, 1).Int(16, 4).Int(16, 6);
  ASSERT_TRUE(DecodeTcString(w.Encode()).ok());
  for (size_t n = 0; n < w.size(); ++n) {
    // Every bit offset: zero padding up to the next character may form another valid string
    // (a count cut short), so only whole-character cuts must fail; none may crash.
    auto r = DecodeTcString(w.Encode(n));
    if (n % 6 == 0) EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(TcfHandBuilt, BadRangesRefused) {
  auto with_li = [](int max, int start, int end) {
    BitWriter w;
    Head(w);
    w.Int(16, 0).Int(1, 0);
    w.Int(16, max).Int(1, 1).Int(12, 1).Int(1, 1).Int(16, start).Int(16, end).Int(12, 0);
    return DecodeTcString(w.Encode());
  };
  EXPECT_TRUE(with_li(12, 3, 12).ok());
  auto r = with_li(12, 9, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vendor_legitimate_interests"), std::string::npos);
  EXPECT_FALSE(with_li(12, 3, 13).ok());  // above MaxVendorId
  EXPECT_FALSE(with_li(12, 0, 2).ok());   // vendor id 0
}

TEST(TcfDecode, SegmentsAndAlphabet) {
  const std::string core = Core();
  EXPECT_FALSE(DecodeTcString("").ok());
  EXPECT_FALSE(DecodeTcString(core + ".").ok());
  EXPECT_FALSE(DecodeTcString("." + core).ok());
  std::string plus = core;
  plus[3] = '+';
  EXPECT_FALSE(DecodeTcString(plus).ok());
  EXPECT_TRUE(DecodeTcString(core + "==").ok());  // iabtcf-java accepts '=' padding
  EXPECT_FALSE(DecodeTcString(core.substr(0, 10) + "=" + core.substr(10)).ok());
  BitWriter d;
  d.Int(3, 1).Int(16, 1).Int(1, 0).Int(1, 1);
  EXPECT_TRUE(DecodeTcString(core + "." + d.Encode()).ok());
  EXPECT_FALSE(DecodeTcString(core + "." + d.Encode() + "." + d.Encode()).ok());  // repeated
  BitWriter unknown;
  unknown.Int(3, 5).Int(21, 0);
  EXPECT_FALSE(DecodeTcString(core + "." + unknown.Encode()).ok());
  BitWriter again;
  again.Int(3, 0).Int(21, 0);
  EXPECT_FALSE(DecodeTcString(core + "." + again.Encode()).ok());
}

TEST(TcfDecode, OversizeAndBudget) {
  std::string big(kMaxTcStringBytes + 1, 'A');
  auto r = DecodeTcString(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer"), std::string::npos);
  // Many restrictions naming vendor 65535 exceed the vendor-bit budget.
  BitWriter w;
  Head(w);
  w.Int(16, 0).Int(1, 0).Int(16, 0).Int(1, 0).Int(12, 40);
  for (int i = 0; i < 40; ++i) w.Int(6, 1).Int(2, 1).Int(12, 1).Int(1, 0).Int(16, 65535);
  EXPECT_FALSE(DecodeTcString(w.Encode()).ok());
}

TEST(TcfDecode, ErrorsNeverQuoteTheInput) {
  std::string s = Core();
  s[20] = '*';
  auto r = DecodeTcString(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find(s.substr(0, 8)), std::string::npos);
  EXPECT_NE(r.status().message().find("core segment"), std::string::npos);
}

TEST(TcfValidity, Rules) {
  BitWriter old_policy;
  Head(old_policy, 2);
  Vendors(old_policy);
  old_policy.Int(12, 0);
  auto tc = DecodeTcString(old_policy.Encode());
  ASSERT_TRUE(tc.ok());
  Status st = CheckTcfValidity(*tc);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("policy_version"), std::string::npos);
  tc->created_ds = int64_t{1696118399} * 10;  // 2023-09-30T23:59:59Z: before the cutoff
  EXPECT_TRUE(CheckTcfValidity(*tc).ok());
  tc->last_updated_ds = tc->created_ds - 1;
  EXPECT_FALSE(CheckTcfValidity(*tc).ok());
  auto fresh = DecodeTcString(Core());
  ASSERT_TRUE(fresh.ok());
  TcString g = *fresh;
  g.is_service_specific = false;
  EXPECT_FALSE(CheckTcfValidity(g).ok());
  g = *fresh;
  g.purposes_li_transparency.set(0);  // LI for purpose 1
  EXPECT_FALSE(CheckTcfValidity(g).ok());
  g = *fresh;
  g.version = 1;
  EXPECT_FALSE(CheckTcfValidity(g).ok());
}

}  // namespace
}  // namespace scrubd::consent
