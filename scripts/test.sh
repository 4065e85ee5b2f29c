#!/usr/bin/env bash
# Runs the whole test suite against real servers and real clients. Installs what the
# tests need when it is missing: Debian's redis-server, redis-tools, docker-compose,
# docker.io, debootstrap, openssl, Node.js/npm and a JDK; redis-py (the KIMERA app's
# client), python-dotenv and kubernetes-validate in a virtualenv under target/; node-redis
# and ioredis under target/node-clients. Starts a Docker engine of its own for the
# container and Kubernetes-simulation tests (scripts/docker-engine.sh) and stops it at
# the end, also on failure. CI runs exactly this (.ci/run). Ends with one line:
# "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
command -v javac >/dev/null || need+=(default-jdk-headless)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv=target/test-python
# async-timeout: the test image's Python (3.11.2) imports redis-py from this virtualenv
# and needs it there. kubernetes-validate bundles the Kubernetes schemas (works offline):
# tests/kubernetes.rs checks every generated manifest with it.
if ! "$venv/bin/python" -c 'import redis, dotenv, async_timeout, kubernetes_validate' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'redis>=6' python-dotenv async-timeout kubernetes-validate
fi
export KIMERA_TEST_PYTHON="$PWD/$venv/bin/python"

# node-redis and ioredis for tests/client_interop.rs (the JSSE client is compiled by its test).
node_clients=target/node-clients
if ! [ -f "$node_clients/node_modules/redis/package.json" ] || ! [ -f "$node_clients/node_modules/ioredis/package.json" ]; then
  npm install --prefix "$node_clients" --no-audit --no-fund --silent redis@6 ioredis@6
fi
export KIMERA_TEST_NODE_MODULES="$PWD/$node_clients/node_modules"

# The log is kept to add up the per-binary "test result:" lines into one closing line.
test_log=$(mktemp)
corpus=""
summary() {
  awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$test_log"
}

# shellcheck source=scripts/docker-engine.sh
source scripts/docker-engine.sh
# One clean-up for everything this script started or made, also on failure.
cleanup() {
  stop_dockerd
  rm -f "$test_log"
  [ -z "$corpus" ] || rm -rf "$corpus"
}
trap cleanup EXIT

status=0
cargo test --locked "$@" 2>&1 | tee "$test_log" || status=$?
if [ "$status" -ne 0 ]; then
  summary
  exit "$status"
fi

# The fuzz targets (fuzz/): profile files through parsing and rendering (60 s), and each
# parser of outside bytes (RESP, PKCS#12, redis.conf, users.acl, .env, the record, the
# journal, PEM) for 10 s each, all from one build. cargo-fuzz needs nightly-only flags;
# RUSTC_BOOTSTRAP lets this machine's stable toolchain accept them. KIMERA_FUZZ_SECONDS
# sets profile_render's time (0 skips fuzzing), as does running only some tests.
fuzz_seconds=${KIMERA_FUZZ_SECONDS:-60}
parser_seconds=10
if [ "$fuzz_seconds" -gt 0 ] && [ $# -eq 0 ]; then
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.2
  corpus=$(mktemp -d)
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build)
  mkdir -p "$corpus/profile_render"
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run profile_render "$corpus/profile_render" seeds -- \
    -max_total_time="$fuzz_seconds" -timeout=10)
  echo "fuzz: profile_render ran ${fuzz_seconds} s without a finding"
  for target in resp pkcs12 redisconf acl env record journal pem; do
    mkdir -p "$corpus/$target"
    (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus/$target" -- \
      -max_total_time="$parser_seconds" -timeout=10 -rss_limit_mb=512)
    echo "fuzz: $target ran ${parser_seconds} s without a finding"
  done
fi

summary
