// Location-carrying YAML validation shared by the policy loader and the rules catalog.
// Every error names file:line:col (1-based). Pure functions; never throws: yaml-cpp
// conversion is done with YAML::convert<T>::decode, which reports failure by value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::yamlcheck {

enum class Type { kAny, kBool, kInt, kDouble, kString, kStringList, kMap, kSeq };

// One row of a section's key table (fluent-bit style): name, type, description.
struct Key {
  const char* name;
  Type type;
  const char* description;
};

inline const char* TypeName(Type t) {
  switch (t) {
    case Type::kAny: return "any";
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kStringList: return "list of strings";
    case Type::kMap: return "mapping";
    case Type::kSeq: return "sequence";
  }
  return "?";
}

inline std::string Where(const std::string& file, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

inline Status Error(const std::string& file, const YAML::Node& n, const std::string& msg) {
  return Status::InvalidConfig(Where(file, n) + ": " + msg);
}

inline bool IsType(const YAML::Node& n, Type t) {
  switch (t) {
    case Type::kAny: return true;
    case Type::kBool: {
      bool b;
      return n.IsScalar() && YAML::convert<bool>::decode(n, b);
    }
    case Type::kInt: {
      int64_t i;
      return n.IsScalar() && YAML::convert<int64_t>::decode(n, i);
    }
    case Type::kDouble: {
      double d;
      return n.IsScalar() && YAML::convert<double>::decode(n, d);
    }
    case Type::kString: return n.IsScalar();
    case Type::kStringList:
      if (!n.IsSequence()) return false;
      for (const auto& e : n)
        if (!e.IsScalar()) return false;
      return true;
    case Type::kMap: return n.IsMap();
    case Type::kSeq: return n.IsSequence();
  }
  return false;
}

// Checks that `node` is a mapping whose keys are all in `table`, none duplicated, each of the
// declared type. Unknown keys are errors (a typo must never silently disable a rule).
inline Status CheckKeys(const std::string& file, const YAML::Node& node, const std::string& what,
                        std::initializer_list<Key> table) {
  if (!node.IsMap()) return Error(file, node, what + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Error(file, kv.first, what + ": keys must be strings");
    const std::string name = kv.first.Scalar();
    if (!seen.insert(name).second)
      return Error(file, kv.first, what + ": duplicate key '" + name + "'");
    const Key* found = nullptr;
    for (const auto& k : table)
      if (name == k.name) found = &k;
    if (!found) {
      std::string known;
      for (const auto& k : table) known += (known.empty() ? "" : ", ") + std::string(k.name);
      return Error(file, kv.first, what + ": unknown key '" + name + "' (known: " + known + ")");
    }
    if (!kv.second.IsNull() && !IsType(kv.second, found->type))
      return Error(file, kv.second, what + "." + name + " must be a " + TypeName(found->type));
  }
  return Status::Ok();
}

// Typed getters: absent or null keeps the default. Call after CheckKeys.
inline bool GetBool(const YAML::Node& map, const char* key, bool def) {
  YAML::Node n = map[key];
  bool v = def;
  if (n && !n.IsNull()) YAML::convert<bool>::decode(n, v);
  return v;
}
inline int64_t GetInt(const YAML::Node& map, const char* key, int64_t def) {
  YAML::Node n = map[key];
  int64_t v = def;
  if (n && !n.IsNull()) YAML::convert<int64_t>::decode(n, v);
  return v;
}
inline double GetDouble(const YAML::Node& map, const char* key, double def) {
  YAML::Node n = map[key];
  double v = def;
  if (n && !n.IsNull()) YAML::convert<double>::decode(n, v);
  return v;
}
inline std::string GetString(const YAML::Node& map, const char* key, const std::string& def) {
  YAML::Node n = map[key];
  if (n && n.IsScalar()) return n.Scalar();
  return def;
}
inline std::vector<std::string> GetStringList(const YAML::Node& map, const char* key,
                                              std::vector<std::string> def = {}) {
  YAML::Node n = map[key];
  if (!n || n.IsNull() || !n.IsSequence()) return def;
  std::vector<std::string> out;
  for (const auto& e : n) out.push_back(e.Scalar());
  return out;
}

}  // namespace scrubd::yamlcheck
