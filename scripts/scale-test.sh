#!/usr/bin/env bash
# The scale-out test at a larger size than CI runs: two API servers and three workers on one
# PostgreSQL database and media store, ORDERS mixed orders (photo, biometry, video, blacklist;
# each with a webhook) while workers are SIGKILLed KILLS times; then every analysis must have
# ended exactly once and the database must agree with the media store
# (crates/cli/tests/api/scale.rs).
#
#   scripts/scale-test.sh [ORDERS=60] [KILLS=15]
#
# Needs what the test command installs (scripts/test.sh) and a PostgreSQL server
# (FACEPROOF_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
export FACEPROOF_SCALE_ORDERS="${1:-60}"
export FACEPROOF_SCALE_KILLS="${2:-15}"
export FACEPROOF_TEST_DATABASE_URL="${FACEPROOF_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
exec cargo nextest run --workspace --no-capture -E 'binary(api) and test(/^scale::/)'
