#!/usr/bin/env bash
# Runs the whole test suite against real servers and real clients. Installs what the
# tests need when it is missing: Debian's redis-server, redis-tools, docker-compose,
# docker.io, debootstrap, prometheus-redis-exporter, openssl, Node.js/npm and a JDK; redis-py (the KIMERA app's
# client), python-dotenv and kubernetes-validate in a virtualenv under target/; node-redis
# and ioredis under target/node-clients. Starts a Docker engine of its own for the
# container and Kubernetes-simulation tests (scripts/docker-engine.sh) and stops it at
# the end, also on failure, with one image per server the suite proves (Redis 7.0 and
# 8.0, Valkey 8.1 and 9.1: scripts/server-images.sh; built once, cached under target/).
# After the cargo tests it builds the Python wheel (pyproject.toml, maturin; once per
# source state, cached under target/python-wheel/) and runs the pytest plugin's own suite
# (python/tests) in a fresh virtualenv; KIMERA_PYTHON_TESTS=0 skips that, as does running
# only some tests. CI runs exactly this (.ci/run). Ends with one
# line: "N passed, N failed, N skipped" (the cargo and pytest counts together).
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
command -v prometheus-redis-exporter >/dev/null || need+=(prometheus-redis-exporter)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv=target/test-python
# async-timeout: the test image's Python (3.11.2) imports redis-py from this virtualenv
# and needs it there. kubernetes-validate bundles the Kubernetes schemas (works offline):
# tests/suite/kubernetes.rs checks every generated manifest with it.
if ! "$venv/bin/python" -c 'import redis, dotenv, async_timeout, kubernetes_validate' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'redis>=6' python-dotenv async-timeout kubernetes-validate
fi
export KIMERA_TEST_PYTHON="$PWD/$venv/bin/python"

# node-redis and ioredis for tests/suite/client_interop.rs (the JSSE client is compiled by its test).
node_clients=target/node-clients
if ! [ -f "$node_clients/node_modules/redis/package.json" ] || ! [ -f "$node_clients/node_modules/ioredis/package.json" ]; then
  npm install --prefix "$node_clients" --no-audit --no-fund --silent redis@6 ioredis@6
fi
export KIMERA_TEST_NODE_MODULES="$PWD/$node_clients/node_modules"

# The log is kept to add up the per-binary "test result:" lines into one closing line.
test_log=$(mktemp)
py_out=$(mktemp)
corpus=""
# A skipped test passes in cargo's count; its own line (`SKIPPED <test>: <why>`, see
# tests/common/mod.rs) moves it from "passed" to "skipped".
summary() {
  awk '/^test result:/ { p += $4; f += $6 } /SKIPPED [^ ]+: / { s += 1 }
    END { printf "%d passed, %d failed, %d skipped\n", p - s, f, s }' "$test_log"
}

# shellcheck source=scripts/docker-engine.sh
source scripts/docker-engine.sh
# shellcheck source=scripts/server-images.sh
source scripts/server-images.sh
build_server_images
# One clean-up for everything this script started or made, also on failure.
cleanup() {
  stop_dockerd
  rm -f "$test_log" "$py_out"
  [ -z "$corpus" ] || rm -rf "$corpus"
}
trap cleanup EXIT

status=0
cargo test --locked "$@" 2>&1 | tee "$test_log" || status=$?
if [ "$status" -ne 0 ]; then
  summary
  exit "$status"
fi

# The Python distribution (pyproject.toml): maturin builds the release binary into a
# wheel with the pytest plugin (python/kimera_redis_init). The build costs minutes on a
# clean clone, so the wheel is kept under target/python-wheel/, keyed by a hash of every
# file that goes into it; a later run with the same sources reuses it. It is installed,
# as users install it, into a fresh virtualenv with pytest and redis-py, and the plugin's
# suite (python/tests) runs there. Its counts join cargo's as one more "test result:" line.
python_suite() {
  local key wheel_dir pyvenv
  key=$(
    {
      find Cargo.toml Cargo.lock pyproject.toml README.md .cargo src templates profiles \
        python/kimera_redis_init -type f ! -path '*/__pycache__/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum
      rustc --version
    } | sha256sum | cut -c1-16
  )
  wheel_dir=target/python-wheel/$key
  if ! compgen -G "$wheel_dir/*.whl" >/dev/null; then
    rm -rf target/python-wheel
    echo "python: building the wheel (maturin, release build; cached as $wheel_dir)"
    "$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
      --wheel-dir "$wheel_dir.partial" . || return 1
    mv "$wheel_dir.partial" "$wheel_dir"
  else
    echo "python: reusing $wheel_dir"
  fi
  pyvenv=target/python-plugin-venv
  rm -rf "$pyvenv"
  python3 -m venv "$pyvenv"
  "$pyvenv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$wheel_dir"/*.whl 'pytest>=7' pytest-asyncio pytest-xdist 'redis>=6' || return 1
  # Not activated on purpose: the plugin finds the binary in the virtualenv's bin/ itself.
  "$pyvenv/bin/python" -m pytest python/tests -q -p no:cacheprovider
}
# pytest's last line ("2 failed, 35 passed, 1 error in 9.9s") as a cargo-style line that
# summary() adds up; errors count as failures, and so does a build that did not finish.
python_result() { # status
  local last passed failed errors
  last=$(tail -n 1 "$py_out")
  passed=$(grep -oE '[0-9]+ passed' <<<"$last" | cut -d' ' -f1 || true)
  failed=$(grep -oE '[0-9]+ failed' <<<"$last" | cut -d' ' -f1 || true)
  errors=$(grep -oE '[0-9]+ errors?' <<<"$last" | cut -d' ' -f1 || true)
  failed=$((${failed:-0} + ${errors:-0}))
  if [ "$1" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  echo "test result: $([ "$1" -eq 0 ] && echo ok || echo FAILED). ${passed:-0} passed; $failed failed; (python/tests)"
}
if [ "${KIMERA_PYTHON_TESTS:-1}" != 0 ] && [ $# -eq 0 ]; then
  py_status=0
  python_suite 2>&1 | tee "$py_out" || py_status=$?
  python_result "$py_status" | tee -a "$test_log"
  if [ "$py_status" -ne 0 ]; then
    summary
    exit "$py_status"
  fi
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
