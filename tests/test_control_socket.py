"""Each `registry serve --workers N` has a gunicorn control socket of its own (or none).

gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
~/.gunicorn/gunicorn.ctl): a second instance on the host took the first one's socket over
(`gunicornc` then steered the wrong server), and the first to stop removed the other's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.ctl.client import ControlClient

from registry.cli import control_socket_path, gunicorn_command
from registry.settings import Settings
from tests import live_server


def test_each_instance_is_given_a_socket_named_by_its_host_and_port(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert control_socket_path(None, "127.0.0.1", 8080) == str(
        tmp_path / "registry" / "registry-127.0.0.1-8080.ctl"
    )
    assert control_socket_path(None, "::", 8081) == str(
        tmp_path / "registry" / "registry-__-8081.ctl"
    )
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert control_socket_path(None, "0.0.0.0", 80) == str(
        tmp_path / ".gunicorn" / "registry-0.0.0.0-80.ctl"
    )
    assert control_socket_path("off", "127.0.0.1", 80) is None
    assert control_socket_path("OFF", "127.0.0.1", 80) is None
    assert control_socket_path("/run/r.ctl", "127.0.0.1", 80) == "/run/r.ctl"


def test_the_setting_comes_from_the_environment():
    assert Settings.from_env({}).control_socket is None
    assert Settings.from_env({"REGISTRY_CONTROL_SOCKET": " "}).control_socket is None
    assert Settings.from_env({"REGISTRY_CONTROL_SOCKET": "off"}).control_socket == "off"
    assert Settings.from_env({"REGISTRY_CONTROL_SOCKET": "/r.ctl"}).control_socket == "/r.ctl"


def test_the_command_names_the_socket_or_disables_it():
    argv = gunicorn_command("app:app", "127.0.0.1", 8080, 2, "/run/r.ctl")
    assert argv[-2:] == ["--control-socket", "/run/r.ctl"]
    assert gunicorn_command("app:app", "127.0.0.1", 8080, 2, None)[-1] == "--no-control-socket"


def _stats(path) -> dict:
    with ControlClient(str(path), timeout=10) as client:
        return client.send_command("show stats")


def test_two_instances_on_one_host_keep_their_own_sockets(tmp_path):
    """Two servers (two workers each, one SQLite database) with the default setting: each
    socket answers for its own master; stopping one leaves the other's socket answering;
    with REGISTRY_CONTROL_SOCKET=off a third creates none."""
    # A short directory: a Unix socket's path has at most 107 bytes (pytest's tmp_path under
    # xdist is longer than that with the socket's name).
    runtime = Path(tempfile.mkdtemp(prefix="rcs", dir="/tmp"))
    env = {"XDG_RUNTIME_DIR": str(runtime), "REGISTRY_CONTROL_SOCKET": ""}
    first = live_server.start(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, env)
    second = third = None
    try:
        second = live_server.serve(first.database_url, tmp_path, env, first.keys)
        sockets = [
            runtime / "registry" / f"registry-127.0.0.1-{server.port}.ctl"
            for server in (first, second)
        ]
        assert _stats(sockets[0])["pid"] == first.process.pid
        assert _stats(sockets[1])["pid"] == second.process.pid
        assert sorted(os.listdir(runtime / "registry")) == sorted(s.name for s in sockets)

        third = live_server.serve(
            first.database_url, tmp_path, {**env, "REGISTRY_CONTROL_SOCKET": "off"}
        )
        assert sorted(os.listdir(runtime / "registry")) == sorted(s.name for s in sockets)
        assert not (runtime / "gunicorn.ctl").exists()

        live_server.stop(first)
        assert not sockets[0].exists()
        assert _stats(sockets[1])["pid"] == second.process.pid
        for server in (second, third):
            with server.client() as client:
                assert client.get("/livez").status_code == 200
    finally:
        for server in (first, second, third):
            if server is not None:
                live_server.stop(server)
        shutil.rmtree(runtime, ignore_errors=True)
