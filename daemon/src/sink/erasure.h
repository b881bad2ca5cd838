// The value types the sinks' erasure and residue calls share (LocalStore::Erase / Residue,
// Spool::Erase): which session, and how much was removed or is left. Plain values, no
// behaviour; any thread. Counts only: no identifier ever goes in here.
#pragma once

#include <cstdint>
#include <string>

namespace scrubd::sink {

// One recording / events session of one project: the store's (token, session_id).
struct SessionKey {
  std::string token;
  std::string session_id;
};

// What an erasure removed, or (Residue) what of a subject is still there; 0 everywhere after
// Residue means clean. Each erasing call fills the fields it owns and leaves the others 0, so
// the caller adds them up.
struct EraseCounts {
  uint64_t sessions = 0;     // sessions rows
  uint64_t chunks = 0;       // chunks rows (each names one chunk file)
  uint64_t chunk_bytes = 0;  // Erase: bytes of those rows; Residue: bytes of files left
  uint64_t events = 0;       // events rows
  uint64_t spool = 0;        // pending spool files
  uint64_t dead = 0;         // dead letters (a .req and its .reason count once)
  uint64_t dom_state = 0;    // DOM state sessions (dom::StateStore, counted by the caller)
  // Added to the shared design: Erase: files unlinked under the session directories (chunk
  // files, and any unindexed or temp file beside them); Residue: files and directories of
  // those sessions still on disk.
  uint64_t files = 0;

  EraseCounts& operator+=(const EraseCounts& o) {
    sessions += o.sessions;
    chunks += o.chunks;
    chunk_bytes += o.chunk_bytes;
    events += o.events;
    spool += o.spool;
    dead += o.dead;
    dom_state += o.dom_state;
    files += o.files;
    return *this;
  }
  bool zero() const {
    return sessions == 0 && chunks == 0 && chunk_bytes == 0 && events == 0 && spool == 0 &&
           dead == 0 && dom_state == 0 && files == 0;
  }
};

}  // namespace scrubd::sink
