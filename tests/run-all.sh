#!/usr/bin/env bash
# The one command that sets up and runs every test of Mohor (CI runs exactly this):
#   bash tests/run-all.sh
# On a fresh Debian 12 machine as root it installs what it needs first (tests/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A cold CI run gains nothing from incremental caches (gigabytes of them).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

# Each step also prints the free disk space (a full disk shows up as a
# crashed linker, SIGBUS, not as a clear message) and the time since the
# start (CI has 90 minutes; a cold run should stay well under 30).
step() {
  printf '\n=== %s   [%s free, %dm%02ds in]\n' "$*" \
    "$(df -h --output=avail . | tail -1 | tr -d ' ')" $((SECONDS / 60)) $((SECONDS % 60))
}

step "setup (apt packages, pyHanko venv, npm packages)"
bash tests/setup.sh

step "format, lints and doc links"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The library without the tray (as fuzz/ builds it) stays warning-free too.
cargo clippy --lib --bins --no-default-features -- -D warnings
# Doc links that no longer resolve are how a comment goes stale (~15 s).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "build (test hooks on: scripted-prompts, software-signer; the token simulator)"
cargo build --workspace --all-features

# The Debian package's release build (installer/linux/build-deb.sh builds
# the same three binaries, then finds them fresh) runs from here on at the
# lowest priority: the tests wait on dialogs, tokens and judges much of the
# time, and the build takes only the CPU they leave (it took 5-6 minutes of
# its own as a step). Beside the fuzz build at normal priority it saved nothing.
mkdir -p target
nice -n 19 cargo build --release --locked --bin mohor --bin mohor-desktop --bin mohor-man \
  >target/package-release-build.log 2>&1 &
package_build=$!
# A failing step ends the run; the build beside it ends with it.
trap '[ -n "${package_build:-}" ] && kill "$package_build" 2>/dev/null; true' EXIT

step "Rust tests: unit, CLI, token simulator, PDF corpus, server, desktop dialogs"
rm -rf target/hardening
# --no-fail-fast: one failing test must not hide the others' results. Two
# tests at a time either way (CI has two cores; the PIN-race, latency and
# load tests measure against real time). cargo-nextest, where the machine
# has it, runs each test in its own process and keeps both slots busy across
# test files: cargo test runs the files one after another, and a file's
# last long test leaves the other slot idle (the same tests: 10 minutes
# instead of 14-15). nextest does not run doc tests; cargo test --doc does.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast --test-threads=2
  cargo test --workspace --all-features --doc
else
  echo "cargo-nextest is not installed: cargo test, one test file after another"
  cargo test --workspace --all-features --no-fail-fast -- --test-threads=2
fi

step "short fuzz campaigns (cargo-fuzz; FUZZ_SECONDS per target)"
# 20 s a target keeps the cold CI run short; SECURITY.md says how to run long campaigns.
FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash tests/fuzz.sh
# The sanitizer builds are only needed by the campaigns; on CI give the disk back.
if [ -n "${CI:-}" ]; then rm -rf fuzz/target; fi

if [ -f tests/browser/package.json ]; then
  step "browser end-to-end tests (Debian chromium + playwright-core)"
  (cd tests/browser && npm test)
fi
step "hardening figures (hostile input, faults, load; see SECURITY.md)"
cat target/hardening/*.txt 2>/dev/null || echo "(no hardening figures: those tests did not run)"
step "Debian package: one release build, apt install, run from PATH, remove (root)"
if ! wait "$package_build"; then
  echo "the package's release build failed; the end of its log:" >&2
  tail -60 target/package-release-build.log >&2
  exit 1
fi
package_build=""
bash tests/package.sh

step "all tests passed"
