// Upstream encoding, the Beast HTTP(S) client, the forwarder loop and the proxy. Logs carry
// sequence numbers, tokens, batch ids, counts and status codes only, never payload text.
// No exception leaves this file: Beast/Asio/OpenSSL errors become Status values.
#include "sink/upstream.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <random>

#include "ingest/decode.h"
#include "ingest/gzip.h"

namespace scrubd::sink {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// URL

Result<UpstreamUrl> ParseUpstreamUrl(const std::string& url) {
  UpstreamUrl u;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    u.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    u.tls = false;
    rest.remove_prefix(7);
  } else {
    return Status::InvalidConfig("upstream: '" + url + "' must start with https:// or http://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.empty()) return Status::InvalidConfig("upstream: '" + url + "' has no host");
  if (authority.find('@') != std::string_view::npos)
    return Status::InvalidConfig("upstream: credentials in the URL are not supported");
  if (path.find_first_of("?#") != std::string_view::npos)
    return Status::InvalidConfig("upstream: the URL must not have a query or fragment");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return Status::InvalidConfig("upstream: the URL contains whitespace or control characters");
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535)
      return Status::InvalidConfig("upstream: bad port in '" + url + "'");
    u.port = std::string(port);
    authority = authority.substr(0, colon);
  } else {
    u.port = u.tls ? "443" : "80";
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']')
    authority = authority.substr(1, authority.size() - 2);
  if (authority.empty()) return Status::InvalidConfig("upstream: '" + url + "' has no host");
  u.host = std::string(authority);
  while (path.size() > 0 && path.back() == '/') path.remove_suffix(1);
  u.path_prefix = std::string(path);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Client

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Runs one async operation on the call's private io_context to completion.
template <class Start>
beast::error_code RunOp(asio::io_context& ioc, Start start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

class BeastClient : public UpstreamClient {
 public:
  BeastClient(UpstreamUrl url, ClientOptions opts, std::unique_ptr<ssl::context> ctx)
      : url_(std::move(url)), opts_(opts), ctx_(std::move(ctx)) {}

  Result<UpstreamResponse> Exchange(const UpstreamRequest& req) override {
    try {
      return DoExchange(req);
    } catch (const std::exception& e) {
      return Status::Unavailable(std::string("upstream exchange failed: ") + e.what());
    } catch (...) {
      return Status::Unavailable("upstream exchange failed");
    }
  }

 private:
  Result<UpstreamResponse> DoExchange(const UpstreamRequest& req) {
    http::verb verb = http::string_to_verb(req.method);
    if (verb == http::verb::unknown) return Status::InvalidInput("unsupported method");
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    beast::error_code ec;
    // Resolution has no per-op timeout in Asio: bound the whole run instead.
    resolver.async_resolve(url_.host, url_.port,
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                           });
    ec = asio::error::would_block;
    ioc.run_for(opts_.connect_timeout);
    if (!ioc.stopped()) {
      resolver.cancel();
      ioc.restart();
      ioc.run();
      return Status::Unavailable("upstream: resolving the host timed out");
    }
    if (ec) return Status::Unavailable("upstream: resolve: " + ec.message());

    http::request<http::string_body> r{verb, url_.path_prefix + req.target, 11};
    bool default_port = url_.port == (url_.tls ? "443" : "80");
    std::string host_header =
        url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    if (!default_port) host_header += ":" + url_.port;
    r.set(http::field::host, host_header);
    r.set(http::field::user_agent, std::string("scrubd/") + SCRUBD_VERSION);
    for (const auto& [k, v] : req.headers) r.set(k, v);
    r.body() = req.body;
    if (!req.body.empty() || verb == http::verb::post) r.prepare_payload();
    r.keep_alive(false);

    if (url_.tls) {
      beast::ssl_stream<beast::tcp_stream> stream(ioc, *ctx_);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str()))
        return Status::Unavailable("upstream: cannot set TLS SNI");
      if (!opts_.insecure) {
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(url_.host));
      } else {
        stream.set_verify_mode(ssl::verify_none);
      }
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(opts_.connect_timeout);
      ec = RunOp(ioc, [&](auto h) { lowest.async_connect(endpoints, std::move(h)); });
      if (ec) return Status::Unavailable("upstream: connect: " + ec.message());
      lowest.expires_after(opts_.connect_timeout);
      ec = RunOp(ioc,
                 [&](auto h) { stream.async_handshake(ssl::stream_base::client, std::move(h)); });
      if (ec) return Status::Unavailable("upstream: TLS handshake: " + ec.message());
      return Talk(ioc, stream, lowest, r);
    }
    beast::tcp_stream stream(ioc);
    stream.expires_after(opts_.connect_timeout);
    ec = RunOp(ioc, [&](auto h) { stream.async_connect(endpoints, std::move(h)); });
    if (ec) return Status::Unavailable("upstream: connect: " + ec.message());
    Result<UpstreamResponse> out = Talk(ioc, stream, stream, r);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
  }

  template <class Stream>
  Result<UpstreamResponse> Talk(asio::io_context& ioc, Stream& stream, beast::tcp_stream& lowest,
                                http::request<http::string_body>& r) {
    lowest.expires_after(opts_.write_timeout);
    beast::error_code ec = RunOp(ioc, [&](auto h) { http::async_write(stream, r, std::move(h)); });
    if (ec) return Status::Unavailable("upstream: write: " + ec.message());
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.max_response_bytes);
    lowest.expires_after(opts_.read_timeout);
    ec = RunOp(ioc, [&](auto h) { http::async_read(stream, buf, parser, std::move(h)); });
    if (ec) return Status::Unavailable("upstream: read: " + ec.message());
    http::response<http::string_body> res = parser.release();
    UpstreamResponse out;
    out.status = res.result_int();
    for (const auto& f : res)
      out.headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    return out;
  }

  UpstreamUrl url_;
  ClientOptions opts_;
  std::unique_ptr<ssl::context> ctx_;  // shared by all exchanges (SSL_CTX is thread-safe)
};

}  // namespace

Result<std::unique_ptr<UpstreamClient>> MakeBeastClient(UpstreamUrl url, ClientOptions opts) {
  std::unique_ptr<ssl::context> ctx;
  if (url.tls) {
    try {
      ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ctx->set_default_verify_paths();  // the system CA store
      ctx->set_verify_mode(opts.insecure ? ssl::verify_none : ssl::verify_peer);
    } catch (const std::exception& e) {
      return Status::InvalidConfig(std::string("upstream: TLS setup failed: ") + e.what());
    }
  }
  return std::unique_ptr<UpstreamClient>(
      std::make_unique<BeastClient>(std::move(url), opts, std::move(ctx)));
}

// ---------------------------------------------------------------------------------------------
// Backoff

milliseconds BackoffDelay(const BackoffPolicy& p, int attempt, double unit_random) {
  if (attempt < 1) attempt = 1;
  double d = static_cast<double>(p.base.count());
  for (int i = 1; i < attempt && d < static_cast<double>(p.max.count()); ++i) d *= 2;
  d = std::min(d, static_cast<double>(p.max.count()));
  unit_random = std::clamp(unit_random, 0.0, 1.0);
  return milliseconds(static_cast<int64_t>(d / 2 + unit_random * d / 2));
}

// ---------------------------------------------------------------------------------------------
// Encoding

Result<std::vector<SpoolRecord>> EncodeBatch(const OutgoingBatch& batch,
                                             const EncodeOptions& opts) {
  std::vector<SpoolRecord> out;
  if (batch.events.empty()) return out;
  std::string path = batch.path.substr(0, batch.path.find('?'));
  if (path.empty() || path[0] != '/') path = batch.recording ? "/s/" : "/batch/";
  const std::string target = path + "?compression=gzip-js";
  if (batch.recording) {
    json::array arr;
    arr.reserve(batch.events.size());
    for (const auto& e : batch.events) {
      json::object ev = *e.json;
      if (json::array* items = ingest::SnapshotItems(ev); items && opts.reencode_cv)
        for (json::value& item : *items)
          // All or nothing per event: on failure it is sent uncompressed, which the
          // upstream accepts like any event without `cv`.
          if (item.is_object() && !ingest::CompressNested(item.get_object()).ok()) continue;
      arr.push_back(std::move(ev));
    }
    Result<std::string> gz = ingest::Gzip(json::serialize(arr));
    if (!gz.ok()) return gz.status();
    SpoolRecord r;
    r.target = target;
    r.content_type = "text/plain";
    r.token = batch.events.front().token;
    r.batch_id = batch.batch_id;
    r.client_ip = batch.client_ip;
    r.events = batch.events.size();
    r.body = std::move(gz).value();
    out.push_back(std::move(r));
    return out;
  }
  std::map<std::string, json::array> by_token;  // order within a token is kept
  for (const auto& e : batch.events) by_token[e.token].push_back(*e.json);
  for (auto& [token, events] : by_token) {
    size_t n = events.size();
    json::object body{{"api_key", token}, {"batch", std::move(events)}};
    Result<std::string> gz = ingest::Gzip(json::serialize(body));
    if (!gz.ok()) return gz.status();
    SpoolRecord r;
    r.target = target;
    r.content_type = "text/plain";
    r.token = token;
    r.batch_id = batch.batch_id;
    r.client_ip = batch.client_ip;
    r.events = n;
    r.body = std::move(gz).value();
    out.push_back(std::move(r));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forwarder

Forwarder::Forwarder(Spool* spool, UpstreamClient* client, BackoffPolicy backoff,
                     std::function<double()> random)
    : spool_(spool), client_(client), backoff_(backoff), random_(std::move(random)) {
  if (!random_) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
}

Forwarder::~Forwarder() { Stop(); }

Forwarder::Step Forwarder::RunOnce() {
  Step step;
  std::optional<uint64_t> seq = spool_->Oldest();
  if (!seq) return step;
  step.seq = *seq;
  auto retry = [&](unsigned status, milliseconds at_least) {
    counters_.retries++;
    ++attempt_;
    step.outcome = Outcome::kRetry;
    step.http_status = status;
    step.delay =
        std::max(BackoffDelay(backoff_, attempt_, random_()), std::min(at_least, backoff_.max));
    return step;
  };
  Result<SpoolRecord> rec = spool_->Read(*seq);
  if (!rec.ok()) {
    if (rec.status().code() == Code::kCorruption) {
      spdlog::error("upstream: spool file seq={} is corrupt ({}); moved to dead/", *seq,
                    rec.status().message());
      if (Status s = spool_->MoveToDead(*seq, "corrupt: " + rec.status().message()); !s.ok()) {
        spdlog::error("upstream: dead-lettering seq={} failed: {}", *seq, s.ToString());
        return retry(0, milliseconds(0));
      }
      counters_.dead++;
      attempt_ = 0;
      step.outcome = Outcome::kDead;
      return step;
    }
    spdlog::error("upstream: reading spool file seq={} failed: {}", *seq, rec.status().ToString());
    return retry(0, milliseconds(0));
  }
  UpstreamRequest req;
  req.method = "POST";
  req.target = rec->target;
  req.headers = {{"Content-Type", rec->content_type}};
  if (!rec->client_ip.empty()) req.headers.emplace_back("X-Forwarded-For", rec->client_ip);
  req.body = std::move(rec->body);
  Result<UpstreamResponse> resp = client_->Exchange(req);
  if (!resp.ok()) {
    counters_.network_errors++;
    step = retry(0, milliseconds(0));
    spdlog::warn("upstream: batch seq={} token={} batch={} not delivered: {}; retry {} in {} ms",
                 *seq, rec->token, rec->batch_id, resp.status().message(), attempt_,
                 step.delay.count());
    return step;
  }
  unsigned status = resp->status;
  step.http_status = status;
  if (status >= 200 && status < 300) {
    if (Status s = spool_->Remove(*seq); !s.ok())
      spdlog::error("upstream: delivered seq={} but removing it failed: {}", *seq, s.ToString());
    counters_.delivered++;
    attempt_ = 0;
    step.outcome = Outcome::kDelivered;
    spdlog::debug("upstream: delivered seq={} token={} batch={} events={}", *seq, rec->token,
                  rec->batch_id, rec->events);
    return step;
  }
  if (status >= 400 && status < 500 && status != 408 && status != 429) {
    if (Status s = spool_->MoveToDead(*seq, "http " + std::to_string(status)); !s.ok()) {
      spdlog::error("upstream: dead-lettering seq={} failed: {}", *seq, s.ToString());
      return retry(status, milliseconds(0));
    }
    counters_.dead++;
    attempt_ = 0;
    step.outcome = Outcome::kDead;
    spdlog::error(
        "upstream: rejected batch seq={} token={} batch={} events={} with HTTP {}; "
        "moved to spool/dead/",
        *seq, rec->token, rec->batch_id, rec->events, status);
    return step;
  }
  milliseconds retry_after{0};
  for (const auto& [k, v] : resp->headers)
    if (k == "retry-after" && !v.empty() && v.size() < 7 &&
        v.find_first_not_of("0123456789") == std::string::npos)
      retry_after = milliseconds(std::stoll(v) * 1000);
  step = retry(status, retry_after);
  spdlog::warn("upstream: batch seq={} token={} batch={} got HTTP {}; retry {} in {} ms", *seq,
               rec->token, rec->batch_id, status, attempt_, step.delay.count());
  return step;
}

void Forwarder::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Forwarder::Loop() {
  while (!stop_) {
    Step s;
    try {
      s = RunOnce();
    } catch (const std::exception& e) {  // a bug; keep the data, slow down
      spdlog::critical("upstream forwarder: unexpected exception: {}", e.what());
      s.outcome = Outcome::kRetry;
      s.delay = backoff_.max;
    }
    if (s.outcome == Outcome::kIdle) {
      spool_->WaitForPending(milliseconds(1000));
    } else if (s.outcome == Outcome::kRetry) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, s.delay, [this] { return stop_.load(); });
    }
  }
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  spool_->Wake();
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Upstream facade

Result<std::unique_ptr<Upstream>> Upstream::Open(UpstreamOptions opts) {
  Result<UpstreamUrl> url = ParseUpstreamUrl(opts.url);
  if (!url.ok()) return url.status();
  Result<std::unique_ptr<UpstreamClient>> client = MakeBeastClient(*url, opts.client);
  if (!client.ok()) return client.status();
  UpstreamClient* raw = client->get();
  Result<std::unique_ptr<Upstream>> up = Open(std::move(opts), raw);
  if (!up.ok()) return up.status();
  (*up)->owned_client_ = std::move(client).value();
  return up;
}

Result<std::unique_ptr<Upstream>> Upstream::Open(UpstreamOptions opts, UpstreamClient* client) {
  std::unique_ptr<Upstream> up(new Upstream());
  Spool::Options so;
  so.dir = opts.spool_dir;
  so.max_bytes = opts.spool_max_bytes;
  so.env = opts.env;
  Result<std::unique_ptr<Spool>> spool = Spool::Open(so);
  if (!spool.ok()) return spool.status();
  up->opts_ = std::move(opts);
  up->client_ = client;
  up->spool_ = std::move(spool).value();
  up->forwarder_ = std::make_unique<Forwarder>(up->spool_.get(), up->client_, up->opts_.backoff);
  return up;
}

Upstream::~Upstream() {
  if (forwarder_) forwarder_->Stop();
}

Status Upstream::Enqueue(const OutgoingBatch& batch) { return Enqueue(batch, nullptr); }

Status Upstream::Enqueue(const OutgoingBatch& batch, std::vector<uint64_t>* seqs) {
  Result<std::vector<SpoolRecord>> records = EncodeBatch(batch, opts_.encode);
  if (!records.ok()) return records.status();
  for (SpoolRecord& r : *records) {
    Result<uint64_t> seq = spool_->Append(std::move(r));
    if (!seq.ok()) return seq.status();
    if (seqs) seqs->push_back(*seq);
  }
  return Status::Ok();
}

Result<UpstreamResponse> Upstream::Proxy(const UpstreamRequest& in) {
  static const char* kRequestHeaders[] = {"content-type",    "content-encoding", "accept",
                                          "accept-encoding", "accept-language",  "user-agent",
                                          "if-none-match",   "if-modified-since"};
  static const char* kResponseHeaders[] = {"content-type", "content-encoding", "cache-control",
                                           "etag",         "last-modified",    "expires"};
  UpstreamRequest req;
  req.method = in.method;
  req.target = in.target;
  req.body = in.body;
  for (const auto& [k, v] : in.headers) {
    std::string name = Lower(k);
    for (const char* allowed : kRequestHeaders)
      if (name == allowed) req.headers.emplace_back(name, v);
  }
  // The only client address sent: the one the policy scrubbed (never a client-supplied one).
  if (!in.client_ip.empty()) req.headers.emplace_back("x-forwarded-for", in.client_ip);
  Result<UpstreamResponse> resp = client_->Exchange(req);
  if (!resp.ok()) {
    proxy_errors_++;
    spdlog::warn("upstream proxy: {} failed: {}", in.method, resp.status().message());
    return Status::Unavailable("upstream unreachable");
  }
  proxied_++;
  UpstreamResponse out;
  out.status = resp->status;
  out.body = std::move(resp->body);
  for (auto& [k, v] : resp->headers)  // never Set-Cookie, never upstream CORS headers
    for (const char* allowed : kResponseHeaders)
      if (k == allowed) out.headers.emplace_back(k, std::move(v));
  return out;
}

std::string Upstream::MetricsText() const {
  SpoolStats s = spool_->stats();
  const Forwarder::Counters& c = forwarder_->counters();
  std::string out;
  auto line = [&](const char* n, uint64_t v) {
    out += std::string("scrubd_upstream_") + n + " " + std::to_string(v) + "\n";
  };
  line("spool_pending_files", s.pending_files);
  line("spool_pending_bytes", s.pending_bytes);
  line("spool_full_total", s.full_rejections);
  line("dead_files", s.dead_files);
  line("delivered_total", c.delivered);
  line("retries_total", c.retries);
  line("network_errors_total", c.network_errors);
  line("dead_total", c.dead);
  line("proxied_total", proxied_);
  line("proxy_errors_total", proxy_errors_);
  return out;
}

}  // namespace scrubd::sink
