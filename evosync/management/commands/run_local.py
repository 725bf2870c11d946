"""`manage.py run_local`: the whole service on one machine, for newcomers and the demo.

Starts the vendor sandbox, the web server and a django-q2 cluster per lane (fast and slow) as
child processes that share one environment (the sandbox URLs), and stops all of them on Ctrl-C
(or SIGTERM).
"""

import contextlib
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
from django.utils import translation
from django.utils.translation import gettext as _

# The app id the VK sandbox registers for its demo (sandbox.vk.vkid.DEMO_CLIENT_ID; a test keeps
# the two equal). Written out because evosync must not import the apps above it.
SANDBOX_VK_ID_CLIENT_ID = "51900001"


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise CommandError(f"--addr must look like 127.0.0.1:8000, not {addr!r}.") from None


STOP_GRACE_SECONDS = 4  # then the children still running are killed: Ctrl-C stops all within 5 s


class _Stop(Exception):
    """The operator asked us to stop (Ctrl-C or SIGTERM): a normal end, exit status 0."""


def _raise_stop(signum, frame):
    raise _Stop


class _Terminal:
    """The terminal's foreground, taken while run_local runs and handed back when it ends.

    Under `make run` the terminal's foreground process group is make's, with us in it, so
    Ctrl-C reaches make too and make reports "Interrupt" and fails, however cleanly we stop.
    In a group of our own that is the foreground, Ctrl-C reaches only us (the children have
    groups of their own as well); make just sees us exit 0. An interactive shell does the same
    for every job it starts (job control); make does not.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        self._previous_group = 0
        self._previous_tstp = None

    def take(self) -> None:
        try:
            fd = sys.stdin.fileno()
            if not os.isatty(fd):
                return
            foreground = os.tcgetpgrp(fd)
        except (OSError, ValueError):
            return  # no terminal (a service manager, a pipe, a test): nothing to take
        own = os.getpgrp()
        # Only when we are in the foreground and in someone else's group (make's). A group
        # leader already is its own group; a background job must not steal the terminal.
        if foreground != own or own == os.getpid():
            return
        os.setpgid(0, 0)
        self._switch(fd, os.getpgrp())
        self._fd, self._previous_group = fd, own
        # Ctrl-Z would stop us alone while make (the shell's job) runs on, and the terminal
        # would seem to hang: a local service is stopped with Ctrl-C, not suspended.
        self._previous_tstp = signal.signal(signal.SIGTSTP, signal.SIG_IGN)

    def give_back(self) -> None:
        if self._fd is None:
            return
        # OSError: the parent's group is gone (make was killed); the shell takes it back.
        with contextlib.suppress(OSError):
            self._switch(self._fd, self._previous_group)
        signal.signal(signal.SIGTSTP, self._previous_tstp)
        self._fd = None

    @staticmethod
    def _switch(fd: int, group: int) -> None:
        # A process not in the foreground group that changes the foreground gets SIGTTOU,
        # which stops it unless ignored (tcsetpgrp(3)).
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(fd, group)
        finally:
            signal.signal(signal.SIGTTOU, previous)


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, process_group=0)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    # ProcessLookupError: already gone, with all its workers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGINT to every child's process group, then SIGKILL to the groups still there after
    STOP_GRACE_SECONDS (django-q2's cluster may wait for a task to end; a newcomer's Ctrl-C
    must not)."""
    for child in children:
        _signal_group(child, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.05, deadline - time.monotonic()))
    for child in children:
        _signal_group(child, signal.SIGKILL)
        child.wait()


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
        # Mail as readable files (var/mail) rather than raw MIME amid the JSON log lines;
        # an operator's own EMAIL_PROVIDER wins.
        env.setdefault("EMAIL_PROVIDER", "file")
        env.setdefault("EMAIL_FILE_PATH", settings.EMAIL_FILE_PATH)
        children: list[subprocess.Popen] = []
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        # Ctrl-C (SIGINT) and a service manager's SIGTERM are an operator's stop. Each child
        # runs in a process group of its own and we take the terminal's foreground in one of
        # ours (_Terminal), so the terminal's Ctrl-C reaches only us (not make, not the
        # children) and we stop the children in order (with their own worker processes)
        # within a bound.
        previous = {
            signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        terminal = _Terminal()
        terminal.take()
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
                children.append(_start([python, manage, "run_sandbox"], env))
                self._wait_for(
                    settings.SANDBOX_HOST, settings.SANDBOX_PORT, children[-1], "sandbox"
                )
            call_command("migrate", interactive=False, verbosity=0)
            call_command("setup_schedules", stdout=io.StringIO())
            # Lets later issues seed the demo merchant without editing this command.
            if not options["no_sandbox"] and "seed_demo" in get_commands():
                subprocess.run([python, manage, "seed_demo"], env=env, check=True)
            # One worker per lane (README "Task queues"): the default cluster is the fast lane,
            # Q_CLUSTER_NAME picks the slow one (django-q2 reads it when it is imported).
            fast_env = {k: v for k, v in env.items() if k != "Q_CLUSTER_NAME"}
            children.append(_start([python, manage, "qcluster"], fast_env))
            slow_env = {**fast_env, "Q_CLUSTER_NAME": settings.Q_SLOW_CLUSTER}
            children.append(_start([python, manage, "qcluster"], slow_env))
            children.append(
                _start([python, manage, "runserver", "--noreload", f"{host}:{port}"], env)
            )
            self._wait_for(host, port, children[-1], "web server")
            self._closing_hint(f"http://{host}:{port}/", env, sandbox=not options["no_sandbox"])
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise CommandError(
                "A process of the local service stopped unexpectedly; see its output above."
            )
        except _Stop:
            self.stdout.write(_("Stopping…"))
            self.stdout.flush()
        finally:
            # A second Ctrl-C while stopping must not leave children behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                _stop(children)
            finally:
                terminal.give_back()
                for signum, handler in previous.items():
                    signal.signal(signum, handler)

    def _closing_hint(self, url: str, env: dict[str, str], *, sandbox: bool) -> None:
        """The last lines before the children's logs: where the site is, where mail goes, and
        the pages to open in the order a newcomer uses them, named as the menu names them."""
        with translation.override(settings.LANGUAGE_CODE):
            self.stdout.write(
                self.style.SUCCESS(
                    _("EvoSync is running at %(url)s (Ctrl-C stops it).") % {"url": url}
                )
            )
            if sandbox:
                self.stdout.write(
                    _(
                        "Then: %(catalog)s → switch a store on → %(publishing)s → "
                        "Preview → Publish; the items appear in «%(vk_catalog)s»."
                    )
                    % {
                        "catalog": _("Evotor catalog"),
                        "publishing": _("Publishing"),
                        "vk_catalog": _("VK catalog"),
                    }
                )
            if env["EMAIL_PROVIDER"] == "file":
                self.stdout.write(
                    _("E-mails (the sign-up confirmation too) are saved as files in %(path)s.")
                    % {"path": env["EMAIL_FILE_PATH"]}
                )
        self.stdout.flush()

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
