# Shared by scripts/serve.sh and scripts/test.sh (sourced): Debian packages by name, installed
# only when the command they provide is missing.

# install_missing CMD:PACKAGE... — apt-get install the packages whose command is absent.
install_missing() {
  local need=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "==> installing Debian packages: ${need[*]}"
    local sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# What the server needs at run time (ffmpeg for videos) and to fetch the pinned models (npm, pip).
install_runtime_deps() {
  install_missing ffmpeg:ffmpeg npm:npm pip3:python3-pip
}

# What the console's browser tests need: Debian's Chromium and the pinned driver package
# (playwright-core, from tests/browser/package-lock.json; it downloads no browser of its own).
install_browser_test_deps() {
  install_missing chromium:chromium node:nodejs npm:npm
  if [ ! -d tests/browser/node_modules/playwright-core ] \
     || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    echo "==> installing the browser test harness (npm ci, pinned)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# What the OpenAPI tests need (crates/cli/tests/api/openapi.rs): from npm the TypeScript client
# generator and runtime, the Postman converter and newman (tests/openapi/package-lock.json), and
# from PyPI the document validator and the Python client generator with every dependency pinned
# (tests/openapi/requirements.txt), in a virtual environment of their own (python3-venv).
install_openapi_test_deps() {
  install_missing node:nodejs npm:npm
  if [ ! -d tests/openapi/node_modules/newman ] \
     || [ tests/openapi/package-lock.json -nt tests/openapi/node_modules/.package-lock.json ]; then
    echo "==> installing the OpenAPI client generators (npm ci, pinned)"
    (cd tests/openapi && npm ci --no-audit --no-fund --loglevel=error)
  fi
  local venv=tests/openapi/.venv
  if [ ! -x "$venv/bin/python" ] || [ tests/openapi/requirements.txt -nt "$venv/.installed" ]; then
    echo "==> installing the OpenAPI validator and Python client generator (pip, pinned)"
    python3 -m venv "$venv" 2>/dev/null || {
      install_missing_pkg python3-venv
      python3 -m venv "$venv"
    }
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/openapi/requirements.txt
    touch "$venv/.installed"
  fi
}

# apt-get install PACKAGE... unconditionally (for packages that provide no command).
install_missing_pkg() {
  local sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

# A real S3-compatible store for the storage tests (crates/cli/tests/api/storage.rs,
# crates/server/tests/server/blob_store.rs): moto's server mode, from PyPI by name and pinned version.
# Chosen over building the s3s-fs binary: a pip install of pure-Python wheels takes seconds where
# compiling s3s-fs takes many minutes on 2 cores, and moto implements what the tests exercise
# (multipart uploads with S3's 5 MiB part minimum, paginated lists, batch deletes, missing-bucket
# errors). Each test starts its own instance on a free loopback port.
MOTO_VERSION=5.2.1
install_s3_test_server() {
  if ! python3 -c "import importlib.metadata as m, moto.server, flask; assert m.version('moto') == '$MOTO_VERSION'" >/dev/null 2>&1; then
    echo "==> installing moto[server]==$MOTO_VERSION (S3-compatible test store)"
    # A Debian-managed Python refuses plain installs (PEP 668): then into the user's site.
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
      || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages \
           "moto[server]==$MOTO_VERSION"
  fi
}
