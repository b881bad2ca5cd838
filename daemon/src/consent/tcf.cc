// TC string decoding: base64url segments -> bit reader -> fields (docs/tcf.md).
#include "consent/tcf.h"

#include <algorithm>
#include <ctime>
#include <sstream>

namespace scrubd::consent {
namespace {

// All vendor lists of one string together may hold at most this many bits (a 16 KiB string
// could otherwise ask for thousands of 65535-bit restriction lists).
constexpr size_t kMaxVendorBits = size_t{1} << 20;
constexpr int kMaxSegments = 8;
// 2023-10-01T00:00:00Z in deciseconds: "created after 2023-09-30".
constexpr int64_t kPolicyV4CutoffDs = int64_t{1696118400} * 10;

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

class BitReader {
 public:
  BitReader(std::vector<uint8_t> sextets, std::string seg)
      : s_(std::move(sextets)), seg_(std::move(seg)) {}
  size_t size() const { return s_.size() * 6; }
  // Reads n <= 36 bits MSB first; an error names the field and the bit offset.
  Status Read(int n, const char* field, int64_t* out) {
    if (pos_ + n > size())
      return Status::InvalidInput(seg_ + ": " + field + " at bit " + std::to_string(pos_) +
                                  " runs past the end of the segment");
    int64_t v = 0;
    for (int i = 0; i < n; ++i, ++pos_) v = (v << 1) | ((s_[pos_ / 6] >> (5 - pos_ % 6)) & 1);
    *out = v;
    return Status::Ok();
  }
  Status Int(int n, const char* field, int* out) {
    int64_t v = 0;
    Status st = Read(n, field, &v);
    *out = static_cast<int>(v);
    return st;
  }
  Status Bool(const char* field, bool* out) {
    int64_t v = 0;
    Status st = Read(1, field, &v);
    *out = v != 0;
    return st;
  }
  template <size_t N>
  Status Bits(const char* field, std::bitset<N>* out) {
    for (size_t i = 0; i < N; ++i) {
      bool b = false;
      if (Status st = Bool(field, &b); !st.ok()) return st;
      out->set(i, b);
    }
    return Status::Ok();
  }
  Status Letters(const char* field, std::string* out) {
    for (int i = 0; i < 2; ++i) {
      int v = 0;
      if (Status st = Int(6, field, &v); !st.ok()) return st;
      if (v > 25) return Status::InvalidInput(seg_ + ": " + field + " is not two letters A-Z");
      out->push_back(static_cast<char>('A' + v));
    }
    return Status::Ok();
  }
  Status Error(const std::string& what) const {
    return Status::InvalidInput(seg_ + ": " + what + " (bit " + std::to_string(pos_) + ")");
  }
  size_t* budget = nullptr;

 private:
  std::vector<uint8_t> s_;
  std::string seg_;
  size_t pos_ = 0;
};

#define TCF_TRY(expr)                               \
  do {                                              \
    if (Status st_ = (expr); !st_.ok()) return st_; \
  } while (0)

Status Reserve(BitReader& r, int max_id, const char* field) {
  if (static_cast<size_t>(max_id) + 1 > *r.budget)
    return r.Error(std::string(field) + ": vendor lists exceed the size budget");
  *r.budget -= static_cast<size_t>(max_id) + 1;
  return Status::Ok();
}

// NumEntries (12) then entries IsARange (1), StartOrOnlyVendorId (16)[, EndVendorId (16)].
// max_id < 0: no MaxVendorId bound (publisher restrictions); the set's max becomes the highest.
Status ReadRanges(BitReader& r, int max_id, const char* field, TcfVendorSet* out) {
  int n = 0;
  TCF_TRY(r.Int(12, field, &n));
  std::vector<std::pair<int, int>> ranges;
  int highest = 0;
  for (int i = 0; i < n; ++i) {
    bool is_range = false;
    int start = 0, end = 0;
    TCF_TRY(r.Bool(field, &is_range));
    TCF_TRY(r.Int(16, field, &start));
    end = start;
    if (is_range) TCF_TRY(r.Int(16, field, &end));
    if (start < 1) return r.Error(std::string(field) + ": vendor id 0 in a range entry");
    if (end < start) return r.Error(std::string(field) + ": range end before its start");
    if (max_id >= 0 && end > max_id)
      return r.Error(std::string(field) + ": vendor id above MaxVendorId");
    highest = std::max(highest, end);
    ranges.emplace_back(start, end);
  }
  if (max_id < 0) max_id = highest;
  TCF_TRY(Reserve(r, max_id, field));
  out->max_vendor_id = static_cast<uint16_t>(max_id);
  out->bits.assign(static_cast<size_t>(max_id) + 1, false);
  // Sorted, each id set once: overlapping entries cost nothing more than MaxVendorId bits.
  std::sort(ranges.begin(), ranges.end());
  int filled = 0;
  for (auto [a, b] : ranges) {
    for (int id = std::max(a, filled + 1); id <= b; ++id) out->bits[id] = true;
    filled = std::max(filled, b);
  }
  return Status::Ok();
}

// MaxVendorId (16), IsRangeEncoding (1), then a bitfield or a range list.
Status ReadVendorSet(BitReader& r, const char* field, TcfVendorSet* out) {
  int max_id = 0;
  TCF_TRY(r.Int(16, field, &max_id));
  TCF_TRY(r.Bool(field, &out->is_range_encoding));
  if (out->is_range_encoding) return ReadRanges(r, max_id, field, out);
  TCF_TRY(Reserve(r, max_id, field));
  out->max_vendor_id = static_cast<uint16_t>(max_id);
  out->bits.assign(static_cast<size_t>(max_id) + 1, false);
  for (int id = 1; id <= max_id; ++id) {
    bool b = false;
    TCF_TRY(r.Bool(field, &b));
    out->bits[id] = b;
  }
  return Status::Ok();
}

Status ReadCoreHead(BitReader& r, TcString* tc) {
  TCF_TRY(r.Int(6, "version", &tc->version));
  if (tc->version != 2)
    return r.Error("version " + std::to_string(tc->version) + " is not 2 (TCF v2 only)");
  TCF_TRY(r.Read(36, "created", &tc->created_ds));
  TCF_TRY(r.Read(36, "last_updated", &tc->last_updated_ds));
  TCF_TRY(r.Int(12, "cmp_id", &tc->cmp_id));
  TCF_TRY(r.Int(12, "cmp_version", &tc->cmp_version));
  TCF_TRY(r.Int(6, "consent_screen", &tc->consent_screen));
  TCF_TRY(r.Letters("consent_language", &tc->consent_language));
  TCF_TRY(r.Int(12, "vendor_list_version", &tc->vendor_list_version));
  TCF_TRY(r.Int(6, "policy_version", &tc->policy_version));
  TCF_TRY(r.Bool("is_service_specific", &tc->is_service_specific));
  TCF_TRY(r.Bool("use_non_standard_texts", &tc->use_non_standard_texts));
  TCF_TRY(r.Bits("special_feature_opt_ins", &tc->special_feature_opt_ins));
  TCF_TRY(r.Bits("purposes_consent", &tc->purposes_consent));
  TCF_TRY(r.Bits("purposes_li_transparency", &tc->purposes_li_transparency));
  TCF_TRY(r.Bool("purpose_one_treatment", &tc->purpose_one_treatment));
  return r.Letters("publisher_cc", &tc->publisher_cc);
}

Status ReadCore(BitReader& r, TcString* tc) {
  TCF_TRY(ReadCoreHead(r, tc));
  TCF_TRY(ReadVendorSet(r, "vendor_consents", &tc->vendor_consents));
  TCF_TRY(ReadVendorSet(r, "vendor_legitimate_interests", &tc->vendor_legitimate_interests));
  int n = 0;
  TCF_TRY(r.Int(12, "publisher_restrictions", &n));
  for (int i = 0; i < n; ++i) {
    TcfPublisherRestriction pr;
    TCF_TRY(r.Int(6, "publisher_restrictions", &pr.purpose_id));
    TCF_TRY(r.Int(2, "publisher_restrictions", &pr.restriction_type));
    TCF_TRY(ReadRanges(r, -1, "publisher_restrictions", &pr.vendors));
    pr.vendors.is_range_encoding = true;
    tc->publisher_restrictions.push_back(std::move(pr));
  }
  return Status::Ok();
}

Status ReadPublisherTc(BitReader& r, TcfPublisherTc* p) {
  TCF_TRY(r.Bits("pub_purposes_consent", &p->purposes_consent));
  TCF_TRY(r.Bits("pub_purposes_li_transparency", &p->purposes_li_transparency));
  TCF_TRY(r.Int(6, "num_custom_purposes", &p->num_custom_purposes));
  for (auto* v : {&p->custom_purposes_consent, &p->custom_purposes_li}) {
    for (int i = 0; i < p->num_custom_purposes; ++i) {
      bool b = false;
      TCF_TRY(r.Bool("custom_purposes", &b));
      v->push_back(b);
    }
  }
  return Status::Ok();
}

// One segment's characters as sextets; '=' padding tolerated at the end only.
Result<std::vector<uint8_t>> Sextets(std::string_view seg, const std::string& name) {
  while (!seg.empty() && seg.back() == '=') seg.remove_suffix(1);
  if (seg.empty()) return Status::InvalidInput(name + ": empty");
  std::vector<uint8_t> out;
  out.reserve(seg.size());
  for (size_t i = 0; i < seg.size(); ++i) {
    int v = Sextet(seg[i]);
    if (v < 0)
      return Status::InvalidInput(name + ": character " + std::to_string(i) +
                                  " is not base64url (A-Z a-z 0-9 - _)");
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

Status ReadSegment(BitReader& r, int index, bool seen[8], TcString* tc) {
  if (index == 0) return ReadCore(r, tc);
  int type = 0;
  TCF_TRY(r.Int(3, "segment_type", &type));
  if (seen[type]) return r.Error("segment type " + std::to_string(type) + " repeated");
  seen[type] = true;
  if (type == 1) return ReadVendorSet(r, "disclosed_vendors", &tc->disclosed_vendors.emplace());
  if (type == 2) {  // AllowedVendors (TCF 2.0/2.1, removed in 2.2): checked, then dropped
    TcfVendorSet allowed;
    return ReadVendorSet(r, "allowed_vendors", &allowed);
  }
  if (type == 3) return ReadPublisherTc(r, &tc->publisher_tc.emplace());
  return r.Error("segment type " + std::to_string(type) + " is not 1, 2 or 3");
}

std::string Iso(int64_t ds) {
  std::time_t t = static_cast<std::time_t>(ds / 10);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(ds % 10) + "Z";
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

std::string List(const std::vector<int>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

std::string B(bool b) { return b ? "true" : "false"; }

std::string SetJson(const TcfVendorSet& s) {
  return "{\"max_vendor_id\":" + std::to_string(s.max_vendor_id) +
         ",\"is_range_encoding\":" + B(s.is_range_encoding) + ",\"ids\":" + List(s.Ids()) + "}";
}

std::string PublisherTcJson(const std::optional<TcfPublisherTc>& p) {
  if (!p) return "null";
  return "{\"purposes_consent\":" + List(Ones(p->purposes_consent)) +
         ",\"purposes_li_transparency\":" + List(Ones(p->purposes_li_transparency)) +
         ",\"num_custom_purposes\":" + std::to_string(p->num_custom_purposes) +
         ",\"custom_purposes_consent\":" + List(Ones(p->custom_purposes_consent)) +
         ",\"custom_purposes_li\":" + List(Ones(p->custom_purposes_li)) + "}";
}

std::string Words(const std::vector<int>& v) {
  if (v.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + std::to_string(v[i]);
  return out;
}

}  // namespace

bool TcfVendorSet::Has(int vendor_id) const {
  return vendor_id >= 1 && vendor_id <= max_vendor_id &&
         static_cast<size_t>(vendor_id) < bits.size() && bits[vendor_id];
}

std::vector<int> TcfVendorSet::Ids() const {
  std::vector<int> out;
  for (size_t i = 1; i < bits.size() && i <= max_vendor_id; ++i)
    if (bits[i]) out.push_back(static_cast<int>(i));
  return out;
}

bool TcString::PurposeConsent(int purpose) const {
  return purpose >= 1 && purpose <= 24 && purposes_consent[purpose - 1];
}

Result<TcString> DecodeTcString(std::string_view s) {
  if (s.size() > kMaxTcStringBytes)
    return Status::InvalidInput("tc string: longer than " + std::to_string(kMaxTcStringBytes) +
                                " bytes");
  if (s.empty()) return Status::InvalidInput("tc string: empty");
  TcString tc;
  bool seen[8] = {};
  size_t budget = kMaxVendorBits;
  int index = 0;
  size_t begin = 0;
  while (begin <= s.size()) {
    if (index >= kMaxSegments) return Status::InvalidInput("tc string: too many segments");
    size_t dot = s.find('.', begin);
    if (dot == std::string_view::npos) dot = s.size();
    std::string name = index == 0 ? "core segment" : "segment " + std::to_string(index + 1);
    auto sextets = Sextets(s.substr(begin, dot - begin), name);
    if (!sextets.ok()) return sextets.status();
    BitReader r(std::move(sextets).value(), name);
    r.budget = &budget;
    TCF_TRY(ReadSegment(r, index, seen, &tc));
    ++index;
    begin = dot + 1;
  }
  return tc;
}

Status CheckTcfValidity(const TcString& tc) {
  if (tc.version != 2) return Status::InvalidInput("version is not 2");
  if (tc.last_updated_ds < tc.created_ds)
    return Status::InvalidInput("last_updated is before created");
  if (tc.created_ds < kPolicyV4CutoffDs) return Status::Ok();
  if (tc.policy_version < 4)
    return Status::InvalidInput("policy_version " + std::to_string(tc.policy_version) +
                                " < 4 in a string created after 2023-09-30");
  if (!tc.is_service_specific)
    return Status::InvalidInput("is_service_specific is 0 (global scope was retired)");
  for (int p : {1, 3, 4, 5, 6})
    if (tc.purposes_li_transparency[p - 1])
      return Status::InvalidInput("purposes_li_transparency has purpose " + std::to_string(p) +
                                  " (TCF v2.2 allows no legitimate interest for it)");
  return Status::Ok();
}

std::string TcStringJson(const TcString& tc) {
  std::string o = "{\"version\":" + std::to_string(tc.version);
  o +=
      ",\"created\":\"" + Iso(tc.created_ds) + "\",\"created_ds\":" + std::to_string(tc.created_ds);
  o += ",\"last_updated\":\"" + Iso(tc.last_updated_ds) +
       "\",\"last_updated_ds\":" + std::to_string(tc.last_updated_ds);
  o += ",\"cmp_id\":" + std::to_string(tc.cmp_id) +
       ",\"cmp_version\":" + std::to_string(tc.cmp_version) +
       ",\"consent_screen\":" + std::to_string(tc.consent_screen);
  o += ",\"consent_language\":\"" + tc.consent_language +
       "\",\"vendor_list_version\":" + std::to_string(tc.vendor_list_version) +
       ",\"policy_version\":" + std::to_string(tc.policy_version);
  o += ",\"is_service_specific\":" + B(tc.is_service_specific) +
       ",\"use_non_standard_texts\":" + B(tc.use_non_standard_texts);
  o += ",\"special_feature_opt_ins\":" + List(Ones(tc.special_feature_opt_ins)) +
       ",\"purposes_consent\":" + List(Ones(tc.purposes_consent)) +
       ",\"purposes_li_transparency\":" + List(Ones(tc.purposes_li_transparency));
  o += ",\"purpose_one_treatment\":" + B(tc.purpose_one_treatment) + ",\"publisher_cc\":\"" +
       tc.publisher_cc + "\"";
  o += ",\"vendor_consents\":" + SetJson(tc.vendor_consents) +
       ",\"vendor_legitimate_interests\":" + SetJson(tc.vendor_legitimate_interests);
  o += ",\"publisher_restrictions\":[";
  for (size_t i = 0; i < tc.publisher_restrictions.size(); ++i) {
    const auto& pr = tc.publisher_restrictions[i];
    o += std::string(i ? "," : "") + "{\"purpose_id\":" + std::to_string(pr.purpose_id) +
         ",\"restriction_type\":" + std::to_string(pr.restriction_type) +
         ",\"vendor_ids\":" + List(pr.vendors.Ids()) + "}";
  }
  o +=
      "],\"disclosed_vendors\":" + (tc.disclosed_vendors ? SetJson(*tc.disclosed_vendors) : "null");
  return o + ",\"publisher_tc\":" + PublisherTcJson(tc.publisher_tc) + "}";
}

std::string TcStringText(const TcString& tc) {
  std::ostringstream o;
  o << "version                  " << tc.version << "\n"
    << "created                  " << Iso(tc.created_ds) << "\n"
    << "last_updated             " << Iso(tc.last_updated_ds) << "\n"
    << "cmp_id / version / screen " << tc.cmp_id << " / " << tc.cmp_version << " / "
    << tc.consent_screen << "\n"
    << "consent_language         " << tc.consent_language << "\n"
    << "vendor_list_version      " << tc.vendor_list_version << "\n"
    << "policy_version           " << tc.policy_version << "\n"
    << "is_service_specific      " << tc.is_service_specific << "\n"
    << "use_non_standard_texts   " << tc.use_non_standard_texts << "\n"
    << "special_feature_opt_ins  " << Words(Ones(tc.special_feature_opt_ins)) << "\n"
    << "purposes_consent         " << Words(Ones(tc.purposes_consent)) << "\n"
    << "purposes_li_transparency " << Words(Ones(tc.purposes_li_transparency)) << "\n"
    << "purpose_one_treatment    " << tc.purpose_one_treatment << "\n"
    << "publisher_cc             " << tc.publisher_cc << "\n"
    << "vendor_consents          " << Words(tc.vendor_consents.Ids()) << "\n"
    << "vendor_li                " << Words(tc.vendor_legitimate_interests.Ids()) << "\n";
  for (const auto& pr : tc.publisher_restrictions)
    o << "restriction purpose " << pr.purpose_id << " type " << pr.restriction_type << ": "
      << Words(pr.vendors.Ids()) << "\n";
  if (tc.disclosed_vendors)
    o << "disclosed_vendors        " << Words(tc.disclosed_vendors->Ids()) << "\n";
  if (tc.publisher_tc) {
    const auto& p = *tc.publisher_tc;
    o << "pub_purposes_consent     " << Words(Ones(p.purposes_consent)) << "\n"
      << "pub_purposes_li          " << Words(Ones(p.purposes_li_transparency)) << "\n"
      << "custom_purposes          " << p.num_custom_purposes << " (consent "
      << Words(Ones(p.custom_purposes_consent)) << "; li " << Words(Ones(p.custom_purposes_li))
      << ")\n";
  }
  return o.str();
}

}  // namespace scrubd::consent
