// Test helper: one blocking HTTP/1.1 request to 127.0.0.1:port with Beast, returning status,
// body and the response headers tests look at. Header-only, tests only; not thread-safe.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <string>

namespace scrubd::testing {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string set_cookie;
  std::string allow_origin;
};

// `headers` is a JSON object of name -> value (the shape of a fixture's meta.json), so that
// captured requests replay with their original headers. Transport errors (connect or reading
// the response) give status 0.
inline HttpReply HttpSend(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body, const boost::json::object& headers = {}) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  for (const auto& kv : headers) {
    std::string name(kv.key());
    if (name == "Content-Length" || name == "Host" || name == "Connection") continue;
    req.set(name, std::string(kv.value().as_string()));
  }
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);  // a 413 may close the socket before the body is sent
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res, ec);
  if (ec) return {};  // a default response reads as 200: never report a lost reply as one
  HttpReply r;
  r.status = res.result_int();
  r.body = res.body();
  r.content_type = std::string(res[http::field::content_type]);
  r.set_cookie = std::string(res[http::field::set_cookie]);
  r.allow_origin = std::string(res[http::field::access_control_allow_origin]);
  return r;
}

}  // namespace scrubd::testing
