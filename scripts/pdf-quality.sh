#!/usr/bin/env bash
# PDF text against poppler's pdftotext, as docs/EXTRACTION.md reports it: starts a release
# build of the service on a fresh data folder with the demo organisation, uploads every PDF
# of the shared corpus, files each on one case of the built-in archive, and compares the
# archive's text with pdftotext's by word multiset F1 (../shared/eval/pdf_quality.py).
# Needs pdftotext (Debian: poppler-utils) and python3.
# usage: scripts/pdf-quality.sh [PDF_DIR]   (default ../shared/data/pdfs)
set -euo pipefail
cd "$(dirname "$0")/.."
pdfs="${1:-../shared/data/pdfs}"
command -v pdftotext >/dev/null || { echo "pdftotext is missing (apt-get install poppler-utils)" >&2; exit 1; }
cargo build --release --quiet
data="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
target/release/journaliser serve --data-dir "$data" --demo --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
token="$(target/release/journaliser token --data-dir "$data" --user pdf-quality)"
case_id="VK-2026-0031"
python3 ../shared/eval/pdf_quality.py "http://127.0.0.1:$port" "$token" "$case_id" \
  "$data/archive/$case_id" "$pdfs"
