#include "dom/window_state.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace scrubd::dom {
namespace {

constexpr char kMagic[4] = {'S', 'D', 'W', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kPersistedFlagMask = (1u << 18) - 1;
constexpr size_t kMaxDecodedBytes = 256u << 20;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool U32(uint32_t& v) {
    if (b_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(b_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t& v) {
    if (b_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(b_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool Bytes(size_t n, std::string_view& v) {
    if (b_.size() - pos_ < n) return false;
    v = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return b_.size() - pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace

WindowState::WindowState() = default;
WindowState::~WindowState() = default;
WindowState::WindowState(WindowState&&) noexcept = default;
WindowState& WindowState::operator=(WindowState&&) noexcept = default;

const WindowState::Node* WindowState::FindOverflow(uint32_t id) const {
  auto it = overflow_.find(id);
  return it == overflow_.end() ? nullptr : &it->second;
}

void WindowState::Put(uint32_t id, Node node) {
  node.flags |= nf::kPresent;
  dirty_ = true;
  uint32_t p = id >> kPageBits;
  if (p < kMaxDensePages) {
    if (p >= pages_.size()) pages_.resize(p + 1);
    if (!pages_[p]) {
      pages_[p] = std::make_unique<Page>();
      ++page_count_;
    }
    Node& slot = pages_[p]->nodes[id & (kPageSize - 1)];
    if (!(slot.flags & nf::kPresent)) {
      ++pages_[p]->live;
      ++live_;
    } else if ((slot.flags & nf::kHasAtoms) && !(node.flags & nf::kHasAtoms)) {
      atoms_.erase(id);
    }
    bool moved = !(slot.flags & nf::kPresent) || slot.parent != node.parent;
    slot = node;
    if (has_child_index_ && moved) NoteParent(id, node.parent);
    return;
  }
  auto [it, inserted] = overflow_.try_emplace(id, node);
  bool moved = inserted || it->second.parent != node.parent;
  if (inserted) {
    ++live_;
  } else {
    if ((it->second.flags & nf::kHasAtoms) && !(node.flags & nf::kHasAtoms)) atoms_.erase(id);
    it->second = node;
  }
  if (has_child_index_ && moved) NoteParent(id, node.parent);
}

void WindowState::BuildChildIndex() {
  DropChildIndex();
  const size_t dense = pages_.size() << kPageBits;
  child_offsets_.assign(dense + 2, 0);
  size_t count = 0;
  ForEach([&](uint32_t, Node& n) {
    if (n.parent != 0 && n.parent < dense) {
      ++child_offsets_[n.parent + 1];
      ++count;
    }
  });
  for (size_t i = 1; i < child_offsets_.size(); ++i) child_offsets_[i] += child_offsets_[i - 1];
  child_ids_.assign(count, 0);
  std::vector<uint32_t> fill(child_offsets_.begin(), child_offsets_.end() - 1);
  ForEach([&](uint32_t id, Node& n) {
    if (n.parent != 0 && n.parent < dense) {
      child_ids_[fill[n.parent]++] = id;
    } else if (n.parent >= dense &&
               child_delta_pairs_.emplace((uint64_t(n.parent) << 32) | id, 0).second) {
      child_delta_[n.parent].push_back(id);  // overflow parents: delta only, never dropped
    }
  });
  has_child_index_ = true;
  child_delta_built_ = child_delta_pairs_.size();
}

void WindowState::DropChildIndex() {
  has_child_index_ = false;
  child_offsets_.clear();
  child_offsets_.shrink_to_fit();
  child_ids_.clear();
  child_ids_.shrink_to_fit();
  child_delta_.clear();
  child_delta_pairs_.clear();
}

bool WindowState::InBaseIndex(uint32_t parent, uint32_t child) const {
  if (size_t(parent) + 1 >= child_offsets_.size()) return false;
  auto lo = child_ids_.begin() + child_offsets_[parent];
  auto hi = child_ids_.begin() + child_offsets_[parent + 1];
  return std::binary_search(lo, hi, child);  // filled in id order, so sorted
}

void WindowState::NoteParent(uint32_t id, uint32_t parent) {
  if (parent == 0 || InBaseIndex(parent, id)) return;
  uint64_t key = (uint64_t(parent) << 32) | id;
  if (!child_delta_pairs_.emplace(key, 0).second) return;
  child_delta_[parent].push_back(id);
  // Amortised: a rebuild costs O(nodes) and happens at most once per nodes/4 changes.
  if (child_delta_pairs_.size() - child_delta_built_ > std::max<size_t>(4096, live_ / 4))
    DropChildIndex();
}

void WindowState::Erase(uint32_t id) {
  uint32_t p = id >> kPageBits;
  if (p < kMaxDensePages) {
    if (p >= pages_.size() || !pages_[p]) return;
    Node& slot = pages_[p]->nodes[id & (kPageSize - 1)];
    if (!(slot.flags & nf::kPresent)) return;
    if (slot.flags & nf::kHasAtoms) atoms_.erase(id);
    slot = Node{};
    --live_;
    dirty_ = true;
    if (--pages_[p]->live == 0) {
      pages_[p].reset();
      --page_count_;
      while (!pages_.empty() && !pages_.back()) pages_.pop_back();
    }
    return;
  }
  auto it = overflow_.find(id);
  if (it == overflow_.end()) return;
  if (it->second.flags & nf::kHasAtoms) atoms_.erase(id);
  overflow_.erase(it);
  --live_;
  dirty_ = true;
}

void WindowState::Clear() {
  pages_.clear();
  pages_.shrink_to_fit();
  overflow_.clear();
  atoms_.clear();
  live_ = 0;
  page_count_ = 0;
  has_snapshot_ = false;
  dirty_ = true;
  garbage_ = 0;
  DropChildIndex();
}

uint64_t WindowState::Atoms(uint32_t id) const {
  const Node* n = Find(id);
  if (n == nullptr || !(n->flags & nf::kHasAtoms)) return 0;
  auto it = atoms_.find(id);
  return it == atoms_.end() ? 0 : it->second;
}

void WindowState::SetAtoms(uint32_t id, uint64_t atoms) {
  Node* n = FindMutable(id);
  if (n == nullptr) return;
  dirty_ = true;
  if (atoms == 0) {
    if (n->flags & nf::kHasAtoms) atoms_.erase(id);
    n->flags &= ~nf::kHasAtoms;
    return;
  }
  n->flags |= nf::kHasAtoms;
  atoms_[id] = atoms;
}

size_t WindowState::MemoryBytes() const {
  // Node-based hash maps: one node (key, value, next pointer, cached hash) per entry plus
  // one bucket pointer per bucket; malloc rounds small blocks to 32 bytes.
  size_t bytes = page_count_ * sizeof(Page) + pages_.capacity() * sizeof(pages_[0]);
  bytes += overflow_.size() * 32 + overflow_.bucket_count() * sizeof(void*);
  bytes += atoms_.size() * 32 + atoms_.bucket_count() * sizeof(void*);
  bytes += (child_offsets_.capacity() + child_ids_.capacity()) * sizeof(uint32_t);
  bytes += child_delta_pairs_.size() * 64 + child_delta_pairs_.bucket_count() * sizeof(void*);
  return bytes;
}

std::string WindowState::Encode(std::string_view key) const {
  std::string body;
  body.reserve(16 + live_ * 12 + atoms_.size() * 12);
  PutU64(body, policy_fingerprint_);
  PutU32(body, has_snapshot_ ? 1u : 0u);
  PutU32(body, static_cast<uint32_t>(live_));
  const_cast<WindowState*>(this)->ForEach([&](uint32_t id, Node& n) {
    PutU32(body, id);
    PutU32(body, n.parent);
    PutU32(body, n.flags & kPersistedFlagMask);
  });
  PutU32(body, static_cast<uint32_t>(atoms_.size()));
  for (const auto& [id, bits] : atoms_) {
    PutU32(body, id);
    PutU64(body, bits);
  }
  uLongf zlen = compressBound(body.size());
  std::string z(zlen, '\0');
  compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(body.data()),
            body.size(), 1);
  z.resize(zlen);

  std::string out(kMagic, 4);
  PutU32(out, kVersion);
  PutU32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  PutU32(out, static_cast<uint32_t>(body.size()));
  PutU32(out, static_cast<uint32_t>(z.size()));
  out.append(z);
  uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data()), out.size());
  PutU32(out, crc);
  return out;
}

Result<WindowState> WindowState::Decode(std::string_view bytes, std::string_view key) {
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, 4) != 0)
    return Status::Corruption("window state: bad magic or short file");
  uint32_t stored_crc = 0;
  {
    Reader tail(bytes.substr(bytes.size() - 4));
    tail.U32(stored_crc);
  }
  uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4);
  if (crc != stored_crc) return Status::Corruption("window state: checksum mismatch");
  Reader r(bytes.substr(4, bytes.size() - 8));
  uint32_t version = 0, key_len = 0, raw_len = 0, z_len = 0;
  std::string_view stored_key, z;
  if (!r.U32(version) || version != kVersion)
    return Status::Corruption("window state: unsupported version");
  if (!r.U32(key_len) || !r.Bytes(key_len, stored_key))
    return Status::Corruption("window state: truncated key");
  if (stored_key != key) return Status::NotFound("window state: key mismatch");
  if (!r.U32(raw_len) || !r.U32(z_len) || !r.Bytes(z_len, z) || raw_len > kMaxDecodedBytes)
    return Status::Corruption("window state: truncated body");
  std::string body(raw_len, '\0');
  uLongf out_len = raw_len;
  if (uncompress(reinterpret_cast<Bytef*>(body.data()), &out_len,
                 reinterpret_cast<const Bytef*>(z.data()), z.size()) != Z_OK ||
      out_len != raw_len)
    return Status::Corruption("window state: bad compressed body");

  Reader b(body);
  WindowState st;
  uint32_t flags = 0, count = 0;
  uint64_t fp = 0;
  if (!b.U64(fp) || !b.U32(flags) || !b.U32(count) || b.remaining() / 12 < count)
    return Status::Corruption("window state: bad header");
  st.policy_fingerprint_ = fp;
  st.has_snapshot_ = flags & 1u;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t id = 0, parent = 0, nflags = 0;
    b.U32(id);
    b.U32(parent);
    b.U32(nflags);
    st.Put(id, Node{parent, nflags & kPersistedFlagMask & ~nf::kHasAtoms});
  }
  uint32_t atom_count = 0;
  if (!b.U32(atom_count) || b.remaining() / 12 < atom_count)
    return Status::Corruption("window state: bad atom table");
  for (uint32_t i = 0; i < atom_count; ++i) {
    uint32_t id = 0;
    uint64_t bits = 0;
    b.U32(id);
    b.U64(bits);
    st.SetAtoms(id, bits);
  }
  st.dirty_ = false;
  return st;
}

}  // namespace scrubd::dom
