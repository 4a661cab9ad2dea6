"""Start the Streamlit app on a free loopback port and stop it again.

Shared by the browser tests (``tests/e2e/conftest.py``) and the memory benchmark
(``benchmarks/bench_memory.py``), so both drive the app the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_launch_args() -> dict:
    """Playwright ``launch`` options for Debian's headless Chromium."""
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS, "headless": True}


def chromium_missing_reason() -> str | None:
    """Say why the browser tests cannot run here, or None when Chromium is usable."""
    if os.access(CHROMIUM, os.X_OK):
        return None
    return f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)"


def running_in_ci() -> bool:
    """True when the CI environment variable is set to anything but empty/0/false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class StreamlitServer:
    """A running ``streamlit run`` process and where to reach it."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's combined stdout/stderr."""
        return self.log_path.read_text(errors="replace")[-n_chars:]


def _wait_until_healthy(server: StreamlitServer, timeout: float) -> None:
    """Poll ``/_stcore/health`` until it answers ``ok``; raise if the server dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Streamlit exited early:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"Streamlit not healthy after {timeout:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop the process group that ``process`` leads (and nothing else)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def run_streamlit(
    script: Path = APP, *, startup_timeout: float = 90.0, env: Mapping[str, str] | None = None
) -> Iterator[StreamlitServer]:
    """Run ``streamlit run script`` headless on a free loopback port for the ``with`` block.

    The server runs in its own process group (so stopping it also stops any children
    it spawned) with the working directory set to the script's folder, and with
    ``env`` added to this process's environment.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        # Serve the code as it was at start: edits in a shared working tree must not
        # make the app rerun or lose its pages halfway through a test run.
        "--server.fileWatcherType",
        "none",
    ]
    with tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(
            command,
            cwd=script.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
    server = StreamlitServer(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        _wait_until_healthy(server, startup_timeout)
        yield server
    finally:
        _stop(process)
        log_path.unlink(missing_ok=True)
