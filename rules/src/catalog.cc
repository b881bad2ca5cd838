#include "catalog.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "scrubd/common/yaml_check.h"
#include "validators.h"

namespace scrubd::rules::internal {
namespace {

namespace yc = ::scrubd::yamlcheck;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status ParseExamples(const std::string& file, const YAML::Node& seq, const char* what,
                     std::vector<Example>* out) {
  if (!seq || !seq.IsSequence()) return yc::Error(file, seq, std::string(what) + " must be a list");
  for (const auto& e : seq) {
    Example ex;
    if (e.IsScalar()) {
      ex.text = e.Scalar();
    } else if (e.IsMap()) {
      Status s = yc::CheckKeys(file, e, what,
                               {{"text", yc::Type::kString, "the example string"},
                                {"key", yc::Type::kString, "the key it sits under"}});
      if (!s.ok()) return s;
      if (!e["text"]) return yc::Error(file, e, std::string(what) + ": example needs text");
      ex.text = yc::GetString(e, "text", "");
      ex.key = yc::GetString(e, "key", "");
    } else {
      return yc::Error(file, e, std::string(what) + ": example must be a string or {text, key}");
    }
    out->push_back(std::move(ex));
  }
  return Status::Ok();
}

}  // namespace

bool ParseMethod(std::string_view name, Method* out) {
  static constexpr std::pair<std::string_view, Method> kTable[] = {
      {"mask", Method::kMask},
      {"replace", Method::kReplace},
      {"remove", Method::kRemove},
      {"hash", Method::kHash},
      {"truncate_ip", Method::kTruncateIp}};
  for (const auto& [n, m] : kTable)
    if (n == name) {
      *out = m;
      return true;
    }
  return false;
}

Result<DetectorSpec> ParseDetectorFile(const std::string& file, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidConfig(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Status s = yc::CheckKeys(
      file, root, "detector",
      {{"id", yc::Type::kString, "detector id, used in policies and counts"},
       {"description", yc::Type::kString, "what it finds and why it is safe"},
       {"patterns", yc::Type::kSeq, "RE2 patterns (string or {re, context_required})"},
       {"validator", yc::Type::kString, "built-in validator run on each located value"},
       {"boundary", yc::Type::kString, "none | digit | alnum | word"},
       {"context_words", yc::Type::kStringList, "words that mark context (key or before)"},
       {"suppress_keys", yc::Type::kStringList, "key substrings under which it never fires"},
       {"redaction", yc::Type::kMap, "default method: {method, label, keep_last, hash_prefix}"},
       {"must_match", yc::Type::kSeq, "examples it must fire on (>= 10)"},
       {"must_not_match", yc::Type::kSeq, "examples it must not fire on (>= 10)"}});
  if (!s.ok()) return s;
  DetectorSpec d;
  d.file = file;
  for (const char* req :
       {"id", "patterns", "validator", "redaction", "must_match", "must_not_match"})
    if (!root[req]) return yc::Error(file, root, std::string("missing required key '") + req + "'");
  d.id = yc::GetString(root, "id", "");
  d.description = yc::GetString(root, "description", "");
  for (const auto& p : root["patterns"]) {
    PatternSpec ps;
    if (p.IsScalar()) {
      ps.re = p.Scalar();
    } else {
      s = yc::CheckKeys(file, p, "pattern",
                        {{"re", yc::Type::kString, "RE2 pattern"},
                         {"context_required", yc::Type::kBool, "needs a context word"}});
      if (!s.ok()) return s;
      if (!p["re"]) return yc::Error(file, p, "pattern needs 're'");
      ps.re = yc::GetString(p, "re", "");
      ps.context_required = yc::GetBool(p, "context_required", false);
    }
    d.patterns.push_back(std::move(ps));
  }
  if (d.patterns.empty()) return yc::Error(file, root["patterns"], "patterns must not be empty");
  d.validator = yc::GetString(root, "validator", "none");
  if (!FindValidator(d.validator) && d.validator != "none")
    return yc::Error(file, root["validator"], "unknown validator '" + d.validator + "'");
  const std::string b = yc::GetString(root, "boundary", "alnum");
  if (b == "none")
    d.boundary = Boundary::kNone;
  else if (b == "digit")
    d.boundary = Boundary::kDigit;
  else if (b == "alnum")
    d.boundary = Boundary::kAlnum;
  else if (b == "word")
    d.boundary = Boundary::kWord;
  else
    return yc::Error(file, root["boundary"], "boundary must be none|digit|alnum|word");
  for (auto& w : yc::GetStringList(root, "context_words")) d.context_words.push_back(Lower(w));
  for (auto& w : yc::GetStringList(root, "suppress_keys")) d.suppress_keys.push_back(Lower(w));
  for (const auto& p : d.patterns)
    if (p.context_required && d.context_words.empty())
      return yc::Error(file, root["patterns"], "context_required pattern needs context_words");

  const YAML::Node r = root["redaction"];
  s = yc::CheckKeys(file, r, "redaction",
                    {{"method", yc::Type::kString, "mask|replace|remove|hash|truncate_ip"},
                     {"label", yc::Type::kString, "replace label"},
                     {"keep_last", yc::Type::kInt, "mask: keep last N alphanumerics"},
                     {"hash_prefix", yc::Type::kString, "hash: output prefix"}});
  if (!s.ok()) return s;
  if (!ParseMethod(yc::GetString(r, "method", ""), &d.method))
    return yc::Error(file, r["method"] ? r["method"] : r,
                     "redaction.method must be mask|replace|remove|hash|truncate_ip");
  d.label = yc::GetString(r, "label", "[" + d.id + "]");
  d.keep_last = static_cast<int>(yc::GetInt(r, "keep_last", 0));
  d.hash_prefix = yc::GetString(r, "hash_prefix", d.id + "_");
  s = ParseExamples(file, root["must_match"], "must_match", &d.must_match);
  if (!s.ok()) return s;
  s = ParseExamples(file, root["must_not_match"], "must_not_match", &d.must_not_match);
  if (!s.ok()) return s;
  if (d.must_match.size() < 10 || d.must_not_match.size() < 10)
    return yc::Error(file, root,
                     "a detector needs at least 10 must_match and 10 "
                     "must_not_match examples");
  return d;
}

Result<std::vector<DetectorSpec>> LoadEmbeddedCatalog() {
  std::vector<DetectorSpec> out;
  std::set<std::string> ids;
  for (const auto& f : EmbeddedCatalog()) {
    auto d = ParseDetectorFile(f.name, f.text);
    if (!d.ok()) return d.status();
    if (!ids.insert(d->id).second)
      return Status::InvalidConfig(std::string(f.name) + ": duplicate detector id '" + d->id + "'");
    out.push_back(std::move(d.value()));
  }
  return out;
}

}  // namespace scrubd::rules::internal
