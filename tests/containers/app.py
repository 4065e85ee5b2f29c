# The KIMERA app as the container tests run it: redis-py configured from the generated
# .env only (path in argv[1]), hostname checking on, a single server or a cluster.
# argv[2]: write (200 keys, then read back), read (read back), write-wait-read (write,
# print "written", wait for a line on stdin, then read back, retrying while a failover
# settles: the client refreshes its slot map after each error).
import sys
import time

import redis
from dotenv import dotenv_values
from redis.cluster import ClusterNode, RedisCluster

E = dotenv_values(sys.argv[1])
mode = sys.argv[2]
kw = dict(
    username=E["REDIS_USERNAME"] or None,
    password=E["REDIS_PASSWORD"] or None,
    decode_responses=E["REDIS_DECODE_RESPONSES"] == "true",
    socket_timeout=float(E["REDIS_SOCKET_TIMEOUT"]),
    socket_connect_timeout=float(E["REDIS_SOCKET_CONNECT_TIMEOUT"]),
)
if E["REDIS_SSL"] == "true":
    kw.update(ssl=True, ssl_certfile=E["REDIS_SSL_CERTFILE"], ssl_keyfile=E["REDIS_SSL_KEYFILE"],
              ssl_ca_certs=E["REDIS_CA_CERTS"], ssl_cert_reqs=E["REDIS_CERT_REQS"],
              ssl_check_hostname=True)
cluster = E["REDIS_CLUSTER_MODE"] == "true"
if cluster:
    nodes = [ClusterNode(h.strip("[]"), int(p))
             for h, p in (n.rsplit(":", 1) for n in E["REDIS_CLUSTER_NODES"].split(","))]
    r = RedisCluster(startup_nodes=nodes,
                     require_full_coverage=E["REDIS_SKIP_FULL_COVERAGE_CHECK"] != "true", **kw)
else:
    r = redis.Redis(host=E["REDIS_HOST"], port=int(E["REDIS_PORT"]), db=int(E["REDIS_DB"]),
                    retry_on_timeout=E["REDIS_RETRY_ON_TIMEOUT"] == "true",
                    health_check_interval=int(E["REDIS_HEALTH_CHECK_INTERVAL"]),
                    max_connections=int(E["REDIS_MAX_CONNECTIONS"]), **kw)

keys = [f"kimera:{i}" for i in range(200)]
if mode.startswith("write"):
    for k in keys:
        r.set(k, k[::-1])
    if cluster:
        owners = {r.get_node_from_key(k).name for k in keys}
        print(f"written {len(keys)} to {len(owners)} masters: {' '.join(sorted(owners))}", flush=True)
    else:
        print(f"written {len(keys)}", flush=True)
if mode == "write-wait-read":
    sys.stdin.readline()

deadline = time.monotonic() + 60
while True:
    try:
        found = sum(1 for k in keys if r.get(k) == k[::-1])
        break
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
            redis.exceptions.ClusterDownError, redis.exceptions.ResponseError) as e:
        if time.monotonic() > deadline:
            raise
        print(f"retrying after {type(e).__name__}", flush=True)
        time.sleep(1)
print(f"found {found}")
