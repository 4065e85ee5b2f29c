"""Generate a setup with the installed `kimera-redis-init` binary and run it with a real
`redis-server`: the code behind the pytest fixtures, usable without pytest.

Everything the setup holds comes from the binary (no second implementation here): this
module only chooses ports, runs the binary, reads the `.env` it wrote, starts servers
from the generated configs and stops them by PID.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

BINARY = "kimera-redis-init"

# The `fixtures` subcommand's broken server certificates (fixtures/<name>.crt and .key):
# each is refused by a verifying client for the reason its name gives.
BROKEN_SERVER_CERTS = (
    "expired-server",
    "not-yet-valid-server",
    "wrong-host-server",
    "other-ca-server",
    "self-signed-server",
    "server-without-serverauth",
)

# Ports are chosen below Linux's ephemeral range (32768-60999), which the kernel hands
# out to outgoing connections and to `bind(port 0)`: nothing else picks them at random.
# A cluster node also needs its bus port, port + 10000, in the same range.
PORT_LOW = 10000
PORT_HIGH = 32767
BUS_OFFSET = 10000

START_TIMEOUT = 10.0  # seconds until a started server must answer PING
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL


class KimeraRedisError(RuntimeError):
    """A setup could not be generated or a server did not come up."""


class ToolMissing(KimeraRedisError):
    """`kimera-redis-init` or `redis-server` is not installed (the plugin skips, or
    fails under CI=true)."""


# --------------------------------------------------------------------------- tools


def find_binary(explicit: Optional[str] = None) -> str:
    """The `kimera-redis-init` to run: `explicit`, $KIMERA_REDIS_INIT, the one installed
    next to this Python (a virtualenv's bin/, also when the venv is not activated), then
    PATH."""
    for candidate, origin in (
        (explicit, "given"),
        (os.environ.get("KIMERA_REDIS_INIT"), "$KIMERA_REDIS_INIT"),
    ):
        if candidate:
            found = shutil.which(candidate)
            if not found:
                raise ToolMissing(f"{BINARY} {origin} as {candidate!r} is not an executable")
            return found
    for scripts in (sysconfig.get_path("scripts"), os.path.dirname(os.path.abspath(sys.executable))):
        path = Path(scripts) / BINARY
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(BINARY)
    if found:
        return found
    raise ToolMissing(
        f"{BINARY} is not installed in this environment: pip install kimera-redis-init "
        "(or the checkout), or set KIMERA_REDIS_INIT to the binary"
    )


def find_redis_server(explicit: Optional[str] = None) -> str:
    """The `redis-server` to start: `explicit` (the --kimera-redis-server option),
    $KIMERA_REDIS_SERVER, then PATH."""
    for candidate, origin in (
        (explicit, "--kimera-redis-server"),
        (os.environ.get("KIMERA_REDIS_SERVER"), "$KIMERA_REDIS_SERVER"),
    ):
        if candidate:
            found = shutil.which(candidate)
            if not found:
                raise ToolMissing(f"redis-server from {origin} ({candidate!r}) is not an executable")
            return found
    found = shutil.which("redis-server")
    if found:
        return found
    raise ToolMissing(
        "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); "
        "or name one with --kimera-redis-server PATH or KIMERA_REDIS_SERVER"
    )


def flags_to_args(flags: Mapping[str, Any]) -> List[str]:
    """Keyword flags to the CLI's: `tls=True` -> `--tls`, `key_type="rsa-2048"` ->
    `--key-type rsa-2048`, a list -> the flag repeated (`san=["a", "b"]`), except
    `nodes`, which the CLI takes comma-separated. False and None leave a flag out."""
    args: List[str] = []
    for key, value in flags.items():
        option = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(option)
        elif key == "nodes" and not isinstance(value, str):
            args += [option, ",".join(_node_text(n) for n in value)]
        elif isinstance(value, (list, tuple)):
            for item in value:
                args += [option, str(item)]
        else:
            args += [option, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _node_text(node: Any) -> str:
    if isinstance(node, (tuple, list)):
        host, port = node
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(node)


def run_binary(args: Sequence[str], binary: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run `kimera-redis-init ARGS`; a non-zero exit raises with its stderr."""
    exe = binary or find_binary()
    done = subprocess.run([exe, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise KimeraRedisError(
            f"{BINARY} {' '.join(args)} exited with {done.returncode}:\n{done.stderr.strip()}"
        )
    return done


# --------------------------------------------------------------------------- .env


def read_env(path: Path) -> Dict[str, str]:
    """A `.env` as the generator writes it: KEY=value, bare or single-quoted (it never
    writes a quote, backslash or `${` inside a value), `#` comments."""
    env: Dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


# --------------------------------------------------------------------------- ports


class PortLease:
    """Ports held for one setup. Each is locked (flock on a file in a folder every
    process of this machine shares), so pytest-xdist workers and other test runs using
    this plugin never pick the same port; the lock goes with `release()` or with the
    process."""

    def __init__(self) -> None:
        self.ports: List[int] = []
        self._fds: List[int] = []

    def release(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()


def _lock_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "kimera-redis-init-ports"
    try:
        path.mkdir(mode=0o1777)
        os.chmod(path, 0o1777)  # shared by every user's test runs; umask may have narrowed it
    except FileExistsError:
        pass
    return path


def _bindable(port: int) -> bool:
    # SO_REUSEADDR as redis-server sets it: a port in TIME_WAIT is fine for it too.
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine: redis-server's `bind ... -::1` skips it too
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        except OSError as e:
            if family == socket.AF_INET6 and e.errno == 99:  # EADDRNOTAVAIL: no ::1
                continue
            return False
        finally:
            s.close()
    return True


def _lock(lock_dir: Path, port: int) -> Optional[int]:
    """The lock of `port` (an open file descriptor), or None when another process holds it."""
    import fcntl

    fd = os.open(lock_dir / f"{port}.lock", os.O_RDONLY | os.O_CREAT, 0o444)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def lease_ports(count: int, bus: bool = False) -> PortLease:
    """`count` free loopback ports below 32768 (with `bus`, port + 10000 free too)."""
    lease = PortLease()
    lock_dir = _lock_dir()
    rng = random.Random(os.urandom(16))
    high = PORT_HIGH - (BUS_OFFSET if bus else 0)
    for _ in range(5000):
        if len(lease.ports) == count:
            return lease
        port = rng.randint(PORT_LOW, high)
        if port in lease.ports:
            continue
        # A cluster node's bus port is locked as well: no other setup may take it as a
        # port of its own before the node listens there.
        wanted = [port, port + BUS_OFFSET] if bus else [port]
        fds = [fd for fd in (_lock(lock_dir, p) for p in wanted) if fd is not None]
        if len(fds) == len(wanted) and all(_bindable(p) for p in wanted):
            lease.ports.append(port)
            lease._fds.extend(fds)
        else:
            for fd in fds:
                os.close(fd)
    lease.release()
    raise KimeraRedisError(f"no {count} free loopback port(s) between {PORT_LOW} and {high}")


# --------------------------------------------------------------------------- setups


@dataclasses.dataclass
class Setup:
    """A folder generated by `kimera-redis-init`, read back the way the app reads it."""

    folder: Path
    profile: str
    env: Dict[str, str]
    lease: Optional[PortLease] = dataclasses.field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self.env["REDIS_HOST"]

    @property
    def port(self) -> int:
        return int(self.env["REDIS_PORT"])

    @property
    def url(self) -> str:
        """REDIS_URL: `redis.Redis.from_url(url)` (a cluster: `RedisCluster.from_url`)."""
        return self.env["REDIS_URL"]

    @property
    def tls(self) -> bool:
        return self.env.get("REDIS_SSL") == "true"

    @property
    def cluster(self) -> bool:
        return self.env.get("REDIS_CLUSTER_MODE") == "true"

    @property
    def nodes(self) -> List[Tuple[str, int]]:
        """(host, port) of every cluster node, from REDIS_CLUSTER_NODES (empty for a single server)."""
        out = []
        for node in filter(None, self.env.get("REDIS_CLUSTER_NODES", "").split(",")):
            host, port = node.rsplit(":", 1)
            out.append((host.strip("[]"), int(port)))
        return out

    @property
    def startup_nodes(self) -> list:
        """`redis.cluster.ClusterNode`s for `RedisCluster(startup_nodes=...)` (empty for a
        single server)."""
        from redis.cluster import ClusterNode

        return [ClusterNode(host, port) for host, port in self.nodes]

    @property
    def async_startup_nodes(self) -> list:
        """The same as `redis.asyncio.cluster.ClusterNode`s, for redis.asyncio's RedisCluster."""
        from redis.asyncio.cluster import ClusterNode

        return [ClusterNode(host, port) for host, port in self.nodes]

    @property
    def admin(self) -> Dict[str, str]:
        """admin.env: REDIS_ADMIN_USERNAME and REDIS_ADMIN_PASSWORD (empty without auth)."""
        path = self.folder / "admin.env"
        return read_env(path) if path.exists() else {}

    @property
    def ca_cert(self) -> Path:
        return self.folder / "certs" / "ca.crt"

    @property
    def client_cert(self) -> Path:
        return self.folder / "certs" / "redis-client.crt"

    @property
    def client_key(self) -> Path:
        return self.folder / "certs" / "redis-client.key"

    @property
    def connection_kwargs(self) -> Dict[str, Any]:
        """The app's redis-py arguments from `.env` alone: `redis.Redis(**kw)` and
        `redis.asyncio.Redis(**kw)`, or for a cluster `RedisCluster(startup_nodes=...,
        **kw)` (sync and asyncio). Hostname checking is on, as in redis-py's default.
        REDIS_RETRY_ON_TIMEOUT=true is redis-py's default since 6.0 (its
        `retry_on_timeout` argument is deprecated), so it is not passed."""
        e = self.env
        kw: Dict[str, Any] = {}
        if not self.cluster:
            kw.update(host=self.host, port=self.port, db=int(e.get("REDIS_DB") or 0))
        if e.get("REDIS_USERNAME"):
            kw["username"] = e["REDIS_USERNAME"]
        if e.get("REDIS_PASSWORD"):
            kw["password"] = e["REDIS_PASSWORD"]
        kw.update(
            socket_timeout=float(e["REDIS_SOCKET_TIMEOUT"]),
            socket_connect_timeout=float(e["REDIS_SOCKET_CONNECT_TIMEOUT"]),
            decode_responses=e["REDIS_DECODE_RESPONSES"] == "true",
            encoding=e["REDIS_ENCODING"],
            health_check_interval=int(e["REDIS_HEALTH_CHECK_INTERVAL"]),
            max_connections=int(e["REDIS_MAX_CONNECTIONS"]),
        )
        if self.cluster:
            kw["require_full_coverage"] = e.get("REDIS_SKIP_FULL_COVERAGE_CHECK") != "true"
        if self.tls:
            kw.update(
                ssl=True,
                ssl_certfile=e["REDIS_SSL_CERTFILE"],
                ssl_keyfile=e["REDIS_SSL_KEYFILE"],
                ssl_ca_certs=e["REDIS_CA_CERTS"],
                ssl_cert_reqs=e["REDIS_CERT_REQS"],
                ssl_check_hostname=True,
            )
        return kw

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()


def generate(
    folder: Path,
    profile: str = "production-tls",
    fixtures: bool = False,
    binary: Optional[str] = None,
    lease: Optional[PortLease] = None,
    **flags: Any,
) -> Setup:
    """Run the binary into `folder` (`fixtures=True`: its `fixtures` subcommand, which
    adds fixtures/ with broken certificates) and read the result back.

    Defaults: host localhost; a free port below 32768 (a cluster: three nodes on
    127.0.0.1, each with its bus port free) unless `port`/`nodes` are given."""
    folder = Path(folder)
    flags = dict(flags)
    own_lease = None
    if profile == "cluster":
        masters = int(flags.pop("masters", None) or 3)
        if "nodes" not in flags:
            count = masters * (int(flags.get("replicas") or 0) + 1)
            own_lease = lease or lease_ports(count, bus=True)
            flags["nodes"] = [("127.0.0.1", p) for p in own_lease.ports]
    else:
        flags.setdefault("host", "localhost")
        if "port" not in flags:
            own_lease = lease or lease_ports(1)
            flags["port"] = own_lease.ports[0]
    args = (["fixtures"] if fixtures else []) + ["--profile", profile, "--out", str(folder)]
    try:
        run_binary(args + flags_to_args(flags), binary)
        env = read_env(folder / ".env")
    except BaseException:
        if own_lease is not None:
            own_lease.release()
        raise
    return Setup(folder=folder, profile=profile, env=env, lease=own_lease)


# --------------------------------------------------------------------------- servers


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when the process that started it dies, even by
    SIGKILL, so no server outlives a killed test run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Process:
    """One redis-server, started from a generated config and stopped by its PID."""

    def __init__(self, server: str, conf: Path, port: int, overrides: Sequence[str] = ()):
        self.conf = conf
        self.port = port
        self.log_path = conf.parent / f"redis-server-{port}.log"
        log = open(self.log_path, "wb")
        try:
            self.popen = subprocess.Popen(
                [server, str(conf), *overrides],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(conf.parent),
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            log.close()
        _started.add(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 5 s; reaped either way."""
        _started.discard(self)
        if self.popen.poll() is None:
            try:
                self.popen.terminate()
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
            except ProcessLookupError:
                pass


# Every server not yet stopped: stop_all() (the plugin calls it at the session's end and
# atexit) stops what a fixture's teardown could not reach, e.g. after KeyboardInterrupt.
_started: "set[Process]" = set()


def stop_all() -> None:
    for proc in list(_started):
        proc.stop()


def _client_context(setup: Setup, verify: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(setup.env["REDIS_SSL_CERTFILE"], setup.env["REDIS_SSL_KEYFILE"])
    if verify:
        ctx.load_verify_locations(setup.env["REDIS_CA_CERTS"])
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _resp(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def ping(setup: Setup, host: str, port: int, verify: bool = True, timeout: float = 1.0) -> str:
    """AUTH (when the setup has a password) and PING on one connection, as the app's user
    over TLS with the client certificate; returns the reply line. `verify=False` skips
    checking the server's certificate (a server started with a broken one)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if setup.tls:
            sock = _client_context(setup, verify).wrap_socket(sock, server_hostname=host)
        request = b""
        if setup.env.get("REDIS_PASSWORD"):
            request += _resp("AUTH", setup.env.get("REDIS_USERNAME") or "default", setup.env["REDIS_PASSWORD"])
        request += _resp("PING")
        sock.sendall(request)
        data = b""
        want = request.count(b"*")
        while data.count(b"\r\n") < want:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip().splitlines()[-1] if data else ""
    finally:
        sock.close()


def wait_until_answers(proc: Process, setup: Setup, host: str, verify: bool, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        if not proc.running():
            raise KimeraRedisError(
                f"redis-server {proc.conf} exited with {proc.popen.returncode} before answering:\n{proc.log()[-3000:]}"
            )
        final = False
        try:
            reply = ping(setup, host, proc.port, verify=verify)
            if reply == "+PONG":
                return
            last = reply
            # -LOADING and the like pass; a refused login will not.
            final = reply.startswith(("-WRONGPASS", "-NOPERM", "-NOAUTH", "-ERR AUTH"))
        except ssl.SSLCertVerificationError as e:
            # The server is up and presents a certificate the app would refuse: no wait helps.
            last, final = e, True
        except (OSError, ssl.SSLError) as e:
            last = e
        if final or time.monotonic() > deadline:
            proc.stop()
            raise KimeraRedisError(
                f"redis-server {proc.conf} did not answer PING on port {proc.port} "
                f"{'as the app expects' if final else f'within {timeout:.0f} s'} "
                f"(last: {last!r}):\n{proc.log()[-2000:]}"
            )
        time.sleep(0.01)


@dataclasses.dataclass
class Server(Setup):
    """A Setup with its redis-server running (a cluster: one per node)."""

    processes: List[Process] = dataclasses.field(default_factory=list, repr=False)
    server_cert: Optional[str] = None

    @property
    def pid(self) -> int:
        return self.processes[0].pid

    @property
    def pids(self) -> List[int]:
        return [p.pid for p in self.processes]

    def log(self) -> str:
        return "\n".join(p.log() for p in self.processes)

    def stop(self) -> None:
        """Stop every server by its PID and give the ports back."""
        try:
            for p in self.processes:
                p.stop()
        finally:
            self.release()


def _address_in_use(err: KimeraRedisError) -> bool:
    return "Address already in use" in str(err)


def start_server(
    root: Path,
    profile: str = "production-tls",
    server_cert: Optional[str] = None,
    redis_server: Optional[str] = None,
    binary: Optional[str] = None,
    **flags: Any,
) -> Server:
    """Generate a single-server profile into a new folder under `root` and start its
    redis-server; returns once it answers PING (as the app's user, over TLS with the
    client certificate and, unless `server_cert` names a broken certificate, the
    server's certificate checked as the app checks it).

    `server_cert`: one of BROKEN_SERVER_CERTS for the server to present instead of its
    good certificate (the folder is made by the `fixtures` subcommand)."""
    if profile == "cluster":
        raise KimeraRedisError("profile cluster: use start_cluster / the kimera_redis_cluster fixtures")
    if server_cert is not None and server_cert not in BROKEN_SERVER_CERTS:
        raise KimeraRedisError(f"server_cert={server_cert!r}: allowed: {', '.join(BROKEN_SERVER_CERTS)}")
    server_exe = redis_server or find_redis_server()
    explicit_port = "port" in flags
    for attempt in range(5):
        folder = Path(tempfile.mkdtemp(prefix=f"{profile}-", dir=root))
        setup = generate(folder, profile, fixtures=server_cert is not None, binary=binary, **flags)
        overrides: List[str] = []
        if server_cert is not None:
            if not setup.tls:
                setup.release()
                raise KimeraRedisError(f"server_cert needs TLS: profile {profile} is plain (pass tls=True)")
            overrides = [
                "--tls-cert-file", str(folder / "fixtures" / f"{server_cert}.crt"),
                "--tls-key-file", str(folder / "fixtures" / f"{server_cert}.key"),
            ]
        server = Server(folder=setup.folder, profile=profile, env=setup.env, lease=setup.lease, server_cert=server_cert)
        try:
            proc = Process(server_exe, folder / "redis.conf", setup.port, overrides)
            server.processes.append(proc)
            wait_until_answers(proc, setup, "127.0.0.1" if server_cert else setup.host, verify=server_cert is None)
            return server
        except KimeraRedisError as e:
            server.stop()
            if explicit_port or not _address_in_use(e) or attempt == 4:
                raise
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")


def start_cluster(
    root: Path,
    masters: int = 3,
    replicas: int = 0,
    tls: bool = True,
    redis_server: Optional[str] = None,
    binary: Optional[str] = None,
    form_timeout: float = 60.0,
    **flags: Any,
) -> Server:
    """Generate the cluster profile (TLS by default) for `masters` * (`replicas` + 1)
    nodes on 127.0.0.1, start every node and form the cluster with the generated
    cluster-create.sh (which needs redis-cli on PATH). Returns once the script has
    seen cluster_state:ok."""
    server_exe = redis_server or find_redis_server()
    for attempt in range(5):
        folder = Path(tempfile.mkdtemp(prefix="cluster-", dir=root))
        setup = generate(folder, "cluster", binary=binary, tls=tls, masters=masters, replicas=replicas or None, **flags)
        cluster = Server(folder=setup.folder, profile="cluster", env=setup.env, lease=setup.lease)
        try:
            for host, port in setup.nodes:
                conf = folder / "nodes" / f"{host}-{port}" / "redis.conf"
                cluster.processes.append(Process(server_exe, conf, port))
            for (host, _), proc in zip(setup.nodes, cluster.processes):
                wait_until_answers(proc, setup, host, verify=True)
            _form(cluster, form_timeout)
            return cluster
        except KimeraRedisError as e:
            cluster.stop()
            if "nodes" in flags or not _address_in_use(e) or attempt == 4:
                raise
        except BaseException:
            cluster.stop()
            raise
    raise AssertionError("unreachable")


def _form(cluster: Server, timeout: float) -> None:
    script = cluster.folder / "cluster-create.sh"
    if not shutil.which("redis-cli"):
        raise ToolMissing("redis-cli is not installed (Debian/Ubuntu: apt-get install redis-tools); cluster-create.sh needs it")
    try:
        done = subprocess.run(
            [str(script)], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as e:
        raise KimeraRedisError(f"{script} did not finish within {timeout:.0f} s:\n{e.stdout}\n{e.stderr}") from None
    if done.returncode != 0:
        raise KimeraRedisError(
            f"{script} exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{cluster.log()[-3000:]}"
        )
