// Beast client for the CLI -> daemon admin calls (see daemon_client.h).
#include "cli/daemon_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "cli/export.h"
#include "scrubd/common/env.h"

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

}  // namespace

std::string ErrorMessageOf(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const json::value* m = v.get_object().if_contains("message");
    if (m && m->is_string()) return std::string(m->get_string());
    const json::value* e = v.get_object().if_contains("error");
    if (e && e->is_object())
      if (const json::value* em = e->get_object().if_contains("message"); em && em->is_string())
        return std::string(em->get_string());
  }
  return body.substr(0, 200);
}

Result<DaemonReply> CallDaemon(const fs::path& data_dir, const fs::path& token_file,
                               std::string_view method, const std::string& target,
                               const std::string& body, std::chrono::seconds timeout) {
  Env* env = Env::Default();
  Result<std::string> addr = env->ReadFile(ServeAddrFile(data_dir));
  if (!addr.ok()) return Status::NotFound("no running daemon publishes an address");
  fs::path tf = token_file.empty() ? data_dir / "keys" / "admin.token" : token_file;
  Result<std::string> token = env->ReadFile(tf);
  if (!token.ok()) return Status::Unavailable("cannot read the admin token: " + tf.string());
  std::string hostport = Trim(*addr);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return Status::Corruption("bad serve.addr");
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  beast::error_code ec;
  unsigned long port = std::strtoul(hostport.c_str() + colon + 1, nullptr, 10);
  asio::ip::tcp::endpoint ep(asio::ip::make_address(hostport.substr(0, colon), ec),
                             static_cast<uint16_t>(port));
  if (!ec) stream.connect(ep, ec);
  if (ec) return Status::Unavailable("daemon at " + hostport + " unreachable: " + ec.message());
  http::request<http::string_body> rq{http::string_to_verb(method), target, 11};
  rq.set(http::field::host, "127.0.0.1");
  rq.set(http::field::authorization, "Bearer " + Trim(*token));
  if (!body.empty()) rq.set(http::field::content_type, "application/json");
  rq.body() = body;
  rq.prepare_payload();
  http::write(stream, rq, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) http::read(stream, buf, parser, ec);
  if (ec) return Status::Unavailable("daemon call failed: " + ec.message());
  http::response<http::string_body> res = parser.release();
  return DaemonReply{res.result_int(), std::move(res.body())};
}

}  // namespace scrubd::cli
