// The subject index, tombstones and request records behind one storage interface (issue 10,
// daemon/src/subjects/README.md). Callers: ingest (Record, IsTombstoned) and the subjects
// service (the rest). Every method of a SubjectStore is thread-safe. No SQL and no SQLite type
// here: the embedded adapter is sqlite_subject_store.h, a PostgreSQL one keeps this contract.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"

namespace scrubd::subjects {

// Node kinds (NodeFact::kind). kUnseen marks a seed Resolve found no row for.
inline constexpr std::string_view kKindDistinctId = "distinct_id";
inline constexpr std::string_view kKindEmail = "email";
inline constexpr std::string_view kKindDevice = "device";
inline constexpr std::string_view kKindSession = "session";
inline constexpr std::string_view kKindHash = "hash";
inline constexpr std::string_view kKindUnseen = "unseen";

// One node of the subject graph: "i:pid_..." (keyed pseudonym of an identifier), "h:pid_..."
// (pseudonym of the identifier's sha256 hex) or "s:<session id>".
struct NodeFact {
  std::string node;
  std::string kind;
  // For an "h:" node: the "i:" node it is the hash of (then it is linked to that node only).
  // Empty otherwise. Not returned by Resolve.
  std::string of;
};

// The facts of one event (FactsOf in facts.h). Pseudonyms, session id and uuid only.
struct EventFacts {
  std::string token, session_id, uuid;
  std::vector<NodeFact> nodes;
  bool recording = false;  // a $snapshot event: its session is what is stored, not its uuid
};

struct BatchFacts {
  std::vector<EventFacts> events;
  std::optional<uint64_t> spool_seq;  // the spool record holding the batch, if spooled
};

// A resolved subject: one part per project token.
struct Subject {
  struct Part {
    std::string token;
    std::vector<NodeFact> nodes;  // the component, seeds first; kinds as first recorded
    std::vector<std::string> sessions, event_uuids;  // sorted, unique
    std::vector<uint64_t> spool_seqs;                // sorted, unique
  };
  std::vector<Part> parts;
  // True when nothing of the seeds was ever recorded (every node is kKindUnseen and no
  // session, event or spool record was found).
  bool empty() const;
};

// A durable suppression of later data for (token, node), until expires_ms (Unix ms).
struct Tombstone {
  std::string token, node, request_id;
  int64_t expires_ms;
};

// A data-subject request as the subjects service keeps it. Seeds are nodes (pseudonyms),
// never raw identifiers; result_json holds counts, a receipt or a bundle path only.
struct RequestRecord {
  std::string id, type, regulation, status;
  int64_t submitted_ms = 0, received_ms = 0, expected_ms = 0, updated_ms = 0;
  std::vector<std::string> seeds;  // nodes
  std::vector<std::string> tokens;
  std::vector<std::string> callback_urls;
  std::string result_json;  // receipt or bundle path; counts only
  std::string reason;
};

// Request statuses that Unfinished() returns (a restart resumes them).
inline constexpr std::string_view kUnfinishedStatuses[] = {"pending", "in_progress", "deferred"};

class SubjectStore {  // all methods thread-safe
 public:
  virtual ~SubjectStore() = default;
  // Indexes the nodes, links and occurrences of a batch in one transaction. Idempotent: a
  // batch recorded twice leaves the same rows.
  virtual Status Record(const BatchFacts& facts) = 0;
  // The connected component of the seeds (token or "" for every token that has the node,
  // node) over the strong links, with the sessions, event uuids and spool seqs recorded for
  // it. A seed with a token that was never recorded is returned as a kKindUnseen node.
  // kTooLarge when a component exceeds the store's node bound (fail closed: a hub id must not
  // turn one request into a mass erasure).
  virtual Result<Subject> Resolve(
      const std::vector<std::pair<std::string, std::string>>& seeds) = 0;
  // Drops the index rows of the subject's nodes: nodes, their links, their occurrences. Not
  // the tombstones. Idempotent.
  virtual Status ForgetSubject(const Subject& s) = 0;
  virtual Result<std::vector<std::string>> Tokens() = 0;  // projects seen, sorted
  // Durable before it returns; a node tombstoned twice keeps the later expiry.
  virtual Status AddTombstones(const std::vector<Tombstone>& t) = 0;
  // Served from memory (loaded at open): true while an unexpired tombstone covers the node.
  virtual bool IsTombstoned(std::string_view token, std::string_view node) const = 0;
  // Removes tombstones with expires_ms <= now_ms; returns how many.
  virtual Result<uint64_t> ExpireTombstones(int64_t now_ms) = 0;
  virtual Status PutRequest(const RequestRecord& r) = 0;  // insert or replace, by id
  virtual Result<std::optional<RequestRecord>> GetRequest(const std::string& id) = 0;
  // kUnfinishedStatuses, ordered by received_ms then id.
  virtual Result<std::vector<RequestRecord>> Unfinished() = 0;
  // Retention: drops what the index holds of purged data: the session nodes ("s:<id>") of
  // those (token, session_id)s with their links, and every occurrence of those sessions and
  // of those (token, uuid)s. The person nodes stay (other data may still name them).
  // Idempotent.
  virtual Status ForgetOccurrences(
      const std::vector<std::pair<std::string, std::string>>& token_sessions,
      const std::vector<std::pair<std::string, std::string>>& token_uuids) = 0;
  // Retention: requests in no unfinished status last updated at or before `before_ms`,
  // oldest first.
  virtual Result<std::vector<RequestRecord>> FinishedBefore(int64_t before_ms) = 0;
  virtual Status DeleteRequest(const std::string& id) = 0;  // idempotent
};

// The embedded default: DATA_DIR/subjects/subjects.sqlite (directory 0700, files 0600, WAL,
// synchronous=FULL). `env` (null: Env::Default(); must outlive the store) creates the
// directory and is the clock IsTombstoned compares expiries with. Format: SUBJECTS_FORMAT.md.
Result<std::unique_ptr<SubjectStore>> OpenSqliteSubjectStore(const std::filesystem::path& data_dir,
                                                             Env* env = nullptr);

}  // namespace scrubd::subjects
