// Audited export: the local path (this process holds the audit log) and the daemon path (an
// admin request to the running daemon, which audits it). See export.h and docs/audit.md.
#include "cli/export.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "scrubd/audit/log.h"
#include "scrubd/common/env.h"
#include "server/keys.h"
#include "sink/local_store.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// No audit log lock: this process writes the entry, then exports.
Result<std::string> ExportLocally(const ExportRequest& req, audit::Log& log) {
  Result<std::unique_ptr<sink::LocalStore>> store = sink::LocalStore::Open(req.data_dir);
  if (!store.ok()) return store.status();
  Result<std::string> body = (*store)->ExportSession(req.session, req.token, req.window);
  if (!body.ok()) return body.status();
  auto key = server::LoadOrCreateKey(req.data_dir / "keys" / "pseudonym.key", 32);
  if (!key.ok()) return key.status();
  Result<uint64_t> seq = log.Append(
      "export", json::serialize(json::object{{"session", server::Pseudonym(*key, req.session)},
                                             {"token", req.token},
                                             {"caller", "cli"}}));
  if (!seq.ok()) return Status::Unavailable("export not audited: " + seq.status().message());
  if (Status s = log.Close(); !s.ok())
    return Status::Unavailable("export not audited: " + s.message());
  return body;
}

// The daemon holds the log: GET /admin/sessions/<id>/export on its published address.
Result<std::string> ExportViaDaemon(const ExportRequest& req) {
  Env* env = Env::Default();
  Result<std::string> addr = env->ReadFile(ServeAddrFile(req.data_dir));
  if (!addr.ok())
    return Status::Unavailable(
        "the audit log is held by another process that publishes no "
        "address (" +
        ServeAddrFile(req.data_dir).string() + ")");
  fs::path token_file =
      req.admin_token_file.empty() ? req.data_dir / "keys" / "admin.token" : req.admin_token_file;
  Result<std::string> admin = env->ReadFile(token_file);
  if (!admin.ok())
    return Status::Unavailable("cannot read the admin token: " + token_file.string());
  std::string hostport = Trim(*addr);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return Status::Corruption("bad serve.addr");
  std::string target = "/admin/sessions/" + req.session + "/export?token=" + req.token;
  if (!req.window.empty()) target += "&window=" + req.window;

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  beast::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(hostport.substr(0, colon), ec),
                             static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
  if (!ec) stream.connect(ep, ec);
  if (ec) return Status::Unavailable("daemon at " + hostport + " unreachable: " + ec.message());
  http::request<http::empty_body> rq{http::verb::get, target, 11};
  rq.set(http::field::host, "127.0.0.1");
  rq.set(http::field::authorization, "Bearer " + Trim(*admin));
  http::write(stream, rq, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) http::read(stream, buf, parser, ec);
  if (ec) return Status::Unavailable("daemon export failed: " + ec.message());
  http::response<http::string_body> res = parser.release();
  if (res.result_int() == 200) return std::move(res.body());
  std::string message = res.body();
  json::error_code jec;
  json::value v = json::parse(res.body(), jec);
  if (!jec && v.is_object())
    if (const json::value* m = v.get_object().if_contains("message"); m && m->is_string())
      message = std::string(m->get_string());
  if (res.result_int() == 404) return Status::NotFound(message);
  if (res.result_int() == 400) return Status::InvalidInput(message);
  return Status::Unavailable("daemon answered " + std::to_string(res.result_int()) + ": " +
                             message);
}

}  // namespace

fs::path ServeAddrFile(const fs::path& data_dir) { return data_dir / "run" / "serve.addr"; }

Result<std::string> ExportAudited(const ExportRequest& req) {
  Result<std::unique_ptr<audit::Log>> log = audit::Log::Open(req.data_dir / "audit", {});
  if (log.ok()) return ExportLocally(req, **log);
  if (log.status().code() == Code::kUnavailable) return ExportViaDaemon(req);
  return Status::Unavailable("export not audited: " + log.status().message());
}

}  // namespace scrubd::cli
