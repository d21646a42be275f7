#!/usr/bin/env bash
# Builds Mohor's Debian package from one release build:
#
#   bash installer/linux/build-deb.sh        → target/debian/mohor_<version>-1_<arch>.deb
#
# Needs cargo-deb (`cargo install --locked cargo-deb`; tests/setup.sh installs it).
# The release build has no test features: `--prompts` (scripted-prompts) and the
# software signer exist only in `--all-features` test builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if ! command -v cargo-deb >/dev/null; then
  echo "build-deb: cargo-deb is missing: cargo install --locked cargo-deb" >&2
  exit 1
fi

# One release build for the binary and the man-page writer (same features,
# so nothing is compiled twice).
cargo build --release --locked --bin mohor --bin mohor-desktop --bin mohor-man

if target/release/mohor --help | grep -q -- '--prompts'; then
  echo "build-deb: the release binary contains the scripted-prompts test hook; refusing to package it" >&2
  exit 1
fi

rm -rf target/man
target/release/mohor-man target/man
gzip -9n target/man/*.1

cargo deb --no-build --locked --output target/debian/
ls target/debian/mohor_*.deb
