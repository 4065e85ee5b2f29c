"""Servers are stopped by their PID whatever happens to the test that started them: an
inner pytest run (a subprocess, as a user's run) reports the PIDs it saw."""

import os
import time

import pytest

from conftest import alive, listening

INNER = '''
import json, os, signal

def test_inner(kimera_redis_server_factory, kimera_redis_setup):
    s = kimera_redis_server_factory()
    with open(os.environ["PID_FILE"], "w") as f:
        json.dump({{"pid": s.pid, "port": s.port}}, f)
    {action}
'''


def run_inner(pytester, action, *args):
    pid_file = pytester.path / "pid.json"
    pytester.makepyfile(test_inner=INNER.format(action=action))
    os.environ["PID_FILE"] = str(pid_file)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)
    finally:
        del os.environ["PID_FILE"]
    import json

    seen = json.loads(pid_file.read_text())
    return result, seen["pid"], seen["port"]


def gone(pid, within=10.0):
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_a_failing_test_still_stops_its_server(pytester):
    result, pid, port = run_inner(pytester, "assert False, 'the app broke'")
    result.assert_outcomes(failed=1)
    assert gone(pid, within=0) and not listening(port)


def test_an_error_in_the_test_stops_it_too(pytester):
    result, pid, port = run_inner(pytester, "raise RuntimeError('boom')")
    result.assert_outcomes(failed=1)
    assert gone(pid, within=0)


def test_an_interrupted_run_stops_its_server(pytester):
    result, pid, port = run_inner(pytester, "raise KeyboardInterrupt")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert gone(pid, within=0) and not listening(port)


def test_a_killed_run_takes_its_server_with_it(pytester):
    # SIGKILL leaves no teardown at all: the server was started with PR_SET_PDEATHSIG.
    result, pid, port = run_inner(pytester, "os.kill(os.getpid(), signal.SIGKILL)")
    assert result.ret == -9
    assert gone(pid), f"redis-server {pid} outlived the killed pytest"


def test_a_missing_redis_server_skips(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile("def test_x(kimera_redis_server): pass")
    result = pytester.runpytest_subprocess("-rs", "--kimera-redis-server", "/nonexistent/redis-server")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*redis-server from --kimera-redis-server*/nonexistent/redis-server*"])


def test_a_missing_redis_server_fails_under_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("KIMERA_REDIS_SERVER", "/nonexistent/redis-server")
    pytester.makepyfile("def test_x(kimera_redis_server): pass")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*KIMERA_REDIS_SERVER*CI=true: a missing tool is a failure*"])


def test_parallel_workers_never_share_a_port(pytester):
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import pytest, redis

        @pytest.mark.parametrize("i", range(8))
        def test_server(kimera_redis_server, i):
            assert redis.Redis(**kimera_redis_server.connection_kwargs).ping()
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


def test_a_server_that_cannot_start_fails_the_fixture_with_its_output(pytester, tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'fake redis-server: cannot start'\nexit 3\n")
    fake.chmod(0o755)
    pytester.makepyfile("def test_x(kimera_redis_server): pass")
    result = pytester.runpytest_subprocess("--kimera-redis-server", str(fake))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*exited with 3 before answering*", "*fake redis-server: cannot start*"])
