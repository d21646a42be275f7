#!/usr/bin/env bash
# Installs everything Mohor's tests need on a fresh Debian 12 machine (run as root).
# Idempotent: a second run only checks. Used by tests/run-all.sh and so by .ci/run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

apt_packages=(
  # the real PKCS#11 token and the tools that fill it
  softhsm2 opensc openssl
  # system-call traces (the durability test reads the order of fsync and rename)
  strace
  # judges of our output that nobody here wrote
  poppler-utils qpdf libnss3-tools
  # a producer of the PDFs offices sign (printer drivers' pdfwrite, PDF/A)
  ghostscript
  # stamps in Indian scripts (Noto faces, read at run time) and their judges:
  # OCR of Hindi and Bengali, and a QR code reader
  fonts-noto-core tesseract-ocr tesseract-ocr-hin tesseract-ocr-ben zbar-tools
  # desktop: tray and dialogs under a virtual X server, and a screenshot tool
  xvfb xauth x11-apps imagemagick xdotool fonts-dejavu-core
  # a real tray host (XEmbed) for the tray test; the .deb's entry checker
  trayer desktop-file-utils dbus
  # build deps of tray-icon / gtk / muda
  pkg-config libgtk-3-dev libxdo-dev libayatana-appindicator3-dev
  # browser end-to-end tests
  chromium nodejs npm
  # python for the pyHanko validator
  python3-venv
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm/python may come from elsewhere on the machine (pyenv, nodesource): accept those.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "setup: installing ${filtered[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
fi

# pyHanko's validator and a WebSocket client library, in a venv of the repo's own (gitignored)
venv="$root/.venv"
if [ ! -x "$venv/bin/pyhanko" ] || ! "$venv/bin/python" -c 'import websockets' 2>/dev/null; then
  echo "setup: preparing $venv (pyhanko, pyhanko-cli, websockets)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q 'pyhanko[pkcs11]' pyhanko-cli websockets
fi

# playwright-core for the browser tests (Debian's chromium is the browser)
if [ -f "$root/tests/browser/package.json" ] && [ ! -d "$root/tests/browser/node_modules/playwright-core" ]; then
  echo "setup: npm install in tests/browser"
  (cd "$root/tests/browser" && npm install --no-audit --no-fund --loglevel=error)
fi

# rustfmt / clippy components (the toolchain is rustup's)
if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
fi

# cargo-fuzz for tests/fuzz.sh (which uses nightly when present, else stable
# with RUSTC_BOOTSTRAP=1).
if ! command -v cargo-fuzz >/dev/null; then
  echo "setup: cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked --quiet
fi
# cargo-deb builds the Debian package (tests/package.sh, installer/linux/build-deb.sh)
if ! command -v cargo-deb >/dev/null; then
  echo "setup: cargo install --locked cargo-deb"
  cargo install --locked --quiet cargo-deb
fi
echo "setup: ok"
