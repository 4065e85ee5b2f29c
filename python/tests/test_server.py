"""kimera_redis_server: a production-tls redis-server as the app meets it."""

import pytest
import redis
import redis.asyncio

from conftest import listening


def test_the_app_connects_over_mutual_tls_as_its_acl_user(kimera_redis_server):
    s = kimera_redis_server
    kw = s.connection_kwargs
    assert kw["ssl"] is True and kw["ssl_check_hostname"] is True
    assert kw["ssl_cert_reqs"] == "required" and kw["username"] == "kimera_user"
    assert (s.host, s.port) == ("localhost", kw["port"]) and s.port < 32768
    assert s.env["REDIS_HOST"] == "localhost" and s.folder.joinpath(".env").is_file()
    r = redis.Redis(**kw)
    assert r.ping()
    r.set("kimera:greeting", "hello")
    assert r.get("kimera:greeting") == "hello"  # decode_responses from .env
    assert r.acl_whoami() == "kimera_user"
    r.close()


def test_from_url(kimera_redis_server):
    r = redis.Redis.from_url(kimera_redis_server.url)
    assert r.ping()
    assert r.acl_whoami() in (b"kimera_user", "kimera_user")
    r.close()


@pytest.mark.asyncio
async def test_the_async_client(kimera_redis_server):
    r = redis.asyncio.Redis(**kimera_redis_server.connection_kwargs)
    assert await r.ping()
    await r.set("kimera:async", "yes")
    assert await r.get("kimera:async") == "yes"
    await r.aclose()
    r = redis.asyncio.Redis.from_url(kimera_redis_server.url)
    assert await r.ping()
    await r.aclose()


def test_a_plain_connection_is_refused(kimera_redis_server):
    kw = {k: v for k, v in kimera_redis_server.connection_kwargs.items() if not k.startswith("ssl")}
    kw.update(socket_timeout=2, socket_connect_timeout=2, retry=None)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(**kw).ping()


def test_tls_without_a_client_certificate_is_refused(kimera_redis_server):
    kw = dict(kimera_redis_server.connection_kwargs, retry=None)
    del kw["ssl_certfile"], kw["ssl_keyfile"]
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(**kw).ping()


def test_the_default_user_is_off(kimera_redis_server):
    kw = dict(kimera_redis_server.connection_kwargs, retry=None)
    del kw["username"], kw["password"]
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(**kw).ping()


def test_each_server_is_stopped_by_its_pid_after_its_test(kimera_redis_server_factory):
    from conftest import alive

    a = kimera_redis_server_factory()
    b = kimera_redis_server_factory(key_type="rsa-2048")
    assert a.port != b.port and alive(a.pid) and alive(b.pid)
    assert "rsa-2048" in (b.folder / "kimera-redis.toml").read_text()
    a.stop()
    assert not alive(a.pid) and not listening(a.port)
    assert redis.Redis(**b.connection_kwargs).ping()


def test_flags_reach_the_cli(kimera_redis_server_factory):
    s = kimera_redis_server_factory("high-performance", tls=True, maxmemory="64mb")
    assert s.tls and s.env["REDIS_MAX_CONNECTIONS"] == "100"
    r = redis.Redis(**s.connection_kwargs)
    assert r.ping()
    assert "maxmemory 64mb" in (s.folder / "redis.conf").read_text()


def test_a_plain_profile_runs_too(kimera_redis_server_factory):
    s = kimera_redis_server_factory("local-dev")
    assert not s.tls and "ssl" not in s.connection_kwargs
    assert redis.Redis(**s.connection_kwargs).ping()


def test_the_tools_own_checks_agree(kimera_redis_server):
    # The folder is exactly what the binary generated (the server's log aside), and the
    # binary's own client reaches the running server from .env.
    import subprocess

    from kimera_redis_init import find_binary

    for command in ("verify", "doctor"):
        done = subprocess.run([find_binary(), command, str(kimera_redis_server.folder)], capture_output=True, text=True)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
