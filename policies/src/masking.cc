#include "scrubd/policies/masking.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>

#include "scrubd/common/yaml_check.h"

namespace scrubd::policies {
namespace {

namespace yc = scrubd::yamlcheck;

constexpr std::array<std::string_view, 20> kKnownInputTypes = {
    "password", "email",          "tel",      "text", "number", "search", "url",    "date",
    "time",     "datetime-local", "month",    "week", "color",  "range",  "hidden", "file",
    "textarea", "select",         "checkbox", "radio"};

const std::vector<std::string>& DefaultMaskAttributes() {
  static const std::vector<std::string> kDefault = {"value", "placeholder", "title",
                                                    "alt",   "aria-label",  "data-*"};
  return kDefault;
}

Result<PluginAction> ParseAction(const std::string& file, const YAML::Node& map, const char* key,
                                 PluginAction def) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return def;
  const std::string& v = n.Scalar();
  if (v == "scrub") return PluginAction::kScrub;
  if (v == "drop") return PluginAction::kDrop;
  return yc::Error(file, n,
                   std::string("masking.") + key + " must be 'scrub' or 'drop', got '" + v + "'");
}

// A selector key accepts one string or a list of strings; each entry is parsed on its own so
// that an error points at the entry's own line and column.
Result<SelectorList> ParseSelectors(const std::string& file, const YAML::Node& map, const char* key,
                                    const SelectorList& def) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return def;
  SelectorList out;
  auto one = [&](const YAML::Node& e) -> Status {
    if (!e.IsScalar())
      return yc::Error(file, e, std::string("masking.") + key + " entries must be strings");
    auto parsed = SelectorList::Parse(e.Scalar());
    if (!parsed.ok())
      return yc::Error(file, e, std::string("masking.") + key + ": " + parsed.status().message());
    if (parsed->empty())
      return yc::Error(file, e, std::string("masking.") + key + ": empty selector");
    out.Append(parsed.value());
    return Status::Ok();
  };
  if (n.IsScalar()) {
    Status st = one(n);
    if (!st.ok()) return st;
    return out;
  }
  if (!n.IsSequence())
    return yc::Error(
        file, n, std::string("masking.") + key + " must be a selector string or a list of them");
  for (const auto& e : n) {
    Status st = one(e);
    if (!st.ok()) return st;
  }
  return out;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

MaskingPolicy MaskingPolicy::Defaults() {
  MaskingPolicy p;
  p.block = SelectorList::Parse(".ph-no-capture, [data-ph-no-capture]").value();
  p.mask_text = SelectorList::Parse(".ph-mask").value();
  p.mask_attributes = DefaultMaskAttributes();
  Status st = p.Compile();
  (void)st;  // the default lists are far below the atom limit
  return p;
}

Status MaskingPolicy::Compile() {
  auto built = CompiledSelectors::Build({&block, &mask_text, &unmask_text});
  if (!built.ok()) return built.status();
  compiled = std::make_shared<const CompiledSelectors>(std::move(built).value());
  return Status::Ok();
}

bool MaskingPolicy::MasksAttribute(std::string_view name) const {
  for (const auto& a : mask_attributes) {
    if (!a.empty() && a.back() == '*') {
      if (name.starts_with(std::string_view(a).substr(0, a.size() - 1))) return true;
    } else if (a == name) {
      return true;
    }
  }
  return false;
}

bool MaskingPolicy::MasksInputType(std::string_view type) const {
  if (type == "password") return true;
  if (mask_all_inputs) {
    // Not user-entered text: labels of buttons and the static value of check boxes.
    return type != "checkbox" && type != "radio" && type != "submit" && type != "button" &&
           type != "reset" && type != "image";
  }
  return std::find(mask_input_types.begin(), mask_input_types.end(), type) !=
         mask_input_types.end();
}

Result<MaskingPolicy> ParseMaskingSection(const std::string& file, const YAML::Node& node) {
  MaskingPolicy p = MaskingPolicy::Defaults();
  if (!node || node.IsNull()) return p;
  Status st = yc::CheckKeys(
      file, node, "masking",
      {
          {"mask_all_inputs", yc::Type::kBool, "mask every input value (default true)"},
          {"mask_input_types", yc::Type::kStringList,
           "input types masked when mask_all_inputs is false (password always)"},
          {"mask_all_text", yc::Type::kBool, "mask every text node (default false)"},
          {"block", yc::Type::kAny, "selectors whose subtree is dropped (placeholder kept)"},
          {"mask_text", yc::Type::kAny, "selectors under which text is masked"},
          {"unmask_text", yc::Type::kAny, "exceptions inside masked regions"},
          {"mask_attributes", yc::Type::kStringList,
           "attribute names masked under masked elements; 'data-*' is a prefix"},
          {"block_media", yc::Type::kBool, "drop media src/srcset/poster and canvas data"},
          {"console", yc::Type::kString, "rrweb/console@1: scrub | drop"},
          {"network", yc::Type::kString, "rrweb/network@1: scrub | drop"},
          {"network_bodies", yc::Type::kString, "network request/response bodies: scrub | drop"},
          {"redact_headers", yc::Type::kStringList,
           "extra header names always redacted in network events"},
          {"urls", yc::Type::kMap, "URL rules: query parameters, path ids, fragments"},
      });
  if (!st.ok()) return st;

  p.mask_all_inputs = yc::GetBool(node, "mask_all_inputs", p.mask_all_inputs);
  p.mask_all_text = yc::GetBool(node, "mask_all_text", p.mask_all_text);
  p.block_media = yc::GetBool(node, "block_media", p.block_media);
  if (YAML::Node types = node["mask_input_types"]; types && types.IsSequence()) {
    p.mask_input_types.clear();
    for (const auto& t : types) {
      std::string v = ToLower(t.Scalar());
      if (std::find(kKnownInputTypes.begin(), kKnownInputTypes.end(), v) == kKnownInputTypes.end())
        return yc::Error(file, t, "masking.mask_input_types: unknown input type '" + v + "'");
      p.mask_input_types.push_back(v);
    }
  }
  if (YAML::Node attrs = node["mask_attributes"]; attrs && attrs.IsSequence()) {
    p.mask_attributes.clear();
    for (const auto& a : attrs) {
      std::string v = ToLower(a.Scalar());
      if (v.empty() || v == "*")
        return yc::Error(file, a, "masking.mask_attributes: empty or bare '*' entry");
      if (v == "_csstext" || v.starts_with("rr_") || v == "class" || v == "style")
        return yc::Error(file, a,
                         "masking.mask_attributes: '" + v +
                             "' is structural (rrweb needs it to replay); use block");
      p.mask_attributes.push_back(v);
    }
  }
  if (YAML::Node hs = node["redact_headers"]; hs && hs.IsSequence()) {
    for (const auto& h : hs) p.redact_headers.push_back(ToLower(h.Scalar()));
  }

  auto block = ParseSelectors(file, node, "block", p.block);
  if (!block.ok()) return block.status();
  auto mask = ParseSelectors(file, node, "mask_text", p.mask_text);
  if (!mask.ok()) return mask.status();
  auto unmask = ParseSelectors(file, node, "unmask_text", p.unmask_text);
  if (!unmask.ok()) return unmask.status();
  p.block = std::move(block).value();
  p.mask_text = std::move(mask).value();
  p.unmask_text = std::move(unmask).value();

  for (const char* key : {"console", "network", "network_bodies"}) {
    PluginAction def = key == std::string_view("console")   ? p.console
                       : key == std::string_view("network") ? p.network
                                                            : p.network_bodies;
    auto a = ParseAction(file, node, key, def);
    if (!a.ok()) return a.status();
    (key == std::string_view("console")   ? p.console
     : key == std::string_view("network") ? p.network
                                          : p.network_bodies) = a.value();
  }
  auto urls = ParseUrlsSection(file, node["urls"]);
  if (!urls.ok()) return urls.status();
  p.urls = std::move(urls).value();
  st = p.Compile();
  if (!st.ok()) return yc::Error(file, node, "masking: " + st.message());
  return p;
}

}  // namespace scrubd::policies
