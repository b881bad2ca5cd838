// Serve's startup loading, shared with `serve --check` (see serve_setup.h).
#include "cli/serve_setup.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "server/keys.h"
#include "sink/upstream.h"
#include "subjects/posthog_eraser.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kTokenRandomBytes = 24;

// The nearest existing directory at or above `dir`: where serve's first write would land.
fs::path NearestExisting(fs::path dir) {
  std::error_code ec;
  while (!dir.empty() && !fs::exists(dir, ec)) {
    fs::path up = dir.parent_path();
    if (up == dir) break;
    dir = std::move(up);
  }
  return dir.empty() ? fs::path(".") : dir;
}

// A missing key file under kReadOnly: what serve would create, so it must be creatable there.
Result<std::string> WouldCreate(const fs::path& path, bool token, ServeInputs* in) {
  fs::path dir = NearestExisting(path.parent_path());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return Status::InvalidConfig(path.string() + ": missing, and " + dir.string() +
                                 " is not writable to create it: " + std::strerror(errno));
  in->would_create.push_back(path);
  Result<std::string> random = server::RandomBytes(token ? kTokenRandomBytes : kKeyBytes);
  if (!random.ok() || !token) return random;
  return server::HexEncode(*random);
}

// A key (with `token`, the admin token) as serve loads it; see KeyFiles.
Result<std::string> LoadKey(const fs::path& path, bool token, KeyFiles mode, ServeInputs* in) {
  if (mode == KeyFiles::kCreate)
    return token ? server::LoadOrCreateToken(path) : server::LoadOrCreateKey(path, kKeyBytes);
  Result<std::optional<std::string>> present =
      token ? server::ReadTokenIfPresent(path) : server::ReadKeyIfPresent(path);
  if (!present.ok()) return present.status();
  if (present->has_value()) return **present;
  return WouldCreate(path, token, in);
}

// Serve's first start makes the data dir, owner only (errors surface at the first write).
void PrepareDataDir(const fs::path& data) {
  std::error_code ec;
  fs::create_directories(data, ec);
  fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace, ec);
}

Status LoadKeys(const ServeConfig& cfg, KeyFiles mode, ServeInputs* in) {
  const fs::path keys = fs::path(cfg.data_dir) / "keys";
  // Order as serve creates them; identity.key is the master key of the per-project
  // identifier pseudonyms (docs/identifiers.md).
  const std::pair<const char*, std::string*> files[] = {{"hash.key", &in->hash_key},
                                                        {"pseudonym.key", &in->pseudonym_key},
                                                        {"identity.key", &in->identity_key}};
  for (const auto& [name, out] : files) {
    Result<std::string> key = LoadKey(keys / name, /*token=*/false, mode, in);
    if (!key.ok()) return key.status();
    *out = std::move(key).value();
  }
  fs::path token_file =
      cfg.admin_token_file.empty() ? keys / "admin.token" : fs::path(cfg.admin_token_file);
  Result<std::string> token = LoadKey(token_file, /*token=*/true, mode, in);
  if (!token.ok()) return token.status();
  in->admin_token = std::move(token).value();
  if (!cfg.admin_tokens_file.empty()) {
    Result<std::vector<server::RoleToken>> t = server::LoadTokensFile(cfg.admin_tokens_file);
    if (!t.ok()) return t.status();
    in->role_tokens = std::move(t).value();
  }
  return Status::Ok();
}

std::string Summary(const ServeConfig& cfg, const ServeInputs& in) {
  std::string line = "scrubd serve --check: OK listen=" + cfg.listen + " data_dir=" + cfg.data_dir +
                     " policies=" + std::to_string(in.policies->policies().size());
  for (const auto& p : in.policies->policies())
    line += " " + p->name + "(" + p->file + " sha256=" + p->sha256.substr(0, 16) + ")";
  if (!in.would_create.empty()) {
    line += "; would be created on first start:";
    for (const fs::path& f : in.would_create) line += " " + f.string();
  }
  return line;
}

}  // namespace

Result<ServeInputs> LoadServeInputs(const ServeConfig& cfg, KeyFiles mode) {
  if (Status s = CheckListenAddress("listen", cfg.listen); !s.ok())
    return Status::InvalidConfig(s.message());
  if (mode == KeyFiles::kCreate) PrepareDataDir(cfg.data_dir);
  ServeInputs in;
  if (Status s = LoadKeys(cfg, mode, &in); !s.ok()) return s;
  in.policy_options = {in.hash_key, in.identity_key};
  Result<std::shared_ptr<const policies::PolicySet>> set =
      policies::LoadPolicySet(cfg.policy_files, in.policy_options);
  if (!set.ok()) return set.status();
  in.policies = std::move(set).value();
  return in;
}

server::AppConfig AppConfigOf(const ServeConfig& cfg, const ServeInputs& in) {
  server::AppConfig acfg;
  acfg.limits.inflate.max_output = cfg.max_decompressed_bytes;
  acfg.limits.events_require_session_id = cfg.events_require_session_id;
  acfg.request_deadline = std::chrono::milliseconds(cfg.request_deadline_ms);
  acfg.admin_token = in.admin_token;
  acfg.admin_tokens = in.role_tokens;
  acfg.answer_remote_config = cfg.answer_remote_config;
  acfg.policy_files = cfg.policy_files;
  acfg.policy_options = in.policy_options;
  acfg.pseudonym_key = in.pseudonym_key;
  acfg.upstream_and_store = cfg.upstream_and_store;
  acfg.path_prefix = cfg.path_prefix;
  return acfg;
}

Result<std::string> CheckServe(const ServeConfig& cfg) {
  Result<ServeInputs> in = LoadServeInputs(cfg, KeyFiles::kReadOnly);
  if (!in.ok()) return in.status();
  if (!cfg.upstream.empty())  // what sink::Upstream::Open parses first
    if (Result<sink::UpstreamUrl> u = sink::ParseUpstreamUrl(cfg.upstream); !u.ok())
      return u.status();
  if (!cfg.posthog_api_host.empty())  // what the subjects runtime loads (subjects_wiring.cc)
    if (Result<subjects::PosthogEraseConfig> pc = subjects::LoadPosthogEraseConfig(
            cfg.posthog_api_host, cfg.posthog_project_id, cfg.posthog_api_key_file);
        !pc.ok())
      return pc.status();
  return Summary(cfg, *in);
}

}  // namespace scrubd::cli
