// Beast server after the advanced_server example: one strand per connection, do_/on_ pairs,
// every handler checks its error_code first, timeouts on every read, a parser body limit.
// Body bytes are charged to a per-peer and a global budget as they arrive (never reserved
// from Content-Length); idle connections are shed first near the connection cap; accept
// backs off on EMFILE; pipelined requests are served in order. Every io-thread handler runs
// inside RunGuarded (a throw logs and closes the connection), and App::Handle inside a try on
// the worker pool.
#include "server/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "server/conn_limits.h"
#include "server/guard.h"

namespace scrubd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session;

constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr std::chrono::seconds kAcceptLogInterval{10};

// A request body that grows as bytes arrive. Beast's string_body reserves the announced
// Content-Length up front, which let headers alone claim memory.
struct GrowingBody {
  using value_type = std::string;
  static std::uint64_t size(const value_type& b) { return b.size(); }
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& b) : body_(b) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      ec = {};
      return n;  // the parser enforces body_limit before calling put
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace

struct HttpServer::Impl {
  // Declared before ioc: sessions still queued in ioc are destroyed with it, and release
  // their connection, idle entry and body bytes here.
  RequestHandler* app;
  ServerOptions opts;
  std::optional<ConnLimits> limits;  // set by Start
  size_t max_connections = 0;        // effective cap
  std::mutex idle_mu;
  std::map<uint64_t, std::weak_ptr<Session>> idle;  // by the time they went idle; idle_mu
  uint64_t idle_seq = 0;                            // guarded by idle_mu
  std::atomic<uint64_t> accepted{0}, refused{0}, shed_idle{0}, accept_errors{0},
      accept_error_logs{0}, handler_exceptions{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable drained;
  // Accept-loop state, touched only by the (single outstanding) accept and its timer.
  std::chrono::milliseconds backoff{kFirstBackoff};
  std::chrono::steady_clock::time_point last_accept_log{};
  uint64_t accept_errors_unlogged = 0;
  asio::io_context ioc;
  asio::thread_pool workers;
  std::optional<tcp::acceptor> acceptor;
  asio::steady_timer accept_timer{ioc};
  std::vector<std::thread> threads;

  Impl(RequestHandler* a, ServerOptions o)
      : app(a), opts(std::move(o)), workers(static_cast<size_t>(opts.worker_threads)) {}
  void ConfigureLimits();
  void DoAccept();
  bool OnAccept(beast::error_code ec, tcp::socket socket);  // true: back off before the next
  void AfterAccept(bool backoff);
  void LogAcceptError(const beast::error_code& ec);
  void Refuse(tcp::socket& socket, const std::string& peer, const char* reason);
  size_t ShedIdle(size_t n);
  uint64_t MarkIdle(const std::shared_ptr<Session>& s);
  void MarkBusy(uint64_t seq);
  bool UnderPressure() const { return limits->connections() * 4 >= max_connections * 3; }
  // Counts and audits a response produced here, before App::Handle (on the worker pool).
  void Rejected(unsigned status, const char* reason, const std::string& peer) {
    RequestHandler* a = app;
    asio::post(workers, [a, status, reason, peer] {
      RunGuarded("transport rejection", [&] { a->RecordTransportRejection(status, reason, peer); });
    });
  }
  void Done() {
    if (--in_flight == 0) {
      std::lock_guard<std::mutex> lock(mu);
      drained.notify_all();
    }
  }
};

namespace {

HttpResponse JsonError(unsigned status, const char* code, const char* message) {
  return ErrorResponse(status, code, message);
}

class Session : public std::enable_shared_from_this<Session> {
 private:
  // Wraps a handler body so that no exception escapes to Asio: a throw logs, counts and
  // closes this connection (releasing what it holds).
  template <class F>
  auto Fence(const char* where, F f) {
    return [self = shared_from_this(), where, f = std::move(f)](auto&&... args) mutable {
      if (!RunGuarded(where, [&] {
            if (self->server_->opts.fault_injection) self->server_->opts.fault_injection(where);
            f(self.get(), std::forward<decltype(args)>(args)...);
          }))
        self->Abort();
    };
  }

 public:
  // The connection is already counted for `peer` in server->limits; the session releases it.
  Session(tcp::socket&& socket, HttpServer::Impl* server, std::string peer)
      : stream_(std::move(socket)), server_(server), peer_(std::move(peer)) {}
  ~Session() {
    ReleaseBody();
    server_->MarkBusy(idle_seq_);
    server_->limits->CloseConnection(peer_);
  }

  void Run() {
    asio::dispatch(stream_.get_executor(), Fence("start", [](Session* s) { s->DoRead(); }));
  }

  // Closes the connection if it is still in the idle wait `seq` (called from any thread).
  void Shed(uint64_t seq) {
    asio::post(stream_.get_executor(), Fence("shed", [seq](Session* s) {
                 if (s->idle_seq_ != seq) return;
                 s->idle_seq_ = 0;
                 beast::error_code ec;
                 s->stream_.socket().close(ec);
               }));
  }

 private:
  void Abort() noexcept {
    server_->handler_exceptions++;
    RunGuarded("abort", [&] {
      ReleaseBody();
      server_->MarkBusy(idle_seq_);
      idle_seq_ = 0;
      if (pending_done_) {
        pending_done_ = false;
        server_->Done();
      }
      beast::error_code ec;
      stream_.socket().close(ec);
    });
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(server_->opts.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(server_->UnderPressure() ? server_->opts.pressure_idle_timeout
                                                   : server_->opts.idle_timeout);
    idle_seq_ = server_->MarkIdle(shared_from_this());
    http::async_read_header(
        stream_, buffer_, *parser_,
        Fence("read header", [](Session* s, beast::error_code ec, size_t) { s->OnHeader(ec); }));
  }

  void OnHeader(beast::error_code ec) {
    server_->MarkBusy(idle_seq_);
    idle_seq_ = 0;
    if (ec) return OnReadError(ec);
    origin_ = std::string(parser_->get()[http::field::origin]);
    admin_ = server_->opts.surface == Surface::kAdmin ||
             server_->app->IsAdminRoute(parser_->get().target());
    auto len = parser_->content_length();
    if (len && *len > server_->opts.max_body_bytes)
      return SendError(413, "too_large", "too_large", "request body exceeds the configured cap");
    stream_.expires_after(server_->opts.read_timeout);  // one deadline for the whole body
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    http::async_read_some(
        stream_, buffer_, *parser_,
        Fence("read body", [](Session* s, beast::error_code ec, size_t) { s->OnBodyBytes(ec); }));
  }

  // Charges what arrived since the last read; a peer over its share, or a full global
  // budget, gets 503 and the connection is closed.
  void OnBodyBytes(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    size_t have = parser_->get().body().size();
    if (have > charged_) {
      ConnLimits::Verdict v = server_->limits->Charge(peer_, have - charged_);
      if (v == ConnLimits::Verdict::kPeerFull)
        return SendError(503, "peer_body_budget", "unavailable",
                         "server busy: this client has too many request bytes in flight");
      if (v == ConnLimits::Verdict::kGlobalFull)
        return SendError(503, "body_budget", "unavailable", "server busy: body budget exhausted");
      charged_ = have;
    }
    ReadBody();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::bad_descriptor)
      return DoClose();
    if (ec == http::error::body_limit)
      return SendError(413, "too_large", "too_large", "request body exceeds the configured cap");
    if (ec == http::error::header_limit)
      return SendError(400, "header_too_large", "invalid_input", "request headers too large");
    SendError(400, "malformed", "invalid_input", "malformed HTTP request");
  }

  void OnRequest() {
    http::request<GrowingBody> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    if (req.method() == http::verb::options) return Preflight(req);
    if (server_->stopping) return SendError(503, "shutting_down", "unavailable", "shutting down");
    auto hr = std::make_shared<HttpRequest>();
    hr->method = std::string(req.method_string());
    hr->target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      if (server_->opts.keep_raw_headers)
        hr->raw_headers.emplace_back(name, std::string(f.value()));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      hr->headers[name] = std::string(f.value());
    }
    hr->body = std::move(req.body());
    hr->peer = peer_;
    BeginResponse();
    asio::post(server_->workers, [self = shared_from_this(), hr] {
      HttpResponse resp;
      try {
        resp = self->server_->app->HandleRaw(*hr, self->server_->opts.surface);
      } catch (const std::exception& e) {
        spdlog::error("handler exception: {}", e.what());
        resp = JsonError(500, "internal", "internal error");
      } catch (...) {
        resp = JsonError(500, "internal", "internal error");
      }
      asio::post(self->stream_.get_executor(),
                 self->Fence("write", [resp = std::move(resp)](Session* s) mutable {
                   s->DoWrite(std::move(resp));
                 }));
    });
  }

  void Preflight(const http::request<GrowingBody>& req) {
    HttpResponse r;
    r.status = 204;
    r.body.clear();
    if (!admin_ || CorsAllowed()) {
      std::string allow_headers(req[http::field::access_control_request_headers]);
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             allow_headers.empty() ? "Content-Type" : allow_headers);
      r.headers.emplace_back("Access-Control-Max-Age", "86400");
    }
    DoWrite(std::move(r));
  }

  // Admin routes get CORS headers only for the configured admin origin, exactly.
  bool CorsAllowed() const {
    if (!admin_) return true;
    return !server_->opts.admin_origin.empty() && origin_ == server_->opts.admin_origin;
  }

  void SendError(unsigned status, const char* reason, const char* code, const char* message) {
    server_->Rejected(status, reason, peer_);
    keep_alive_ = false;
    BeginResponse();
    DoWrite(JsonError(status, code, message));
  }

  void BeginResponse() {
    server_->in_flight++;
    pending_done_ = true;
  }

  void DoWrite(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, "scrubd");
    res->set(http::field::content_type, r.content_type);
    if (CorsAllowed()) {
      if (!origin_.empty()) {
        res->set(http::field::access_control_allow_origin, origin_);
        res->set(http::field::access_control_allow_credentials, "true");
        res->set(http::field::vary, "Origin");
      } else if (!admin_) {
        res->set(http::field::access_control_allow_origin, "*");
      }
    }
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !server_->stopping);
    res->prepare_payload();
    if (r.status == 204) res->body().clear();
    stream_.expires_after(server_->opts.read_timeout);  // a client that stops reading
    http::async_write(stream_, *res,
                      Fence("write", [res](Session* s, beast::error_code ec, size_t) {
                        s->OnWrite(ec, res->keep_alive());
                      }));
  }

  void ReleaseBody() {
    if (charged_) server_->limits->Release(peer_, charged_);
    charged_ = 0;
  }

  // Leftover bytes in buffer_ are the next pipelined request: DoRead parses them first.
  void OnWrite(beast::error_code ec, bool keep_alive) {
    ReleaseBody();
    if (pending_done_) {
      pending_done_ = false;
      server_->Done();
    }
    if (ec) return DoClose();
    if (!keep_alive) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<GrowingBody>> parser_;
  HttpServer::Impl* server_;
  const std::string peer_;
  std::string origin_;
  bool admin_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool pending_done_ = false;  // this request counts in server_->in_flight
  size_t charged_ = 0;         // body bytes this request holds in the budget
  uint64_t idle_seq_ = 0;      // nonzero while waiting for headers (in server_->idle)
};

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

void HttpServer::Impl::ConfigureLimits() {
  max_connections = opts.max_connections;
  if (max_connections == 0) {
    rlimit rl{};
    size_t nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
      nofile = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : static_cast<size_t>(rl.rlim_cur);
    max_connections = DeriveMaxConnections(nofile);
  }
  ConnLimitsOptions l;
  l.max_connections = max_connections;
  l.max_connections_per_peer = opts.max_connections_per_peer
                                   ? opts.max_connections_per_peer
                                   : std::max<size_t>(64, max_connections / 4);
  l.max_inflight_body_bytes = opts.max_inflight_body_bytes;
  l.max_peer_inflight_body_bytes =
      opts.max_peer_inflight_body_bytes
          ? opts.max_peer_inflight_body_bytes
          : std::min(opts.max_inflight_body_bytes,
                     std::max(opts.max_body_bytes, opts.max_inflight_body_bytes / 4));
  limits.emplace(l);
}

uint64_t HttpServer::Impl::MarkIdle(const std::shared_ptr<Session>& s) {
  std::lock_guard<std::mutex> lock(idle_mu);
  uint64_t seq = ++idle_seq;
  idle.emplace(seq, s);
  return seq;
}

void HttpServer::Impl::MarkBusy(uint64_t seq) {
  if (seq == 0) return;
  std::lock_guard<std::mutex> lock(idle_mu);
  idle.erase(seq);
}

// Closes up to n of the longest-idle connections (those waiting for request headers).
size_t HttpServer::Impl::ShedIdle(size_t n) {
  std::vector<std::pair<uint64_t, std::weak_ptr<Session>>> victims;
  {
    std::lock_guard<std::mutex> lock(idle_mu);
    while (victims.size() < n && !idle.empty()) {
      victims.emplace_back(idle.begin()->first, std::move(idle.begin()->second));
      idle.erase(idle.begin());
    }
  }
  size_t shed = 0;
  for (auto& [seq, weak] : victims)
    if (auto s = weak.lock()) {
      s->Shed(seq);
      ++shed;
    }
  shed_idle += shed;
  return shed;
}

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || stopping) return;
    bool backoff = true;
    if (!RunGuarded("accept", [&] {
          if (opts.fault_injection) opts.fault_injection("accept");
          backoff = OnAccept(ec, std::move(s));
        }))
      handler_exceptions++;
    AfterAccept(backoff);
  });
}

// Re-arms accept, after a timer when accept failed (EMFILE above all): retrying at once
// would spin, as the pending connection stays in the backlog.
void HttpServer::Impl::AfterAccept(bool backoff) {
  if (stopping) return;
  bool armed = RunGuarded("accept re-arm", [&] {
    if (!backoff) {
      this->backoff = kFirstBackoff;
      return DoAccept();
    }
    accept_timer.expires_after(this->backoff);
    this->backoff = std::min(kMaxBackoff, this->backoff * 2);
    accept_timer.async_wait([this](beast::error_code ec) {
      if (ec || stopping) return;
      if (!RunGuarded("accept timer", [&] { DoAccept(); })) AfterAccept(true);
    });
  });
  if (!armed) handler_exceptions++;
}

// At most one line per kAcceptLogInterval, with the number of failures it stands for.
void HttpServer::Impl::LogAcceptError(const beast::error_code& ec) {
  accept_errors++;
  accept_errors_unlogged++;
  auto now = std::chrono::steady_clock::now();
  if (accept_error_logs > 0 && now - last_accept_log < kAcceptLogInterval) return;
  spdlog::warn("accept failed: {} ({} failures since the last such line; backing off up to {} ms)",
               ec.message(), accept_errors_unlogged, kMaxBackoff.count());
  accept_errors_unlogged = 0;
  last_accept_log = now;
  accept_error_logs++;
}

// Best effort: a canned 503 on a fresh socket (its send buffer is empty), then close.
void HttpServer::Impl::Refuse(tcp::socket& socket, const std::string& peer, const char* reason) {
  static const std::string kBusy = [] {
    std::string body = R"({"error":"unavailable","message":"too many connections; retry"})";
    return "HTTP/1.1 503 Service Unavailable\r\nServer: scrubd\r\n"
           "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  (void)::send(socket.native_handle(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  beast::error_code ignored;
  socket.close(ignored);
  refused++;
  Rejected(503, reason, peer);
}

bool HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    LogAcceptError(ec);
    if (OutOfDescriptors(ec)) ShedIdle(4);  // idle sockets give their descriptors back
    return true;                            // any failure: retrying at once could spin
  }
  accepted++;
  beast::error_code pec;
  auto ep = socket.remote_endpoint(pec);
  if (pec) return false;  // the peer is already gone
  std::string peer = ep.address().to_string();
  size_t open = limits->connections();
  size_t shed = 0;
  if (open >= max_connections - max_connections / 8)
    shed = ShedIdle(open >= max_connections ? 2 : 1);
  ConnLimits::Verdict v = limits->OpenConnection(peer, open < max_connections || shed > 0);
  if (v != ConnLimits::Verdict::kOk) {
    Refuse(socket, peer,
           v == ConnLimits::Verdict::kPeerFull ? "peer_connection_cap" : "connection_cap");
    return false;
  }
  try {
    std::make_shared<Session>(std::move(socket), this, peer)->Run();
  } catch (...) {
    limits->CloseConnection(peer);
    throw;
  }
  return false;
}

HttpServer::HttpServer(RequestHandler* app, ServerOptions opts)
    : impl_(std::make_unique<Impl>(app, std::move(opts))) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start() {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(impl_->opts.listen, &host, &port))
    return Status::InvalidConfig("--listen must be HOST:PORT");
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidConfig("--listen: HOST must be a numeric IPv4 or IPv6 address");
  impl_->ConfigureLimits();
  tcp::endpoint endpoint(addr, port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Io("listen on " + impl_->opts.listen + ": " + ec.message());
  uint16_t bound = impl_->acceptor->local_endpoint().port();
  spdlog::info("connection cap {} ({} per peer); body budget {} bytes ({} per peer)",
               impl_->max_connections, impl_->limits->options().max_connections_per_peer,
               impl_->limits->options().max_inflight_body_bytes,
               impl_->limits->options().max_peer_inflight_body_bytes);
  impl_->DoAccept();
  for (int i = 0; i < std::max(1, impl_->opts.io_threads); ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return bound;
}

ServerStats HttpServer::stats() const {
  ServerStats s;
  if (impl_->limits) {
    s.connections = impl_->limits->connections();
    s.body_bytes = impl_->limits->body_bytes();
  }
  {
    std::lock_guard<std::mutex> lock(impl_->idle_mu);
    s.idle = impl_->idle.size();
  }
  s.max_connections = impl_->max_connections;
  s.accepted = impl_->accepted;
  s.refused = impl_->refused;
  s.shed_idle = impl_->shed_idle;
  s.accept_errors = impl_->accept_errors;
  s.accept_error_logs = impl_->accept_error_logs;
  s.handler_exceptions = impl_->handler_exceptions;
  return s;
}

void HttpServer::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->stopping = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    impl_->accept_timer.cancel();
  });
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->drained.wait_for(lock, impl_->opts.drain_timeout,
                            [this] { return impl_->in_flight.load() <= 0; });
  }
  if (impl_->in_flight > 0)
    spdlog::warn("drain deadline passed with {} requests in flight; cancelling",
                 impl_->in_flight.load());
  impl_->workers.join();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace scrubd::server
