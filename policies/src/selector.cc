#include "scrubd/policies/selector.h"

#include <algorithm>
#include <cctype>

namespace scrubd::policies {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool IsIdentChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '_' || u >= 0x80;
}

bool HasClassToken(std::string_view classes, std::string_view token) {
  size_t i = 0;
  while (i < classes.size()) {
    while (i < classes.size() && IsSpace(classes[i])) ++i;
    size_t start = i;
    while (i < classes.size() && !IsSpace(classes[i])) ++i;
    if (i > start && classes.substr(start, i - start) == token) return true;
  }
  return false;
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Recursive-descent parser over one selector list. Positions in errors are 1-based.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::vector<ComplexSelector>> ParseList() {
    std::vector<ComplexSelector> out;
    while (true) {
      SkipSpace();
      size_t start = pos_;
      ComplexSelector complex;
      Status st = ParseComplex(complex);
      if (!st.ok()) return st;
      std::string_view src = text_.substr(start, pos_ - start);
      while (!src.empty() && IsSpace(src.back())) src.remove_suffix(1);
      complex.text = std::string(src);
      out.push_back(std::move(complex));
      SkipSpace();
      if (AtEnd()) break;
      if (Peek() != ',') return Unsupported("expected ',' or end of selector");
      ++pos_;
    }
    return out;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }

  Status Unsupported(const std::string& why) const {
    std::string token;
    if (AtEnd()) {
      token = "end of input";
    } else {
      size_t end = pos_ + 1;
      while (end < text_.size() && !IsSpace(text_[end]) && text_[end] != ',' && end - pos_ < 24)
        ++end;
      token = "'" + std::string(text_.substr(pos_, end - pos_)) + "'";
    }
    return Status::InvalidConfig("unsupported selector at character " + std::to_string(pos_ + 1) +
                                 " (" + token + ") in \"" + std::string(text_) + "\": " + why);
  }

  Status ParseComplex(ComplexSelector& out) {
    CompoundSelector first;
    Status st = ParseCompound(first);
    if (!st.ok()) return st;
    out.compounds.push_back(std::move(first));
    while (true) {
      size_t before = pos_;
      SkipSpace();
      bool had_space = pos_ > before;
      if (AtEnd() || Peek() == ',') return Status::Ok();
      Combinator comb = Combinator::kDescendant;
      char c = Peek();
      if (c == '>') {
        comb = Combinator::kChild;
        ++pos_;
        SkipSpace();
      } else if (c == '+' || c == '~') {
        return Unsupported("sibling combinators are not supported");
      } else if (!had_space) {
        return Unsupported("unexpected character");
      }
      CompoundSelector next;
      st = ParseCompound(next);
      if (!st.ok()) return st;
      out.combinators.push_back(comb);
      out.compounds.push_back(std::move(next));
    }
  }

  Status ParseIdent(std::string& out, const char* what) {
    size_t start = pos_;
    out.clear();
    while (!AtEnd()) {
      char c = Peek();
      if (c == '\\') {
        if (pos_ + 1 >= text_.size()) return Unsupported("dangling escape");
        out.push_back(text_[pos_ + 1]);
        pos_ += 2;
      } else if (IsIdentChar(c)) {
        out.push_back(c);
        ++pos_;
      } else {
        break;
      }
    }
    if (pos_ == start) return Unsupported(std::string("expected ") + what);
    return Status::Ok();
  }

  Status ParseString(std::string& out) {
    char quote = Peek();
    ++pos_;
    out.clear();
    while (!AtEnd() && Peek() != quote) {
      if (Peek() == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out.push_back(text_[pos_++]);
    }
    if (AtEnd()) return Unsupported("unterminated string");
    ++pos_;
    return Status::Ok();
  }

  Status ParseAttribute(SimpleSelector& s) {
    ++pos_;  // '['
    SkipSpace();
    Status st = ParseIdent(s.name, "attribute name");
    if (!st.ok()) return st;
    s.name = ToLower(s.name);
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      s.kind = SimpleSelector::Kind::kAttrExists;
      return Status::Ok();
    }
    char c = Peek();
    if (c == '=') {
      s.kind = SimpleSelector::Kind::kAttrEquals;
      ++pos_;
    } else if ((c == '^' || c == '$' || c == '*') && pos_ + 1 < text_.size() &&
               text_[pos_ + 1] == '=') {
      s.kind = c == '^'   ? SimpleSelector::Kind::kAttrPrefix
               : c == '$' ? SimpleSelector::Kind::kAttrSuffix
                          : SimpleSelector::Kind::kAttrContains;
      pos_ += 2;
    } else {
      return Unsupported("attribute operator must be =, ^=, $= or *=");
    }
    SkipSpace();
    if (Peek() == '"' || Peek() == '\'') {
      st = ParseString(s.value);
    } else {
      st = ParseIdent(s.value, "attribute value");
    }
    if (!st.ok()) return st;
    SkipSpace();
    if (Peek() != ']') return Unsupported("expected ']' (attribute flags are not supported)");
    ++pos_;
    return Status::Ok();
  }

  // One simple selector other than type/universal; returns false in `found` at a boundary.
  Status ParseSubclass(SimpleSelector& s, bool& found) {
    found = true;
    char c = Peek();
    if (c == '.') {
      ++pos_;
      s.kind = SimpleSelector::Kind::kClass;
      return ParseIdent(s.name, "class name");
    }
    if (c == '#') {
      ++pos_;
      s.kind = SimpleSelector::Kind::kId;
      return ParseIdent(s.name, "id");
    }
    if (c == '[') return ParseAttribute(s);
    found = false;
    return Status::Ok();
  }

  Status ParseTypeOrUniversal(SimpleSelector& s, bool& found) {
    found = true;
    if (Peek() == '*') {
      ++pos_;
      s.kind = SimpleSelector::Kind::kUniversal;
      return Status::Ok();
    }
    if (IsIdentChar(Peek()) || Peek() == '\\') {
      s.kind = SimpleSelector::Kind::kType;
      Status st = ParseIdent(s.name, "tag name");
      s.name = ToLower(s.name);
      return st;
    }
    found = false;
    return Status::Ok();
  }

  Status ParseNot(CompoundSelector& out) {
    pos_ += 5;  // ":not("
    SkipSpace();
    SimpleSelector s;
    bool found = false;
    Status st = ParseTypeOrUniversal(s, found);
    if (!st.ok()) return st;
    if (!found) {
      st = ParseSubclass(s, found);
      if (!st.ok()) return st;
    }
    if (!found) return Unsupported(":not() takes one simple selector");
    SkipSpace();
    if (Peek() != ')') return Unsupported(":not() takes exactly one simple selector");
    ++pos_;
    if (s.kind == SimpleSelector::Kind::kUniversal) {
      return Unsupported(":not(*) never matches");
    }
    s.negated = true;
    out.parts.push_back(std::move(s));
    return Status::Ok();
  }

  Status ParseCompound(CompoundSelector& out) {
    SimpleSelector head;
    bool found = false;
    Status st = ParseTypeOrUniversal(head, found);
    if (!st.ok()) return st;
    if (found) out.parts.push_back(std::move(head));
    while (!AtEnd()) {
      char c = Peek();
      if (c == ':') {
        if (text_.substr(pos_, 5) == ":not(") {
          st = ParseNot(out);
          if (!st.ok()) return st;
          continue;
        }
        return Unsupported("pseudo-classes other than :not() are not supported");
      }
      SimpleSelector s;
      st = ParseSubclass(s, found);
      if (!st.ok()) return st;
      if (!found) break;
      out.parts.push_back(std::move(s));
    }
    if (out.parts.empty()) return Unsupported("expected a selector");
    if (!AtEnd() && !IsSpace(Peek()) && Peek() != ',' && Peek() != '>' && Peek() != '+' &&
        Peek() != '~') {
      return Unsupported("unexpected character");
    }
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view SimpleSelector::DependsOn() const {
  switch (kind) {
    case Kind::kUniversal:
    case Kind::kType: return "";
    case Kind::kClass: return "class";
    case Kind::kId: return "id";
    default: return name;
  }
}

bool SimpleSelector::TestAttribute(std::optional<std::string_view> v) const {
  if (!v) return false;
  switch (kind) {
    case Kind::kClass: return HasClassToken(*v, name);
    case Kind::kId: return *v == name;
    case Kind::kAttrExists: return true;
    case Kind::kAttrEquals: return *v == value;
    case Kind::kAttrPrefix: return !value.empty() && v->starts_with(value);
    case Kind::kAttrSuffix: return !value.empty() && v->ends_with(value);
    case Kind::kAttrContains: return !value.empty() && v->find(value) != std::string_view::npos;
    default: return false;
  }
}

bool SimpleSelector::MatchesView(const ElementView& e) const {
  bool r;
  switch (kind) {
    case Kind::kUniversal: r = true; break;
    case Kind::kType: r = ToLower(e.TagName()) == name; break;
    default: r = TestAttribute(e.Attribute(DependsOn())); break;
  }
  return negated ? !r : r;
}

std::string SimpleSelector::Canonical() const {
  std::string out = negated ? ":not(" : "";
  switch (kind) {
    case Kind::kUniversal: out += "*"; break;
    case Kind::kType: out += name; break;
    case Kind::kClass: out += "." + name; break;
    case Kind::kId: out += "#" + name; break;
    case Kind::kAttrExists: out += "[" + name + "]"; break;
    case Kind::kAttrEquals: out += "[" + name + "=\"" + value + "\"]"; break;
    case Kind::kAttrPrefix: out += "[" + name + "^=\"" + value + "\"]"; break;
    case Kind::kAttrSuffix: out += "[" + name + "$=\"" + value + "\"]"; break;
    case Kind::kAttrContains: out += "[" + name + "*=\"" + value + "\"]"; break;
  }
  if (negated) out += ")";
  return out;
}

Result<SelectorList> SelectorList::Parse(std::string_view text) {
  Parser parser(text);
  auto parsed = parser.ParseList();
  if (!parsed.ok()) return parsed.status();
  SelectorList list;
  for (auto& c : parsed.value())
    list.parts_.push_back(std::make_shared<const ComplexSelector>(std::move(c)));
  return list;
}

namespace {

bool CompoundMatchesView(const CompoundSelector& c, const ElementView& e) {
  for (const auto& s : c.parts)
    if (!s.MatchesView(e)) return false;
  return true;
}

bool MatchViewFrom(const ComplexSelector& c, size_t ci, const ElementView& e) {
  if (!CompoundMatchesView(c.compounds[ci], e)) return false;
  if (ci == 0) return true;
  if (c.combinators[ci - 1] == Combinator::kChild) {
    const ElementView* p = e.Parent();
    return p != nullptr && MatchViewFrom(c, ci - 1, *p);
  }
  for (const ElementView* p = e.Parent(); p != nullptr; p = p->Parent())
    if (MatchViewFrom(c, ci - 1, *p)) return true;
  return false;
}

}  // namespace

bool SelectorList::Matches(const ElementView& element) const {
  for (const auto& c : parts_)
    if (MatchViewFrom(*c, c->compounds.size() - 1, element)) return true;
  return false;
}

void SelectorList::Append(const SelectorList& other) {
  parts_.insert(parts_.end(), other.parts_.begin(), other.parts_.end());
}

std::string SelectorList::ToString() const {
  std::string out;
  for (const auto& c : parts_) out += (out.empty() ? "" : ", ") + c->text;
  return out;
}

Result<CompiledSelectors> CompiledSelectors::Build(const std::vector<const SelectorList*>& lists) {
  CompiledSelectors cs;
  uint64_t fp = 1469598103934665603ull;
  auto intern = [&](const SimpleSelector& s, Atoms& bit) -> Status {
    SimpleSelector pos = s;
    pos.negated = false;
    std::string key = pos.Canonical();
    for (size_t i = 0; i < cs.atoms_.size(); ++i) {
      if (cs.atoms_[i].Canonical() == key) {
        bit = Atoms{1} << i;
        return Status::Ok();
      }
    }
    if (cs.atoms_.size() >= kMaxAtoms) {
      return Status::InvalidConfig("masking selectors use more than " + std::to_string(kMaxAtoms) +
                                   " distinct simple selectors; merge or simplify them");
    }
    bit = Atoms{1} << cs.atoms_.size();
    cs.atoms_.push_back(std::move(pos));
    std::string dep(s.DependsOn());
    if (!dep.empty() && std::find(cs.relevant_attrs_.begin(), cs.relevant_attrs_.end(), dep) ==
                            cs.relevant_attrs_.end())
      cs.relevant_attrs_.push_back(dep);
    return Status::Ok();
  };
  for (const SelectorList* list : lists) {
    List compiled;
    fp = Fnv1a(fp, "|list|");
    for (const auto& complex : list->selectors()) {
      Complex cc;
      cc.combinators = complex->combinators;
      for (const auto& compound : complex->compounds) {
        Compound c;
        for (const auto& simple : compound.parts) {
          if (simple.kind == SimpleSelector::Kind::kUniversal) continue;
          Atoms bit = 0;
          Status st = intern(simple, bit);
          if (!st.ok()) return st;
          (simple.negated ? c.forbidden : c.required) |= bit;
        }
        cc.compounds.push_back(c);
      }
      const Compound& last = cc.compounds.back();
      if (last.required == 0) compiled.may_match_empty = true;
      compiled.rightmost_any |= last.required;
      fp = Fnv1a(fp, complex->text);
      fp = Fnv1a(fp, ",");
      compiled.selectors.push_back(std::move(cc));
    }
    cs.lists_.push_back(std::move(compiled));
  }
  for (const auto& a : cs.atoms_) fp = Fnv1a(fp, a.Canonical());
  cs.fingerprint_ = fp;
  return cs;
}

CompiledSelectors::Atoms CompiledSelectors::EvaluateTag(std::string_view tag) const {
  Atoms out = 0;
  for (size_t i = 0; i < atoms_.size(); ++i)
    if (atoms_[i].kind == SimpleSelector::Kind::kType && atoms_[i].name == tag)
      out |= Atoms{1} << i;
  return out;
}

CompiledSelectors::Atoms CompiledSelectors::UpdateAttribute(
    Atoms atoms, std::string_view name, std::optional<std::string_view> value) const {
  if (!IsRelevantAttribute(name)) return atoms;
  for (size_t i = 0; i < atoms_.size(); ++i) {
    if (atoms_[i].DependsOn() != name) continue;
    Atoms bit = Atoms{1} << i;
    if (atoms_[i].TestAttribute(value)) {
      atoms |= bit;
    } else {
      atoms &= ~bit;
    }
  }
  return atoms;
}

bool CompiledSelectors::IsRelevantAttribute(std::string_view name) const {
  for (const auto& a : relevant_attrs_)
    if (a == name) return true;
  return false;
}

bool CompiledSelectors::MatchFrom(const Complex& c, size_t ci, std::span<const Atoms> chain,
                                  size_t pos) const {
  const Compound& cp = c.compounds[ci];
  Atoms a = chain[pos];
  if ((a & cp.required) != cp.required || (a & cp.forbidden) != 0) return false;
  if (ci == 0) return true;
  if (c.combinators[ci - 1] == Combinator::kChild)
    return pos > 0 && MatchFrom(c, ci - 1, chain, pos - 1);
  for (size_t p = pos; p-- > 0;)
    if (MatchFrom(c, ci - 1, chain, p)) return true;
  return false;
}

bool CompiledSelectors::Matches(size_t list, std::span<const Atoms> chain) const {
  if (chain.empty() || list >= lists_.size()) return false;
  const List& l = lists_[list];
  if (!l.may_match_empty && (chain.back() & l.rightmost_any) == 0) return false;
  for (const auto& c : l.selectors)
    if (MatchFrom(c, c.compounds.size() - 1, chain, chain.size() - 1)) return true;
  return false;
}

}  // namespace scrubd::policies
