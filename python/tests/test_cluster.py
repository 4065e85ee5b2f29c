"""kimera_redis_cluster: a TLS cluster of three masters formed by cluster-create.sh."""

import pytest
import redis
import redis.asyncio.cluster
from redis.cluster import ClusterNode, RedisCluster


def test_keys_land_on_all_three_masters(kimera_redis_cluster):
    c = kimera_redis_cluster
    assert c.cluster and c.tls and len(c.startup_nodes) == 3
    assert all(isinstance(n, ClusterNode) for n in c.startup_nodes)
    assert all(p < 22768 for _, p in c.nodes)  # the bus port (+10000) stays below 32768 too
    rc = RedisCluster(startup_nodes=c.startup_nodes, **c.connection_kwargs)
    keys = [f"kimera:{i}" for i in range(60)]
    for k in keys:
        rc.set(k, k[::-1])
    assert all(rc.get(k) == k[::-1] for k in keys)
    owners = {rc.get_node_from_key(k).name for k in keys}
    assert owners == {f"{h}:{p}" for h, p in c.nodes}
    assert len(rc.get_primaries()) == 3
    rc.close()


def test_cluster_from_url(kimera_redis_cluster):
    rc = RedisCluster.from_url(kimera_redis_cluster.url)
    assert rc.ping()
    assert len(rc.get_primaries()) == 3
    rc.close()


@pytest.mark.asyncio
async def test_the_async_cluster_client(kimera_redis_cluster):
    c = kimera_redis_cluster
    rc = redis.asyncio.cluster.RedisCluster(startup_nodes=c.async_startup_nodes, **c.connection_kwargs)
    for i in range(30):
        await rc.set(f"kimera:a{i}", i)
    assert await rc.get("kimera:a7") == "7"
    assert len(rc.get_primaries()) == 3
    await rc.aclose()


def test_a_plain_connection_to_a_node_is_refused(kimera_redis_cluster):
    host, port = kimera_redis_cluster.nodes[0]
    kw = {k: v for k, v in kimera_redis_cluster.connection_kwargs.items() if not k.startswith("ssl")}
    del kw["require_full_coverage"]
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(host=host, port=port, retry=None, **kw).ping()
