// A CSS selector subset compiled for matching against serialized rrweb elements: type, `*`,
// .class, #id, [attr], [attr=v|^=|$=|*=], descendant and child combinators, lists, :not().
// Parsed lists and CompiledSelectors are immutable after construction and safe to share
// across threads. Called by the masking policy parser and the DOM masker (daemon/src/dom).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::policies {

// What the matcher needs to know about an element and its ancestors. Implemented by the DOM
// walker over its own node representation; must stay valid for the duration of a Matches call.
class ElementView {
 public:
  virtual ~ElementView() = default;
  virtual std::string_view TagName() const = 0;  // lower case
  virtual std::optional<std::string_view> Attribute(std::string_view name) const = 0;
  virtual const ElementView* Parent() const = 0;  // nullptr at the root
};

// One simple selector (a predicate on a single element).
struct SimpleSelector {
  enum class Kind : uint8_t {
    kUniversal,     // *
    kType,          // div (name lower case)
    kClass,         // .name (case-sensitive, matches one whitespace-separated token)
    kId,            // #name
    kAttrExists,    // [name]
    kAttrEquals,    // [name=value]
    kAttrPrefix,    // [name^=value]
    kAttrSuffix,    // [name$=value]
    kAttrContains,  // [name*=value]
  };
  Kind kind = Kind::kUniversal;
  std::string name;      // tag, class, id or attribute name (tag and attribute lower case)
  std::string value;     // attribute operand
  bool negated = false;  // inside :not(...)

  // The attribute this predicate reads: "class", "id", the attribute name, or "" for
  // type/universal selectors (which depend on the tag only).
  std::string_view DependsOn() const;
  // Evaluates the (non-negated) predicate on an attribute value; nullopt = attribute absent.
  bool TestAttribute(std::optional<std::string_view> value) const;
  bool MatchesView(const ElementView& element) const;  // honours `negated`
  std::string Canonical() const;                       // stable text, used for interning
};

struct CompoundSelector {
  std::vector<SimpleSelector> parts;  // all must hold; never empty
};

enum class Combinator : uint8_t { kDescendant, kChild };

struct ComplexSelector {
  std::vector<CompoundSelector> compounds;  // left to right
  std::vector<Combinator> combinators;      // combinators[i] joins compounds[i], [i + 1]
  std::string text;                         // the source text, trimmed
};

class SelectorList {
 public:
  SelectorList() = default;
  // Parses `text` (e.g. ".ph-mask, form > input[type=email]"). Errors are kInvalidConfig and
  // name the offending token and its 1-based character position in `text`.
  static Result<SelectorList> Parse(std::string_view text);
  bool Matches(const ElementView& element) const;
  bool empty() const { return parts_.empty(); }
  // Appends another list (policy-level lists are built from several YAML entries).
  void Append(const SelectorList& other);
  const std::vector<std::shared_ptr<const ComplexSelector>>& selectors() const { return parts_; }
  std::string ToString() const;  // "a, b > c"

 private:
  std::vector<std::shared_ptr<const ComplexSelector>> parts_;
};

// Incremental matching without attribute strings. Every distinct simple predicate (an
// "atom": `.ph-mask`, `[data-x]`, `input`, ...) used by a set of lists gets one bit; an
// element is summarised by the 64-bit set of atoms it satisfies, and a list is matched over
// the chain of atom sets of the element and its ancestors. Because each atom depends on
// exactly one attribute (or on the tag), an attribute mutation recomputes exactly the bits
// that depend on that attribute: re-evaluation after `class` changes is exact.
class CompiledSelectors {
 public:
  using Atoms = uint64_t;
  static constexpr size_t kMaxAtoms = 64;

  // Interns the atoms of `lists`; list i is matched with Matches(i, chain). More than
  // kMaxAtoms distinct simple selectors is an error (kInvalidConfig).
  static Result<CompiledSelectors> Build(const std::vector<const SelectorList*>& lists);

  // Atoms that depend on the tag only (type selectors). `tag` lower case.
  Atoms EvaluateTag(std::string_view tag) const;
  // Returns `atoms` with every bit depending on attribute `name` recomputed for `value`
  // (nullopt = attribute absent). Cheap no-op when no atom depends on `name`.
  Atoms UpdateAttribute(Atoms atoms, std::string_view name,
                        std::optional<std::string_view> value) const;
  // True when some atom reads attribute `name` (a mutation of it may change matches).
  bool IsRelevantAttribute(std::string_view name) const;
  // `chain` holds atom sets from the outermost known ancestor (front) to the element (back).
  bool Matches(size_t list, std::span<const Atoms> chain) const;
  size_t atom_count() const { return atoms_.size(); }
  size_t list_count() const { return lists_.size(); }
  // Identifies the atom numbering and list structure; persisted state built with another
  // fingerprint must not be trusted.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  struct Compound {
    Atoms required = 0;
    Atoms forbidden = 0;
  };
  struct Complex {
    std::vector<Compound> compounds;  // left to right
    std::vector<Combinator> combinators;
  };
  struct List {
    std::vector<Complex> selectors;
    bool may_match_empty = false;  // some rightmost compound matches an element with no atoms
    Atoms rightmost_any = 0;       // union of rightmost required bits
  };
  bool MatchFrom(const Complex& c, size_t ci, std::span<const Atoms> chain, size_t pos) const;

  std::vector<SimpleSelector> atoms_;        // bit i = atoms_[i] (negated always false)
  std::vector<std::string> relevant_attrs_;  // distinct DependsOn() values, without ""
  std::vector<List> lists_;
  uint64_t fingerprint_ = 0;
};

}  // namespace scrubd::policies
