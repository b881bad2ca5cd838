// Encoding and decoding of the audit log's on-disk format (audit/FORMAT.md): segment headers,
// entry records, entry bodies, checkpoint records and C2SP signed notes.
// Internal to scrubd_audit; the writer (log.cc), the verifier (verify.cc) and tests use it.
// Stateless functions and value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/audit/merkle.h"
#include "scrubd/common/status.h"

namespace scrubd::audit::format {

inline constexpr std::string_view kSegmentMagic = "SCRDAUD1";
inline constexpr std::string_view kCheckpointMagic = "SCRDCKP1";
inline constexpr size_t kFileHeaderSize = 16;
inline constexpr uint32_t kMaxBodyLen = 16u << 20;
inline constexpr uint32_t kMaxNoteLen = 64u << 10;
inline constexpr size_t kRecordOverhead = 4 + 32;
inline constexpr uint8_t kBodyVersion = 1;
inline constexpr size_t kBodyFixed = 1 + 8 + 8 + 32 + 1;  // before type bytes

inline constexpr std::string_view kCheckpointsFile = "checkpoints.log";
inline constexpr std::string_view kLatestCheckpointFile = "checkpoint";
inline constexpr std::string_view kPublicKeyFile = "public.pem";
inline constexpr std::string_view kKeysDir = "keys";
inline constexpr std::string_view kSigningKeyFile = "signing.key";

// Library-owned entry types (reserved).
inline constexpr std::string_view kTypeLogInit = "log_init";
inline constexpr std::string_view kTypeOpen = "audit_open";
inline constexpr std::string_view kTypeGap = "gap";
inline constexpr std::string_view kTypeKeyRotation = "key_rotation";
inline constexpr std::string_view kTypeClose = "audit_close";
bool IsReservedType(std::string_view type);
bool IsValidType(std::string_view type);

void PutU32(std::string& out, uint32_t v);
void PutU64(std::string& out, uint64_t v);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);

std::string SegmentName(uint64_t first_seq);  // "seg-%020llu.log"
std::optional<uint64_t> ParseSegmentName(std::string_view name);
std::string FileHeader(std::string_view magic, uint64_t value);

struct Entry {
  uint64_t seq = 0;
  uint64_t time_us = 0;
  Hash prev_hash{};
  std::string_view type;
  std::string_view payload;
};

std::string EncodeBody(uint64_t seq, uint64_t time_us, const Hash& prev_hash, std::string_view type,
                       std::string_view payload);
bool DecodeBody(std::string_view body, Entry* out, std::string* why);
// Appends `body_len | body | leaf_hash` to `out` and returns the leaf hash.
Hash AppendRecord(std::string& out, std::string_view body);

// Sequential reader over one segment's bytes (header already checked by the caller).
struct RecordView {
  uint64_t offset = 0;  // byte offset of the record in the segment file
  uint64_t size = 0;    // whole record, framing included
  std::string_view body;
  Hash stored_hash{};
};
enum class ReadStatus { kRecord, kEnd, kTorn, kCorrupt };
class SegmentReader {
 public:
  explicit SegmentReader(std::string_view file) : file_(file), pos_(kFileHeaderSize) {}
  // kTorn: an incomplete record or zero-filled tail from pos() to the end of the file.
  // kCorrupt: a frame that cannot be valid (why says how).
  ReadStatus Next(RecordView* out, std::string* why);
  uint64_t pos() const { return pos_; }

 private:
  std::string_view file_;
  uint64_t pos_;
};

// C2SP tlog-checkpoint / signed-note.
struct NoteSignature {
  std::string name;
  std::string key_id;     // 4 bytes
  std::string signature;  // the rest
};
struct Note {
  std::string body;  // signed message: origin, size, root lines (+ extensions), each '\n'-ended
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<NoteSignature> signatures;
};
std::string CheckpointBody(std::string_view origin, uint64_t size, const Hash& root);
std::string SignatureLine(std::string_view name, std::string_view key_id,
                          std::string_view signature);
Result<Note> ParseNote(std::string_view text);

// The message both keys sign in a key_rotation entry.
std::string RotationMessage(std::string_view origin, uint64_t seq, const Hash& prev_hash,
                            std::string_view old_raw_pub, std::string_view new_raw_pub);

}  // namespace scrubd::audit::format
