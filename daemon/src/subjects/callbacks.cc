#include "subjects/callbacks.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <random>
#include <set>

#include "subjects/deadlines.h"

namespace scrubd::subjects {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Status BadUrl(const char* why) { return Status::InvalidInput(std::string("callback URL ") + why); }

bool HostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// Splits "host[:port]" / "[v6][:port]" into `u`; false on anything malformed.
bool ParseAuthority(std::string_view a, CallbackUrl* u) {
  std::string_view host = a, port;
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(1, close - 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return false;
    if (!rest.empty()) port = rest.substr(1);
    if (host.find('%') != std::string_view::npos) return false;  // no zone ids
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return false;
  } else {
    size_t colon = a.find(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || host.size() > 253) return false;
  }
  u->host.clear();
  for (char c : host) u->host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (a.front() != '[' && !std::all_of(u->host.begin(), u->host.end(), HostChar)) return false;
  if (port.empty()) {
    u->port = u->tls ? "443" : "80";
    return true;
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  int n = std::stoi(std::string(port));
  if (n < 1 || n > 65535) return false;
  u->port = std::to_string(n);
  return true;
}

bool InV4(uint32_t a, uint32_t net, int bits) {
  return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
}

bool V4Allowed(uint32_t a, const CallbackPolicy& p) {
  if (InV4(a, 0x7f000000, 8)) return p.allow_loopback;
  if (InV4(a, 0x0a000000, 8) || InV4(a, 0xac100000, 12) || InV4(a, 0xc0a80000, 16) ||
      InV4(a, 0x64400000, 10))
    return p.allow_private;
  // "this network", link-local (cloud metadata), multicast, reserved and broadcast.
  return !(InV4(a, 0x00000000, 8) || InV4(a, 0xa9fe0000, 16) || InV4(a, 0xe0000000, 4) ||
           InV4(a, 0xf0000000, 4));
}

std::string KeyOf(std::string_view request_id, std::string_view url) {
  return std::string(request_id) + '\n' + std::string(url);
}

}  // namespace

Result<CallbackUrl> ParseCallbackUrl(std::string_view url, size_t max_bytes) {
  if (url.size() > max_bytes) return BadUrl("is too long");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return BadUrl("contains whitespace, control or non-ASCII characters");
  if (url.find('#') != std::string_view::npos) return BadUrl("must not have a fragment");
  CallbackUrl u;
  std::string lower(url.substr(0, 8));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (lower.starts_with("http://")) {
    u.tls = false;
    url.remove_prefix(7);
  } else {
    return BadUrl("must be http:// or https://");
  }
  size_t end = url.find_first_of("/?");
  std::string_view authority = url.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return BadUrl("must not carry credentials");
  if (authority.empty() || !ParseAuthority(authority, &u)) return BadUrl("has a malformed host");
  std::string_view rest = end == std::string_view::npos ? "" : url.substr(end);
  u.target = rest.empty() ? "/" : rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return u;
}

bool AddressAllowed(std::string_view ip, const CallbackPolicy& p) {
  boost::system::error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(ip), ec);
  if (ec) return false;
  if (a.is_v6()) {
    asio::ip::address_v6 v6 = a.to_v6();
    if (v6.is_v4_mapped())
      return V4Allowed(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_uint(), p);
    asio::ip::address_v6::bytes_type b = v6.to_bytes();
    if (v6.is_loopback()) return p.allow_loopback;
    if ((b[0] & 0xfe) == 0xfc) return p.allow_private;              // fc00::/7
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)  // 64:ff9b::/96 (NAT64)
      return V4Allowed(uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15],
                       p);
    bool v4_compatible = true;  // ::a.b.c.d, deprecated: refused with :: itself
    for (int i = 0; i < 12; ++i) v4_compatible = v4_compatible && b[i] == 0;
    return !(v4_compatible || v6.is_link_local() || v6.is_multicast() || v6.is_site_local());
  }
  return V4Allowed(a.to_v4().to_uint(), p);
}

Status CheckDestination(const CallbackUrl& url, const CallbackPolicy& policy, std::string* pin) {
  boost::system::error_code ec;
  asio::ip::make_address(url.host, ec);
  if (!ec) {
    if (!AddressAllowed(url.host, policy))
      return Status::InvalidInput("callback destination address class is not allowed");
    *pin = url.host;
    return Status::Ok();
  }
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  asio::ip::tcp::resolver::results_type results = resolver.resolve(url.host, url.port, ec);
  if (ec || results.empty()) return Status::Unavailable("callback host does not resolve");
  pin->clear();
  for (const auto& entry : results) {
    std::string ip = entry.endpoint().address().to_string();
    if (!AddressAllowed(ip, policy))  // every address must pass: no mixed answers
      return Status::InvalidInput("callback destination address class is not allowed");
    if (pin->empty()) *pin = ip;
  }
  return Status::Ok();
}

std::string CallbackBody(std::string_view controller_id, std::string_view url,
                         const DsrRecordView& record, std::string_view results_url) {
  json::object o{
      {"controller_id", controller_id},
      {"expected_completion_time", FormatRfc3339Ms(record.expected_ms)},
      {"status_callback_url", url},
      {"subject_request_id", record.id},
      {"request_status", WireStatus(record.status)},
  };
  if (!results_url.empty()) o["results_url"] = results_url;
  return json::serialize(o);
}

// ---------------------------------------------------------------------------------------------
// CallbackSender

CallbackSender::CallbackSender(CallbackOptions opts) : opts_(std::move(opts)) {
  if (!opts_.make_client) opts_.make_client = sink::MakeBeastClient;
  if (!opts_.random) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    opts_.random = [gen] { return std::uniform_real_distribution<double>(0, 1)(*gen); };
  }
  if (opts_.max_attempts < 1) opts_.max_attempts = 1;
}

CallbackSender::~CallbackSender() { Stop(); }

Status CallbackSender::Enqueue(std::string_view request_id, std::string_view url,
                               std::string body) {
  Result<CallbackUrl> parsed = ParseCallbackUrl(url);
  if (!parsed.ok()) return parsed.status();
  auto d = std::make_shared<Delivery>();
  d->key = KeyOf(request_id, url);
  d->url = std::move(parsed).value();
  d->body = std::move(body);
  d->due = Clock::time_point::min();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= opts_.max_queue) {
      counters_.queue_full++;
      return Status::Unavailable("callback queue is full");
    }
    queue_.push_back(std::move(d));
  }
  counters_.enqueued++;
  cv_.notify_all();
  return Status::Ok();
}

CallbackSender::Outcome CallbackSender::Attempt(Delivery& d) {
  d.attempts++;
  std::string pin;
  Status dest = CheckDestination(d.url, opts_.policy, &pin);
  if (dest.code() == Code::kInvalidInput) {
    counters_.refused++;
    return Outcome::kDrop;
  }
  if (!dest.ok()) return Outcome::kRetry;
  // http connects to the checked address (Host names the original); https must keep the name
  // for SNI and certificate checks, so a DNS answer that changes after the check is not caught.
  sink::UpstreamUrl target{d.url.tls, d.url.tls ? d.url.host : pin, d.url.port, ""};
  Result<std::unique_ptr<sink::UpstreamClient>> client = opts_.make_client(target, opts_.client);
  if (!client.ok()) return Outcome::kRetry;
  sink::UpstreamRequest req;
  req.target = d.url.target;
  req.body = d.body;
  req.headers.emplace_back("Content-Type", "application/json");
  if (!d.url.tls) {
    bool v6 = d.url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + d.url.host + "]" : d.url.host;
    if (d.url.port != "80") host += ":" + d.url.port;
    req.headers.emplace_back("Host", host);
  }
  if (opts_.sign)
    for (auto& h : opts_.sign(d.body)) req.headers.push_back(std::move(h));
  Result<sink::UpstreamResponse> res = (*client)->Exchange(req);
  if (res.ok() && res->status >= 200 && res->status < 300) return Outcome::kDelivered;
  return Outcome::kRetry;
}

CallbackSender::Clock::time_point CallbackSender::RunDue(Clock::time_point now) {
  std::lock_guard<std::mutex> run(run_mu_);
  std::vector<std::shared_ptr<Delivery>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string_view> seen;  // only the oldest delivery of a key may go
    for (const auto& d : queue_)
      if (seen.insert(d->key).second && d->due <= now) due.push_back(d);
  }
  for (const auto& d : due) {
    if (std::lock_guard<std::mutex> lock(mu_); stop_) break;
    Outcome out = Attempt(*d);
    if (out == Outcome::kRetry && d->attempts >= opts_.max_attempts) out = Outcome::kDrop;
    if (out == Outcome::kRetry) {
      counters_.retries++;
      d->due = now + sink::BackoffDelay(opts_.backoff, d->attempts, opts_.random());
      continue;
    }
    if (out == Outcome::kDelivered) counters_.delivered++;
    if (out == Outcome::kDrop) counters_.failed++;
    std::lock_guard<std::mutex> lock(mu_);
    queue_.erase(std::find(queue_.begin(), queue_.end(), d));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Clock::time_point next = Clock::time_point::max();
  std::set<std::string_view> seen;
  for (const auto& d : queue_)
    if (seen.insert(d->key).second) next = std::min(next, d->due);
  return next;
}

void CallbackSender::Loop() {
  for (;;) {
    Clock::time_point next = RunDue(Clock::now());
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) return;
    auto ready = [&] {
      if (stop_) return true;
      std::set<std::string_view> seen;
      for (const auto& d : queue_)
        if (seen.insert(d->key).second && d->due <= Clock::now()) return true;
      return false;
    };
    if (next == Clock::time_point::max())
      cv_.wait(lock, ready);
    else
      cv_.wait_until(lock, next, ready);
  }
}

void CallbackSender::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void CallbackSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t CallbackSender::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

std::string CallbackSender::MetricsText() const {
  std::string out;
  auto line = [&out](const char* name, uint64_t v) {
    out += std::string("scrubd_dsr_callbacks_") + name + "_total " + std::to_string(v) + "\n";
  };
  line("enqueued", counters_.enqueued);
  line("delivered", counters_.delivered);
  line("retries", counters_.retries);
  line("failed", counters_.failed);
  line("refused", counters_.refused);
  line("queue_full", counters_.queue_full);
  out += "scrubd_dsr_callbacks_pending " + std::to_string(Pending()) + "\n";
  return out;
}

}  // namespace scrubd::subjects
