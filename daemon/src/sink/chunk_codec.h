// Chunk file encodings of the local store (STORE_FORMAT.md "Chunk files"): one zstd frame per
// chunk since store format v2, plain JSON before. The one codec for the store's writer, its
// readers (export, access bundle) and the erasure's needle scan. Functions are stateless and
// thread-safe; a ZstdStream is used by one thread at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd::sink {

enum class ChunkEncoding {
  kPlain,  // v1: the JSON array as is (`.json`); always read, written only on request
  kZstd,   // v2, the default: one zstd frame holding the JSON array (`.json.zst`)
};

// Decoded size cap of one chunk, checked when writing and when reading.
inline constexpr size_t kMaxChunkBytes = size_t{256} << 20;
// Level 1: on the CRM set as small as level 3 and 1.6x faster (STORE_FORMAT.md codec table).
inline constexpr int kDefaultZstdLevel = 1;
// Frames needing a window above 2^24 bytes are refused (ours use at most 2^23 at level 19).
inline constexpr int kMaxZstdWindowLog = 24;

// The file name suffix of an encoding: ".json" or ".json.zst".
std::string_view ChunkSuffix(ChunkEncoding e);
// The encoding a chunk file's name declares by its suffix; nullopt for another name.
std::optional<ChunkEncoding> EncodingOfName(std::string_view name);
// True when `bytes` start with the zstd frame magic number (28 b5 2f fd).
bool LooksZstd(std::string_view bytes);

// The bytes of a chunk file holding `json` in encoding `e` (`level`: zstd 1..19). kTooLarge
// above kMaxChunkBytes; kInternal if the codec fails.
Result<std::string> EncodeChunk(std::string_view json, ChunkEncoding e,
                                int level = kDefaultZstdLevel);
// The JSON text of the chunk file `name` holding `bytes`. The name's suffix and the magic bytes
// must agree (a `.json.zst` file is a zstd frame, a `.json` file is not), the frame must decode
// completely with no trailing bytes and to at most `max_bytes`; else kCorruption.
Result<std::string> DecodeChunk(std::string_view name, std::string_view bytes,
                                size_t max_bytes = kMaxChunkBytes);

// Decodes zstd frames fed piece by piece, in bounded memory (one window of at most 2^24 bytes
// and a 128 KiB output buffer), for readers that must not hold a whole file: the needle scan.
class ZstdStream {
 public:
  // Takes one decoded piece (valid for that call only); false stops the decoding.
  using Sink = std::function<bool(std::string_view decoded)>;
  ZstdStream();
  ~ZstdStream();
  ZstdStream(const ZstdStream&) = delete;
  ZstdStream& operator=(const ZstdStream&) = delete;

  // Decodes `in`, handing each decoded piece to `out`, until `out` returns false (then
  // stopped() is true and later calls do nothing). kCorruption for bytes that are not zstd
  // frames; kInternal when the decoder cannot be created.
  Status Feed(std::string_view in, const Sink& out);
  // After the last Feed: kCorruption when no frame began or the input ended inside one.
  Status Finish() const;
  bool stopped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace scrubd::sink
