// The embedded default sink: cleaned rrweb recordings as plain JSON chunk files plus a SQLite
// index (format: daemon/src/sink/STORE_FORMAT.md). Thread-safe: writes of different batches
// may run concurrently; the index is serialized by an internal mutex.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"

struct sqlite3;

namespace scrubd::sink {

struct RecordingChunk {
  std::string token;
  std::string session_id;
  std::string window_id;
  std::string distinct_id;
  const boost::json::array* events = nullptr;  // cleaned rrweb events; must outlive the call
};

struct StoredEvent {
  std::string token;
  std::string session_id;
  std::string distinct_id;
  std::string uuid;
  std::string name;
  std::string timestamp;
  std::string body;  // the cleaned event as JSON text
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

struct SessionInfo {
  std::string token;
  std::string session_id;
  std::string distinct_id;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  std::string first_url;
  int64_t bytes = 0;
  int64_t events = 0;
};

class LocalStore {
 public:
  // Opens (creating if needed) DATA_DIR/store with 0700 permissions and removes the temp
  // files of interrupted chunk writes (never acknowledged). Chunk files and directories go
  // through `env` (null: Env::Default(); must outlive the store). The SQLite index uses
  // SQLite's own I/O: see STORE_FORMAT.md "Faults" for why that stays fail closed.
  static Result<std::unique_ptr<LocalStore>> Open(const std::filesystem::path& data_dir,
                                                  Env* env = nullptr);
  ~LocalStore();

  // Durably writes one chunk: the file is fsynced and renamed into place, then the index is
  // committed (synchronous=FULL). Only after both does the caller acknowledge the batch.
  Status WriteRecording(const RecordingChunk& chunk);
  // Durably inserts cleaned analytics events in one transaction.
  Status WriteEvents(const std::vector<StoredEvent>& events);

  // All windows of a session merged and ordered by timestamp, as a JSON array text.
  // `token` empty matches any token only while one token holds that session id; when several
  // do, kInvalidInput asks for the token (exports never merge projects).
  Result<std::string> ExportSession(const std::string& session_id, const std::string& token,
                                    const std::string& window_id = "");
  Result<std::vector<SessionInfo>> ListSessions(int limit);
  Result<SessionInfo> GetSession(const std::string& session_id, const std::string& token);

  const std::filesystem::path& root() const { return root_; }

 private:
  LocalStore(std::filesystem::path root, sqlite3* db, Env* env)
      : root_(std::move(root)), db_(db), env_(env) {}
  Status Exec(const char* sql);
  void Rollback();
  Status IndexChunk(const RecordingChunk& c, const std::string& rel, int64_t bytes,
                    int64_t first_ts, int64_t last_ts, const std::string& first_url, int64_t now);
  Result<std::string> ResolveToken(const std::string& session_id, const std::string& token);
  std::filesystem::path root_;
  sqlite3* db_;
  Env* env_;
  std::mutex mu_;
};

// scrubd::WriteFileDurably over Env::Default() (keys, CLI output).
inline Status WriteFileDurably(const std::filesystem::path& path, std::string_view data,
                               int mode = 0600) {
  return scrubd::WriteFileDurably(Env::Default(), path, data, mode);
}

}  // namespace scrubd::sink
