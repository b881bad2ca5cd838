// Inclusion proofs of single entries (FORMAT.md section 8): the text form printed by
// `scrubd audit prove`, its parser, the offline check against a public key, and a readable
// rendering of an entry body. Stateless; any thread.
#include <algorithm>
#include <charconv>

#include "crypto.h"
#include "format.h"
#include "scrubd/audit/verify.h"

namespace scrubd::audit {

std::string InclusionProof::ToText() const {
  std::string t = "scrubd-audit-inclusion-proof v1\n";
  t += "seq " + std::to_string(seq) + "\n";
  t += "entry " + Base64Encode(AsBytes(entry_body)) + "\n";
  t += "tree-size " + std::to_string(tree_size) + "\n";
  for (const Hash& h : path) t += "path " + Base64Encode(h) + "\n";
  t += "checkpoint\n";
  t += checkpoint_note;
  return t;
}

Result<InclusionProof> InclusionProof::Parse(std::string_view text) {
  InclusionProof p;
  auto next_line = [&](std::string_view& line) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return true;
  };
  auto number = [](std::string_view s, uint64_t* v) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
  };
  std::string_view line;
  if (!next_line(line) || line != "scrubd-audit-inclusion-proof v1") {
    return Status::InvalidInput("not a scrubd audit inclusion proof");
  }
  if (!next_line(line) || line.substr(0, 4) != "seq " || !number(line.substr(4), &p.seq)) {
    return Status::InvalidInput("proof: bad seq line");
  }
  if (!next_line(line) || line.substr(0, 6) != "entry ") {
    return Status::InvalidInput("proof: bad entry line");
  }
  auto body = Base64DecodeStrict(line.substr(6));
  if (!body) return Status::InvalidInput("proof: bad entry encoding");
  p.entry_body = *body;
  if (!next_line(line) || line.substr(0, 10) != "tree-size " ||
      !number(line.substr(10), &p.tree_size)) {
    return Status::InvalidInput("proof: bad tree-size line");
  }
  for (;;) {
    if (!next_line(line)) return Status::InvalidInput("proof: missing checkpoint");
    if (line == "checkpoint") break;
    if (line.substr(0, 5) != "path ") return Status::InvalidInput("proof: bad path line");
    auto h = Base64DecodeStrict(line.substr(5));
    if (!h || h->size() != 32) return Status::InvalidInput("proof: bad path hash");
    Hash hash;
    std::copy(h->begin(), h->end(), hash.begin());
    p.path.push_back(hash);
  }
  p.checkpoint_note = std::string(text);
  return p;
}

Status VerifyInclusionProof(const InclusionProof& proof, std::string_view public_key_pem_text) {
  auto key = Ed25519Key::FromPublicPem(public_key_pem_text);
  if (!key.ok()) return key.status();
  auto note = format::ParseNote(proof.checkpoint_note);
  if (!note.ok()) return Status::Corruption("proof checkpoint: " + note.status().message());
  const format::Note& n = note.value();
  if (n.size != proof.tree_size) return Status::Corruption("proof tree size differs from note");
  const std::string id = NoteKeyId(n.origin, key.value()->RawPublic());
  bool signed_ok = false;
  for (const auto& s : n.signatures) {
    signed_ok |= s.name == n.origin && s.key_id == id && key.value()->Verify(n.body, s.signature);
  }
  if (!signed_ok) return Status::Corruption("checkpoint is not signed by the given key");
  format::Entry e;
  std::string why;
  if (!format::DecodeBody(proof.entry_body, &e, &why)) return Status::Corruption("entry: " + why);
  if (e.seq != proof.seq) return Status::Corruption("entry seq differs from the proof's seq");
  if (!VerifyInclusion(LeafHash(AsBytes(proof.entry_body)), proof.seq, proof.tree_size, proof.path,
                       n.root)) {
    return Status::Corruption("inclusion path does not lead to the checkpoint root");
  }
  return Status::Ok();
}

std::string DescribeEntry(std::string_view body) {
  format::Entry e;
  std::string why;
  if (!format::DecodeBody(body, &e, &why)) return "<undecodable entry: " + why + ">";
  return "seq=" + std::to_string(e.seq) + " time_us=" + std::to_string(e.time_us) +
         " type=" + std::string(e.type) + " payload=" + std::string(e.payload);
}

}  // namespace scrubd::audit
