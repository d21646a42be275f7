#!/usr/bin/env bash
# Sets up and runs Mohor on a fresh Debian 12 machine (as root):
#
#   bash installer/run-demo.sh [--headless]
#
# Installs the build and runtime packages, builds and installs what an official
# would get (the Debian package where one can be built: as root with apt; else the
# release build, run from the checkout), and starts it. If no
# real DSC token is found it makes a demo SoftHSM token (PIN 123456) and serves
# the demo web page at http://127.0.0.1:8765/demo/ . With a desktop session
# ($DISPLAY) Mohor runs as a tray app with its own dialogs; without one (or with
# --headless) it runs `mohor serve` and asks for consent and PIN in this terminal.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
headless=0
[ "${1:-}" = "--headless" ] && headless=1
[ -z "${DISPLAY:-}" ] && headless=1

packages=(pkg-config libgtk-3-dev libxdo-dev libayatana-appindicator3-dev softhsm2 opensc openssl python3 fonts-dejavu-core fonts-noto-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run-demo: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "run-demo: the Rust toolchain (cargo, 1.89 or newer, from rustup) is needed to build Mohor" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if ! command -v cargo-deb >/dev/null; then
    echo "run-demo: installing cargo-deb (once)"
    cargo install --locked --quiet cargo-deb
  fi
  echo "run-demo: building the Debian package (release build)"
  bash installer/linux/build-deb.sh >/dev/null
  deb=$(ls -t target/debian/mohor_*.deb | head -1)
  echo "run-demo: installing $deb"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "./$deb" >/dev/null
  mohor=/usr/bin/mohor
else
  echo "run-demo: building Mohor (release; not root, so no package is installed)"
  cargo build --release --locked --quiet --bin mohor
  mohor="$root/target/release/mohor"
fi

export MOHOR_HOME="${MOHOR_HOME:-$HOME/.local/share/mohor-demo}"
mkdir -p "$MOHOR_HOME"
demo_port=8765
demo_origin="http://127.0.0.1:$demo_port"

module_args=()
demo_root=""
if "$mohor" tokens --json 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["tokens"] else 1)'; then
  echo "run-demo: a real token is present; using it"
else
  echo "run-demo: no token found; making a demo SoftHSM token (user PIN 123456)"
  bash installer/demo-token.sh "$MOHOR_HOME/demo-token" "$mohor"
  export SOFTHSM2_CONF="$MOHOR_HOME/demo-token/softhsm2.conf"
  module_args=(--module /usr/lib/softhsm/libsofthsm2.so)
  demo_root="$MOHOR_HOME/demo-token/pki/root.pem"
fi

# The demo page's origin must be on the allow-list. With the demo token, this
# demo home (never the official's own) also trusts the demo CA, so the second
# signature's consent shows the first as valid rather than "NOT TRUSTED".
if [ ! -f "$MOHOR_HOME/config.toml" ]; then
  printf 'allowed_origins = ["%s"]\n' "$demo_origin" > "$MOHOR_HOME/config.toml"
  if [ -n "$demo_root" ]; then
    printf 'trust_roots = ["%s"]\n' "$demo_root" >> "$MOHOR_HOME/config.toml"
  fi
fi

echo "run-demo: demo page at $demo_origin/demo/"
python3 -m http.server "$demo_port" --bind 127.0.0.1 --directory "$root/assets" >/dev/null 2>&1 &
web=$!
trap 'kill $web 2>/dev/null || true' EXIT

if [ "$headless" = 1 ]; then
  "$mohor" "${module_args[@]}" serve --allow-origin "$demo_origin"
else
  (sleep 2; command -v xdg-open >/dev/null && xdg-open "$demo_origin/demo/" >/dev/null 2>&1 || true) &
  "$mohor" "${module_args[@]}"
fi
