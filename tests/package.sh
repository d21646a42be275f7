#!/usr/bin/env bash
# The Debian package test (root, apt): build the .deb from the one release
# build, install it with apt, run what an official gets, remove it.
#
#   bash tests/package.sh
#
# Checks: `mohor --version` runs from PATH; desktop-file-validate accepts the
# desktop and autostart entries; the man page is there; the packaged binary
# has no test hooks; a second `mohor` start exits 0 and leaves one agent;
# `apt-get remove` leaves only the autostart conffile (inert: TryExec) and
# user data; `apt-get purge` leaves nothing of the package, user data stays.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf 'package: %s\n' "$*"; }
fail() { printf 'package: FAILED: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  fail "needs root (apt-get install); CI runs as root"
fi
if dpkg-query -W -f='${Status}' mohor 2>/dev/null | grep -q "ok installed"; then
  fail "a mohor package is installed already; this test would remove it"
fi

bash installer/linux/build-deb.sh
deb=$(ls -t target/debian/mohor_*.deb | head -1)
say "built $deb ($(du -h "$deb" | cut -f1))"

work=$(mktemp -d /tmp/mohor-package.XXXXXX)
agent_pid=""; xvfb_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  if dpkg-query -W mohor >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mohor >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "installing with apt"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
dpkg -L mohor | sort > "$work/files"
# Stamps in Hindi, Bengali and the other Indian scripts need the Noto faces;
# without them such a stamp is refused, so the package must bring them.
dpkg-query -W -f='${Depends}' mohor | grep -q 'fonts-noto-core' \
  || fail "the package does not depend on fonts-noto-core (Indian-script stamps)"
dpkg-query -W -f='${Status}' fonts-noto-core | grep -q "ok installed" \
  || fail "installing the package left fonts-noto-core out"

[ "$(command -v mohor)" = /usr/bin/mohor ] || fail "mohor is not on PATH as /usr/bin/mohor"
version=$(cd / && mohor --version)
expected="mohor $(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
[ "$version" = "$expected" ] || fail "mohor --version said '$version', expected '$expected'"
say "$version runs from PATH"
if mohor --help | grep -q -- '--prompts'; then fail "the package has the scripted-prompts test hook"; fi
# The command-line program loads no GTK (~9 ms of every command); the tray
# agent it becomes without a command does.
[ -x /usr/bin/mohor-desktop ] || fail "no /usr/bin/mohor-desktop"
if ldd /usr/bin/mohor | grep -q libgtk; then fail "/usr/bin/mohor links GTK"; fi
ldd /usr/bin/mohor-desktop | grep -q libgtk-3 || fail "/usr/bin/mohor-desktop does not link GTK"
say "mohor links no GTK; mohor-desktop does"

desktop-file-validate /usr/share/applications/mohor.desktop /etc/xdg/autostart/mohor.desktop \
  || fail "desktop-file-validate rejects the entries"
for n in 16 22 24 32 48 64 128 256; do
  [ -f "/usr/share/icons/hicolor/${n}x${n}/apps/mohor.png" ] || fail "no ${n}px icon"
done
zcat /usr/share/man/man1/mohor.1.gz | grep -q '^\.TH mohor 1' || fail "no man page mohor(1)"
zcat /usr/share/man/man1/mohor-doctor.1.gz | grep -q 'pcscd' || fail "no man page mohor-doctor(1)"
[ -f /usr/share/doc/mohor/copyright ] || fail "no copyright file"
grep -q "^License: Apache-2.0" /usr/share/doc/mohor/copyright || fail "the licence is not named"
grep -q "^License: bitstream-vera" /usr/share/doc/mohor/copyright || fail "the embedded font's licence is missing"
[ -f /usr/share/doc/mohor/changelog.Debian.gz ] || fail "no changelog.Debian.gz"
say "desktop entries valid; icons, man pages, licence present"

# One agent per user: start the desktop agent, then a second one.
export MOHOR_HOME="$work/home"
mkdir -p "$MOHOR_HOME"
exec 3< <(Xvfb -displayfd 1 -screen 0 1024x768x24 -nolisten tcp 2>/dev/null)
xvfb_pid=$!
read -r -t 30 display_number <&3 || fail "Xvfb did not start"
export DISPLAY=":$display_number" GDK_BACKEND=x11 NO_AT_BRIDGE=1
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-bus"
export XDG_CONFIG_HOME="$work/xdg"
# A port of its own so a developer's running agent is not in the way.
printf 'port = %s\n' "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" \
  > "$MOHOR_HOME/config.toml"
(cd / && exec mohor) > "$work/first.out" 2>&1 &
agent_pid=$!
for _ in $(seq 1 120); do
  grep -q "listening on ws://127.0.0.1:" "$work/first.out" && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$work/first.out"; fail "the installed agent exited"; }
  sleep 0.5
done
grep -q "listening on ws://127.0.0.1:" "$work/first.out" || { cat "$work/first.out"; fail "the agent did not start"; }
set +e
second=$(cd / && timeout 60 mohor 2>&1)
rc=$?
set -e
[ "$rc" = 0 ] || fail "a second start exited $rc: $second"
echo "$second" | grep -q "already running" || fail "the second start did not find the first: $second"
agents=0
for p in /proc/[0-9]*; do
  case "$(readlink "$p/exe" 2>/dev/null)" in
    /usr/bin/mohor | /usr/bin/mohor-desktop) agents=$((agents + 1)) ;;
  esac
done
[ "$agents" = 1 ] || fail "$agents mohor processes run after a second start (want 1)"
say "a second start exits 0 and leaves one agent"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
kill "$xvfb_pid" 2>/dev/null || true; xvfb_pid=""
[ -d "$MOHOR_HOME/state" ] || fail "the agent kept no state (user data) in MOHOR_HOME"

say "removing"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq mohor >/dev/null
left=$(while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done < "$work/files")
[ "$left" = /etc/xdg/autostart/mohor.desktop ] \
  || fail "after remove, expected only the autostart conffile, found: ${left:-nothing}"
grep -q '^TryExec=mohor' "$left" || fail "the left conffile would start a missing program"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mohor >/dev/null
left=$(while read -r f; do if [ -e "$f" ] && [ ! -d "$f" ]; then echo "$f"; fi; done < "$work/files")
[ -z "$left" ] || fail "after purge these remain: $left"
! command -v mohor >/dev/null || fail "mohor is still on PATH"
[ -d "$MOHOR_HOME/state" ] || fail "removing the package removed user data"
say "removal leaves nothing but user data"
say "ok"
