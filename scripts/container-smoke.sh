#!/usr/bin/env bash
# Build the runtime stage of the Dockerfile with podman and check that the container answers its
# healthcheck, on a machine that reaches Debian's package mirror but no image registry:
#
#   1. the base image (`debian:bookworm-slim`, as the Dockerfile names it) is made locally by
#      debootstrap (minbase, from the mirror apt already uses) and `podman import`, once;
#   2. the runtime stage is taken from the Dockerfile itself (its global ARGs and everything
#      after `# ---- runtime`), with its two `COPY --from=` lines pointed at a binary built on
#      this host (a Rust toolchain image cannot be pulled here) and at the model pack and assets
#      that binary installs here with the models stage's own commands (`models fetch` for both
#      packs, `models verify`, `assets fetch`); everything else — packages, user, environment,
#      HEALTHCHECK, entrypoint — is the Dockerfile's;
#   3. the image is built with `--pull=never` and run; the script waits for the HEALTHCHECK to
#      report healthy, then checks /health/live, /health/ready (models loaded) and /api/version.
#
# Usage: scripts/container-smoke.sh   (as root; installs podman, runc and debootstrap from Debian
# when missing). FACEPROOF_BIN: the binary (default: $CARGO_TARGET_DIR or target, release, else
# debug). KEEP_IMAGE=1 keeps the built image. Nothing is written to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

install_missing podman:podman runc:runc debootstrap:debootstrap curl:curl
install_runtime_deps

target=${CARGO_TARGET_DIR:-target}
bin=${FACEPROOF_BIN:-}
if [ -z "$bin" ]; then
  for b in "$target/release/faceproof" "$target/debug/faceproof"; do
    [ -x "$b" ] && { bin=$b; break; }
  done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "no faceproof binary: cargo build --release first (or set FACEPROOF_BIN)" >&2; exit 1; }

# Two podman defaults fail on the machine this was written on (a VM with a hybrid cgroup v1/v2
# hierarchy, root without CAP_SYS_RESOURCE): crun (podman's default runtime) refuses hybrid
# cgroups ("cgroups in hybrid mode not supported"), and the default RLIMIT_NOFILE/NPROC of
# rootful containers (1048576) are above the hard limits, which only CAP_SYS_RESOURCE may raise
# ("setrlimit RLIMIT_NOFILE: Operation not permitted"). runc, with the open-files limit at the
# current hard limit and a process limit below it (runc was refused even an NPROC equal to the
# current hard limit), works there and anywhere else.
podman=(podman --runtime runc)
limits=(--ulimit "nofile=1024:$(ulimit -Hn)" --ulimit "nproc=4096:4096")

work=$(mktemp -d /tmp/faceproof-container.XXXXXX)
name=faceproof-smoke-$$
image=localhost/faceproof-smoke:$$
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  [ "${KEEP_IMAGE:-0}" = 1 ] || "${podman[@]}" rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

release=$(sed -n 's/^ARG DEBIAN_RELEASE=//p' Dockerfile)
base=localhost/debian:$release-slim
if ! "${podman[@]}" image exists "$base"; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)}
  echo "==> debootstrap $release from $mirror (base image $base)"
  debootstrap --variant=minbase "$release" "$work/rootfs" "$mirror" >"$work/debootstrap.log" \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # apt in the container: the same mirror, and no cache (as the official slim images).
  echo "deb $mirror $release main" >"$work/rootfs/etc/apt/sources.list"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$work/rootfs" -c . | "${podman[@]}" import --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

echo "==> the Dockerfile's runtime stage, with the host's binary ($bin) and models"
ctx=$work/context
mkdir -p "$ctx/opt-faceproof"
{
  sed -n '/^FROM /q; /^ARG /p' Dockerfile
  sed -n '/^# ---- runtime/,$p' Dockerfile \
    | sed -e 's|^COPY --from=build /usr/local/bin/faceproof /usr/local/bin/faceproof$|COPY faceproof /usr/local/bin/faceproof|' \
          -e 's|^COPY --from=models --chown=root:root /opt/faceproof /opt/faceproof$|COPY --chown=root:root opt-faceproof /opt/faceproof|'
} >"$ctx/Containerfile"
if grep -q -- '--from=' "$ctx/Containerfile" || [ "$(grep -c '^COPY ' "$ctx/Containerfile")" -lt 3 ]; then
  echo "the Dockerfile's runtime stage changed; update the COPY rewrites of $0" >&2
  cat "$ctx/Containerfile" >&2
  exit 1
fi
cp "$bin" "$ctx/faceproof"
cp MODELS.md "$ctx/"
echo "==> the models stage's commands, on this host, into the build context"
(
  export FACEPROOF_MODELS_DIR=$ctx/opt-faceproof/models FACEPROOF_ASSETS_DIR=$ctx/opt-faceproof/assets \
         PIP_BREAK_SYSTEM_PACKAGES=1
  "$bin" models fetch && "$bin" --pack faceplugin models fetch && "$bin" models verify \
    && "$bin" assets fetch
) >"$work/models.log" 2>&1 || { tail -20 "$work/models.log" >&2; exit 1; }
# Docker format: an OCI image (podman's default) has no HEALTHCHECK, podman drops it.
"${podman[@]}" build --pull=never --format docker "${limits[@]}" -t "$image" "$ctx" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; exit 1; }

echo "==> run and wait for the healthcheck"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# podman asks systemd for a healthcheck timer and logs an error when there is no systemd (as
# here): harmless, the check is run by hand below; its messages go to run.log.
"${podman[@]}" run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$port:8080" \
  -e FACEPROOF_ADMIN_EMAIL=admin@example.com -e FACEPROOF_ADMIN_PASSWORD=container-smoke-1 \
  "$image" >/dev/null 2>"$work/run.log" || { cat "$work/run.log" >&2; exit 1; }
healthy=""
for _ in $(seq 1 90); do
  # The image's own HEALTHCHECK (curl /health/live inside the container).
  if "${podman[@]}" healthcheck run "$name" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[ -n "$healthy" ] || { "${podman[@]}" logs "$name" | tail -20 >&2; echo "the HEALTHCHECK never passed" >&2; exit 1; }
echo "    HEALTHCHECK: healthy"
live=$(curl -fsS "http://127.0.0.1:$port/health/live")
echo "    /health/live: $live"
ready=""
for _ in $(seq 1 60); do
  if ready=$(curl -fsS "http://127.0.0.1:$port/health/ready" 2>/dev/null); then break; fi
  ready=""
  sleep 1
done
[ -n "$ready" ] || { curl -sS "http://127.0.0.1:$port/health/ready" >&2; "${podman[@]}" logs "$name" | tail -20 >&2; exit 1; }
echo "    /health/ready: $ready"
version=$(curl -fsS "http://127.0.0.1:$port/api/version" \
  | python3 -c 'import json, sys; v = json.load(sys.stdin); print(v["version"], v["backend"], v["pack"]["id"])')
echo "    /api/version: $version"
user=$("${podman[@]}" exec "$name" id -u)
[ "$user" = 10001 ] || { echo "the server runs as uid $user, not 10001" >&2; exit 1; }
echo "==> container smoke test passed (image $image, uid $user)"
