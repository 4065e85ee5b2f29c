# Sourced by scripts/test.sh after docker-engine.sh: one local image per server the
# suite proves (tests/containers/servers.rs), each built from Debian's own package of that server and
# nothing else of Redis or Valkey (a Valkey image has valkey-server and valkey-cli only,
# as Debian ships them without valkey-redis-compat), so a generated file that names the
# other server's tool fails there as it would for a user.
#
#   kimera-test/redis:7.0    bookworm  redis-server 7.0  (the image docker-engine.sh builds)
#   kimera-test/redis:8.0    trixie    redis-server 8.0
#   kimera-test/valkey:8.1   trixie    valkey-server 8.1
#   kimera-test/valkey:9.1   sid       valkey-server 9.1
#
# Containers rather than chroots: the same images run the compose files, `docker run
# --network host` gives each server the host's loopback ports without root inside the
# test, and `docker rm -f` stops one by name also when a test fails. Each root file system
# is made once with debootstrap (in parallel: the time is the mirror's) and cached as a
# tarball under target/kimera-test-image/; a later run only imports it (about 2 s each).
# Exports KIMERA_TEST_SERVERS: "name=image" pairs, space-separated.

server_images=(
  "redis-8.0 trixie redis-server,redis-tools redis"
  "valkey-8.1 trixie valkey-server,valkey-tools valkey"
  "valkey-9.1 sid valkey-server,valkey-tools valkey"
)

# debootstrap one suite with one server's packages, then shape it like the official
# images: the server's user is uid/gid 999, /data is its, the binaries are in
# /usr/local/bin too. Debian's /etc/<server> (mode 2770, another uid) would hide anything
# mounted under it, and the generated files carry their own config.
build_server_rootfs() { # name suite packages user tarball
  local rootfs log
  rootfs=$(mktemp -d "/tmp/kimera-rootfs-$1.XXXXXX")
  log="$rootfs.log"
  sudo_if_needed debootstrap --variant=minbase --include="$3" "$2" "$rootfs" "$debian_mirror" \
    >"$log" 2>&1 || {
    echo "debootstrap of $1 ($2: $3) failed:" >&2
    tail -n 30 "$log" >&2
    return 1
  }
  # sid's base system gives gid 999 to another group (lpadmin): it gives way.
  sudo_if_needed chroot "$rootfs" sh -euc "
    other=\$(awk -F: '\$3 == 999 && \$1 != \"$4\" { print \$1 }' /etc/group)
    [ -z \"\$other\" ] || groupmod -g 989 \"\$other\"
    groupmod -g 999 $4
    usermod -u 999 -g 999 $4
    rm -rf /etc/$4 /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
    for b in /usr/bin/$4-*; do ln -sf \"\$b\" /usr/local/bin/; done
    mkdir -p /data && chown 999:999 /data"
  sudo_if_needed tar --numeric-owner -C "$rootfs" -cf "$5.tmp" .
  mv "$5.tmp" "$5"
  sudo_if_needed rm -rf "$rootfs" "$log"
}

build_server_images() {
  local dir=target/kimera-test-image entry name suite packages user tarball pids=() failed=0
  mkdir -p "$dir"
  KIMERA_TEST_SERVERS="redis-7.0=$KIMERA_TEST_IMAGE"
  for entry in "${server_images[@]}"; do
    read -r name suite packages user <<<"$entry"
    tarball="$dir/$name-$suite-rootfs.tar"
    if [ ! -s "$tarball" ]; then
      echo "building $name's root file system with debootstrap ($suite; once; cached in $tarball)"
      build_server_rootfs "$name" "$suite" "$packages" "$user" "$tarball" &
      pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" -eq 0 ] || return 1
  for entry in "${server_images[@]}"; do
    read -r name suite packages user <<<"$entry"
    tarball="$dir/$name-$suite-rootfs.tar"
    docker import --change "CMD [\"$user-server\"]" --change 'WORKDIR /data' \
      "$tarball" "kimera-test/${name/-/:}" >/dev/null
    KIMERA_TEST_SERVERS+=" $name=kimera-test/${name/-/:}"
  done
  export KIMERA_TEST_SERVERS
  echo "servers: $KIMERA_TEST_SERVERS"
}
