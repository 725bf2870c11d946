"""`manage.py run_local` (what `make run` starts): sandbox, worker and site together."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from tests.foundation.helpers import BASE_DIR, MANAGE, PYTHON, clean_env, free_port

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


@pytest.mark.slow
@pytest.mark.skipif(
    not all(path.is_file() for path in SANDBOX_APPS),
    reason="the vendor sandboxes are not there yet",
)
def test_run_local_serves_the_site_and_stops_everything_on_ctrl_c(tmp_path):
    site_port, sandbox_port = free_port(), free_port()
    env = clean_env(
        tmp_path,
        DEBUG="true",
        SANDBOX_PORT=str(sandbox_port),
        Q_WORKERS="1",
        PYTHONUNBUFFERED="1",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    process = subprocess.Popen(
        [PYTHON, MANAGE, "run_local", "--addr", f"127.0.0.1:{site_port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: we can see (and clean up) every child
    )
    pgid = process.pid
    lines: list[str] = []

    def read_output():
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read_output, daemon=True)
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
                if any(banner in line for line in lines):
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert health == (200, {"status": "ok", "database": "ok", "broker": "ok"}), (
            process.poll(),
            health,
        )
        with socket.create_connection(("127.0.0.1", sandbox_port), timeout=5):
            pass  # the sandbox listens where SANDBOX_PORT says
        if SEED_DEMO.is_file():
            # `make run` on a fresh clone: the demo merchant exists, connected to both sandboxes.
            assert any("Demo merchant ready" in line for line in lines), "".join(lines)[-3000:]
            pages = _demo_pages(f"http://127.0.0.1:{site_port}")
            assert pages == {path: (200, path) for path in pages}, pages
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C, to the parent only
        try:
            process.wait(timeout=30)  # a generous bound: run_local's own is 4 s
        except subprocess.TimeoutExpired:
            _kill_session(pgid)
            process.wait()
            pytest.fail("run_local did not stop on Ctrl-C:\n" + "".join(lines)[-3000:])
        reader.join(timeout=10)
    output = "".join(lines)
    deadline = time.monotonic() + 15
    while _session_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = _session_alive(pgid)
    if leftover:
        _kill_session(pgid)
    assert not leftover, f"children outlived run_local:\n{output[-3000:]}"
    assert process.returncode == 0, output[-3000:]
    assert banner in output
    # An operator's stop is not a failure: no alarm, the status make passes on is 0.
    assert "stopped unexpectedly" not in output
    assert "Traceback" not in output, output[-3000:]
    # Development mail goes to files, and the closing hint says where.
    assert str(tmp_path / "mail") in output
    # The log lines of the children are readable Russian, not \u escapes or socket reprs.
    assert "\\u04" not in output and "<socket.socket" not in output
