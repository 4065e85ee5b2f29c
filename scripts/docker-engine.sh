# Sourced by scripts/test.sh: a Docker engine of the test suite's own, and the local
# Redis image the container tests start (tests/containers/).
#
# - Starts `dockerd` with its own data-root, exec-root, pidfile and socket (no systemd,
#   no other engine touched), exports DOCKER_HOST for the tests, and stops it by its PID
#   when the script exits, also on failure.
# - No registry is reachable, so the image is built locally from Debian's redis-server
#   (debootstrap, once; the rootfs tarball is cached under target/ and later runs only
#   `docker import` it, about 2 s). It has its own name, never the official image's:
#   its Redis is Debian's 7.0, not the 7.4 the generated files name by default, so the
#   tests pass it with --image. python3 is in it for the app container of the bridge tests,
#   and prometheus-redis-exporter (as /redis_exporter) for the --metrics exporter service.
# Needs root (or sudo) for dockerd and debootstrap.

KIMERA_TEST_IMAGE=${KIMERA_TEST_IMAGE:-kimera-test/redis:7.0}
debian_mirror=${KIMERA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Named after what is in it, so a cache built before the exporter was added is not reused.
image_cache=target/kimera-test-image/redis-bookworm-exporter-rootfs.tar

# Short paths: unix socket paths are limited to 108 bytes, and containerd puts its own
# sockets under the exec-root.
docker_dir=$(mktemp -d /tmp/kimera-docker.XXXXXX)

stop_dockerd() {
  if [ -s "$docker_dir/dockerd.pid" ]; then
    pid=$(cat "$docker_dir/dockerd.pid")
    sudo_if_needed kill "$pid" 2>/dev/null || true
    # dockerd stops the containers still running first (their stop timeout): give it time.
    for _ in $(seq 1 600); do
      sudo_if_needed kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    sudo_if_needed kill -9 "$pid" 2>/dev/null || true
  fi
  # dockerd can leave its network namespace mounted under the exec-root.
  awk -v d="$docker_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    sudo_if_needed umount -l "$m" || true
  done
  sudo_if_needed rm -rf "$docker_dir"
}
trap stop_dockerd EXIT
trap 'exit 130' INT TERM

# Without root the socket belongs to the caller's group, so the tests can use it.
sudo_if_needed dockerd --group "$(id -g)" \
  --data-root "$docker_dir/data" --exec-root "$docker_dir/exec" \
  --pidfile "$docker_dir/dockerd.pid" -H "unix://$docker_dir/docker.sock" \
  >"$docker_dir/dockerd.log" 2>&1 &
export DOCKER_HOST="unix://$docker_dir/docker.sock"
for _ in $(seq 1 150); do
  docker version >/dev/null 2>&1 && break
  sleep 0.2
done
if ! docker version >/dev/null 2>&1; then
  echo "dockerd did not start:" >&2
  tail -n 30 "$docker_dir/dockerd.log" >&2
  exit 1
fi

if [ ! -s "$image_cache" ]; then
  echo "building the test image's root file system with debootstrap (once; cached in $image_cache)"
  rootfs="$docker_dir/rootfs"
  sudo_if_needed debootstrap --variant=minbase --include=redis-server,redis-tools,python3,prometheus-redis-exporter \
    bookworm "$rootfs" "$debian_mirror" >"$docker_dir/debootstrap.log" 2>&1 || {
    tail -n 30 "$docker_dir/debootstrap.log" >&2
    exit 1
  }
  # Like the official image: user redis is uid/gid 999, the binaries are in
  # /usr/local/bin, /data is redis's. Debian's /etc/redis (mode 2770, another uid)
  # would hide anything mounted under it, and the generated files carry their own config.
  sudo_if_needed chroot "$rootfs" sh -euc '
    groupmod -g 999 redis && usermod -u 999 -g 999 redis
    rm -rf /etc/redis /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
    ln -sf /usr/bin/redis-server /usr/bin/redis-cli /usr/local/bin/
    # Where the official oliver006/redis_exporter image has it (--metrics-image).
    ln -sf /usr/bin/prometheus-redis-exporter /redis_exporter
    mkdir -p /data && chown 999:999 /data'
  mkdir -p "$(dirname "$image_cache")"
  sudo_if_needed tar --numeric-owner -C "$rootfs" -cf "$image_cache.tmp" .
  mv "$image_cache.tmp" "$image_cache"
  sudo_if_needed rm -rf "$rootfs"
fi
docker import --change 'CMD ["redis-server"]' --change 'WORKDIR /data' \
  "$image_cache" "$KIMERA_TEST_IMAGE" >/dev/null
export KIMERA_TEST_IMAGE
echo "docker: own dockerd at $DOCKER_HOST, image $KIMERA_TEST_IMAGE"
