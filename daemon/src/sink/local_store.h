// The embedded default sink: cleaned rrweb recordings as zstd-compressed JSON chunk files plus
// a SQLite index (format: daemon/src/sink/STORE_FORMAT.md; plain v1 chunks are still read).
// Thread-safe: writes of different batches may run concurrently; the index is serialized by an
// internal mutex.
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"
#include "sink/chunk_codec.h"
#include "sink/erasure.h"

struct sqlite3;

namespace scrubd::sink {

struct RecordingChunk {
  std::string token;
  std::string session_id;
  std::string window_id;
  std::string distinct_id;
  const boost::json::array* events = nullptr;  // cleaned rrweb events; must outlive the call
  // What the scrubber redacted in these events, by rule id (STORE_FORMAT.md "Redaction
  // counts"; the session's total is their sum); must outlive the call. Null: none.
  const std::map<std::string, uint64_t>* redactions_by_rule = nullptr;
};

struct StoredEvent {
  std::string token;
  std::string session_id;
  std::string distinct_id;
  std::string uuid;
  std::string name;
  std::string timestamp;
  std::string body;         // the cleaned event as JSON text
  std::string current_url;  // properties.$current_url (a lifecycle fact; not a column)
};

// Index derivation. Every stored id and index column is read here, from the scrubbed posthog
// event itself, never from copies taken at decode time (those held raw text): token
// (`properties.token`, which DecodeBatch fills in), `$session_id`, `$window_id` (a snapshot
// without one uses its session id), `distinct_id` (properties, else top level), `uuid`,
// `event` and `timestamp`. Ids that become path components are checked again; an id of another
// shape is kInternal (decode validated them and the scrubber never rewrites them).
// The chunk points into `snapshot_event`, which must outlive it.
Result<RecordingChunk> ChunkOf(const boost::json::object& snapshot_event);
// The project token of a scrubbed event (`properties.token`); empty when missing.
std::string TokenOf(const boost::json::object& event);
Result<StoredEvent> StoredEventOf(const boost::json::object& event);
// The page URLs (Meta event hrefs) of cleaned rrweb events, in order.
std::vector<std::string> PageUrlsOf(const boost::json::array& rrweb_events);

struct SessionInfo {
  std::string token;
  std::string session_id;
  std::string distinct_id;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  std::string first_url;
  int64_t bytes = 0;
  int64_t events = 0;
  // Redactions in the stored recording; nullopt for a session stored before the store
  // counted them (format v3) and not since.
  std::optional<int64_t> redactions;
  std::map<std::string, int64_t> redactions_by_rule;
};

// A filtered page of the sessions list (the console, STORE_FORMAT.md "Session queries").
// Empty / zero fields do not filter. Times are Unix ms.
struct SessionQuery {
  std::string token;               // exact project token
  int64_t from_ms = 0, to_ms = 0;  // the session's [first_ts, last_ts] meets [from, to]
  std::string url;                 // a substring of one of its page URLs (at most 2 KiB)
  std::optional<bool> redacted;    // true: redactions > 0; false: redactions == 0
  int64_t limit = 50, offset = 0;  // newest first (first_ts desc, token, session_id)
};
struct SessionPage {
  std::vector<SessionInfo> sessions;
  int64_t total = 0;  // rows matching the filters, all pages
};
// Per session, at most this many rules keep their own by-rule count; the rest add to
// kOtherRules. Rule ids longer than kMaxRuleIdBytes count there too.
inline constexpr size_t kMaxRulesPerSession = 64;
inline constexpr size_t kMaxRuleIdBytes = 128;
inline constexpr std::string_view kOtherRules = "(other)";

// Lifecycle (STORE_FORMAT.md "Lifecycle"): what retention needs per session without reading a
// recording. `last_ts` is the newest event time of the session (Unix ms, never later than the
// time it was received), `distinct_id` the stored (scrubbed) form.
struct LifecycleRow {
  std::string token, session_id, distinct_id;
  int64_t last_ts = 0;
  bool facts_complete = true;  // false: a fact was cut or the cap was reached
  // Its facts (FactsOf kUrl, kEvent), filled by SessionsLastSeenBefore(before, true) only.
  std::vector<std::string> urls, events;
};
// The time a session's lifecycle takes from an event: its own timestamp, bounded to
// [received - kMaxClientLagMs, received] (a client clock ahead cannot keep a session longer,
// one behind cannot get fresh data purged); the received time when it has none.
inline constexpr int64_t kMaxClientLagMs = 86'400'000;
inline int64_t LifecycleTime(int64_t event_ts, int64_t received_ms) {
  if (event_ts <= 0) return received_ms;
  return std::max(std::min(event_ts, received_ms), received_ms - kMaxClientLagMs);
}
// Facts kept per session for retention rules: page URLs (scrubbed Meta hrefs and
// $current_url) and event names. At most kMaxFactsPerSession, each at most kMaxFactBytes.
enum class FactKind : int { kUrl = 1, kEvent = 2 };
inline constexpr int64_t kMaxFactsPerSession = 512;
inline constexpr size_t kMaxFactBytes = 2048;
// One session purge removes unless it got newer data: `cutoff` is the newest last_ts at which
// it is still expired (now - its days).
struct PurgeKey {
  SessionKey key;
  int64_t cutoff = 0;
};
// An events row without a session (purge decides on it alone).
struct LooseEvent {
  int64_t id = 0;
  int64_t ts = 0;  // its timestamp, never later than received_at
  StoredEvent event;
};

struct LocalStoreOptions {
  // How new chunk files are written (STORE_FORMAT.md "Chunk files"); every encoding is read.
  // kPlain exists for the benchmark's baseline (bench/store_bench), not for deployments.
  ChunkEncoding chunk_encoding = ChunkEncoding::kZstd;
  int zstd_level = kDefaultZstdLevel;
};

class LocalStore {
 public:
  // Opens (creating if needed) DATA_DIR/store with 0700 permissions and removes the temp
  // files of interrupted chunk writes (never acknowledged). Chunk files and directories go
  // through `env` (null: Env::Default(); must outlive the store). The SQLite index uses
  // SQLite's own I/O: see STORE_FORMAT.md "Faults" for why that stays fail closed.
  static Result<std::unique_ptr<LocalStore>> Open(const std::filesystem::path& data_dir,
                                                  Env* env = nullptr,
                                                  LocalStoreOptions options = {});
  ~LocalStore();

  // Durably writes one chunk: the file is fsynced and renamed into place, then the index is
  // committed (synchronous=FULL). Only after both does the caller acknowledge the batch.
  Status WriteRecording(const RecordingChunk& chunk);
  // Several chunks with one index transaction (one commit fsync): every file is written
  // durably first, then all rows are committed together, or none are and the files go.
  Status WriteRecordings(const std::vector<RecordingChunk>& chunks);
  // Durably inserts cleaned analytics events in one transaction.
  Status WriteEvents(const std::vector<StoredEvent>& events);

  // All windows of a session merged and ordered by timestamp, as a JSON array text (plain
  // JSON whatever the chunks' encoding: v1 and v2 chunks of one session merge).
  // `token` empty matches any token only while one token holds that session id; when several
  // do, kInvalidInput asks for the token (exports never merge projects).
  Result<std::string> ExportSession(const std::string& session_id, const std::string& token,
                                    const std::string& window_id = "");
  Result<std::vector<SessionInfo>> ListSessions(int limit);
  // One page of sessions matching `q` and the number that match (local_store_sessions.cc).
  Result<SessionPage> QuerySessions(const SessionQuery& q);
  Result<SessionInfo> GetSession(const std::string& session_id, const std::string& token);

  // Erasure (STORE_FORMAT.md "Erasure"). Deletes, in one transaction, the sessions and chunks
  // rows of `sessions`, every events row of those sessions, every events row whose (token,
  // uuid) is in `token_uuid_events` and (an addition) whose (token, distinct_id) is in
  // `token_distinct_ids`; then checkpoints the WAL (deleted rows are zeroed: secure_delete);
  // then removes each session directory recordings/<token>/<session>/ with all its windows
  // and fsyncs each token directory. Idempotent: a rerun after any failure or crash finishes
  // the job (and counts only what it removed itself). kInvalidInput for an id that is not a
  // valid path component; nothing is touched then. Other sessions' files are never opened.
  Result<EraseCounts> Erase(
      const std::vector<SessionKey>& sessions,
      const std::vector<std::pair<std::string, std::string>>& token_uuid_events,
      const std::vector<std::pair<std::string, std::string>>& token_distinct_ids = {});
  // What of these is still there: sessions / chunks rows (with lifecycle and fact rows counted
  // as chunks), events rows of those sessions, of
  // those (token, uuid)s or with one of `distinct_ids` (stored form, any token), and files or
  // directories under those session directories (`files`, their bytes in `chunk_bytes`).
  Result<EraseCounts> Residue(
      const std::vector<SessionKey>& sessions,
      const std::vector<std::pair<std::string, std::string>>& token_uuid_events,
      const std::vector<std::string>& distinct_ids);
  // Access bundle: the index rows of those sessions that exist, in the order given.
  Result<std::vector<SessionInfo>> SessionsOf(const std::vector<SessionKey>& sessions);
  // Access bundle: the stored (cleaned) events of those sessions, with one of `distinct_ids`
  // (any token) or (an addition) with a listed (token, uuid); each once, in arrival order.
  Result<std::vector<StoredEvent>> EventsOf(
      const std::vector<SessionKey>& sessions, const std::vector<std::string>& distinct_ids,
      const std::vector<std::pair<std::string, std::string>>& token_uuid_events = {});

  // Retention. Sessions whose last_ts is at most `before`, oldest first; `with_facts`: each
  // with its page URLs and event names (`urls`, `events`), read in the same query.
  Result<std::vector<LifecycleRow>> SessionsLastSeenBefore(int64_t before, bool with_facts = false);
  Result<std::vector<std::string>> FactsOf(const SessionKey& key, FactKind kind);
  // Events rows with no session id (each is purged on its own).
  Result<std::vector<LooseEvent>> LooseEvents();
  // Removes each session that is still expired (its last_ts <= cutoff; one that got newer
  // data is skipped and not counted) as Erase does, with the session keys journaled in the
  // same transaction (purge_pending), so a crash before its directories are gone is finished
  // by FinishPurges. `removed` (may be null) gets the keys actually removed.
  Result<EraseCounts> PurgeSessions(const std::vector<PurgeKey>& keys,
                                    std::vector<SessionKey>* removed = nullptr);
  // Removes the directories of an interrupted PurgeSessions, then its journal rows; a session
  // indexed again since keeps its directory and loses only the files no row names. Open
  // calls it; a purge calls it first (under the ingest lock in the daemon).
  Result<EraseCounts> FinishPurges();
  Result<uint64_t> DeleteEventRows(const std::vector<int64_t>& ids);
  // Sessions of a store written before lifecycle rows existed, given rows at open (once).
  uint64_t migrated_sessions() const { return migrated_sessions_; }

  const std::filesystem::path& root() const { return root_; }

 private:
  LocalStore(std::filesystem::path root, sqlite3* db, Env* env, LocalStoreOptions options)
      : root_(std::move(root)), db_(db), env_(env), options_(options) {}
  Status Exec(const char* sql);
  void Rollback();
  struct ChunkFile {  // a chunk file written, not yet indexed
    std::filesystem::path file;
    std::string rel, first_url;
    int64_t bytes = 0, first_ts = 0, last_ts = 0, now = 0;
  };
  Result<ChunkFile> WriteChunkFile(const RecordingChunk& c);
  Status WriteChunks(std::span<const RecordingChunk* const> chunks);
  Status IndexChunks(const std::vector<const RecordingChunk*>& chunks,
                     const std::vector<ChunkFile>& files);
  Result<std::string> ResolveToken(const std::string& session_id, const std::string& token);
  Status EraseRows(const std::vector<SessionKey>& sessions,
                   const std::vector<std::pair<std::string, std::string>>& token_uuid_events,
                   const std::vector<std::pair<std::string, std::string>>& token_distinct_ids,
                   EraseCounts* counts);
  // Lifecycle (local_store_lifecycle.cc); the callers hold mu_ inside a transaction.
  Status MigrateLifecycle();
  // Format v3: the sessions' redaction columns (local_store_sessions.cc).
  Status MigrateRedactions();
  // Adds a chunk's by-rule counts to its session row; the caller holds mu_ in a transaction.
  bool AddRedactionsByRule(const RecordingChunk& c);
  bool TouchLifecycle(const std::string& token, const std::string& session_id,
                      const std::string& distinct_id, int64_t last_ts,
                      const std::vector<std::pair<FactKind, std::string>>& facts);
  bool TouchLifecycle(const StoredEvent& e, int64_t received_ms);
  Status PurgeRows(const std::vector<PurgeKey>& keys, std::vector<SessionKey>* removed,
                   EraseCounts* counts);
  Result<std::set<std::string>> IndexedChunkPaths(const SessionKey& k);
  Status RemoveUnindexed(const SessionKey& k, const std::set<std::string>& indexed,
                         uint64_t* files);
  Status EraseDirs(const std::vector<SessionKey>& sessions, EraseCounts* counts);
  Status CountResidueRows(const std::vector<SessionKey>& sessions,
                          const std::vector<std::pair<std::string, std::string>>& uuids,
                          const std::vector<std::string>& distinct_ids, EraseCounts* counts);
  std::filesystem::path SessionDir(const SessionKey& k) const {
    return root_ / "recordings" / k.token / k.session_id;
  }
  std::filesystem::path root_;
  sqlite3* db_;
  Env* env_;
  const LocalStoreOptions options_;
  std::mutex mu_;
  uint64_t migrated_sessions_ = 0;
};

// scrubd::WriteFileDurably over Env::Default() (keys, CLI output).
inline Status WriteFileDurably(const std::filesystem::path& path, std::string_view data,
                               int mode = 0600) {
  return scrubd::WriteFileDurably(Env::Default(), path, data, mode);
}

}  // namespace scrubd::sink
