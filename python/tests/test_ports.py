"""Ports: below 32768, locked across processes (pytest-xdist workers), bus ports too."""

from kimera_redis_init import _core


def test_a_leased_port_and_its_bus_port_are_locked_until_released():
    lease = _core.lease_ports(3, bus=True)
    try:
        assert len(set(lease.ports)) == 3
        held = lease.ports + [p + _core.BUS_OFFSET for p in lease.ports]
        assert all(_core.PORT_LOW <= p <= _core.PORT_HIGH for p in held)
        for p in held:  # another lease (another worker) cannot take any of them
            assert _core._lock(_core._lock_dir(), p) is None, p
    finally:
        lease.release()
    for p in held:
        fd = _core._lock(_core._lock_dir(), p)
        assert fd is not None, p
        _core.os.close(fd)


def test_a_port_in_use_is_never_leased():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        assert not _core._bindable(busy)
