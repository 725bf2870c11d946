"""`manage.py run_local`: the whole service on one machine, for newcomers and the demo.

Starts the vendor sandbox, the web server and the django-q2 cluster as child processes that
share one environment (the sandbox URLs), and stops all of them on Ctrl-C.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


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
        env = os.environ.copy()
        env.setdefault("DEBUG", "true")
        children: list[subprocess.Popen] = []
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        try:
            if not options["no_sandbox"]:
                sandbox_base = f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"
                env["EVOTOR_API_URL"] = f"{sandbox_base}/evotor"
                env["VK_API_URL"] = f"{sandbox_base}/vk/method"
                children.append(subprocess.Popen([python, manage, "run_sandbox"], env=env))
                self._wait_for(settings.SANDBOX_HOST, settings.SANDBOX_PORT, children[-1])
            call_command("migrate", interactive=False, verbosity=0)
            if not options["no_sandbox"]:
                # Lets later issues seed the demo merchant without editing this command.
                from django.core.management import get_commands

                if "seed_demo" in get_commands():
                    subprocess.run([python, manage, "seed_demo"], env=env, check=True)
            children.append(subprocess.Popen([python, manage, "qcluster"], env=env))
            children.append(
                subprocess.Popen(
                    [python, manage, "runserver", "--noreload", options["addr"]], env=env
                )
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"EvoSync is running at http://{options['addr']}/ (Ctrl-C stops it)"
                )
            )
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            failed = [child for child in children if child.poll() not in (None, 0)]
            if failed:
                raise CommandError(
                    "A process of the local service stopped unexpectedly; see its output above."
                )
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()

    def _wait_for(
        self, host: str, port: int, process: subprocess.Popen, timeout: float = 20
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError("The sandbox did not start; see its output above.")
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The sandbox did not listen on {host}:{port} within {timeout:.0f} s.")
