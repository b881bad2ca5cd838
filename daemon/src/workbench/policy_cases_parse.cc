// Parsing `scrubd policy test` files (policy_cases.h). yaml-cpp exceptions stop here.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "scrubd/common/yaml_check.h"
#include "workbench/policy_cases.h"

namespace scrubd::workbench {
namespace fs = std::filesystem;
using yamlcheck::Error;
using yamlcheck::Type;
using yamlcheck::Where;

namespace {

Status StringList(const std::string& file, const YAML::Node& n, const std::string& what,
                  std::vector<Located>* out) {
  if (!n || n.IsNull()) return Status::Ok();
  for (const YAML::Node& e : n) {
    if (e.Scalar().empty()) return Error(file, e, what + ": an empty string checks nothing");
    out->push_back({e.Scalar(), Where(file, e)});
  }
  return Status::Ok();
}

Status Selectors(const std::string& file, const YAML::Node& n, const std::string& what,
                 std::vector<SelectorCheck>* out) {
  if (!n || n.IsNull()) return Status::Ok();
  for (const YAML::Node& e : n) {
    Result<policies::SelectorList> list = policies::SelectorList::Parse(e.Scalar());
    if (!list.ok()) return Error(file, e, what + ": " + list.status().message());
    out->push_back({e.Scalar(), Where(file, e), std::move(list).value()});
  }
  return Status::Ok();
}

Result<uint64_t> Count(const std::string& file, const YAML::Node& n, const std::string& what) {
  int64_t v = 0;
  if (!YAML::convert<int64_t>::decode(n, v) || v < 0)
    return Error(file, n, what + " must be a count (an integer >= 0)");
  return static_cast<uint64_t>(v);
}

Status DropLimits(const std::string& file, const YAML::Node& node, TestCase* c) {
  if (YAML::Node n = node["max_dropped"]; n && !n.IsNull()) {
    Result<uint64_t> v = Count(file, n, "max_dropped");
    if (!v.ok()) return v.status();
    c->max_dropped = *v;
  }
  if (YAML::Node n = node["max_rejected"]; n && !n.IsNull()) {
    Result<uint64_t> v = Count(file, n, "max_rejected");
    if (!v.ok()) return v.status();
    c->max_rejected = *v;
  }
  if (YAML::Node n = node["max_dropped_by_reason"]; n && !n.IsNull())
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty())
        return Error(file, kv.first, "max_dropped_by_reason: keys are reasons");
      Result<uint64_t> v = Count(file, kv.second, "max_dropped_by_reason." + kv.first.Scalar());
      if (!v.ok()) return v.status();
      if (!c->max_dropped_by_reason.emplace(kv.first.Scalar(), *v).second)
        return Error(file, kv.first, "max_dropped_by_reason: duplicate reason");
    }
  return Status::Ok();
}

Result<TestCase> ParseCase(const std::string& file, const fs::path& base, const YAML::Node& n) {
  if (Status s = yamlcheck::CheckKeys(
          file, n, "case",
          {{"name", Type::kString, "what the case checks"},
           {"input", Type::kString, "capture directory, relative to the test file"},
           {"hidden", Type::kStringList, "strings that must not appear in any output byte"},
           {"visible", Type::kStringList, "strings that must survive in the stored data"},
           {"selectors_masked", Type::kStringList, "elements whose text must come out masked"},
           {"selectors_blocked", Type::kStringList, "elements that must come out blocked"},
           {"redacted_by", Type::kStringList, "rule ids that must redact at least once"},
           {"max_dropped", Type::kInt, "events dropped in all, at most"},
           {"max_dropped_by_reason", Type::kMap, "events dropped per reason, at most"},
           {"max_rejected", Type::kInt, "requests answered non-2xx, at most (default 0)"}});
      !s.ok())
    return s;
  TestCase c;
  c.where = Where(file, n);
  if (!n["name"] || n["name"].Scalar().empty()) return Error(file, n, "case: name is required");
  if (!n["input"] || n["input"].Scalar().empty()) return Error(file, n, "case: input is required");
  c.name = n["name"].Scalar();
  c.input = base / n["input"].Scalar();
  if (Status s = StringList(file, n["hidden"], "hidden", &c.hidden); !s.ok()) return s;
  if (Status s = StringList(file, n["visible"], "visible", &c.visible); !s.ok()) return s;
  if (Status s = StringList(file, n["redacted_by"], "redacted_by", &c.redacted_by); !s.ok())
    return s;
  if (Status s = Selectors(file, n["selectors_masked"], "selectors_masked", &c.selectors_masked);
      !s.ok())
    return s;
  if (Status s = Selectors(file, n["selectors_blocked"], "selectors_blocked", &c.selectors_blocked);
      !s.ok())
    return s;
  if (Status s = DropLimits(file, n, &c); !s.ok()) return s;
  return c;
}

Result<TestFile> ParseRoot(const fs::path& path, const YAML::Node& root) {
  const std::string file = path.string();
  if (Status s = yamlcheck::CheckKeys(file, root, "test file",
                                      {{"policy", Type::kString, "the policy file"},
                                       {"policies", Type::kStringList, "a policy set"},
                                       {"cases", Type::kSeq, "the cases"}});
      !s.ok())
    return s;
  const fs::path base = path.parent_path();
  TestFile tf;
  tf.path = path;
  if (root["policy"] && root["policies"])
    return Error(file, root["policies"], "give policy or policies, not both");
  if (YAML::Node p = root["policy"]; p && !p.Scalar().empty())
    tf.policy_files.push_back((base / p.Scalar()).string());
  if (YAML::Node ps = root["policies"]; ps && ps.IsSequence())
    for (const YAML::Node& p : ps) tf.policy_files.push_back((base / p.Scalar()).string());
  if (tf.policy_files.empty()) return Error(file, root, "a policy or policies is required");
  YAML::Node cases = root["cases"];
  if (!cases || !cases.IsSequence() || cases.size() == 0)
    return Error(file, root, "cases: at least one case is required");
  std::set<std::string> names;
  for (const YAML::Node& n : cases) {
    Result<TestCase> c = ParseCase(file, base, n);
    if (!c.ok()) return c.status();
    if (!names.insert(c->name).second) return Error(file, n["name"], "case: duplicate name");
    tf.cases.push_back(std::move(c).value());
  }
  return tf;
}

}  // namespace

Result<TestFile> ParseTestText(const fs::path& path, std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where = path.string();
    if (e.mark.line >= 0)
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status::InvalidConfig(where + ": YAML syntax: " + e.msg);
  }
  try {
    if (!root || root.IsNull()) return Status::InvalidConfig(path.string() + ": empty test file");
    return ParseRoot(path, root);
  } catch (const YAML::Exception& e) {
    return Status::InvalidConfig(path.string() + ": " + e.what());
  }
}

Result<TestFile> ParseTestFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidConfig(path.string() + ": cannot open test file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTestText(path, ss.str());
}

}  // namespace scrubd::workbench
