// Test helper: a recording fake of PostHog's private person API on 127.0.0.1:0 (Boost.Beast,
// its own thread; one connection at a time, Connection: close). Header-only, tests only.
// Every public method is thread-safe; the fake must outlive the clients that talk to it.
//
// What it implements, as PostHog documents and serves it (posthog/api/person.py):
//   GET    /api/projects/<project>/persons/?distinct_id=<id>[&limit=N&offset=M]
//          200 {"next": <absolute URL or null>, "previous": null, "results": [{"id", "uuid",
//          "name", "distinct_ids", "properties", "created_at"}]}; an empty or absent
//          distinct_id lists every person (PostHog ignores an empty filter); `next` is given
//          when a page is full, as PostHog's limit/offset pagination does.
//   DELETE /api/projects/<project>/persons/<uuid or numeric id>/[?delete_events=true&
//          delete_recordings=true]  202 and the person is gone; 404 {"detail":"Not found."}.
// Other paths 404, other methods 405, an unknown project 404, a missing or wrong
// "Authorization: Bearer <key>" 401. Scripted faults (FailNext / AnswerNext) answer before
// any of that, one per request, in order.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace scrubd::testing {

class FakePosthog {
 public:
  struct Seen {  // one request as it arrived
    std::string method, target, authorization;
    unsigned answered = 0;
  };
  struct Fault {  // a canned answer for one request
    unsigned status = 503;
    std::string retry_after;  // Retry-After header value; "" sends none
    std::string body = R"({"detail":"scripted fault"})";
  };
  struct Deletion {  // one successful DELETE
    std::string uuid;
    bool delete_events = false, delete_recordings = false;
  };

  explicit FakePosthog(std::string project_id = "1", std::string api_key = "phx_fake_key")
      : project_id_(std::move(project_id)),
        api_key_(std::move(api_key)),
        acceptor_(ioc_, Tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakePosthog() {
    ioc_.stop();
    thread_.join();
  }
  FakePosthog(const FakePosthog&) = delete;
  FakePosthog& operator=(const FakePosthog&) = delete;

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  const std::string& project_id() const { return project_id_; }
  const std::string& api_key() const { return api_key_; }

  // Adds a person holding these distinct ids; returns its uuid.
  std::string AddPerson(std::vector<std::string> distinct_ids) {
    std::lock_guard<std::mutex> lock(mu_);
    Person p;
    p.id = ++next_id_;
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "0190b3c4-5e6f-7a8b-9c0d-%012llu",
                  static_cast<unsigned long long>(p.id));
    p.uuid = uuid;
    p.distinct_ids = std::move(distinct_ids);
    persons_.push_back(p);
    return p.uuid;
  }
  bool HasPerson(const std::string& uuid) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Person& p : persons_)
      if (p.uuid == uuid) return true;
    return false;
  }
  size_t PersonCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return persons_.size();
  }
  std::vector<Seen> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<Deletion> Deletions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deletions_;
  }
  // The next `n` requests answer `status` (e.g. 503, 429 with retry_after "7", 401).
  void FailNext(size_t n, unsigned status, std::string retry_after = "") {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < n; ++i) faults_.push_back(Fault{status, retry_after});
  }
  // The next request gets exactly this answer (e.g. a 200 with a malformed body).
  void AnswerNext(Fault f) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back(std::move(f));
  }
  // Persons per lookup page when the request gives no limit (PostHog's default is 100).
  void SetPageSize(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    page_size_ = n ? n : 1;
  }

 private:
  using Tcp = boost::asio::ip::tcp;
  struct Person {
    uint64_t id = 0;
    std::string uuid;
    std::vector<std::string> distinct_ids;
  };
  struct Answer {
    Answer(unsigned s, std::string b, std::string ra = "")
        : status(s), body(std::move(b)), retry_after(std::move(ra)) {}
    unsigned status;
    std::string body, retry_after;
  };
  using Query = std::multimap<std::string, std::string>;

  void DoAccept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, Tcp::socket s) {
      if (ec) return;
      Serve(std::move(s));  // loopback and small: handled inline
      DoAccept();
    });
  }

  void Serve(Tcp::socket s) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    boost::beast::flat_buffer buf;
    http::request_parser<http::string_body> parser;
    parser.body_limit(1u << 20);
    http::read(s, buf, parser, ec);
    if (ec) return;
    auto req = parser.release();
    Seen seen{std::string(req.method_string()), std::string(req.target()),
              std::string(req[http::field::authorization])};
    Answer a = Handle(seen);
    http::response<http::string_body> res{static_cast<http::status>(a.status), 11};
    res.set(http::field::content_type, "application/json");
    if (!a.retry_after.empty()) res.set(http::field::retry_after, a.retry_after);
    res.body() = a.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(s, res, ec);
    s.shutdown(Tcp::socket::shutdown_both, ec);
  }

  Answer Handle(Seen seen) {
    std::lock_guard<std::mutex> lock(mu_);
    Answer a = Route(seen);
    seen.answered = a.status;
    seen_.push_back(std::move(seen));
    return a;
  }

  // Under mu_.
  Answer Route(const Seen& seen) {
    if (!faults_.empty()) {
      Fault f = faults_.front();
      faults_.pop_front();
      return {f.status, f.body, f.retry_after};
    }
    if (seen.authorization != "Bearer " + api_key_)
      return {401, R"({"type":"authentication_error","code":"authentication_failed",)"
                   R"("detail":"Incorrect authentication credentials.","attr":null})"};
    std::string path = seen.target.substr(0, seen.target.find('?'));
    std::string query = path.size() < seen.target.size() ? seen.target.substr(path.size() + 1) : "";
    const std::string any_project = "/api/projects/";
    if (!path.starts_with(any_project)) return NotFound();
    std::string rest = path.substr(any_project.size());
    std::string prefix = project_id_ + "/persons/";
    if (!rest.starts_with(prefix)) return NotFound();
    std::string tail = rest.substr(prefix.size());
    if (tail.empty()) {
      if (seen.method != "GET") return {405, R"({"detail":"Method not allowed."})"};
      return List(path, ParseQuery(query));
    }
    if (tail.back() != '/' || tail.find('/') != tail.size() - 1) return NotFound();
    if (seen.method != "DELETE") return {405, R"({"detail":"Method not allowed."})"};
    return Delete(tail.substr(0, tail.size() - 1), ParseQuery(query));
  }

  static Answer NotFound() { return {404, R"({"detail":"Not found."})"}; }

  Answer List(const std::string& path, const Query& q) {
    std::string distinct_id = Get(q, "distinct_id");
    size_t limit = ToSize(Get(q, "limit"), page_size_), offset = ToSize(Get(q, "offset"), 0);
    std::vector<const Person*> match;
    for (const Person& p : persons_)
      if (distinct_id.empty() || Holds(p, distinct_id)) match.push_back(&p);
    boost::json::array results;
    for (size_t i = offset; i < match.size() && results.size() < limit; ++i)
      results.push_back(PersonJson(*match[i]));
    boost::json::object out{{"next", nullptr}, {"previous", nullptr}};
    if (results.size() >= limit) {
      std::string next = url() + path + "?";
      if (!distinct_id.empty()) next += "distinct_id=" + Encode(distinct_id) + "&";
      next += "limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset + limit);
      out["next"] = next;
    }
    out["results"] = std::move(results);
    return {200, boost::json::serialize(out)};
  }

  Answer Delete(const std::string& key, const Query& q) {
    for (auto it = persons_.begin(); it != persons_.end(); ++it) {
      if (it->uuid != key && std::to_string(it->id) != key) continue;
      deletions_.push_back(
          {it->uuid, q.count("delete_events") > 0, q.count("delete_recordings") > 0});
      persons_.erase(it);
      return {202, ""};
    }
    return NotFound();
  }

  static bool Holds(const Person& p, const std::string& id) {
    for (const std::string& d : p.distinct_ids)
      if (d == id) return true;
    return false;
  }
  static boost::json::object PersonJson(const Person& p) {
    boost::json::array ids;
    for (const std::string& d : p.distinct_ids) ids.emplace_back(d);
    return {{"id", p.id},
            {"uuid", p.uuid},
            {"name", p.distinct_ids.empty() ? p.uuid : p.distinct_ids.front()},
            {"distinct_ids", std::move(ids)},
            {"properties", boost::json::object{}},
            {"created_at", "2026-12-01T00:00:00Z"}};
  }
  static std::string Get(const Query& q, const std::string& k) {
    auto it = q.find(k);
    return it == q.end() ? "" : it->second;
  }
  static size_t ToSize(const std::string& v, size_t fallback) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
      return fallback;
    return static_cast<size_t>(std::stoul(v));
  }
  static std::string Decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }
  static std::string Encode(const std::string& s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out += {'%', kHex[c >> 4], kHex[c & 15]};
      }
    }
    return out;
  }
  static Query ParseQuery(const std::string& query) {
    Query q;
    size_t at = 0;
    while (at <= query.size() && !query.empty()) {
      size_t amp = query.find('&', at);
      std::string part = query.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
      size_t eq = part.find('=');
      if (!part.empty())
        q.emplace(Decode(part.substr(0, eq)),
                  eq == std::string::npos ? "" : Decode(part.substr(eq + 1)));
      if (amp == std::string::npos) break;
      at = amp + 1;
    }
    return q;
  }

  const std::string project_id_, api_key_;
  boost::asio::io_context ioc_;
  Tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Person> persons_;
  uint64_t next_id_ = 0;
  size_t page_size_ = 100;
  std::deque<Fault> faults_;
  std::vector<Seen> seen_;
  std::vector<Deletion> deletions_;
};

}  // namespace scrubd::testing
