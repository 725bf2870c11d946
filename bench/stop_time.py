"""How long Ctrl-C typed at the terminal takes to stop `make run`, and with what exit status.

Each run starts `make run` on a pseudo-terminal of its own (as a terminal window would: a new
session, make in the foreground group) with a throw-away SQLite database and free ports, waits
for the closing hint, waits `--settle` seconds more, types Ctrl-C (\\x03) and measures until make
exits and until the last process of the session is gone. `--load N` runs N busy loops meanwhile
(bench.cpuload). The test of the behaviour is tests/foundation/test_run_local.py; the times are
here, not asserted there.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.machine import describe

ROOT = Path(__file__).resolve().parents[1]
READY = b"Ctrl-C"  # in the closing hint, in either language


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _session_alive(sid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                return True
    return False


def one_run(settle: float) -> tuple[int, float, float, bool]:
    """(exit status, seconds to make's exit, seconds until the session is empty, whether make
    printed "Interrupt")."""
    tmp = Path(tempfile.mkdtemp(prefix="evosync-stop-"))
    (tmp / "empty.env").touch()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "ENV_FILE": str(tmp / "empty.env"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DEBUG": "true",
        "SANDBOX_PORT": str(_free_port()),
        "Q_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
        "EMAIL_FILE_PATH": str(tmp / "mail"),
    }
    master, slave = os.openpty()
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        f"BIN={Path(sys.executable).parent}",
        f"RUN_ARGS=--addr 127.0.0.1:{_free_port()}",
        "run",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while READY not in b"".join(chunks):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(b"".join(chunks).decode("utf-8", "replace")[-2000:])
            time.sleep(0.1)
        time.sleep(settle)
        start = time.monotonic()
        os.write(master, b"\x03")
        status = process.wait(timeout=60)
        exited = time.monotonic() - start
        while _session_alive(process.pid):
            time.sleep(0.02)
        gone = time.monotonic() - start
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)
        os.close(master)
    return status, exited, gone, b"Interrupt" in b"".join(chunks)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench stop_time", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="busy loops meanwhile (0: none)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after the hint")
    args = parser.parse_args(argv)
    print(describe())
    print(f"load: {args.load} busy loops; load average before: {load_average()}")
    for n in range(1, args.runs + 1):
        with cpu_load(args.load, max_seconds=180):
            status, exited, gone, interrupt = one_run(args.settle)
        print(
            f"run {n}: exit status {status}, make exited after {exited:.2f} s, every process "
            f"gone after {gone:.2f} s, 'Interrupt' printed: {'yes' if interrupt else 'no'}"
        )
    return 0
