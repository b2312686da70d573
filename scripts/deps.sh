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
