// The exact catalog pattern texts that hand-written code (fast locators, occurrence forms,
// shape features) implements. Code keyed by these applies only while the catalog text is
// byte-identical; an edited pattern falls back to RE2. Internal to scrubd_rules.
#pragma once

#include <string_view>

namespace scrubd::rules::internal {

inline constexpr std::string_view kCardRe = "[0-9](?:[ -]?[0-9]){11,18}";
inline constexpr std::string_view kIbanRe = "[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}";
inline constexpr std::string_view kEmailRe =
    "(?:[A-Za-z0-9._%+-]+[!$&'*^`{|}~])*[A-Za-z0-9._%+-]+[!$&'*^`{|}~]?@(?:[A-Za-z0-9-]+\\.)+[A-Za-"
    "z]{2,24}";
// kEmailRe's atext specials: one between two runs of the plain local class, or one at the end.
constexpr bool IsEmailSpecial(char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '*' || c == '^' || c == '`' ||
         c == '{' || c == '|' || c == '}' || c == '~';
}
inline constexpr std::string_view kPhoneE164Re = "\\+[0-9]{1,3}(?:[ .-]?\\(?[0-9]{1,5}\\)?){1,7}";
inline constexpr std::string_view kPhoneNanpRe =
    "(?:1[ .-]?)?(?:\\([2-9][0-9]{2}\\)[ .-]?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}";
inline constexpr std::string_view kPhonePlainRe = "[2-9][0-9]{9}";
inline constexpr std::string_view kPhoneTrunkRe =
    "\\(?0[1-9][0-9]{0,4}\\)?(?:[ ./-]?[0-9]{2,4}){1,5}";
inline constexpr std::string_view kIpv6Re = "[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}";
inline constexpr std::string_view kIpv4Re = "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}";
inline constexpr std::string_view kSsnDashRe = "[0-9]{3}-[0-9]{2}-[0-9]{4}";
inline constexpr std::string_view kSsnSpaceRe = "[0-9]{3} [0-9]{2} [0-9]{4}";
inline constexpr std::string_view kSsnPlainRe = "[0-9]{9}";
inline constexpr std::string_view kTaxSpacedRe = "[1-9][0-9] [0-9]{3} [0-9]{3} [0-9]{3}";
inline constexpr std::string_view kTaxPlainRe = "[1-9][0-9]{10}";
inline constexpr std::string_view kMacColonRe = "[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}";
inline constexpr std::string_view kMacDotRe = "[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}";
inline constexpr std::string_view kNinoRe =
    "[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]";
// kNinoRe's first and second letter classes.
constexpr bool NinoFirstLetter(char c) {
  return c >= 'A' && c <= 'Z' && c != 'D' && c != 'F' && c != 'I' && c != 'Q' && c != 'U' &&
         c != 'V';
}
constexpr bool NinoSecondLetter(char c) { return NinoFirstLetter(c) && c != 'O'; }
// kPhoneNanpRe's separator class [ .-].
constexpr bool IsNanpSeparator(char c) { return c == ' ' || c == '.' || c == '-'; }
inline constexpr std::string_view kAwsRe =
    "(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}";
inline constexpr std::string_view kGoogleRe = "AIza[0-9A-Za-z_-]{35}";
inline constexpr std::string_view kBearerRe = "(?i:bearer)[ ]+([A-Za-z0-9._~+/-]+=*)";
inline constexpr std::string_view kGithubRe = "gh[pousr]_[A-Za-z0-9]{36,251}";
inline constexpr std::string_view kGithubPatRe = "github_pat_[A-Za-z0-9_]{22,255}";
inline constexpr std::string_view kStripeRe = "(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}";
inline constexpr std::string_view kJwtRe =
    "eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*";
inline constexpr std::string_view kPemBlockRe =
    "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)-----END [A-Z0-9 ]*PRIVATE KEY-----";
inline constexpr std::string_view kPemOpenRe =
    "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\\s\\\\:,-]*";
inline constexpr std::string_view kSlackRe = "xox[abposr]-[0-9A-Za-z-]{10,250}";
inline constexpr std::string_view kSlackAppRe = "xapp-[0-9]-[0-9A-Za-z-]{10,250}";
inline constexpr std::string_view kSlackHookRe =
    "hooks\\.slack\\.com/services/(T[0-9A-Z]{6,12}/B[0-9A-Z]{6,12}/[0-9A-Za-z]{16,32})";
inline constexpr std::string_view kUrlCredentialsRe =
    "[A-Za-z][A-Za-z0-9+.-]*://([^\\s:@/?#]+:[^\\s@/?#]*)@";
inline constexpr std::string_view kUrlQueryRe =
    "[?&;#](?i:access_token|refresh_token|id_token|auth_token|token|api_key|apikey|key|"
    "password|passwd|pwd|secret|client_secret|email|e-mail|session|session_id|sessionid|sid|"
    "code|auth|signature|sig|otp|ssn|jwt|pass|passcode|pin|mfa_code|security_code|account_number|"
    "routing_number|sort_code|cvv|cvv2|cvc)=([^&#\\s\"'<>]+)";

}  // namespace scrubd::rules::internal
