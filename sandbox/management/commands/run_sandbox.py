from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Serve the Evotor and VK emulators on loopback (Evotor at /evotor, VK at /vk/method)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.SANDBOX_HOST)
        parser.add_argument("--port", type=int, default=settings.SANDBOX_PORT)
        parser.add_argument(
            "--products",
            type=int,
            default=0,
            help="Generate a catalog of this many products instead of the demo one.",
        )

    def handle(self, *args, **options):
        server = SandboxServer(options["host"], options["port"])
        if options["products"]:
            server.evotor.generate(products=options["products"])
        events = server.evotor.events
        events.app_id = settings.EVOTOR_APP_ID or events.app_id
        events.publisher_token = settings.EVOTOR_PUBLISHER_TOKEN or events.publisher_token
        if settings.SANDBOX_EVOTOR_PUSH_URL:
            # Signed with the secret the site checks (EVOTOR_PUSH_SECRET, else the app secret).
            secret = settings.EVOTOR_PUSH_SECRET or settings.EVOTOR_WEBHOOK_SECRET
            events.configure_push(settings.SANDBOX_EVOTOR_PUSH_URL, secret)
            self.stdout.write(f"Evotor pushes: {settings.SANDBOX_EVOTOR_PUSH_URL}")
        self.stdout.write(f"The till:       {server.evotor_url}/till")
        self.stdout.write(f"Evotor sandbox: {server.evotor_url}")
        self.stdout.write(f"VK sandbox:     {server.vk_url}")
        self.stdout.write(f"VK ID sandbox:  {server.vk_id_url}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
