#include "scrubd/audit/verify.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <memory>
#include <set>

#include "crypto.h"
#include "format.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct ChainKey {
  uint64_t from_seq;  // seq of the log_init / key_rotation entry that introduced it
  std::shared_ptr<Ed25519Key> key;
  std::string note_key_id;
};

struct Location {
  std::string segment;
  uint64_t offset = 0;
};

struct Failure {
  std::optional<uint64_t> seq;
  std::string segment;
  std::optional<uint64_t> offset;
  std::string reason;
};

struct CheckpointRec {
  uint64_t offset;
  std::string text;
  Result<format::Note> note = Status::Internal("unparsed");
};

std::optional<std::string> JsonString(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string().data(), v->as_string().size());
}

std::optional<uint64_t> JsonUint(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

std::string KeyDesc(size_t index, uint64_t from_seq) {
  return "key #" + std::to_string(index) + " (active from seq " + std::to_string(from_seq) + ")";
}

// Everything Verify learns; Prove reuses it.
struct Scan {
  VerifyReport report;
  std::vector<Hash> leaves;  // only when collect_leaves
  std::string target_body;   // body of entry `target_seq`
  std::string best_note;     // newest valid checkpoint note text
  uint64_t best_note_size = 0;
  std::vector<ChainKey> keys;
  std::string origin;
};

// The key the schedule requires for a checkpoint of `size`: introduced by the newest key
// entry with seq < size.
int RequiredKey(const std::vector<ChainKey>& keys, uint64_t size) {
  int idx = -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].from_seq < size) idx = static_cast<int>(i);
  }
  return idx;
}

// Returns "" when `note` is validly signed by the required key, else why not.
std::string CheckNoteSignature(const format::Note& note, const std::vector<ChainKey>& keys,
                               const std::string& origin) {
  int req = RequiredKey(keys, note.size);
  if (req < 0) return "no key is active at tree size " + std::to_string(note.size);
  const ChainKey& k = keys[static_cast<size_t>(req)];
  for (const auto& s : note.signatures) {
    if (s.name == origin && s.key_id == k.note_key_id && k.key->Verify(note.body, s.signature)) {
      return "";
    }
  }
  // Say precisely what is wrong: another key of this very log (re-sealing), or garbage.
  for (size_t i = 0; i < keys.size(); ++i) {
    if (static_cast<int>(i) == req) continue;
    for (const auto& s : note.signatures) {
      if (keys[i].key->Verify(note.body, s.signature)) {
        return "signed by " + KeyDesc(i, keys[i].from_seq) + ", but tree size " +
               std::to_string(note.size) + " must be signed by " + KeyDesc(req, k.from_seq) +
               " (re-sealed with another key)";
      }
    }
  }
  return "no valid signature by " + KeyDesc(req, k.from_seq);
}

// Finds the segment and byte offset of entry `seq` by walking record frames (no hashing).
// Used only to name the location of a failure found through a signed root.
std::optional<Location> LocateSeq(const fs::path& dir, uint64_t seq) {
  std::vector<std::pair<uint64_t, fs::path>> segments;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    if (auto first = format::ParseSegmentName(de.path().filename().string())) {
      segments.emplace_back(*first, de.path());
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t i = segments.size(); i-- > 0;) {
    if (segments[i].first > seq) continue;
    auto data = ReadFile(segments[i].second);
    if (!data.ok()) return std::nullopt;
    format::SegmentReader reader(data.value());
    format::RecordView rec;
    std::string why;
    for (uint64_t s = segments[i].first;; ++s) {
      const uint64_t off = reader.pos();
      format::ReadStatus st = reader.Next(&rec, &why);
      if (s == seq) return Location{segments[i].second.filename().string(), off};
      if (st != format::ReadStatus::kRecord) return std::nullopt;
    }
  }
  return std::nullopt;
}

Scan RunScan(const fs::path& dir, const fs::path& public_key_pem,
             const std::optional<fs::path>& trusted, bool collect_leaves,
             std::optional<uint64_t> target_seq) {
  Scan scan;
  VerifyReport& rep = scan.report;
  auto fail_now = [&](Failure f) {
    rep.ok = false;
    rep.first_bad_seq = f.seq;
    rep.first_bad_offset = f.offset;
    rep.first_bad_segment = f.segment;
    rep.reason = f.reason;
    return std::move(scan);
  };

  // 1. Trust anchor.
  auto pem = ReadFile(public_key_pem);
  if (!pem.ok()) return fail_now({{}, "", {}, "cannot read public key: " + pem.status().message()});
  auto anchor = Ed25519Key::FromPublicPem(pem.value());
  if (!anchor.ok()) {
    return fail_now({{}, "", {}, public_key_pem.string() + ": " + anchor.status().message()});
  }

  // 2. Checkpoints first, so the entry scan knows which roots to snapshot.
  std::vector<CheckpointRec> ckps;
  std::optional<Failure> ckp_frame_failure;
  {
    auto data = ReadFile(dir / format::kCheckpointsFile);
    if (!data.ok()) {
      ckp_frame_failure = Failure{{},
                                  std::string(format::kCheckpointsFile),
                                  {},
                                  "checkpoints.log: " + data.status().message()};
    } else {
      const std::string& c = data.value();
      if (c.size() < format::kFileHeaderSize ||
          std::string_view(c).substr(0, 8) != format::kCheckpointMagic ||
          format::GetU64(c.data() + 8) != 0) {
        ckp_frame_failure =
            Failure{{}, std::string(format::kCheckpointsFile), 0, "bad file header"};
      } else {
        uint64_t pos = format::kFileHeaderSize;
        while (pos < c.size()) {
          const uint64_t left = c.size() - pos;
          uint32_t len = left >= 4 ? format::GetU32(c.data() + pos) : 0;
          if (left >= 4 && (len == 0 || len > format::kMaxNoteLen)) {
            ckp_frame_failure = Failure{{},
                                        std::string(format::kCheckpointsFile),
                                        pos,
                                        "bad checkpoint record length " + std::to_string(len)};
            break;
          }
          if (left < 4 || left - 4 < len) {
            rep.warnings.push_back("checkpoints.log has a torn record of " + std::to_string(left) +
                                   " bytes at offset " + std::to_string(pos) +
                                   " (crash while checkpointing)");
            break;
          }
          CheckpointRec r{pos, c.substr(pos + 4, len)};
          r.note = format::ParseNote(r.text);
          ckps.push_back(std::move(r));
          pos += 4 + len;
        }
      }
    }
  }
  std::optional<format::Note> trusted_note;
  if (trusted) {
    auto t = ReadFile(*trusted);
    if (!t.ok()) return fail_now({{}, "", {}, "trusted checkpoint: " + t.status().message()});
    auto n = format::ParseNote(t.value());
    if (!n.ok()) {
      return fail_now({{},
                       trusted->filename().string(),
                       {},
                       "trusted checkpoint does not parse: " + n.status().message()});
    }
    trusted_note = std::move(n.value());
  }
  std::set<uint64_t> wanted;  // sizes whose roots we need
  wanted.insert(0);
  for (const auto& r : ckps) {
    if (r.note.ok()) wanted.insert(r.note.value().size);
  }
  if (trusted_note) wanted.insert(trusted_note->size);
  std::map<uint64_t, Hash> root_at;

  // 3. Segments.
  std::vector<std::pair<uint64_t, fs::path>> segments;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    if (auto first = format::ParseSegmentName(de.path().filename().string())) {
      segments.emplace_back(*first, de.path());
    }
  }
  if (ec) return fail_now({{}, "", {}, dir.string() + ": " + ec.message()});
  std::sort(segments.begin(), segments.end());
  if (segments.empty()) return fail_now({0, "", {}, "no audit segments in " + dir.string()});

  std::optional<Failure> entry_failure;
  CompactRange range;
  Hash prev{};
  uint64_t n = 0;
  // (seq, checkpoint_every_entries, max unsealed tail) from log_init / audit_open entries.
  struct Policy {
    uint64_t seq, every, tail;
  };
  std::vector<Policy> policy;
  std::string last_type;
  struct Torn {
    std::string segment;
    uint64_t offset;
    std::string sha256;
    uint64_t length;
  };
  std::optional<Torn> pending_torn;
  Location end_loc;
  for (size_t si = 0; si < segments.size() && !entry_failure; ++si) {
    const auto& [first, path] = segments[si];
    const std::string name = path.filename().string();
    auto data_r = ReadFile(path);
    if (!data_r.ok()) {
      entry_failure = Failure{n, name, 0, "cannot read segment: " + data_r.status().message()};
      break;
    }
    const std::string& data = data_r.value();
    if (data.size() < format::kFileHeaderSize ||
        std::string_view(data).substr(0, 8) != format::kSegmentMagic) {
      entry_failure = Failure{n, name, 0, "bad segment header"};
      break;
    }
    if (format::GetU64(data.data() + 8) != first) {
      entry_failure = Failure{n, name, 8, "segment header seq does not match its file name"};
      break;
    }
    if (pending_torn && first != n) {
      entry_failure = Failure{n, pending_torn->segment, pending_torn->offset,
                              "damaged record: its frame runs past the end of the segment, and "
                              "no gap entry records a torn tail there"};
      break;
    }
    if (first != n) {
      entry_failure = Failure{n, name, 0,
                              "segment starts at seq " + std::to_string(first) + ", expected " +
                                  std::to_string(n) + " (entries missing or inserted)"};
      break;
    }
    format::SegmentReader reader(data);
    format::RecordView rec;
    std::string why;
    for (;;) {
      const uint64_t off = reader.pos();
      format::ReadStatus st = reader.Next(&rec, &why);
      if (st == format::ReadStatus::kEnd) break;
      if (st == format::ReadStatus::kTorn) {
        const std::string torn = data.substr(off);
        if (si + 1 == segments.size()) {
          rep.warnings.push_back("unrecovered torn tail in " + name + " at offset " +
                                 std::to_string(off) + " (" + why +
                                 "): a crash; the next start records it as a gap entry");
        } else {
          pending_torn = Torn{name, off, HexEncode(Sha256::Of(torn)), torn.size()};
        }
        break;
      }
      auto bad = [&](const std::string& w) { entry_failure = Failure{n, name, off, w}; };
      if (st == format::ReadStatus::kCorrupt) {
        bad(why);
        break;
      }
      Hash leaf = LeafHash(AsBytes(rec.body));
      if (leaf != rec.stored_hash) {
        bad("entry hash mismatch (the record was modified)");
        break;
      }
      format::Entry e;
      if (!format::DecodeBody(rec.body, &e, &why)) {
        bad(why);
        break;
      }
      if (e.seq != n) {
        bad("seq " + std::to_string(e.seq) + " where " + std::to_string(n) +
            " was expected (entry deleted, inserted or reordered)");
        break;
      }
      if (e.prev_hash != prev) {
        bad("prev_hash does not match the previous entry (hash chain broken)");
        break;
      }
      if (pending_torn) {
        if (e.type != format::kTypeGap) {
          entry_failure = Failure{n, pending_torn->segment, pending_torn->offset,
                                  "torn tail of " + std::to_string(pending_torn->length) +
                                      " bytes is not recorded by a gap entry"};
          break;
        }
      } else if (e.type == format::kTypeGap) {
        bad("gap entry without a torn tail before it");
        break;
      }
      // Library-owned entries carry facts the verifier needs.
      const bool is_init = e.type == format::kTypeLogInit;
      if ((n == 0) != is_init) {
        bad(n == 0 ? "entry 0 is not log_init (the start of the log is missing)"
                   : "log_init after entry 0");
        break;
      }
      if (is_init || e.type == format::kTypeKeyRotation || e.type == format::kTypeGap ||
          e.type == format::kTypeOpen) {
        json::error_code jec;
        json::value v = json::parse(e.payload, jec);
        if (jec || !v.is_object()) {
          bad("library entry payload is not a JSON object");
          break;
        }
        const json::object& o = v.as_object();
        if (is_init) {
          auto origin = JsonString(o, "origin");
          auto pub = JsonString(o, "public_key");
          std::optional<std::string> raw;
          if (pub) raw = Base64DecodeStrict(*pub);
          auto every = JsonUint(o, "checkpoint_every_entries");
          if (!origin || !raw || raw->size() != 32 || !every || *every == 0) {
            bad("malformed log_init entry");
            break;
          }
          auto k = Ed25519Key::FromRawPublic(AsBytes(*raw));
          if (!k.ok()) {
            bad("log_init public key invalid");
            break;
          }
          scan.origin = *origin;
          scan.keys.push_back({0, std::move(k.value()), NoteKeyId(*origin, *raw)});
          policy.push_back(
              {0, *every, *every * (1 + JsonUint(o, "max_pending_checkpoints").value_or(1))});
        } else if (e.type == format::kTypeOpen) {
          auto every = JsonUint(o, "checkpoint_every_entries");
          if (!every || *every == 0) {
            bad("malformed audit_open entry");
            break;
          }
          policy.push_back(
              {n, *every, *every * (1 + JsonUint(o, "max_pending_checkpoints").value_or(1))});
        } else if (e.type == format::kTypeGap) {
          auto seg = JsonString(o, "segment");
          auto sha = JsonString(o, "sha256");
          auto goff = JsonUint(o, "offset");
          auto glen = JsonUint(o, "length");
          if (!seg || *seg != pending_torn->segment || !goff || *goff != pending_torn->offset ||
              !glen || *glen != pending_torn->length || !sha || *sha != pending_torn->sha256) {
            entry_failure = Failure{n, pending_torn->segment, pending_torn->offset,
                                    "gap entry (seq " + std::to_string(n) +
                                        ") does not match the torn tail it claims to record"};
            break;
          }
          pending_torn.reset();
        } else {  // key_rotation
          auto pub = JsonString(o, "new_public_key");
          auto endorse = JsonString(o, "endorsement");
          auto accept = JsonString(o, "acceptance");
          std::optional<std::string> raw, es, as;
          if (pub) raw = Base64DecodeStrict(*pub);
          if (endorse) es = Base64DecodeStrict(*endorse);
          if (accept) as = Base64DecodeStrict(*accept);
          if (!raw || raw->size() != 32 || !es || !as) {
            bad("malformed key_rotation entry");
            break;
          }
          auto nk = Ed25519Key::FromRawPublic(AsBytes(*raw));
          if (!nk.ok()) {
            bad("key_rotation public key invalid");
            break;
          }
          const ChainKey& old = scan.keys.back();
          const std::string msg =
              format::RotationMessage(scan.origin, n, prev, old.key->RawPublic(), *raw);
          if (!old.key->Verify(msg, *es)) {
            bad("key_rotation endorsement is not signed by the previous key");
            break;
          }
          if (!nk.value()->Verify(msg, *as)) {
            bad("key_rotation acceptance is not signed by the new key");
            break;
          }
          scan.keys.push_back({n, std::move(nk.value()), NoteKeyId(scan.origin, *raw)});
        }
      }
      if (target_seq && *target_seq == n) scan.target_body = std::string(rec.body);
      if (collect_leaves) scan.leaves.push_back(leaf);
      range.Append(leaf);
      prev = leaf;
      last_type = std::string(e.type);
      ++rep.types[last_type];
      ++n;
      if (wanted.count(n)) root_at[n] = range.Root();
    }
    end_loc = Location{name, reader.pos()};
  }
  if (!entry_failure && pending_torn) {
    entry_failure = Failure{n, pending_torn->segment, pending_torn->offset,
                            "torn tail of " + std::to_string(pending_torn->length) +
                                " bytes is not recorded by a gap entry"};
  }
  rep.entries = n;
  rep.keys = scan.keys.size();
  root_at[0] = EmptyTreeHash();

  auto loc_failure = [&](uint64_t seq, std::string reason) {
    Failure f{seq, "", {}, std::move(reason)};
    if (seq == n) {
      f.segment = end_loc.segment;
      f.offset = end_loc.offset;
    } else if (auto loc = LocateSeq(dir, seq)) {
      f.segment = loc->segment;
      f.offset = loc->offset;
    }
    return f;
  };

  // 4. Checkpoints against the recomputed tree.
  std::optional<Failure> root_failure;   // carries a seq: competes with entry_failure
  std::optional<Failure> local_failure;  // a bad checkpoint record itself (parse, signature)
  uint64_t prev_size = 0, last_good_size = 0;
  std::vector<uint64_t> sealed_sizes;
  for (size_t i = 0; i < ckps.size() && !root_failure && !local_failure; ++i) {
    const CheckpointRec& r = ckps[i];
    const std::string where = "checkpoint #" + std::to_string(i);
    // A bad checkpoint leaves the entries since the last good one unsealed: it is reported
    // at the first of those entries, located at the checkpoint record.
    auto local = [&](std::string reason) {
      local_failure = Failure{last_good_size, std::string(format::kCheckpointsFile), r.offset,
                              where + ": " + std::move(reason) + "; entries from seq " +
                                  std::to_string(last_good_size) + " on are not validly sealed"};
    };
    if (!r.note.ok()) {
      local(r.note.status().message());
      break;
    }
    const format::Note& note = r.note.value();
    if (note.origin != scan.origin) {
      local("origin '" + note.origin + "' is not this log's origin");
      break;
    }
    if (note.size == 0 || note.size < prev_size) {
      local("tree size " + std::to_string(note.size) + " after " + std::to_string(prev_size) +
            " (checkpoints must not shrink)");
      break;
    }
    prev_size = note.size;
    if (note.size > n) {
      if (!entry_failure) {
        root_failure = Failure{n, end_loc.segment, end_loc.offset,
                               where + " covers " + std::to_string(note.size) +
                                   " entries but the log has only " + std::to_string(n) +
                                   ": entries " + std::to_string(n) + ".." +
                                   std::to_string(note.size - 1) + " were removed (truncation)"};
      }
      break;  // cannot check further against missing entries
    }
    if (root_at.at(note.size) != note.root) {
      root_failure =
          loc_failure(last_good_size, where + " (size " + std::to_string(note.size) +
                                          ") root does not match the entries: an entry in seq " +
                                          std::to_string(last_good_size) + ".." +
                                          std::to_string(note.size - 1) +
                                          " was rewritten and the chain recomputed");
      break;
    }
    std::string sig_err = CheckNoteSignature(note, scan.keys, scan.origin);
    if (!sig_err.empty()) {
      local(sig_err);
      break;
    }
    last_good_size = note.size;
    sealed_sizes.push_back(note.size);
    scan.best_note = r.text;
    scan.best_note_size = note.size;
    ++rep.checkpoints;
  }
  rep.sealed_entries = last_good_size;

  // Pick the earliest failure by seq; a bad checkpoint record comes after entry damage.
  std::optional<Failure> chosen = entry_failure;
  for (const auto& f : {root_failure, local_failure}) {
    if (f && (!chosen || *f->seq < *chosen->seq)) chosen = f;
  }
  if (!chosen && ckp_frame_failure) chosen = ckp_frame_failure;

  // 5. Trust anchor must belong to the chain.
  if (!chosen) {
    bool found = false;
    for (const auto& k : scan.keys) found |= k.key->RawPublic() == anchor.value()->RawPublic();
    if (!found) {
      chosen = loc_failure(0, "the given public key is not one of this log's " +
                                  std::to_string(scan.keys.size()) +
                                  " keys (log replaced or wrong key)");
    }
  }

  // 6. Sealing policy: no unsealed run longer than the checkpoint interval.
  if (!chosen) {
    auto allowed = [&](uint64_t upto, bool tail) {
      uint64_t a = 0;
      for (const Policy& p : policy) {
        if (p.seq < upto) a = std::max(a, tail ? p.tail : p.every);
      }
      return a;
    };
    if (sealed_sizes.empty()) {
      chosen = loc_failure(0, "the log has no valid signed checkpoint: nothing is sealed");
    } else {
      uint64_t a = 0;
      std::vector<uint64_t> bounds = sealed_sizes;
      bounds.push_back(n);
      for (size_t bi = 0; bi < bounds.size(); ++bi) {
        const uint64_t b = bounds[bi];
        // The writer keeps at most max_pending_checkpoints in flight, so after a crash the
        // unsealed tail may reach (1 + that) intervals; between checkpoints, one interval.
        const bool tail = bi + 1 == bounds.size();
        const uint64_t limit = allowed(b, false);
        if (b > a && b - a > allowed(b, tail)) {
          chosen = loc_failure(
              a + limit, std::to_string(b - a) + " entries (seq " + std::to_string(a) + ".." +
                             std::to_string(b - 1) + ") lie between signed checkpoints, " +
                             "but one is written every " + std::to_string(limit) +
                             (tail ? " (after a crash at most " + std::to_string(allowed(b, true)) +
                                         " may be unsealed)"
                                   : std::string()) +
                             ": a checkpoint was deleted or never written");
          break;
        }
        a = std::max(a, b);
      }
      if (!chosen && last_type == format::kTypeClose && last_good_size < n) {
        chosen = loc_failure(last_good_size,
                             "the log was closed (audit_close at seq " + std::to_string(n - 1) +
                                 ") but no checkpoint covers it: the final checkpoint was "
                                 "deleted");
      }
    }
  }

  // 7. Trusted checkpoint (saved elsewhere): the log must still contain its tree.
  if (!chosen && trusted_note) {
    const format::Note& t = *trusted_note;
    if (t.origin != scan.origin) {
      chosen = Failure{{}, "", {}, "trusted checkpoint origin '" + t.origin + "' differs"};
    } else if (t.size > n) {
      chosen = Failure{n, end_loc.segment, end_loc.offset,
                       "trusted checkpoint covers " + std::to_string(t.size) +
                           " entries but the log has only " + std::to_string(n) + ": entries " +
                           std::to_string(n) + ".." + std::to_string(t.size - 1) +
                           " were deleted (tail truncation)"};
    } else if (std::string e = CheckNoteSignature(t, scan.keys, scan.origin); !e.empty()) {
      chosen = Failure{{}, "", {}, "trusted checkpoint: " + e};
    } else if (root_at.at(t.size) != t.root) {
      uint64_t base = 0;
      for (uint64_t s : sealed_sizes) {
        if (s <= t.size) base = s;
      }
      chosen = loc_failure(base, "trusted checkpoint (size " + std::to_string(t.size) +
                                     ") root does not match the log: entries in seq " +
                                     std::to_string(base) + ".." + std::to_string(t.size - 1) +
                                     " were rewritten");
    }
  }

  if (chosen) {
    rep.ok = false;
    rep.first_bad_seq = chosen->seq;
    rep.first_bad_offset = chosen->offset;
    rep.first_bad_segment = chosen->segment;
    rep.reason = chosen->reason;
  } else {
    rep.ok = true;
  }
  return scan;
}

}  // namespace

VerifyReport Verify(const fs::path& audit_dir, const fs::path& public_key_pem,
                    std::optional<fs::path> trusted_checkpoint) {
  return RunScan(audit_dir, public_key_pem, trusted_checkpoint, false, std::nullopt).report;
}

std::string FormatReport(const VerifyReport& r) {
  std::string out;
  if (r.ok) {
    out = "OK: " + std::to_string(r.entries) + " entries, " + std::to_string(r.checkpoints) +
          " signed checkpoints, " + std::to_string(r.keys) + " key(s); " +
          std::to_string(r.sealed_entries) + " entries sealed by the newest checkpoint";
    if (r.entries > r.sealed_entries) {
      out += ", " + std::to_string(r.entries - r.sealed_entries) + " not yet sealed";
    }
    out += "\n";
    if (!r.types.empty()) {
      out += "  entries by type:";
      const char* sep = " ";
      for (const auto& [type, count] : r.types) {
        out += sep + type + " " + std::to_string(count);
        sep = ", ";
      }
      out += "\n";
    }
  } else {
    out = "FAILED: ";
    if (r.first_bad_seq) {
      out += "first bad entry seq=" + std::to_string(*r.first_bad_seq);
    } else {
      out += "bad record";
    }
    if (!r.first_bad_segment.empty()) out += " in " + r.first_bad_segment;
    if (r.first_bad_offset) out += " at byte offset " + std::to_string(*r.first_bad_offset);
    out += "\n  reason: " + r.reason + "\n";
    out += "  verified before the failure: " + std::to_string(r.entries) + " entries, " +
           std::to_string(r.checkpoints) + " checkpoints\n";
  }
  for (const auto& w : r.warnings) out += "  warning: " + w + "\n";
  return out;
}

Result<InclusionProof> Prove(const fs::path& audit_dir, const fs::path& public_key_pem,
                             uint64_t seq) {
  Scan scan = RunScan(audit_dir, public_key_pem, std::nullopt, true, seq);
  if (!scan.report.ok) {
    return Status::Corruption("the log does not verify: " + FormatReport(scan.report));
  }
  if (seq >= scan.best_note_size) {
    return Status::NotFound("entry " + std::to_string(seq) +
                            " is not yet covered by a signed checkpoint (newest covers " +
                            std::to_string(scan.best_note_size) + ")");
  }
  InclusionProof p;
  p.seq = seq;
  p.entry_body = scan.target_body;
  p.tree_size = scan.best_note_size;
  p.path = InclusionPath(scan.leaves, seq, p.tree_size);
  p.checkpoint_note = scan.best_note;
  return p;
}

}  // namespace scrubd::audit
