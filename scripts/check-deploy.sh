#!/usr/bin/env bash
# Validates the packaging files with the strictest validators this machine can run offline:
# deploy/k8s/*.yaml against the Kubernetes API schemas (kubernetes-validate, strict: unknown
# fields fail) and deploy/compose.yaml against the Compose Specification schema
# (check-jsonschema's vendored compose-spec). Both from PyPI, pinned, in a virtualenv under
# target/. The image itself is built by `docker build .` where a container engine runs; what the
# files name (settings, routes) is checked by crates/server/tests/server/deploy_files.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/deploy-check-venv
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/check-jsonschema" ]; then
  echo "==> installing the deployment validators (pinned, PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi
"$venv/bin/kubernetes-validate" --strict --quiet deploy/k8s/*.yaml
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
echo "deploy files valid"
