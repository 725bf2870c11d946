"""`make run` (`manage.py run_local`): sandbox, worker and site together, stopped by Ctrl-C at the
terminal with exit status 0."""

import fcntl
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import termios
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from tests.foundation.helpers import BASE_DIR, PYTHON, clean_env, free_port

SANDBOX_APPS = [BASE_DIR / "sandbox/evotor/app.py", BASE_DIR / "sandbox/vk/app.py"]
SEED_DEMO = BASE_DIR / "sync/management/commands/seed_demo.py"
# The demo merchant seed_demo prints (sync/management/commands/seed_demo.py).
DEMO_EMAIL, DEMO_PASSWORD = "demo@evosync.local", "evosync-demo"


def _demo_pages(base: str) -> dict[str, tuple[int, str]]:
    """Logs in as the demo merchant like a browser (cookies, CSRF token) and opens the pages a
    newcomer looks at first: {path: (status, final path)}."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/accounts/login/", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    ).encode()
    login = urllib.request.Request(
        f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"}
    )
    with opener.open(login, timeout=30):
        pass
    pages = {}
    for path in ("/sync/", "/catalog/stores", "/vk-catalog/albums", "/connections/vk/"):
        with opener.open(base + path, timeout=30) as response:
            pages[path] = (response.status, urllib.parse.urlsplit(response.url).path)
    return pages


def _session_alive(sid: int) -> bool:
    """True while any process of the session exists and is not a zombie (run_local puts each
    child in a process group of its own, all in the session the test started)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            return True
    return False


def _kill_session(sid: int) -> None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[3]) == sid:
                        os.kill(int(entry), signal.SIGKILL)
            except (OSError, ValueError):
                continue


def _make_the_terminal_controlling() -> None:
    """In the child, after setsid: the pseudo-terminal on stdin becomes its controlling
    terminal, as a terminal window's is for the shell a newcomer types `make run` into."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _make_run_in_a_terminal(env: dict[str, str], site_port: int):
    """`make run` as typed at a terminal: a session of its own on a pseudo-terminal, make in the
    terminal's foreground group. Returns the process and the terminal's master side."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                # The venv running this test is the one to use: never reinstall from a test.
                "-o",
                ".venv/.installed",
                f"BIN={Path(PYTHON).parent}",
                f"RUN_ARGS=--addr 127.0.0.1:{site_port}",
                "run",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,  # its own session: we can see (and clean up) every child
            preexec_fn=_make_the_terminal_controlling,
        )
    finally:
        os.close(slave)
    return process, master


@pytest.mark.slow
@pytest.mark.skipif(
    not all(path.is_file() for path in SANDBOX_APPS),
    reason="the vendor sandboxes are not there yet",
)
def test_make_run_serves_the_site_and_ctrl_c_at_the_terminal_stops_everything(tmp_path):
    site_port, sandbox_port = free_port(), free_port()
    env = clean_env(
        tmp_path,
        DEBUG="true",
        SANDBOX_PORT=str(sandbox_port),
        Q_WORKERS="1",
        PYTHONUNBUFFERED="1",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    process, terminal = _make_run_in_a_terminal(env, site_port)
    sid = process.pid
    chunks: list[bytes] = []

    def read_terminal():
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: every process of the session closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    def output() -> str:
        return b"".join(chunks).decode("utf-8", "replace")

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    with translation.override("ru"):
        banner = _("EvoSync is running at %(url)s (Ctrl-C stops it).") % {
            "url": f"http://127.0.0.1:{site_port}/"
        }
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{site_port}/health", timeout=2) as r:
                    health = (r.status, json.loads(r.read()))
                if banner in output():
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert health == (200, {"status": "ok", "database": "ok", "broker": "ok"}), (
            process.poll(),
            health,
            output()[-3000:],
        )
        with socket.create_connection(("127.0.0.1", sandbox_port), timeout=5):
            pass  # the sandbox listens where SANDBOX_PORT says
        if SEED_DEMO.is_file():
            # `make run` on a fresh clone: the demo merchant exists, connected to both sandboxes.
            assert "Demo merchant ready" in output(), output()[-3000:]
            pages = _demo_pages(f"http://127.0.0.1:{site_port}")
            assert pages == {path: (200, path) for path in pages}, pages
        # Ctrl-Z is not for a local service: it must neither stop run_local alone (make would
        # wait for it for ever, the terminal hung) nor anything else.
        os.write(terminal, b"\x1a")
        with urllib.request.urlopen(f"http://127.0.0.1:{site_port}/health", timeout=10) as r:
            assert r.status == 200
    finally:
        # Ctrl-C typed at the terminal: the terminal sends SIGINT to its foreground group.
        os.write(terminal, b"\x03")
        try:
            process.wait(timeout=30)  # a generous bound: run_local's own is 4 s
        except subprocess.TimeoutExpired:
            _kill_session(sid)
            process.wait()
            pytest.fail("make run did not stop on Ctrl-C:\n" + output()[-3000:])
        finally:
            reader.join(timeout=10)
            os.close(terminal)
    text = output()
    deadline = time.monotonic() + 15
    while _session_alive(sid) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = _session_alive(sid)
    if leftover:
        _kill_session(sid)
    assert not leftover, f"children outlived make run:\n{text[-3000:]}"
    # An operator's stop is not a failure: make ends with 0 and says nothing of an interrupt
    # (it would if Ctrl-C had reached it: "make: *** [Makefile:…: run] Interrupt").
    assert process.returncode == 0, text[-3000:]
    assert "Interrupt" not in text and "make: ***" not in text, text[-3000:]
    assert "Error" not in text, text[-3000:]
    assert banner in text
    assert "stopped unexpectedly" not in text
    assert "Traceback" not in text, text[-3000:]
    # Development mail goes to files, and the closing hint says where.
    assert str(tmp_path / "mail") in text
    # The log lines of the children are readable Russian, not \u escapes or socket reprs.
    assert "\\u04" not in text and "<socket.socket" not in text
