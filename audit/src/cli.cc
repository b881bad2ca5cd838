#include "scrubd/audit/cli.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto.h"
#include "scrubd/audit/log.h"
#include "scrubd/audit/receipt.h"
#include "scrubd/audit/verify.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: scrubd audit <command> [options]\n"
    "commands:\n"
    "  verify      check the audit log's chain, Merkle roots, checkpoint signatures\n"
    "  prove       print an inclusion proof (erasure receipt) for one entry\n"
    "  rotate-key  replace the signing key (endorsed by the old one; audited)\n"
    "  export-key  print the active public key (PEM)\n"
    "run `scrubd audit <command> --help` for the options of each.\n";

constexpr char kVerifyHelp[] =
    "usage: scrubd audit verify --data-dir DIR [--trusted-checkpoint FILE] [--public-key PEM]\n"
    "       scrubd audit verify --audit-dir DIR --public-key PEM [--trusted-checkpoint FILE]\n"
    "       scrubd audit verify --proof FILE (--public-key PEM | --data-dir DIR)\n"
    "       scrubd audit verify --receipt FILE (--public-key PEM | --data-dir DIR)\n"
    "Verifies DIR/audit (or --audit-dir) against DIR/audit/public.pem (or --public-key: any\n"
    "key of the log's chain; pin the oldest you hold). --trusted-checkpoint is a checkpoint\n"
    "saved elsewhere (a copy of DIR/audit/checkpoint): detects deletion of the tail.\n"
    "--proof checks an inclusion proof printed by `prove`. --receipt checks a data-subject\n"
    "request receipt (JSON): the checkpoint signature, the inclusion path and that the signed\n"
    "entry carries the receipt's request, counts and scan. With --data-dir it accepts a\n"
    "signature by public.pem or any key in DIR/audit/keys/ (the log's key history).\n"
    "Prints OK with the count of entries of each type, or the first bad entry (seq, file,\n"
    "byte offset) and why.\n"
    "Exit: 0 verified, 1 verification failed, 2 usage.\n";

constexpr char kProveHelp[] =
    "usage: scrubd audit prove --data-dir DIR --seq N [--public-key PEM] [--out FILE]\n"
    "Verifies the log, then prints an RFC 9162 inclusion proof of entry N against the newest\n"
    "signed checkpoint. Check it with `scrubd audit verify --proof FILE --public-key PEM`.\n"
    "Exit: 0 printed, 1 log does not verify or entry not sealed yet, 2 usage.\n";

constexpr char kRotateHelp[] =
    "usage: scrubd audit rotate-key --data-dir DIR\n"
    "Generates a new Ed25519 signing key, records a key_rotation entry endorsed by the old key,\n"
    "destroys the old private key and rewrites DIR/audit/public.pem. The daemon must not be\n"
    "running (the log directory is locked by its writer).\n"
    "Exit: 0 rotated, 1 failed, 2 usage.\n";

constexpr char kExportHelp[] =
    "usage: scrubd audit export-key --data-dir DIR [--out FILE]\n"
    "Prints the active public key (PEM), for auditors to pin.\n"
    "Exit: 0 printed, 1 failed, 2 usage.\n";

struct Args {
  std::map<std::string, std::string> values;
  bool help = false;
};

// Parses --flag VALUE pairs; only flags in `allowed` are accepted.
std::optional<Args> ParseArgs(int argc, char** argv, const std::set<std::string>& allowed,
                              const char* help) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      a.help = true;
      continue;
    }
    std::string value;
    if (auto eq = f.find('='); f.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = f.substr(eq + 1);
      f = f.substr(0, eq);
    } else if (allowed.count(f) && i + 1 < argc) {
      value = argv[++i];
    } else {
      std::cerr << "scrubd audit: unknown or incomplete option '" << f << "'\n" << help;
      return std::nullopt;
    }
    if (!allowed.count(f)) {
      std::cerr << "scrubd audit: unknown option '" << f << "'\n" << help;
      return std::nullopt;
    }
    if (a.values.count(f)) {
      std::cerr << "scrubd audit: option '" << f << "' given twice\n" << help;
      return std::nullopt;
    }
    a.values[f] = value;
  }
  return a;
}

std::optional<std::string> Get(const Args& a, const std::string& k) {
  auto it = a.values.find(k);
  if (it == a.values.end()) return std::nullopt;
  return it->second;
}

bool WriteOut(const std::optional<std::string>& out, const std::string& text) {
  if (!out) {
    std::cout << text;
    std::cout.flush();
    return true;
  }
  Status s = WriteFileAtomic(*out, text, 0644);
  if (!s.ok()) std::cerr << "scrubd audit: " << s.ToString() << "\n";
  return s.ok();
}

// The keys a receipt may be signed by: the one given, or public.pem and the log's key history.
std::vector<fs::path> ReceiptKeys(const fs::path& key, const fs::path* audit_dir) {
  std::vector<fs::path> keys{key};
  if (audit_dir == nullptr) return keys;
  std::vector<fs::path> history;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(*audit_dir / "keys", ec)) {
    const std::string name = de.path().filename().string();
    if (name.rfind("key-", 0) == 0 && name.size() > 8 &&
        name.compare(name.size() - 8, 8, ".pub.pem") == 0) {
      history.push_back(de.path());
    }
  }
  std::sort(history.begin(), history.end());
  keys.insert(keys.end(), history.begin(), history.end());
  return keys;
}

// Exit 0 when some key in `keys` verifies the receipt; else 1 with the most telling reason
// (a content mismatch outranks "not signed by this key").
int RunVerifyReceipt(const std::string& receipt_path, const std::vector<fs::path>& keys) {
  auto text = ReadFile(receipt_path);
  if (!text.ok()) {
    std::cout << "FAILED: cannot read the receipt: " << text.status().message() << "\n";
    return kExitFailed;
  }
  std::string reason;
  ReceiptSummary sum;
  for (const fs::path& k : keys) {
    auto pem = ReadFile(k);
    Status s = pem.ok() ? VerifyReceipt(text.value(), pem.value(), &sum)
                        : Status::InvalidInput("cannot read public key: " + pem.status().message());
    if (s.ok()) {
      std::cout << "OK: request " << sum.request_id << ": entry " << sum.seq << " ("
                << sum.entry_type << ") is included in the signed tree of size " << sum.tree_size
                << " (key " << k.filename().string() << ")\n";
      return kExitOk;
    }
    const bool key_only =
        !pem.ok() || s.message().find("not signed by the given key") != std::string::npos;
    if (reason.empty() || !key_only) reason = s.message();
    if (!key_only) break;
  }
  std::cout << "FAILED: " << reason << "\n";
  return kExitFailed;
}

// Checks an inclusion proof printed by `prove`.
int RunVerifyProof(const std::string& proof_path, const fs::path& key) {
  auto text = ReadFile(proof_path);
  auto pem = ReadFile(key);
  if (!text.ok() || !pem.ok()) {
    std::cerr << "scrubd audit verify: " << (!text.ok() ? text.status() : pem.status()).ToString()
              << "\n";
    return kExitFailed;
  }
  auto proof = InclusionProof::Parse(text.value());
  if (!proof.ok()) {
    std::cout << "FAILED: " << proof.status().message() << "\n";
    return kExitFailed;
  }
  Status s = VerifyInclusionProof(proof.value(), pem.value());
  if (!s.ok()) {
    std::cout << "FAILED: " << s.message() << "\n";
    return kExitFailed;
  }
  std::cout << "OK: entry " << proof->seq << " is included in the signed tree of size "
            << proof->tree_size << "\n  " << DescribeEntry(proof->entry_body) << "\n";
  return kExitOk;
}

int RunVerify(int argc, char** argv) {
  auto a = ParseArgs(
      argc, argv,
      {"--data-dir", "--audit-dir", "--public-key", "--trusted-checkpoint", "--proof", "--receipt"},
      kVerifyHelp);
  if (!a) return kExitUsage;
  if (a->help) {
    std::cout << kVerifyHelp;
    return kExitOk;
  }
  auto data_dir = Get(*a, "--data-dir");
  auto audit_dir_arg = Get(*a, "--audit-dir");
  auto key_arg = Get(*a, "--public-key");
  if (data_dir && audit_dir_arg) {
    std::cerr << "scrubd audit verify: give --data-dir or --audit-dir, not both\n" << kVerifyHelp;
    return kExitUsage;
  }
  std::optional<fs::path> audit_dir;
  if (data_dir) audit_dir = fs::path(*data_dir) / "audit";
  if (audit_dir_arg) audit_dir = fs::path(*audit_dir_arg);
  fs::path key =
      key_arg ? fs::path(*key_arg) : (audit_dir ? *audit_dir / "public.pem" : fs::path());

  if (auto receipt_path = Get(*a, "--receipt")) {
    if (Get(*a, "--proof") || Get(*a, "--trusted-checkpoint")) {
      std::cerr << "scrubd audit verify: --receipt takes no --proof or --trusted-checkpoint\n"
                << kVerifyHelp;
      return kExitUsage;
    }
    if (key.empty()) {
      std::cerr << "scrubd audit verify --receipt needs --public-key or --data-dir\n"
                << kVerifyHelp;
      return kExitUsage;
    }
    return RunVerifyReceipt(*receipt_path, ReceiptKeys(key, key_arg ? nullptr : &*audit_dir));
  }

  if (auto proof_path = Get(*a, "--proof")) {
    if (key.empty()) {
      std::cerr << "scrubd audit verify --proof needs --public-key or --data-dir\n" << kVerifyHelp;
      return kExitUsage;
    }
    return RunVerifyProof(*proof_path, key);
  }

  if (!audit_dir) {
    std::cerr << "scrubd audit verify: --data-dir DIR (or --audit-dir DIR) is required\n"
              << kVerifyHelp;
    return kExitUsage;
  }
  std::optional<fs::path> trusted;
  if (auto t = Get(*a, "--trusted-checkpoint")) trusted = fs::path(*t);
  VerifyReport r = Verify(*audit_dir, key, trusted);
  std::cout << FormatReport(r);
  std::cout.flush();
  return r.ok ? kExitOk : kExitFailed;
}

int RunProve(int argc, char** argv) {
  auto a = ParseArgs(argc, argv, {"--data-dir", "--seq", "--public-key", "--out"}, kProveHelp);
  if (!a) return kExitUsage;
  if (a->help) {
    std::cout << kProveHelp;
    return kExitOk;
  }
  auto data_dir = Get(*a, "--data-dir");
  auto seq_text = Get(*a, "--seq");
  uint64_t seq = 0;
  if (!data_dir || !seq_text) {
    std::cerr << "scrubd audit prove: --data-dir and --seq are required\n" << kProveHelp;
    return kExitUsage;
  }
  auto [p, ec] = std::from_chars(seq_text->data(), seq_text->data() + seq_text->size(), seq);
  if (ec != std::errc() || p != seq_text->data() + seq_text->size() || seq_text->empty()) {
    std::cerr << "scrubd audit prove: --seq must be a non-negative integer\n" << kProveHelp;
    return kExitUsage;
  }
  fs::path audit_dir = fs::path(*data_dir) / "audit";
  fs::path key =
      Get(*a, "--public-key") ? fs::path(*Get(*a, "--public-key")) : audit_dir / "public.pem";
  auto proof = Prove(audit_dir, key, seq);
  if (!proof.ok()) {
    std::cerr << "scrubd audit prove: " << proof.status().message() << "\n";
    return kExitFailed;
  }
  std::cerr << "entry: " << DescribeEntry(proof->entry_body) << "\n";
  return WriteOut(Get(*a, "--out"), proof->ToText()) ? kExitOk : kExitFailed;
}

int RunRotate(int argc, char** argv) {
  auto a = ParseArgs(argc, argv, {"--data-dir"}, kRotateHelp);
  if (!a) return kExitUsage;
  if (a->help) {
    std::cout << kRotateHelp;
    return kExitOk;
  }
  auto data_dir = Get(*a, "--data-dir");
  if (!data_dir) {
    std::cerr << "scrubd audit rotate-key: --data-dir is required\n" << kRotateHelp;
    return kExitUsage;
  }
  fs::path audit_dir = fs::path(*data_dir) / "audit";
  if (!fs::exists(audit_dir / "public.pem")) {
    std::cerr << "scrubd audit rotate-key: no audit log in " << audit_dir << "\n";
    return kExitFailed;
  }
  auto log = Log::Open(audit_dir, Options{});
  if (!log.ok()) {
    std::cerr << "scrubd audit rotate-key: " << log.status().ToString() << "\n";
    return kExitFailed;
  }
  Status s = log.value()->RotateKey();
  Status c = log.value()->Close();
  if (!s.ok() || !c.ok()) {
    std::cerr << "scrubd audit rotate-key: " << (!s.ok() ? s : c).ToString() << "\n";
    return kExitFailed;
  }
  std::cout << "rotated; new public key (" << (audit_dir / "public.pem").string() << "):\n"
            << log.value()->PublicKeyPem();
  return kExitOk;
}

int RunExport(int argc, char** argv) {
  auto a = ParseArgs(argc, argv, {"--data-dir", "--out"}, kExportHelp);
  if (!a) return kExitUsage;
  if (a->help) {
    std::cout << kExportHelp;
    return kExitOk;
  }
  auto data_dir = Get(*a, "--data-dir");
  if (!data_dir) {
    std::cerr << "scrubd audit export-key: --data-dir is required\n" << kExportHelp;
    return kExitUsage;
  }
  auto pem = ReadFile(fs::path(*data_dir) / "audit" / "public.pem");
  if (!pem.ok()) {
    std::cerr << "scrubd audit export-key: " << pem.status().ToString() << "\n";
    return kExitFailed;
  }
  if (!Ed25519Key::FromPublicPem(pem.value()).ok()) {
    std::cerr << "scrubd audit export-key: public.pem is not an Ed25519 public key\n";
    return kExitFailed;
  }
  return WriteOut(Get(*a, "--out"), pem.value()) ? kExitOk : kExitFailed;
}

}  // namespace

int RunAuditCli(int argc, char** argv) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string cmd = argv[0];
  if (cmd == "verify") return RunVerify(argc, argv);
  if (cmd == "prove") return RunProve(argc, argv);
  if (cmd == "rotate-key") return RunRotate(argc, argv);
  if (cmd == "export-key") return RunExport(argc, argv);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  std::cerr << "scrubd audit: unknown command '" << cmd << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace scrubd::audit
