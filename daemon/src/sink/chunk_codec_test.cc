#include "sink/chunk_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace scrubd::sink {
namespace {

std::string Json(size_t items) {
  std::string s = "[";
  for (size_t i = 0; i < items; ++i)
    s += (i ? "," : "") + std::string(R"({"type":3,"data":{"source":0,"texts":[]},"timestamp":)") +
         std::to_string(1764583200000 + i) + "}";
  return s + "]";
}

TEST(ChunkCodecTest, ZstdRoundTripsAndNamesSayTheEncoding) {
  const std::string json = Json(2000);
  auto packed = EncodeChunk(json, ChunkEncoding::kZstd);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  EXPECT_TRUE(LooksZstd(*packed));
  EXPECT_LT(packed->size() * 10, json.size());  // repetitive JSON shrinks well
  auto back = DecodeChunk("0000000000001-000001.json.zst", *packed);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, json);
  auto plain = EncodeChunk(json, ChunkEncoding::kPlain);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, json);
  EXPECT_EQ(*DecodeChunk("w/0000000000001-000001.json", *plain), json);
  EXPECT_EQ(ChunkSuffix(ChunkEncoding::kZstd), ".json.zst");
  EXPECT_EQ(ChunkSuffix(ChunkEncoding::kPlain), ".json");
  EXPECT_EQ(EncodingOfName("a/b.json.zst"), ChunkEncoding::kZstd);
  EXPECT_EQ(EncodingOfName("a/b.json"), ChunkEncoding::kPlain);
  EXPECT_FALSE(EncodingOfName("a/b.json.gz").has_value());
}

TEST(ChunkCodecTest, NameAndMagicMustAgree) {
  const std::string json = Json(10);
  std::string packed = *EncodeChunk(json, ChunkEncoding::kZstd);
  EXPECT_EQ(DecodeChunk("c.json.zst", json).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeChunk("c.json", packed).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeChunk("c.txt", json).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeChunk("c.json.zst", "").status().code(), Code::kCorruption);
}

TEST(ChunkCodecTest, DamagedFramesAndOversizedOutputAreCorruption) {
  const std::string json = Json(5000);
  std::string packed = *EncodeChunk(json, ChunkEncoding::kZstd);
  // Truncated: the frame ends early.
  EXPECT_EQ(DecodeChunk("c.json.zst", packed.substr(0, packed.size() / 2)).status().code(),
            Code::kCorruption);
  // Trailing bytes after the frame.
  EXPECT_EQ(DecodeChunk("c.json.zst", packed + "trailing").status().code(), Code::kCorruption);
  // A flipped byte anywhere after the magic: the block structure or the frame's checksum
  // catches it.
  for (size_t at : {size_t{5}, packed.size() / 2, packed.size() - 1}) {
    std::string flipped = packed;
    flipped[at] ^= 0x5a;
    EXPECT_EQ(DecodeChunk("c.json.zst", flipped).status().code(), Code::kCorruption) << at;
  }
  // The decoded size cap holds whatever the frame header claims.
  EXPECT_EQ(DecodeChunk("c.json.zst", packed, json.size() - 1).status().code(), Code::kCorruption);
  EXPECT_TRUE(DecodeChunk("c.json.zst", packed, json.size()).ok());
  EXPECT_EQ(DecodeChunk("c.json", json, json.size() - 1).status().code(), Code::kCorruption);
}

TEST(ChunkCodecTest, StreamDecodesPieceByPieceAndStopsWhenAsked) {
  const std::string json = Json(20000);  // > 1 MB decoded: many 128 KiB output pieces
  std::string packed = *EncodeChunk(json, ChunkEncoding::kZstd);
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, packed.size()}) {
    ZstdStream z;
    std::string out;
    for (size_t at = 0; at < packed.size(); at += step)
      ASSERT_TRUE(z.Feed(std::string_view(packed).substr(at, step), [&](std::string_view d) {
                     out.append(d);
                     return true;
                   }).ok());
    EXPECT_TRUE(z.Finish().ok());
    EXPECT_EQ(out, json) << step;
  }
  ZstdStream z;
  size_t pieces = 0;
  ASSERT_TRUE(z.Feed(packed, [&](std::string_view) { return ++pieces < 2; }).ok());
  EXPECT_TRUE(z.stopped());
  EXPECT_EQ(pieces, 2u);
  ZstdStream cut;
  ASSERT_TRUE(cut.Feed(packed.substr(0, 100), [](std::string_view) { return true; }).ok());
  EXPECT_EQ(cut.Finish().code(), Code::kCorruption);
  ZstdStream junk;
  EXPECT_EQ(junk.Feed("not zstd at all", [](std::string_view) { return true; }).code(),
            Code::kCorruption);
}

}  // namespace
}  // namespace scrubd::sink
