// Custom detectors: parsing (`detectors.custom`), validation + conversion to DetectorSpecs, and
// the must_match / must_not_match check (custom.h, docs/detectors.md).
#include "custom.h"

#include <re2/re2.h>

#include <algorithm>

#include "scrubd/common/yaml_check.h"
#include "validators.h"

namespace scrubd::rules::internal {
namespace {

namespace yc = ::scrubd::yamlcheck;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Status ParseCustomExamples(const std::string& file, const YAML::Node& seq, const std::string& what,
                           std::vector<CustomExample>* out) {
  if (!seq || !seq.IsSequence() || seq.size() == 0)
    return yc::Error(file, seq, what + " must be a list of at least one example");
  if (seq.size() > kMaxCustomExamples)
    return yc::Error(file, seq,
                     what + " holds more than " + std::to_string(kMaxCustomExamples) + " examples");
  for (const auto& e : seq) {
    CustomExample ex;
    ex.where = yc::Where(file, e);
    if (e.IsScalar()) {
      ex.text = e.Scalar();
    } else if (e.IsMap()) {
      Status s = yc::CheckKeys(file, e, what,
                               {{"text", yc::Type::kString, "the example string"},
                                {"key", yc::Type::kString, "the key it sits under"}});
      if (!s.ok()) return s;
      if (!e["text"]) return yc::Error(file, e, what + ": example needs text");
      ex.text = yc::GetString(e, "text", "");
      ex.key = yc::GetString(e, "key", "");
    } else {
      return yc::Error(file, e, what + ": an example is a string or {text, key}");
    }
    if (ex.text.empty()) return yc::Error(file, e, what + ": an example must not be empty");
    if (ex.text.size() > kMaxCustomExampleBytes || ex.key.size() > kMaxCustomExampleBytes)
      return yc::Error(file, e,
                       what + ": an example is longer than " +
                           std::to_string(kMaxCustomExampleBytes) + " bytes");
    out->push_back(std::move(ex));
  }
  return Status::Ok();
}

Status ParseCustomPatterns(const std::string& file, const YAML::Node& seq, const std::string& what,
                           bool has_context, int64_t max_mem, CustomDetector* d) {
  if (!seq || !seq.IsSequence() || seq.size() == 0)
    return yc::Error(file, seq, what + ".patterns must be a list of at least one RE2 pattern");
  for (const auto& p : seq) {
    CustomDetector::Pattern cp;
    cp.where = yc::Where(file, p);
    cp.context_required = has_context;
    if (p.IsScalar()) {
      cp.re = p.Scalar();
    } else if (p.IsMap()) {
      Status s = yc::CheckKeys(file, p, what + ".patterns",
                               {{"re", yc::Type::kString, "RE2 pattern"},
                                {"context_required", yc::Type::kBool, "needs a context word"}});
      if (!s.ok()) return s;
      if (!p["re"]) return yc::Error(file, p, what + ".patterns: a pattern needs 're'");
      cp.re = yc::GetString(p, "re", "");
      cp.context_required = yc::GetBool(p, "context_required", has_context);
    } else {
      return yc::Error(file, p,
                       what + ".patterns: a pattern is a string or {re, context_required}");
    }
    if (cp.context_required && !has_context)
      return yc::Error(file, p, what + ": a context_required pattern needs context words");
    const std::string err = CustomPatternError(cp.re, max_mem);
    if (!err.empty()) return yc::Error(file, p, what + ".patterns: " + err);
    d->patterns.push_back(std::move(cp));
  }
  return Status::Ok();
}

Status ParseCustomWords(const std::string& file, const YAML::Node& seq, const std::string& what,
                        std::vector<std::string>* out) {
  if (!seq || seq.IsNull()) return Status::Ok();
  if (seq.size() > kMaxCustomContextWords)
    return yc::Error(
        file, seq, what + " holds more than " + std::to_string(kMaxCustomContextWords) + " words");
  for (const auto& w : seq) {
    if (w.Scalar().empty() || w.Scalar().size() > 64)
      return yc::Error(file, w, what + ": a word is 1..64 bytes");
    out->push_back(Lower(w.Scalar()));
  }
  return Status::Ok();
}

// id, description, validator, boundary: the scalar fields checked against the shared
// predicates at their own nodes.
Status ParseCustomHeader(const std::string& file, const YAML::Node& e,
                         const std::set<std::string>& catalog_ids, CustomDetector* d) {
  for (const char* req : {"id", "description", "patterns", "must_match", "must_not_match"})
    if (!e[req])
      return yc::Error(file, e,
                       std::string("detectors.custom: missing required key '") + req + "'");
  d->id = yc::GetString(e, "id", "");
  if (!IsCustomId(d->id))
    return yc::Error(
        file, e["id"],
        "detectors.custom: id must be a lower-case letter, then up to 47 of a-z 0-9 _");
  if (catalog_ids.count(d->id))
    return yc::Error(file, e["id"],
                     "detectors.custom: id '" + d->id + "' is a catalog detector; pick another");
  d->description = yc::GetString(e, "description", "");
  if (d->description.empty())
    return yc::Error(file, e["description"], "detectors.custom." + d->id + ": empty description");
  d->validator = yc::GetString(e, "validator", "none");
  if (!IsCustomValidator(d->validator))
    return yc::Error(
        file, e["validator"],
        "detectors.custom." + d->id +
            ": unknown validator (known: none, luhn, mod97, card, iban, email, phone, ssn, ipv4, "
            "ipv6, mac, jwt, bearer, secret, query_value, url_credentials, nino, "
            "de_tax_id)");
  d->boundary = yc::GetString(e, "boundary", "alnum");
  Boundary b;
  if (!ParseBoundary(d->boundary, &b))
    return yc::Error(file, e["boundary"],
                     "detectors.custom." + d->id + ": boundary must be none|digit|alnum|word");
  return Status::Ok();
}

Status ParseCustomRedaction(const std::string& file, const YAML::Node& e, CustomDetector* d) {
  const std::string what = "detectors.custom." + d->id;
  if (const YAML::Node m = e["method"]; m && !m.IsNull()) {
    if (!ParseMethod(m.Scalar(), &d->method) || d->method == Method::kTruncateIp)
      return yc::Error(file, m, what + ": unknown method (known: mask, replace, remove, hash)");
  }
  if (e["keep_last"]) {
    const int64_t k = yc::GetInt(e, "keep_last", -1);
    if (k < 0 || k > 64) return yc::Error(file, e["keep_last"], what + ": keep_last must be 0..64");
    d->keep_last = static_cast<int>(k);
  }
  d->label = yc::GetString(e, "label", "");
  return Status::Ok();
}

Status ParseCustomEntry(const std::string& file, const YAML::Node& e, int64_t max_mem,
                        const std::set<std::string>& catalog_ids, CustomDetector* d) {
  Status s = yc::CheckKeys(
      file, e, "detectors.custom",
      {{"id", yc::Type::kString, "detector id, used in counts and reports"},
       {"description", yc::Type::kString, "what it finds"},
       {"patterns", yc::Type::kSeq, "RE2 patterns (string or {re, context_required})"},
       {"validator", yc::Type::kString, "built-in validator: none, luhn, mod97, iban, ..."},
       {"context", yc::Type::kStringList, "context words: the patterns then need one nearby"},
       {"suppress_keys", yc::Type::kStringList, "key substrings under which it never fires"},
       {"boundary", yc::Type::kString, "none | digit | alnum | word (default alnum)"},
       {"method", yc::Type::kString, "mask | replace | remove | hash (default replace)"},
       {"keep_last", yc::Type::kInt, "mask: keep the last N characters"},
       {"label", yc::Type::kString, "replace: the label (default [ID])"},
       {"must_match", yc::Type::kSeq, "examples it must redact"},
       {"must_not_match", yc::Type::kSeq, "examples it must leave alone"}});
  if (!s.ok()) return s;
  d->where = yc::Where(file, e);
  if (!(s = ParseCustomHeader(file, e, catalog_ids, d)).ok()) return s;
  const std::string what = "detectors.custom." + d->id;
  if (!(s = ParseCustomWords(file, e["context"], what + ".context", &d->context_words)).ok())
    return s;
  if (!(s = ParseCustomWords(file, e["suppress_keys"], what + ".suppress_keys", &d->suppress_keys))
           .ok())
    return s;
  s = ParseCustomPatterns(file, e["patterns"], what, !d->context_words.empty(), max_mem, d);
  if (!s.ok()) return s;
  if (!(s = ParseCustomRedaction(file, e, d)).ok()) return s;
  s = ParseCustomExamples(file, e["must_match"], what + ".must_match", &d->must_match);
  if (!s.ok()) return s;
  return ParseCustomExamples(file, e["must_not_match"], what + ".must_not_match",
                             &d->must_not_match);
}

}  // namespace

bool IsCustomId(const std::string& id) {
  if (id.empty() || id.size() > 48 || id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool ParseBoundary(const std::string& name, Boundary* out) {
  static constexpr std::pair<std::string_view, Boundary> kTable[] = {{"none", Boundary::kNone},
                                                                     {"digit", Boundary::kDigit},
                                                                     {"alnum", Boundary::kAlnum},
                                                                     {"word", Boundary::kWord}};
  for (const auto& [n, b] : kTable)
    if (n == name) {
      *out = b;
      return true;
    }
  return false;
}

bool IsCustomValidator(const std::string& name) {
  return name == "none" || FindValidator(name) != nullptr;
}

std::string CustomPatternError(const std::string& re, int64_t max_mem) {
  if (re.empty()) return "a pattern must not be empty";
  if (re.size() > kMaxCustomPatternBytes)
    return "a pattern is longer than " + std::to_string(kMaxCustomPatternBytes) + " bytes";
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);  // as the scanner compiles it
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  RE2 compiled(re, o);
  if (!compiled.ok()) {  // RE2's message ends with the offending piece: never echoed
    std::string e = compiled.error();
    const size_t arg = compiled.error_arg().size();
    if (arg > 0 && e.size() >= arg + 2) e.resize(e.size() - arg - 2);
    return "bad RE2 pattern: " + e;
  }
  // The scanner wraps each pattern in a group; one that cannot be (an unterminated \Q swallows
  // the closing parenthesis) is refused here, at the pattern's own line.
  if (!RE2("(?:" + re + ")", o).ok())
    return "a pattern must be a complete group (an unterminated \\Q?)";
  if (compiled.ProgramSize() > kMaxCustomProgramSize)
    return "pattern too large (" + std::to_string(compiled.ProgramSize()) +
           " RE2 instructions, at most " + std::to_string(kMaxCustomProgramSize) + ")";
  if (RE2::FullMatch("", compiled)) return "a pattern must not match the empty string";
  return "";
}

Status ParseCustomSection(const std::string& file, const YAML::Node& seq, int64_t max_mem,
                          const std::set<std::string>& catalog_ids,
                          std::vector<CustomDetector>* out) {
  if (!seq || seq.IsNull()) return Status::Ok();
  if (!seq.IsSequence()) return yc::Error(file, seq, "detectors.custom must be a list");
  if (seq.size() > kMaxCustomDetectors)
    return yc::Error(
        file, seq,
        "detectors.custom holds more than " + std::to_string(kMaxCustomDetectors) + " detectors");
  std::set<std::string> ids;
  size_t patterns = 0;
  for (const auto& e : seq) {
    CustomDetector d;
    Status s = ParseCustomEntry(file, e, max_mem, catalog_ids, &d);
    if (!s.ok()) return s;
    if (!ids.insert(d.id).second)
      return yc::Error(file, e["id"], "detectors.custom: duplicate id '" + d.id + "'");
    patterns += d.patterns.size();
    if (patterns > kMaxCustomPatterns)
      return yc::Error(
          file, e["patterns"],
          "detectors.custom: more than " + std::to_string(kMaxCustomPatterns) + " patterns in all");
    out->push_back(std::move(d));
  }
  return Status::Ok();
}

Result<std::vector<DetectorSpec>> CustomSpecs(const std::vector<CustomDetector>& custom,
                                              const std::set<std::string>& catalog_ids,
                                              int64_t max_mem) {
  if (custom.size() > kMaxCustomDetectors)
    return Status::InvalidConfig("detectors.custom: more than " +
                                 std::to_string(kMaxCustomDetectors) + " detectors");
  std::vector<DetectorSpec> out;
  std::set<std::string> ids;
  size_t patterns = 0;
  for (const CustomDetector& c : custom) {
    const std::string at = (c.where.empty() ? "detectors.custom" : c.where) + ": custom detector '";
    auto bad = [&](const std::string& why) {  // a malformed id is not repeated
      return Status::InvalidConfig(at + (IsCustomId(c.id) ? c.id : "?") + "': " + why);
    };
    if (!IsCustomId(c.id)) return bad("bad id");
    if (catalog_ids.count(c.id) || !ids.insert(c.id).second) return bad("id already taken");
    if (!IsCustomValidator(c.validator)) return bad("unknown validator");
    DetectorSpec d;
    if (!ParseBoundary(c.boundary, &d.boundary)) return bad("bad boundary");
    if (c.method == Method::kTruncateIp) return bad("truncate_ip applies only to ipv4/ipv6");
    if (c.keep_last < 0 || c.keep_last > 64) return bad("keep_last must be 0..64");
    if (c.patterns.empty()) return bad("no patterns");
    if ((patterns += c.patterns.size()) > kMaxCustomPatterns) return bad("too many patterns");
    if (c.context_words.size() > kMaxCustomContextWords) return bad("too many context words");
    const bool has_words = std::any_of(c.context_words.begin(), c.context_words.end(),
                                       [](const std::string& w) { return !w.empty(); });
    for (const auto& p : c.patterns) {
      const std::string err = CustomPatternError(p.re, max_mem);
      if (!err.empty()) return bad(err);
      if (p.context_required && !has_words)  // empty words are dropped below
        return bad("a context_required pattern needs context words");
      d.patterns.push_back({p.re, p.context_required});
    }
    d.file = c.where.empty() ? "detectors.custom." + c.id : c.where;
    d.id = c.id;
    d.description = c.description;
    d.validator = c.validator;
    for (const auto& w : c.context_words)
      if (!w.empty()) d.context_words.push_back(Lower(w));
    for (const auto& w : c.suppress_keys)
      if (!w.empty()) d.suppress_keys.push_back(Lower(w));
    d.method = c.method;
    d.label = c.label.empty() ? "[" + Upper(c.id) + "]" : c.label;
    d.keep_last = c.keep_last;
    d.hash_prefix = c.id + "_";
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace scrubd::rules::internal

namespace scrubd::rules {
namespace {

// What fired on an example, for the message: rule ids only, never the text.
std::string Fired(const RedactionCounts& c) {
  // (by_rule holds only rules that fired: Hits never inserts.)
  std::string out;
  for (const auto& [rule, n] : c.by_rule) out += (out.empty() ? "" : ", ") + rule;
  return out.empty() ? "nothing" : out;
}

uint64_t Hits(const RedactionCounts& c, const std::string& id) {
  auto it = c.by_rule.find(id);
  return it == c.by_rule.end() ? 0 : it->second;
}

}  // namespace

Status CheckCustomExamples(const Scanner& scanner, const ScannerConfig& config) {
  for (const CustomDetector& d : config.custom) {
    const std::string what = "detectors.custom." + d.id;
    for (size_t i = 0; i < d.must_match.size(); ++i) {
      const CustomExample& ex = d.must_match[i];
      std::string text = ex.text;
      RedactionCounts c;
      scanner.Redact(text, ex.key, &c);
      if (Hits(c, d.id) == 0)
        return Status::InvalidConfig(ex.where + ": " + what + ".must_match[" + std::to_string(i) +
                                     "] is not redacted by '" + d.id + "' (fired: " + Fired(c) +
                                     ")");
    }
    for (size_t i = 0; i < d.must_not_match.size(); ++i) {
      const CustomExample& ex = d.must_not_match[i];
      std::string text = ex.text;
      RedactionCounts c;
      scanner.Redact(text, ex.key, &c);
      if (Hits(c, d.id) != 0)
        return Status::InvalidConfig(ex.where + ": " + what + ".must_not_match[" +
                                     std::to_string(i) + "] is redacted by '" + d.id + "'");
    }
  }
  return Status::Ok();
}

}  // namespace scrubd::rules
