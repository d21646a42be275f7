#!/usr/bin/env bash
# Short fuzz campaigns of every target in fuzz/ (cargo-fuzz, libFuzzer), as CI runs them:
#   bash tests/fuzz.sh                 # FUZZ_SECONDS per target (default 45)
#   FUZZ_SECONDS=3600 FUZZ_TARGETS="pdf_prepare" bash tests/fuzz.sh   # a long campaign
# Needs nightly Rust; where there is none, stable runs with RUSTC_BOOTSTRAP=1.
# Corpora are seeded at run time (never committed: the PDFs are third-party) from
# ../shared/corpus/pdf and the examples in docs/PROTOCOL.md, into fuzz/corpus/<target>.
# Prints, per target: inputs tried (execs), corpus size, crashes (must be 0).
# A crash leaves its input in fuzz/artifacts/<target>/ (log: fuzz/logs/<target>.log); see SECURITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-45}
targets=${FUZZ_TARGETS:-"jsonrpc_request pdf_prepare origin_host handshake transfer verify_document"}
corpus_pdf=${MOHOR_PDF_CORPUS:-$root/../shared/corpus/pdf}

if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: cargo-fuzz is missing (cargo install cargo-fuzz --locked; tests/setup.sh does it)" >&2
  exit 1
fi
# FUZZ_STABLE=1 forces the stable fall-back (to check it where nightly exists).
if [ -z "${FUZZ_STABLE:-}" ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
  echo "fuzz: nightly $(rustup run nightly rustc --version)"
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
  echo "fuzz: no nightly toolchain; stable $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

# Seeds -------------------------------------------------------------------
seed() { # seed TARGET NAME CONTENT
  mkdir -p "fuzz/corpus/$1"
  printf '%b' "$3" > "fuzz/corpus/$1/seed-$2"
}
mkdir -p fuzz/corpus/jsonrpc_request fuzz/corpus/pdf_prepare fuzz/corpus/verify_document
n=0
grep -o '{"jsonrpc":"2.0",[^`]*' docs/PROTOCOL.md | while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" > "fuzz/corpus/jsonrpc_request/seed-doc-$n"
done
seed jsonrpc_request pin '{"jsonrpc":"2.0","id":9,"method":"sign.data","params":{"data":"AA==","userPin":"1234"}}'
seed jsonrpc_request nested '{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":[[[[[[[[{"b":[[[]]]}]]]]]]]]}}'
seed jsonrpc_request upload '{"jsonrpc":"2.0","id":2,"method":"upload.begin","params":{"size":5,"sha256":"'"$(printf 'hello' | sha256sum | cut -c1-64)"'"}}'
seed jsonrpc_request chunk '{"jsonrpc":"2.0","id":3,"method":"upload.chunk","params":{"uploadId":"u1","offset":0,"data":"aGVsbG8="}}'
seed jsonrpc_request batch '{"jsonrpc":"2.0","id":5,"method":"sign.batch","params":{"items":[{"data":"AA=="},{"uploadId":"u1","fileName":"a.pdf"}]}}'
if [ -d "$corpus_pdf" ]; then
  find "$corpus_pdf" -name '*.pdf' -size -200k -exec cp {} fuzz/corpus/pdf_prepare/ \;
  # The verifier starts from the same documents (the signed ones among them
  # reach the CMS and change checks).
  find "$corpus_pdf" -name '*.pdf' -size -200k -exec cp {} fuzz/corpus/verify_document/ \;
else
  [ -z "${CI:-}" ] || { echo "fuzz: the PDF corpus $corpus_pdf is missing" >&2; exit 1; }
  echo "fuzz: SKIPPED seeding from $corpus_pdf (missing)"
fi
# What Mohor itself signed in the Rust tests that run-all.sh runs first (PDFs
# at every PAdES level, one whose DSS revokes its signer; detached CAdES-T and
# three co-signers) and, after a browser run, the demo's twice-signed PDF. A
# detached pair is one input: an odd byte, the signature's length (2 bytes,
# big-endian), the signature, its data.
for f in target/tmp/t/cli-ltv-verify-level/*.pdf target/test-artifacts/demo-signed-twice.pdf; do
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 262144 ]; then
    cp "$f" "fuzz/corpus/verify_document/seed-mohor-$(basename "$f")"
  fi
done
pair() { # pair NAME SIGNATURE DATA
  [ -f "$2" ] && [ -f "$3" ] || return 0
  python3 -c 'import sys; s=open(sys.argv[1],"rb").read(); d=open(sys.argv[2],"rb").read(); open(sys.argv[3],"wb").write(bytes([1])+len(s).to_bytes(2,"big")+s+d)' \
    "$2" "$3" "fuzz/corpus/verify_document/seed-$1"
}
pair cades-t target/tmp/t/cli-ltv-verify-level/note.p7s target/tmp/t/cli-ltv-verify-level/note.txt
pair cosigned target/tmp/t/detached_cosign/abc.p7s target/tmp/t/detached_cosign/minutes.txt
pair demo target/test-artifacts/demo-text.p7s target/test-artifacts/demo-text.txt
seed pdf_prepare tiny '%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\ntrailer\n<< /Root 1 0 R /Size 4 >>\n%%EOF\n'
seed origin_host exact '\x40\x55https://eoffice.gov.in\nhttps://eoffice.gov.in\n127.0.0.1:21760'
seed origin_host wildcard '\x40\x55https://*.nic.in:8443\nhttps://a.nic.in:8443\nlocalhost:21760'
seed origin_host loopback '\x41\x55http://127.0.0.1:8765\nhttp://[::1]:8765\n[::1]:21761'
seed origin_host bad 'xxHTTPS://EOFFICE.gov.in./\nhttps://user@eoffice.gov.in/path\nevil.example:21760'
req() { printf 'GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n' "$1" "$2"; }
mkdir -p fuzz/corpus/handshake fuzz/corpus/transfer
req 127.0.0.1:21760 https://eoffice.gov.in > fuzz/corpus/handshake/seed-good
req localhost:21760 https://a.nic.in > fuzz/corpus/handshake/seed-wildcard
req '[::1]:21760' http://127.0.0.1:8765 > fuzz/corpus/handshake/seed-dev
req evil.example:21760 https://eoffice.gov.in > fuzz/corpus/handshake/seed-rebinding
req 127.0.0.1:21760 https://evil.example > fuzz/corpus/handshake/seed-cswsh
# What gets 426 Upgrade Required: a plain request, and (not) an upgrade after empty lines.
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\n\r\n' > fuzz/corpus/handshake/seed-plain
{ printf '\r\n\n'; req 127.0.0.1:21760 https://eoffice.gov.in; } > fuzz/corpus/handshake/seed-empty-lines
seed transfer upload '\x00\x02\x00\x01\x00\x10\x01\x01\x00\x10\x01\x01\x03\x00'
seed transfer download '\x04\x40\x05\x00\x01\x05\x00\x01\x05\x00\x01\x05\x00\x01\x06\x00'
seed transfer mixed '\x00\x40\x07\x04\x30\x01\x00\x10\x01\x02\x00\x05\x00\x01\x06\x00\x03\x00'

# Build once, then run each target ----------------------------------------
echo "fuzz: building the targets (release, debug assertions on)"
mkdir -p fuzz/logs
cargo "${toolchain[@]}" fuzz build -O -a -s none >/dev/null

# Every input that once failed is replayed first (fuzz/regressions/<target>/).
for t in $targets; do
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    cargo "${toolchain[@]}" fuzz run -O -a -s none "$t" "$root"/fuzz/regressions/"$t"/* >"fuzz/logs/$t.regressions.log" 2>&1 \
      || { echo "fuzz: $t fails on a regression input; see fuzz/logs/$t.regressions.log" >&2; exit 1; }
    echo "fuzz: $t replays $(ls "fuzz/regressions/$t" | wc -l) regression input(s): ok"
  fi
done

# Two campaigns at a time: libFuzzer runs one process per target, and CI has
# two cores (this halves the step's wall time; each target still gets its
# FUZZ_SECONDS). FUZZ_JOBS changes it.
jobs=${FUZZ_JOBS:-2}
campaign() { # campaign TARGET: runs it, writes "execs crashes rc" to fuzz/logs/TARGET.result
  local t=$1 log="fuzz/logs/$1.log" before after execs rc
  mkdir -p "fuzz/artifacts/$t"
  before=$(find "fuzz/artifacts/$t" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
  set +e
  cargo "${toolchain[@]}" fuzz run -O -a -s none "$t" "$root/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 -artifact_prefix="$root/fuzz/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  after=$(find "fuzz/artifacts/$t" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "${execs:-0} $((after - before)) $rc" >"fuzz/logs/$t.result"
}
mkdir -p fuzz/logs
running=0
for t in $targets; do
  rm -f "fuzz/logs/$t.result"
  campaign "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

total_execs=0
total_crashes=0
printf '\n%-16s %10s %8s %8s\n' target execs corpus crashes
for t in $targets; do
  log="fuzz/logs/$t.log"
  read -r execs crashes rc <"fuzz/logs/$t.result" || { execs=0; crashes=1; rc=1; }
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  printf '%-16s %10s %8s %8s\n' "$t" "$execs" "$corpus" "$crashes"
  total_execs=$((total_execs + execs))
  total_crashes=$((total_crashes + crashes))
  if [ "$crashes" -ne 0 ]; then
    echo "fuzz: $t failed (rc=$rc); the end of $log:" >&2
    tail -40 "$log" >&2
  fi
done
echo "fuzz: inputs tried=$total_execs crashes=$total_crashes (${seconds}s per target)"
[ "$total_crashes" -eq 0 ]
