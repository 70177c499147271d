"""The dashboard served by ``streamlit run`` on a free local port, and Chromium's launch flags.

Used by the browser tests' fixtures and by the browser benchmarks.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from browser_helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 60.0


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url):
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except OSError:
        return False


class StreamlitServer:
    """``python -m streamlit run dashboard.py`` in the project root, stopped by its PID."""

    def __init__(self, log_dir):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        self.log_path = Path(log_dir) / f"streamlit-{self.port}.log"
        self.process = None

    def start(self):
        command = [sys.executable, "-m", "streamlit", "run", "dashboard.py",
                   "--server.headless", "true", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.process.returncode} before answering; "
                                   f"its output:\n{self.log()}")
            if _healthy(self.url):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not answer {self.url}/_stcore/health within {START_TIMEOUT:.0f} s; "
                           f"its output:\n{self.log()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # this process only, by its PID
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cpu_seconds(self):
        """User + system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]
