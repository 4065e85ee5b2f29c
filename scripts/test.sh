#!/usr/bin/env bash
# Runs the whole test suite against real servers. Installs what the tests need when it
# is missing: Debian's redis-server, redis-tools, docker-compose, docker.io and
# debootstrap, and redis-py (the KIMERA app's client) and python-dotenv in a virtualenv
# under target/. Starts a Docker engine of its own for the container tests (see
# scripts/docker-engine.sh) and stops it at the end. CI runs exactly this (.ci/run).
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
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv=target/test-python
# async-timeout: the test image's Python (3.11.2) imports redis-py from this virtualenv
# and needs it there.
if ! "$venv/bin/python" -c 'import redis, dotenv, async_timeout' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'redis>=6' python-dotenv async-timeout
fi
export KIMERA_TEST_PYTHON="$PWD/$venv/bin/python"

# shellcheck source=scripts/docker-engine.sh
source scripts/docker-engine.sh

cargo test --locked "$@"
stop_dockerd
trap - EXIT

# The fuzz target (fuzz/): arbitrary profile files through parsing and rendering, for a
# bounded time. cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets this machine's
# stable toolchain accept them. KIMERA_FUZZ_SECONDS=0 skips it, as does running only some tests.
fuzz_seconds=${KIMERA_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && [ $# -eq 0 ]; then
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.2
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run profile_render "$corpus" seeds -- \
    -max_total_time="$fuzz_seconds" -timeout=10)
  echo "fuzz: profile_render ran ${fuzz_seconds} s without a finding"
fi
