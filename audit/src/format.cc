#include "format.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "crypto.h"

namespace scrubd::audit::format {

bool IsReservedType(std::string_view t) {
  return t == kTypeLogInit || t == kTypeOpen || t == kTypeGap || t == kTypeKeyRotation ||
         t == kTypeClose;
}

bool IsValidType(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}

void PutU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string SegmentName(uint64_t first_seq) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != 4 + 20 + 4 || name.substr(0, 4) != "seg-" || name.substr(24) != ".log") {
    return std::nullopt;
  }
  uint64_t v = 0;
  std::string_view digits = name.substr(4, 20);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  if (SegmentName(v) != name) return std::nullopt;
  return v;
}

std::string FileHeader(std::string_view magic, uint64_t value) {
  std::string h(magic);
  PutU64(h, value);
  return h;
}

std::string EncodeBody(uint64_t seq, uint64_t time_us, const Hash& prev_hash, std::string_view type,
                       std::string_view payload) {
  std::string b;
  b.reserve(kBodyFixed + type.size() + payload.size());
  b.push_back(static_cast<char>(kBodyVersion));
  PutU64(b, seq);
  PutU64(b, time_us);
  b.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  b.push_back(static_cast<char>(type.size()));
  b.append(type);
  b.append(payload);
  return b;
}

bool DecodeBody(std::string_view body, Entry* out, std::string* why) {
  if (body.size() < kBodyFixed) {
    *why = "entry body too short";
    return false;
  }
  if (static_cast<uint8_t>(body[0]) != kBodyVersion) {
    *why = "unknown entry version " + std::to_string(static_cast<uint8_t>(body[0]));
    return false;
  }
  out->seq = GetU64(body.data() + 1);
  out->time_us = GetU64(body.data() + 9);
  std::memcpy(out->prev_hash.data(), body.data() + 17, 32);
  size_t type_len = static_cast<uint8_t>(body[49]);
  if (body.size() < kBodyFixed + type_len) {
    *why = "entry type overruns body";
    return false;
  }
  out->type = body.substr(kBodyFixed, type_len);
  if (!IsValidType(out->type)) {
    *why = "invalid entry type";
    return false;
  }
  out->payload = body.substr(kBodyFixed + type_len);
  return true;
}

Hash AppendRecord(std::string& out, std::string_view body) {
  Hash h = LeafHash(AsBytes(body));
  PutU32(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return h;
}

ReadStatus SegmentReader::Next(RecordView* out, std::string* why) {
  const uint64_t size = file_.size();
  if (pos_ == size) return ReadStatus::kEnd;
  const uint64_t left = size - pos_;
  auto all_zero = [&]() {
    for (uint64_t i = pos_; i < size; ++i) {
      if (file_[i] != '\0') return false;
    }
    return true;
  };
  if (left < 4) {
    *why = "incomplete record header (" + std::to_string(left) + " bytes)";
    return ReadStatus::kTorn;
  }
  uint32_t len = GetU32(file_.data() + pos_);
  if (len == 0) {
    if (all_zero()) {
      *why = "zero-filled tail (" + std::to_string(left) + " bytes)";
      return ReadStatus::kTorn;
    }
    *why = "record length 0";
    return ReadStatus::kCorrupt;
  }
  if (len > kMaxBodyLen) {
    *why = "record length " + std::to_string(len) + " exceeds limit";
    return ReadStatus::kCorrupt;
  }
  if (left < kRecordOverhead + len) {
    *why = "incomplete record (" + std::to_string(left) + " of " +
           std::to_string(kRecordOverhead + len) + " bytes)";
    return ReadStatus::kTorn;
  }
  out->offset = pos_;
  out->size = kRecordOverhead + len;
  out->body = file_.substr(pos_ + 4, len);
  std::memcpy(out->stored_hash.data(), file_.data() + pos_ + 4 + len, 32);
  pos_ += out->size;
  return ReadStatus::kRecord;
}

std::string CheckpointBody(std::string_view origin, uint64_t size, const Hash& root) {
  std::string b(origin);
  b.push_back('\n');
  b += std::to_string(size);
  b.push_back('\n');
  b += Base64Encode(root);
  b.push_back('\n');
  return b;
}

std::string SignatureLine(std::string_view name, std::string_view key_id,
                          std::string_view signature) {
  std::string blob(key_id);
  blob.append(signature);
  std::string line = "\xe2\x80\x94 ";
  line.append(name);
  line.push_back(' ');
  line += Base64Encode(AsBytes(blob));
  line.push_back('\n');
  return line;
}

Result<Note> ParseNote(std::string_view text) {
  if (text.size() > kMaxNoteLen) return Status::Corruption("note too large");
  size_t sep = text.find("\n\n");
  if (sep == std::string_view::npos) return Status::Corruption("note has no signature block");
  Note note;
  note.body = std::string(text.substr(0, sep + 1));
  // Body lines.
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < note.body.size();) {
    size_t nl = note.body.find('\n', start);
    lines.push_back(std::string_view(note.body).substr(start, nl - start));
    start = nl + 1;
  }
  if (lines.size() < 3) return Status::Corruption("checkpoint body needs 3 lines");
  for (std::string_view l : lines) {
    if (l.empty()) return Status::Corruption("empty line in checkpoint body");
  }
  note.origin = std::string(lines[0]);
  std::string_view sz = lines[1];
  if (sz.size() > 20 || (sz.size() > 1 && sz[0] == '0')) {
    return Status::Corruption("bad tree size");
  }
  auto [p, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), note.size);
  if (ec != std::errc() || p != sz.data() + sz.size()) return Status::Corruption("bad tree size");
  auto root = Base64DecodeStrict(lines[2]);
  if (!root || root->size() != 32) return Status::Corruption("bad root hash");
  std::memcpy(note.root.data(), root->data(), 32);
  // Signature lines.
  std::string_view sigs = text.substr(sep + 2);
  if (sigs.empty() || sigs.back() != '\n') return Status::Corruption("note must end in newline");
  static constexpr std::string_view kDash = "\xe2\x80\x94 ";
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kDash.size()) != kDash) return Status::Corruption("bad signature line");
    line.remove_prefix(kDash.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) return Status::Corruption("bad signature line");
    auto blob = Base64DecodeStrict(line.substr(sp + 1));
    if (!blob || blob->size() < 5) return Status::Corruption("bad signature encoding");
    NoteSignature s;
    s.name = std::string(line.substr(0, sp));
    s.key_id = blob->substr(0, 4);
    s.signature = blob->substr(4);
    note.signatures.push_back(std::move(s));
  }
  if (note.signatures.empty()) return Status::Corruption("note has no signatures");
  return note;
}

std::string RotationMessage(std::string_view origin, uint64_t seq, const Hash& prev_hash,
                            std::string_view old_raw_pub, std::string_view new_raw_pub) {
  std::string m = "scrubd-audit key rotation v1\n";
  m.append(origin);
  m.push_back('\n');
  m += std::to_string(seq);
  m.push_back('\n');
  m += HexEncode(prev_hash);
  m.push_back('\n');
  m += Base64Encode(AsBytes(old_raw_pub));
  m.push_back('\n');
  m += Base64Encode(AsBytes(new_raw_pub));
  m.push_back('\n');
  return m;
}

}  // namespace scrubd::audit::format
