#include "format.h"

#include <gtest/gtest.h>

#include "crypto.h"

namespace scrubd::audit::format {
namespace {

TEST(Base64Test, RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto enc = Base64Encode(AsBytes(s));
    auto dec = Base64DecodeStrict(enc);
    ASSERT_TRUE(dec.has_value()) << s;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(Base64Encode(AsBytes(std::string_view("foobar"))), "Zm9vYmFy");
  EXPECT_FALSE(Base64DecodeStrict("Zm9=").has_value());  // non-zero padding bits
  EXPECT_FALSE(Base64DecodeStrict("Zm8").has_value());   // missing padding
  EXPECT_FALSE(Base64DecodeStrict("Zm8=\n").has_value());
  EXPECT_FALSE(Base64DecodeStrict("Z=m8").has_value());
}

TEST(FormatTest, BodyRoundTrip) {
  Hash prev{};
  prev[3] = 7;
  std::string body = EncodeBody(42, 123456, prev, "batch", R"({"n":1})");
  Entry e;
  std::string why;
  ASSERT_TRUE(DecodeBody(body, &e, &why)) << why;
  EXPECT_EQ(e.seq, 42u);
  EXPECT_EQ(e.time_us, 123456u);
  EXPECT_EQ(e.prev_hash, prev);
  EXPECT_EQ(e.type, "batch");
  EXPECT_EQ(e.payload, R"({"n":1})");
  EXPECT_FALSE(DecodeBody(body.substr(0, 20), &e, &why));
}

TEST(FormatTest, SegmentNames) {
  EXPECT_EQ(SegmentName(5), "seg-00000000000000000005.log");
  EXPECT_EQ(ParseSegmentName("seg-00000000000000000005.log"), 5u);
  EXPECT_FALSE(ParseSegmentName("seg-5.log").has_value());
  EXPECT_FALSE(ParseSegmentName("seg-0000000000000000000x.log").has_value());
}

TEST(FormatTest, ReaderDetectsTornAndCorrupt) {
  std::string file = FileHeader(kSegmentMagic, 0);
  AppendRecord(file, EncodeBody(0, 1, Hash{}, "a", "{}"));
  const size_t one = file.size();
  AppendRecord(file, EncodeBody(1, 1, Hash{}, "a", "{}"));
  RecordView r;
  std::string why;
  {
    SegmentReader rd(file);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kRecord);
    EXPECT_EQ(r.offset, kFileHeaderSize);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kRecord);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kEnd);
  }
  {
    SegmentReader rd(std::string_view(file).substr(0, file.size() - 5));
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kRecord);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kTorn);
    EXPECT_EQ(rd.pos(), one);
  }
  {
    std::string zeros = file.substr(0, one) + std::string(100, '\0');
    SegmentReader rd(zeros);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kRecord);
    EXPECT_EQ(rd.Next(&r, &why), ReadStatus::kTorn);
  }
}

TEST(NoteTest, SignedNoteRoundTripAndKeyId) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  Hash root{};
  root[0] = 0xab;
  std::string body = CheckpointBody("scrubd/audit", 1234, root);
  EXPECT_EQ(body, "scrubd/audit\n1234\n" + Base64Encode(root) + "\n");
  std::string id = NoteKeyId("scrubd/audit", key.value()->RawPublic());
  ASSERT_EQ(id.size(), 4u);
  auto sig = key.value()->Sign(body);
  ASSERT_TRUE(sig.ok());
  std::string note = body + "\n" + SignatureLine("scrubd/audit", id, sig.value());
  EXPECT_NE(note.find("\xe2\x80\x94 scrubd/audit "), std::string::npos);
  auto parsed = ParseNote(note);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed.value().origin, "scrubd/audit");
  EXPECT_EQ(parsed.value().size, 1234u);
  EXPECT_EQ(parsed.value().root, root);
  ASSERT_EQ(parsed.value().signatures.size(), 1u);
  EXPECT_EQ(parsed.value().signatures[0].key_id, id);
  EXPECT_TRUE(key.value()->Verify(parsed.value().body, parsed.value().signatures[0].signature));
  EXPECT_FALSE(ParseNote(body).ok());
  EXPECT_FALSE(ParseNote("scrubd/audit\n01\n" + Base64Encode(root) + "\n\n" +
                         SignatureLine("scrubd/audit", id, sig.value()))
                   .ok());
}

TEST(KeyTest, PemRoundTrip) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  auto priv = key.value()->PrivatePem();
  ASSERT_TRUE(priv.ok());
  auto again = Ed25519Key::FromPrivatePem(priv.value());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value()->RawPublic(), key.value()->RawPublic());
  auto pub = Ed25519Key::FromPublicPem(key.value()->PublicPem());
  ASSERT_TRUE(pub.ok());
  auto sig = key.value()->Sign("hello");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub.value()->Verify("hello", sig.value()));
  EXPECT_FALSE(pub.value()->Verify("hellp", sig.value()));
  EXPECT_FALSE(pub.value()->Sign("x").ok());
  EXPECT_FALSE(Ed25519Key::FromPublicPem("junk").ok());
}

}  // namespace
}  // namespace scrubd::audit::format
