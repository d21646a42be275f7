#!/usr/bin/env bash
# Makes sure the demo SoftHSM token store in DIR is there and whole, and
# makes it (again) when it is not. Called by installer/run-demo.sh.
#
#   installer/demo-token.sh DIR MOHOR
#
# "Whole" means every signer that DIR/fixture.json names is listed by
# `MOHOR certs` with its key. Checking the file alone is not enough: SoftHSM
# rewrites a token's `token.object` in place at every login, so any PKCS#11
# client killed at that moment leaves the file empty and the token gone,
# while fixture.json is still there. A real token is not a file; this is
# only for the demo.
set -euo pipefail
dir=${1:?usage: demo-token.sh DIR MOHOR}
mohor=${2:?usage: demo-token.sh DIR MOHOR}
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
here=$(cd "$(dirname "$0")" && pwd)

whole() {
  [ -f "$dir/fixture.json" ] || return 1
  SOFTHSM2_CONF="$dir/softhsm2.conf" "$mohor" --module "$module" certs --json 2>/dev/null |
    python3 -c '
import json, sys
expected = {c["id"] for c in json.load(open(sys.argv[1]))["certs"].values()}
listed = {c["id"] for c in json.load(sys.stdin)["certificates"] if c.get("has_key")}
missing = sorted(expected - listed)
if missing:
    print("demo-token: the demo token lacks " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)
' "$dir/fixture.json"
}

if whole; then
  exit 0
fi
if [ -f "$dir/fixture.json" ]; then
  echo "demo-token: the demo token in $dir is damaged; making it again (user PIN 123456)" >&2
fi
bash "$here/../tests/fixtures/make-pki.sh" "$dir" >/dev/null
whole
