"""kimera-redis-init for Python: the `kimera-redis-init` binary (installed on the
environment's PATH with this package) and a pytest plugin whose fixtures run what it
generates with a real redis-server (see kimera_redis_init.pytest_plugin).

The same without pytest:

    from kimera_redis_init import start_server
    server = start_server(tmp_dir)            # production-tls, on a free port
    redis.Redis(**server.connection_kwargs).ping()
    server.stop()
"""

from ._core import (
    BROKEN_SERVER_CERTS,
    KimeraRedisError,
    Server,
    Setup,
    ToolMissing,
    find_binary,
    find_redis_server,
    generate,
    read_env,
    start_cluster,
    start_server,
)

__all__ = [
    "BROKEN_SERVER_CERTS",
    "KimeraRedisError",
    "Server",
    "Setup",
    "ToolMissing",
    "find_binary",
    "find_redis_server",
    "generate",
    "read_env",
    "start_cluster",
    "start_server",
]
