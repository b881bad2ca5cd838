// The runner's temporary data dir, log capture and read-back (run_store.h).
#include "workbench/run_store.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>

#include "sink/chunk_codec.h"
#include "sink/stored_json.h"

namespace scrubd::workbench {
namespace fs = std::filesystem;
namespace json = boost::json;

Result<std::unique_ptr<ScratchDir>> ScratchDir::Create() {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) return Status::Io("no temp directory: " + ec.message());
  std::string tmpl = (base / "scrubd-workbench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)  // mode 0700
    return Status::Io("cannot create a temp directory: " + std::string(std::strerror(errno)));
  return std::unique_ptr<ScratchDir>(new ScratchDir(tmpl));
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

LogCapture::LogCapture() : text_(std::make_shared<std::ostringstream>()) {
  previous_ = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*text_);
  capture_ = std::make_shared<spdlog::logger>("workbench", sink);
  capture_->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture_);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::string LogCapture::Text() const {
  capture_->flush();
  return text_->str();
}

namespace {

Result<json::value> ParseExport(Result<std::string> text) {
  if (!text.ok()) return text.status();
  json::error_code ec;
  json::value v = sink::ParseStoredJson(*text, ec);
  if (ec || !v.is_array()) return Status::Corruption("export is not a JSON array");
  return v;
}

// The window ids of a stored session: the directory names of the store's layout
// (recordings/<token>/<session>/<window>/, STORE_FORMAT.md).
std::vector<std::string> WindowsOf(const sink::LocalStore& store, const std::string& token,
                                   const std::string& session) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path dir = store.root() / "recordings" / token / session;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory()) out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<StoredSession> SessionOf(sink::LocalStore& store, const sink::LifecycleRow& row) {
  StoredSession s{row.token, row.session_id, {}, {}};
  Result<json::value> all = ParseExport(store.ExportSession(row.session_id, row.token));
  if (!all.ok()) return all.status();
  s.events = std::move(all->as_array());
  for (const std::string& w : WindowsOf(store, row.token, row.session_id)) {
    Result<json::value> events = ParseExport(store.ExportSession(row.session_id, row.token, w));
    if (!events.ok() && events.status().code() == Code::kNotFound) continue;
    if (!events.ok()) return events.status();
    s.windows.push_back({w, std::move(events->as_array())});
  }
  return s;
}

Status AddEvents(const std::vector<sink::StoredEvent>& rows, RunResult* out) {
  for (const sink::StoredEvent& e : rows) {
    json::error_code ec;
    json::value v = sink::ParseStoredJson(e.body, ec);
    if (ec || !v.is_object()) return Status::Corruption("stored event is not a JSON object");
    out->events.push_back(std::move(v.as_object()));
  }
  return Status::Ok();
}

}  // namespace

Status ReadStored(sink::LocalStore& store, RunResult* out) {
  Result<std::vector<sink::LifecycleRow>> rows =
      store.SessionsLastSeenBefore(std::numeric_limits<int64_t>::max());
  if (!rows.ok()) return rows.status();
  std::sort(rows->begin(), rows->end(), [](const auto& a, const auto& b) {
    return std::tie(a.token, a.session_id) < std::tie(b.token, b.session_id);
  });
  std::vector<sink::SessionKey> keys;
  for (const sink::LifecycleRow& row : *rows) {
    keys.push_back({row.token, row.session_id});
    Result<StoredSession> s = SessionOf(store, row);
    if (!s.ok() && s.status().code() == Code::kNotFound) continue;  // events only
    if (!s.ok()) return s.status();
    out->sessions.push_back(std::move(s).value());
  }
  Result<std::vector<sink::StoredEvent>> events = store.EventsOf(keys, {});
  if (!events.ok()) return events.status();
  if (Status s = AddEvents(*events, out); !s.ok()) return s;
  Result<std::vector<sink::LooseEvent>> loose = store.LooseEvents();
  if (!loose.ok()) return loose.status();
  std::vector<sink::StoredEvent> loose_rows;
  for (const sink::LooseEvent& e : *loose) loose_rows.push_back(e.event);
  return AddEvents(loose_rows, out);
}

namespace {

Status AppendFile(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::Io("cannot read a file of the run's data dir");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  out->append(bytes).append("\n");
  if (sink::LooksZstd(bytes)) {
    Result<std::string> text = sink::DecodeChunk(p.filename().string(), bytes);
    if (!text.ok()) return Status::Corruption("a chunk of the run does not decode");
    out->append(*text).append("\n");
  }
  return Status::Ok();
}

}  // namespace

Status CollectBytes(const fs::path& dir, sink::LocalStore& store, RunResult* out) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file())
      if (Status s = AppendFile(it->path(), &out->bytes); !s.ok()) return s;
  if (ec) return Status::Io("cannot list the run's data dir: " + ec.message());
  // Index rows as the store gives them back (SQLite may split a long value across pages).
  Result<std::vector<sink::LifecycleRow>> rows =
      store.SessionsLastSeenBefore(std::numeric_limits<int64_t>::max(), /*with_facts=*/true);
  if (!rows.ok()) return rows.status();
  for (const sink::LifecycleRow& r : *rows) {
    out->bytes.append(r.token).append("\n").append(r.session_id).append("\n");
    out->bytes.append(r.distinct_id).append("\n");
    for (const std::string& u : r.urls) out->bytes.append(u).append("\n");
    for (const std::string& e : r.events) out->bytes.append(e).append("\n");
  }
  Result<std::vector<sink::SessionInfo>> infos = store.ListSessions(1 << 30);
  if (!infos.ok()) return infos.status();
  for (const sink::SessionInfo& i : *infos)
    out->bytes.append(i.distinct_id).append("\n").append(i.first_url).append("\n");
  return Status::Ok();
}

namespace {

uint64_t UintOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

void AddCounts(const json::object& o, std::string_view key, std::map<std::string, uint64_t>* m) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_object()) return;
  for (const auto& [k, n] : v->as_object()) (*m)[std::string(k)] += UintOf(v->as_object(), k);
}

void CountBatch(const json::object& o, RunResult* out) {
  out->events_stored += UintOf(o, "stored");
  if (o.contains("released_from")) return;  // counted when it was held
  out->events_in += UintOf(o, "events_in");
  AddCounts(o, "redactions_by_rule", &out->counts.by_rule);
  AddCounts(o, "redactions_by_method", &out->counts.by_method);
  AddCounts(o, "dropped", &out->dropped);
  out->counts.errors += UintOf(o, "scan_errors");
}

}  // namespace

void CountFromAudit(const std::vector<audit::LogEntry>& entries, RunResult* out) {
  std::map<uint64_t, uint64_t> stored_by_seq;
  for (const audit::LogEntry& e : entries) {
    json::error_code ec;
    json::value v = json::parse(e.payload, ec);
    if (ec || !v.is_object()) continue;
    const json::object& o = v.as_object();
    if (e.type == "batch") {
      CountBatch(o, out);
      stored_by_seq[e.seq] = UintOf(o, "stored");
    } else if (e.type == "batch_not_stored") {
      out->events_stored -= std::min(out->events_stored, stored_by_seq[UintOf(o, "batch_seq")]);
    } else if (e.type == "consent_timeout") {
      out->dropped["consent_timeout"] += UintOf(o, "events");
    } else if (e.type == "consent_discarded") {
      const json::value* r = o.if_contains("reason");
      std::string reason = r && r->is_string() ? std::string(r->as_string()) : "consent";
      if (reason == "shutdown") reason = "consent_pending";  // held when the input ended
      out->dropped[reason] += UintOf(o, "events");
    }
  }
}

void AppendDecodedForms(RunResult* out) {
  for (const StoredSession& s : out->sessions) {  // its windows hold every event of `events`
    for (const StoredWindow& w : s.windows)
      out->bytes.append(json::serialize(w.events)).append("\n");
  }
  for (const json::object& e : out->events) out->bytes.append(json::serialize(e)).append("\n");
}

}  // namespace scrubd::workbench
