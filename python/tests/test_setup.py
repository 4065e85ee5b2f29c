"""kimera_redis_setup: a generated folder without a server."""

import redis
import pytest

from conftest import listening


def test_a_setup_without_a_server(kimera_redis_setup):
    s = kimera_redis_setup()
    assert s.profile == "production-tls" and s.tls and not s.cluster
    assert (s.folder / "redis.conf").is_file() and s.ca_cert.is_file()
    assert s.env["REDIS_SSL_CERTFILE"] == str(s.client_cert)
    assert s.url.startswith("rediss://kimera_user:") and f"@localhost:{s.port}/0?" in s.url
    assert s.connection_kwargs["password"] == s.env["REDIS_PASSWORD"]
    assert s.startup_nodes == []
    assert not listening(s.port)
    assert s.admin["REDIS_ADMIN_USERNAME"] == "kimera_admin"


def test_flags_map_to_the_cli(kimera_redis_setup):
    s = kimera_redis_setup("cluster", tls=True, nodes=["127.0.0.1:17001", "127.0.0.1:17002", "127.0.0.1:17003"],
                           key_type="rsa-2048", san=["cache.internal", "10.9.8.7"])
    assert s.nodes == [("127.0.0.1", 17001), ("127.0.0.1", 17002), ("127.0.0.1", 17003)]
    assert [n.name for n in s.startup_nodes] == ["127.0.0.1:17001", "127.0.0.1:17002", "127.0.0.1:17003"]
    assert "host" not in s.connection_kwargs and s.connection_kwargs["require_full_coverage"] is True
    record = (s.folder / "kimera-redis.toml").read_text()
    assert "rsa-2048" in record and "cache.internal" in record and "10.9.8.7" in record


def test_fixtures_gives_the_broken_certificates(kimera_redis_setup):
    from kimera_redis_init import BROKEN_SERVER_CERTS

    s = kimera_redis_setup(fixtures=True)
    for name in BROKEN_SERVER_CERTS:
        assert (s.folder / "fixtures" / f"{name}.crt").is_file()
        assert (s.folder / "fixtures" / f"{name}.key").is_file()


def test_a_bad_flag_names_the_cli_error(kimera_redis_setup):
    with pytest.raises(Exception, match="key-type"):
        kimera_redis_setup(key_type="dsa-512")
