"""`manage.py run_local`: the whole service on one machine, for newcomers and the demo.

Starts the vendor sandbox, the web server and the django-q2 cluster as child processes that
share one environment (the sandbox URLs), and stops all of them on Ctrl-C (or SIGTERM).
"""

import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

# The app id the VK sandbox registers for its demo (sandbox.vk.vkid.DEMO_CLIENT_ID; a test keeps
# the two equal). Written out because evosync must not import the apps above it.
SANDBOX_VK_ID_CLIENT_ID = "51900001"


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise CommandError(f"--addr must look like 127.0.0.1:8000, not {addr!r}.") from None


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the sandbox, the web server and the task worker together (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Where the site listens.")
        parser.add_argument(
            "--no-sandbox",
            action="store_true",
            help="Use EVOTOR_API_URL and VK_API_URL as configured instead of the local sandbox.",
        )

    def handle(self, *args, **options):
        host, port = _split_addr(options["addr"])
        env = os.environ.copy()
        env.setdefault("DEBUG", "true")
        # Links in e-mails and the URLs given to Evotor must point at this very server.
        env.setdefault("BASE_URL", f"http://{host}:{port}")
        children: list[subprocess.Popen] = []
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        # A service manager (or a test) stops us with SIGTERM: clean up as for Ctrl-C.
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            if not options["no_sandbox"]:
                sandbox_base = f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"
                env["EVOTOR_API_URL"] = f"{sandbox_base}/evotor"
                env["VK_API_URL"] = f"{sandbox_base}/vk/method"
                # One-click VK connect against the sandbox's VK ID and its demo app.
                env["VK_ID_URL"] = f"{sandbox_base}/vk/id"
                env["VK_ID_CLIENT_ID"] = SANDBOX_VK_ID_CLIENT_ID
                # The till in the sandbox pushes signed change events to this site (issue 10).
                env.setdefault("SANDBOX_EVOTOR_PUSH_URL", f"{env['BASE_URL']}/evotor/events")
                if not (env.get("EVOTOR_PUSH_SECRET") or env.get("EVOTOR_WEBHOOK_SECRET")):
                    env["EVOTOR_PUSH_SECRET"] = secrets.token_urlsafe(32)
                children.append(subprocess.Popen([python, manage, "run_sandbox"], env=env))
                self._wait_for(
                    settings.SANDBOX_HOST, settings.SANDBOX_PORT, children[-1], "sandbox"
                )
            call_command("migrate", interactive=False, verbosity=0)
            call_command("setup_schedules", stdout=io.StringIO())
            # Lets later issues seed the demo merchant without editing this command.
            if not options["no_sandbox"] and "seed_demo" in get_commands():
                subprocess.run([python, manage, "seed_demo"], env=env, check=True)
            children.append(subprocess.Popen([python, manage, "qcluster"], env=env))
            children.append(
                subprocess.Popen(
                    [python, manage, "runserver", "--noreload", f"{host}:{port}"], env=env
                )
            )
            self._wait_for(host, port, children[-1], "web server")
            self.stdout.write(
                self.style.SUCCESS(f"EvoSync is running at http://{host}:{port}/ (Ctrl-C stops it)")
            )
            self.stdout.flush()
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise CommandError(
                "A process of the local service stopped unexpectedly; see its output above."
            )
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
            self._stop(children)

    def _stop(self, children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _wait_for(
        self, host: str, port: int, process: subprocess.Popen, what: str, timeout: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"The {what} did not start; see its output above.")
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The {what} did not listen on {host}:{port} within {timeout:.0f} s.")
