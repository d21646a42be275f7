#!/usr/bin/env bash
# Builds Mohor.app and Mohor-<version>.pkg ON A MAC (Xcode command-line tools:
# iconutil, pkgbuild, productbuild; Rust with both Apple targets):
#
#   bash installer/macos/build-pkg.sh
#
# NOT RUN on the Linux machine this project is developed on (the tools exist
# only on macOS). Signing and notarisation need the office's Apple Developer ID:
# set SIGN_APP="Developer ID Application: ..." and SIGN_PKG="Developer ID
# Installer: ..." to sign; without them the pkg is unsigned (Gatekeeper warns).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
out=target/macos
rm -rf "$out" && mkdir -p "$out"

# One universal binary from two release builds (no test features).
rustup target add aarch64-apple-darwin x86_64-apple-darwin
# mohor (every command) and mohor-desktop (the tray agent it starts).
cargo build --release --locked --bin mohor --bin mohor-desktop --target aarch64-apple-darwin
cargo build --release --locked --bin mohor --bin mohor-desktop --target x86_64-apple-darwin
app="$out/root/Applications/Mohor.app/Contents"
mkdir -p "$app/MacOS" "$app/Resources"
for bin in mohor mohor-desktop; do
  lipo -create -output "$app/MacOS/$bin" \
    "target/aarch64-apple-darwin/release/$bin" "target/x86_64-apple-darwin/release/$bin"
done
if "$app/MacOS/mohor" --help | grep -q -- '--prompts'; then
  echo "build-pkg: the binary contains a test hook; refusing" >&2; exit 1
fi
sed "s/@VERSION@/$version/g" installer/macos/Info.plist > "$app/Info.plist"
iconutil -c icns assets/icons/mohor.iconset -o "$app/Resources/mohor.icns"
cp LICENSE "$app/Resources/LICENSE.txt"
mkdir -p "$out/root/Library/LaunchAgents"
cp installer/macos/in.mohor.agent.plist "$out/root/Library/LaunchAgents/"

if [ -n "${SIGN_APP:-}" ]; then
  codesign --force --options runtime --timestamp --sign "$SIGN_APP" "$out/root/Applications/Mohor.app"
fi
pkgbuild --root "$out/root" --identifier in.mohor.pkg --version "$version" \
  --install-location / "$out/mohor-component.pkg"
mkdir -p "$out/resources"
cp LICENSE "$out/resources/LICENSE.txt"
sed "s/@VERSION@/$version/g" installer/macos/distribution.xml > "$out/distribution.xml"
sign_args=()
[ -n "${SIGN_PKG:-}" ] && sign_args=(--sign "$SIGN_PKG")
productbuild --distribution "$out/distribution.xml" --package-path "$out" \
  --resources "$out/resources" "${sign_args[@]}" "$out/Mohor-$version.pkg"
echo "$out/Mohor-$version.pkg"
