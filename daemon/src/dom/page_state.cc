// .dpg encoding: magic "SDPG", u32 version 1, u32 key_len, key, u8 page, u64 rules
// fingerprint, u32 crc32 of every preceding byte. Little-endian.
#include "dom/page_state.h"

#include <zlib.h>

namespace scrubd::dom {
namespace {

constexpr std::string_view kMagic = "SDPG";
constexpr uint32_t kVersion = 1;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLe(std::string_view b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
uint32_t Crc(std::string_view b) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size())));
}

}  // namespace

std::string PageState::Encode(std::string_view key) const {
  std::string out(kMagic);
  PutU32(out, kVersion);
  PutU32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  out.push_back(static_cast<char>(page));
  PutU64(out, rules_fingerprint);
  PutU32(out, Crc(out));
  return out;
}

Result<PageState> PageState::Decode(std::string_view b, std::string_view key) {
  if (b.size() < 12 || b.substr(0, 4) != kMagic) return Status::Corruption("page state: magic");
  if (GetLe(b, 4, 4) != kVersion) return Status::Corruption("page state: version");
  uint64_t key_len = GetLe(b, 8, 4);
  if (b.size() != 12 + key_len + 1 + 8 + 4) return Status::Corruption("page state: length");
  size_t end = b.size() - 4;
  if (Crc(b.substr(0, end)) != GetLe(b, end, 4)) return Status::Corruption("page state: crc");
  if (b.substr(12, key_len) != key) return Status::NotFound("page state: other window");
  uint8_t page = static_cast<uint8_t>(b[12 + key_len]);
  if (page > static_cast<uint8_t>(Page::kBlocked)) return Status::Corruption("page state: page");
  PageState s;
  s.page = static_cast<Page>(page);
  s.rules_fingerprint = GetLe(b, 12 + key_len + 1, 8);
  return s;
}

}  // namespace scrubd::dom
