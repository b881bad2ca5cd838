// Beast server after the advanced_server example: one strand per connection, do_/on_ pairs,
// every handler checks its error_code first, timeouts on every read, a parser body limit.
// Handlers never let an exception escape: App::Handle runs inside a try on the worker pool.
#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <thread>
#include <vector>

#include "server/app.h"

namespace scrubd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  App* app;
  ServerOptions opts;
  asio::io_context ioc;
  asio::thread_pool workers;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int> in_flight{0};
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<size_t> body_bytes{0};  // reserved by requests being read or handled
  std::mutex mu;
  std::condition_variable drained;

  Impl(App* a, ServerOptions o)
      : app(a), opts(std::move(o)), workers(static_cast<size_t>(opts.worker_threads)) {}
  bool Reserve(size_t n) {
    size_t cur = body_bytes.load();
    do {
      if (cur + n > opts.max_inflight_body_bytes && cur > 0) return false;
    } while (!body_bytes.compare_exchange_weak(cur, cur + n));
    return true;
  }
  void Release(size_t n) { body_bytes -= n; }
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
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
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    server_->connections++;
  }
  ~Session() {
    ReleaseBody();
    server_->connections--;
  }

  void Run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(server_->opts.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(server_->opts.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // Bodies are held in memory, so before reading one its size is reserved from a global
  // budget: many large uploads at once get 503 (the client retries) instead of exhausting
  // memory. Chunked bodies reserve the full per-request cap.
  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnRead(ec, 0);
    origin_ = std::string(parser_->get()[http::field::origin]);
    auto len = parser_->content_length();
    size_t want = len ? static_cast<size_t>(*len) : server_->opts.max_body_bytes;
    if (len && *len > server_->opts.max_body_bytes)
      return SendError(JsonError(413, "too_large", "request body exceeds the configured cap"));
    if (!server_->Reserve(want))
      return SendError(JsonError(503, "unavailable", "server busy: body budget exhausted"));
    reserved_ = want;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      return DoClose();
    if (ec == http::error::body_limit)
      return SendError(JsonError(413, "too_large", "request body exceeds the configured cap"));
    if (ec) return SendError(JsonError(400, "invalid_input", "malformed HTTP request"));
    http::request<http::string_body> req = parser_->release();
    origin_ = std::string(req[http::field::origin]);
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    if (req.method() == http::verb::options) {  // CORS preflight
      HttpResponse r;
      r.status = 204;
      r.body.clear();
      std::string allow_headers(req[http::field::access_control_request_headers]);
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             allow_headers.empty() ? "Content-Type" : allow_headers);
      r.headers.emplace_back("Access-Control-Max-Age", "86400");
      return DoWrite(std::move(r));
    }
    if (server_->stopping) return SendError(JsonError(503, "unavailable", "shutting down"));
    auto hr = std::make_shared<HttpRequest>();
    hr->method = std::string(req.method_string());
    hr->target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      hr->headers[name] = std::string(f.value());
    }
    hr->body = std::move(req.body());
    beast::error_code pec;
    auto ep = stream_.socket().remote_endpoint(pec);
    if (!pec) hr->peer = ep.address().to_string();
    server_->in_flight++;
    auto self = shared_from_this();
    asio::post(server_->workers, [self, hr] {
      HttpResponse resp;
      try {
        resp = self->server_->app->Handle(*hr);
      } catch (const std::exception& e) {
        spdlog::error("handler exception: {}", e.what());
        resp = JsonError(500, "internal", "internal error");
      } catch (...) {
        resp = JsonError(500, "internal", "internal error");
      }
      asio::post(self->stream_.get_executor(),
                 [self, resp = std::move(resp)]() mutable { self->DoWrite(std::move(resp)); });
    });
  }

  void SendError(HttpResponse r) {
    keep_alive_ = false;
    server_->in_flight++;
    DoWrite(std::move(r));
  }

  void DoWrite(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, "scrubd");
    res->set(http::field::content_type, r.content_type);
    if (!origin_.empty()) {
      res->set(http::field::access_control_allow_origin, origin_);
      res->set(http::field::access_control_allow_credentials, "true");
      res->set(http::field::vary, "Origin");
    } else {
      res->set(http::field::access_control_allow_origin, "*");
    }
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !server_->stopping);
    res->prepare_payload();
    if (r.status == 204) res->body().clear();
    bool preflight = r.status == 204;
    if (!preflight) pending_done_ = true;
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec, res->keep_alive());
                      });
  }

  void ReleaseBody() {
    if (reserved_) server_->Release(reserved_);
    reserved_ = 0;
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    ReleaseBody();
    if (pending_done_) {
      pending_done_ = false;
      server_->Done();
    }
    if (ec) return DoClose();
    if (!keep_alive) return DoClose();
    buffer_.consume(buffer_.size());
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* server_;
  std::string origin_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool pending_done_ = false;
  size_t reserved_ = 0;  // bytes of the body budget this request holds
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

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(asio::make_strand(ioc), beast::bind_front_handler(
                                                     &HttpServer::Impl::OnAccept, this));
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || stopping) return;
    spdlog::warn("accept failed: {}", ec.message());
  } else if (connections >= opts.max_connections) {
    beast::error_code ignored;
    socket.close(ignored);  // over the cap: refuse rather than queue without bound
  } else {
    std::make_shared<Session>(std::move(socket), this)->Run();
  }
  if (!stopping) DoAccept();
}

HttpServer::HttpServer(App* app, ServerOptions opts)
    : impl_(std::make_unique<Impl>(app, std::move(opts))) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start() {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(impl_->opts.listen, &host, &port))
    return Status::InvalidConfig("--listen must be HOST:PORT, got '" + impl_->opts.listen + "'");
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidConfig("--listen: bad address '" + host + "'");
  tcp::endpoint endpoint(addr, port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Io("listen on " + impl_->opts.listen + ": " + ec.message());
  uint16_t bound = impl_->acceptor->local_endpoint().port();
  impl_->DoAccept();
  for (int i = 0; i < std::max(1, impl_->opts.io_threads); ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return bound;
}

void HttpServer::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->stopping = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
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
