"""kimera_redis_server_factory(server_cert=...): the app (redis-py, hostname checks on)
refuses a server presenting each of the `fixtures` subcommand's broken certificates,
for the reason the certificate is broken."""

import re

import pytest
import redis
import redis.asyncio

from kimera_redis_init import BROKEN_SERVER_CERTS

# OpenSSL's verify error for each, as Python's ssl module reports it.
REASON = {
    "expired-server": r"certificate has expired",
    "not-yet-valid-server": r"certificate is not yet valid",
    "wrong-host-server": r"Hostname mismatch|not valid for 'localhost'",
    "other-ca-server": r"unable to get local issuer certificate",
    "self-signed-server": r"self[- ]signed certificate",
    "server-without-serverauth": r"unsu(pported|itable) certificate purpose",
}


def test_every_broken_server_certificate_is_covered():
    assert set(REASON) == set(BROKEN_SERVER_CERTS)


@pytest.mark.parametrize("name", BROKEN_SERVER_CERTS)
def test_redis_py_refuses_the_server(kimera_redis_server_factory, name):
    s = kimera_redis_server_factory(server_cert=name)
    assert s.server_cert == name
    kw = dict(s.connection_kwargs, retry=None)
    assert kw["ssl_check_hostname"] is True
    with pytest.raises(redis.exceptions.ConnectionError) as err:
        redis.Redis(**kw).ping()
    assert re.search(REASON[name], str(err.value)), str(err.value)
    # The server runs and answers a client that does not check it: only the certificate is wrong.
    assert s.processes[0].running()


@pytest.mark.asyncio
async def test_the_async_client_refuses_an_expired_server(kimera_redis_server_factory):
    s = kimera_redis_server_factory(server_cert="expired-server")
    r = redis.asyncio.Redis(**dict(s.connection_kwargs, retry=None))
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate has expired"):
        await r.ping()
    await r.aclose()


def test_an_unknown_certificate_name_is_refused(kimera_redis_server_factory):
    with pytest.raises(Exception, match="allowed: expired-server"):
        kimera_redis_server_factory(server_cert="expired")


def test_the_readiness_check_verifies_the_server_as_the_app_does(kimera_redis_server_factory):
    # A good server is only "up" once PING answers over TLS with its certificate checked:
    # the same check fails against a broken one.
    from kimera_redis_init import KimeraRedisError
    from kimera_redis_init._core import wait_until_answers

    s = kimera_redis_server_factory(server_cert="other-ca-server")
    with pytest.raises(KimeraRedisError, match="did not answer PING on port [0-9]+ as the app expects.*unable to get local issuer"):
        wait_until_answers(s.processes[0], s, "localhost", verify=True, timeout=30)
    assert not s.processes[0].running()  # a server that never came up is stopped at once
