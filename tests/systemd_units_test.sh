#!/usr/bin/env bash
# Every unit in systemd/ (*.service, *.timer): `systemd-analyze verify` is clean, and every
# service scores <= MAX_EXPOSURE on `systemd-analyze security --offline=true`. The units are
# copied to a temp dir with /usr/bin/scrubd replaced by an executable stub (verify checks that
# each Exec*= binary exists). Also: ExecStartPre is `serve --check` with ExecStart's options.
# Usage: systemd_units_test.sh SYSTEMD_DIR. Exit 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -uo pipefail

UNITS_DIR=${1:?usage: systemd_units_test.sh SYSTEMD_DIR}
MAX_EXPOSURE=${MAX_EXPOSURE:-1.5}
ANALYZE=${SYSTEMD_ANALYZE:-$(command -v systemd-analyze || true)}
if [[ -z "$ANALYZE" ]]; then
  echo "SKIP: systemd-analyze not found (Debian package 'systemd', see .ci/install-deps)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$tmp/scrubd-stub"
chmod 0755 "$tmp/scrubd-stub"

shopt -s nullglob
units=("$UNITS_DIR"/*.service "$UNITS_DIR"/*.timer)
if ((${#units[@]} == 0)); then
  echo "FAIL: no unit files in $UNITS_DIR"
  exit 1
fi
# All units side by side, so that a timer's service is found next to it.
for u in "${units[@]}"; do
  sed "s|/usr/bin/scrubd|$tmp/scrubd-stub|g" "$u" >"$tmp/$(basename "$u")"
done

failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}

# verify exits 0 even on unknown keys or unparsable values, so its output is the verdict:
# any line naming one of our units (or the temp dir) fails. Other lines come from the host's
# own units that verify loads as dependencies; they are shown and ignored.
verify_unit() {
  local name=$1 out rc line
  out=$(cd "$tmp" && "$ANALYZE" verify "./$name" 2>&1)
  rc=$?
  ((rc == 0)) || fail "$name: systemd-analyze verify exited $rc"
  while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    if [[ "$line" == *"$tmp"* || "$line" == *scrubd* ]]; then
      fail "$name: verify: $line"
    else
      echo "note: $name: verify printed (host noise, not about our units): $line"
    fi
  done <<<"$out"
  echo "verify $name: rc=$rc"
}

# Prints the overall exposure of a service, e.g. 1.1 (from "Overall exposure level for
# NAME: 1.1 OK"), or nothing if the line is missing.
exposure_of() {
  "$ANALYZE" security --offline=true "$1" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p' |
    head -n1
}

score_service() {
  local name=$1 score
  score=$(exposure_of "$tmp/$name")
  if [[ -z "$score" ]]; then
    fail "$name: no 'Overall exposure level' line from systemd-analyze security"
    return
  fi
  echo "exposure $name: $score (max $MAX_EXPOSURE)"
  awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= m + 0) }' ||
    fail "$name: exposure $score is above $MAX_EXPOSURE"
}

# ExecStartPre must check what ExecStart serves: `serve --check` + the same options.
check_prestart() {
  local unit=$1 pre start
  start=$(sed -n 's/^ExecStart=[^ ]* serve //p' "$unit")
  pre=$(sed -n 's/^ExecStartPre=[^ ]* serve --check //p' "$unit")
  [[ -z "$start" ]] && return 0
  [[ -n "$pre" && "$pre" == "$start" ]] ||
    fail "$(basename "$unit"): ExecStartPre is not 'serve --check $start' (got '$pre')"
}

for u in "${units[@]}"; do
  name=$(basename "$u")
  verify_unit "$name"
  if [[ "$name" == *.service ]]; then
    score_service "$name"
    check_prestart "$u"
  fi
done

# The checks above must be able to fail: a unit with an unknown key and a bare service.
printf '[Service]\nExecStart=%s\nNoSuchSetting=1\n' "$tmp/scrubd-stub" >"$tmp/scrubd-canary.service"
if (cd "$tmp" && "$ANALYZE" verify ./scrubd-canary.service 2>&1) | grep -q NoSuchSetting; then
  echo "canary: verify reports an unknown key"
else
  fail "canary: verify did not report an unknown key; this test could not see a bad unit"
fi
bare=$(exposure_of "$tmp/scrubd-canary.service")
if awk -v s="${bare:-0}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 > m + 0) }'; then
  echo "canary: an unhardened service scores $bare"
else
  fail "canary: an unhardened service scored '${bare}', the score parse is broken"
fi

((failed == 0)) && echo "PASS: ${#units[@]} units verified, every service <= $MAX_EXPOSURE"
exit "$failed"
