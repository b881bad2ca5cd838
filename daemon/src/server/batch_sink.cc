// The three sinks. Nothing here logs: the pipeline logs the failure with ids only.
#include "server/batch_sink.h"

#include "sink/local_store.h"
#include "sink/upstream.h"

namespace scrubd::server {

uint64_t CleanBatch::Count() const {
  uint64_t count = events.size();
  for (const ingest::Event* ev : recordings) count += ingest::SnapshotItems(ev->json)->size();
  return count;
}

Result<SinkResult> LocalSink::Write(const CleanBatch& batch) {
  // Index columns and paths come from the scrubbed JSON only (sink::ChunkOf, StoredEventOf),
  // all derived before anything is written.
  std::vector<sink::RecordingChunk> chunks;
  std::vector<sink::StoredEvent> rows;
  const bool counted = batch.recording_counts.size() == batch.recordings.size();
  for (size_t i = 0; i < batch.recordings.size(); ++i) {
    Result<sink::RecordingChunk> chunk = sink::ChunkOf(batch.recordings[i]->json);
    if (!chunk.ok()) return chunk.status();
    if (counted) chunk->redactions_by_rule = &batch.recording_counts[i].by_rule;
    chunks.push_back(std::move(chunk).value());
  }
  for (const ingest::Event* ev : batch.events) {
    Result<sink::StoredEvent> row = sink::StoredEventOf(ev->json);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(row).value());
  }
  for (const sink::RecordingChunk& chunk : chunks)
    if (Status s = store_->WriteRecording(chunk); !s.ok()) return s;
  if (!rows.empty())
    if (Status s = store_->WriteEvents(rows); !s.ok()) return s;
  return SinkResult{batch.Count(), {}};
}

Result<SinkResult> UpstreamSink::Write(const CleanBatch& batch) {
  sink::OutgoingBatch out;
  out.path = batch.path;
  out.recording = batch.recording;
  out.batch_id = batch.batch_id;
  out.client_ip = batch.client_ip;
  for (const ingest::Event* ev : batch.recordings)
    out.events.push_back({sink::TokenOf(ev->json), &ev->json});
  for (const ingest::Event* ev : batch.events)
    out.events.push_back({sink::TokenOf(ev->json), &ev->json});
  SinkResult result;
  if (Status s = upstream_->Enqueue(out, &result.spool_seqs); !s.ok()) return s;
  result.stored = batch.Count();  // durable in the spool
  return result;
}

Result<SinkResult> BothSink::Write(const CleanBatch& batch) {
  Result<SinkResult> a = first_->Write(batch);
  if (!a.ok()) return a;
  Result<SinkResult> b = second_->Write(batch);
  if (!b.ok()) return b;
  SinkResult out = std::move(a).value();
  out.spool_seqs.insert(out.spool_seqs.end(), b->spool_seqs.begin(), b->spool_seqs.end());
  return out;
}

std::unique_ptr<BatchSink> MakeBatchSink(sink::LocalStore* store, sink::Upstream* upstream,
                                         bool upstream_and_store) {
  if (!upstream) return std::make_unique<LocalSink>(store);
  if (!upstream_and_store) return std::make_unique<UpstreamSink>(upstream);
  return std::make_unique<BothSink>(std::make_unique<UpstreamSink>(upstream),
                                    std::make_unique<LocalSink>(store));
}

}  // namespace scrubd::server
