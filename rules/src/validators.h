// Validators for located candidates: Luhn + issuer table, IBAN mod-97, SSA rules, IP parsing,
// JWT header decoding, phone plans, MAC, UK NINO, DE Steuer-ID, and plain Luhn / mod-97 for
// custom detectors. Internal to scrubd_rules.
// Pure functions without shared state; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace scrubd::rules::internal {

// A catalog validator sees the whole string and the located value [*begin, *end). It returns
// true to accept, and may shrink the span (e.g. a card inside a longer group sequence).
using ValidatorFn = bool (*)(std::string_view text, size_t* begin, size_t* end);

// The validator registered under `name` ("email", "card", ...), or nullptr.
ValidatorFn FindValidator(std::string_view name);

// Building blocks, exposed for the unit tests.
bool LuhnValid(std::string_view digits);
bool CardIssuerValid(std::string_view digits);  // prefix + length table
// Bit n set when CardIssuerValid holds for n digits starting with d's first six (n 12..19).
uint32_t CardIssuerLengths(std::string_view digits);
bool IbanValid(std::string_view compact);  // country length + mod-97; upper case
int IbanLength(std::string_view country);  // 0 when the country has no IBAN
bool SsnValid(std::string_view digits9);   // SSA rules on 9 digits
bool ParseIpv4(std::string_view s, uint8_t out[4]);
bool ParseIpv6(std::string_view s, uint16_t out[8]);
bool JwtHeaderHasAlg(std::string_view token);  // base64url header decodes to {..."alg"...}
bool NinoValid(std::string_view s);
bool DeTaxIdValid(std::string_view digits11);
bool PhoneValid(std::string_view candidate);
// ISO 7064 MOD 97-10 over the letters (A=10 .. Z=35, either case) and digits of `s`, other
// bytes ignored: at least 3 such characters whose number leaves remainder 1 modulo 97.
bool Mod97Valid(std::string_view s);

}  // namespace scrubd::rules::internal
