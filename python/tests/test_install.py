"""The wheel as users get it: the binary on the virtualenv's PATH, the plugin loaded
through its pytest11 entry point, the package imported from site-packages."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import kimera_redis_init


def test_the_binary_runs_from_the_virtualenvs_path():
    scripts = sysconfig.get_path("scripts")
    env = dict(os.environ, PATH=scripts + os.pathsep + "/usr/bin:/bin")
    out = subprocess.run(["kimera-redis-init", "--version"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("kimera-redis-init "), out.stdout
    assert (Path(scripts) / "kimera-redis-init").is_file()
    assert Path(kimera_redis_init.find_binary()).samefile(Path(scripts) / "kimera-redis-init")


def test_the_plugin_comes_from_the_installed_wheel(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("kimera_redis_init")
    site = Path(sysconfig.get_path("purelib")).resolve()
    assert Path(kimera_redis_init.__file__).resolve().is_relative_to(site), kimera_redis_init.__file__
    assert sys.prefix != sys.base_prefix, "run in a virtualenv"
