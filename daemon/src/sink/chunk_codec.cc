// Chunk codec over libzstd: one-shot compression with the content size and an XXH64 checksum
// in the frame, streaming decompression into a bounded buffer (never trusting the header's size),
// and the name/magic agreement check. Messages name the step, never a path.
#include "sink/chunk_codec.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

namespace scrubd::sink {

namespace {

constexpr std::string_view kPlainSuffix = ".json";
constexpr std::string_view kZstdSuffix = ".json.zst";

std::string ZstdError(std::string_view step, size_t rc) {
  return std::string(step) + ": " + ZSTD_getErrorName(rc);
}

ZSTD_DCtx* NewDecoder() {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  if (d) ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, kMaxZstdWindowLog);
  return d;
}

}  // namespace

std::string_view ChunkSuffix(ChunkEncoding e) {
  return e == ChunkEncoding::kZstd ? kZstdSuffix : kPlainSuffix;
}

std::optional<ChunkEncoding> EncodingOfName(std::string_view name) {
  if (name.ends_with(kZstdSuffix)) return ChunkEncoding::kZstd;
  if (name.ends_with(kPlainSuffix)) return ChunkEncoding::kPlain;
  return std::nullopt;
}

bool LooksZstd(std::string_view b) {
  return b.size() >= 4 && static_cast<unsigned char>(b[0]) == 0x28 &&
         static_cast<unsigned char>(b[1]) == 0xb5 && static_cast<unsigned char>(b[2]) == 0x2f &&
         static_cast<unsigned char>(b[3]) == 0xfd;
}

Result<std::string> EncodeChunk(std::string_view json, ChunkEncoding e, int level) {
  if (json.size() > kMaxChunkBytes) return Status::TooLarge("chunk above the store's chunk cap");
  if (e == ChunkEncoding::kPlain) return std::string(json);
  // One context per thread, reused: its tables are allocated once, not per chunk.
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                                       ZSTD_freeCCtx);
  if (!cctx) return Status::Internal("zstd: cannot create a compressor");
  ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, std::clamp(level, 1, 19));
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);  // damage is detected on read
  std::string out(ZSTD_compressBound(json.size()), '\0');
  size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), json.data(), json.size());
  if (ZSTD_isError(n)) return Status::Internal(ZstdError("chunk compress", n));
  out.resize(n);
  return out;
}

Result<std::string> DecodeChunk(std::string_view name, std::string_view bytes, size_t max_bytes) {
  std::optional<ChunkEncoding> e = EncodingOfName(name);
  if (!e) return Status::Corruption("chunk file name has no known suffix");
  if (*e == ChunkEncoding::kPlain) {
    if (LooksZstd(bytes)) return Status::Corruption("a .json chunk holds a zstd frame");
    if (bytes.size() > max_bytes) return Status::Corruption("chunk above the chunk cap");
    return std::string(bytes);
  }
  if (!LooksZstd(bytes)) return Status::Corruption("a .json.zst chunk has no zstd magic");
  std::string out;
  ZstdStream stream;
  bool over = false;
  Status s = stream.Feed(bytes, [&](std::string_view piece) {
    over = out.size() + piece.size() > max_bytes;
    if (!over) out.append(piece);
    return !over;
  });
  if (s.ok() && over) return Status::Corruption("chunk decodes above the chunk cap");
  if (s.ok()) s = stream.Finish();
  if (!s.ok()) return s;
  return out;
}

struct ZstdStream::State {
  ZSTD_DCtx* dctx = nullptr;
  size_t pending = 0;  // ZSTD_decompressStream's hint: 0 once a frame is complete
  bool started = false, stopped = false;
  std::string buf;
  ~State() { ZSTD_freeDCtx(dctx); }
};

ZstdStream::ZstdStream() : state_(std::make_unique<State>()) {
  state_->dctx = NewDecoder();
  state_->buf.resize(ZSTD_DStreamOutSize());
}

ZstdStream::~ZstdStream() = default;

Status ZstdStream::Feed(std::string_view in, const Sink& out) {
  State& st = *state_;
  if (!st.dctx) return Status::Internal("zstd: cannot create a decoder");
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  // Runs until the input is consumed and the decoder has nothing more to flush (a full output
  // buffer may hide more output for the bytes already given).
  while (!st.stopped) {
    ZSTD_outBuffer dst{st.buf.data(), st.buf.size(), 0};
    size_t rc = ZSTD_decompressStream(st.dctx, &dst, &src);
    if (ZSTD_isError(rc)) return Status::Corruption(ZstdError("chunk decompress", rc));
    if (src.size > 0) st.started = true;
    st.pending = rc;
    if (dst.pos > 0) st.stopped = !out(std::string_view(st.buf.data(), dst.pos));
    if (src.pos == src.size && dst.pos < dst.size) break;
  }
  return Status::Ok();
}

bool ZstdStream::stopped() const { return state_->stopped; }

Status ZstdStream::Finish() const {
  if (!state_->started) return Status::Corruption("chunk decompress: no zstd frame");
  if (state_->pending != 0) return Status::Corruption("chunk decompress: truncated zstd frame");
  return Status::Ok();
}

}  // namespace scrubd::sink
