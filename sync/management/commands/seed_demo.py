"""`manage.py seed_demo`: a demo merchant connected to the local sandboxes, ready to publish.

`make run` (`manage.py run_local`) calls it after starting the sandbox, with EVOTOR_API_URL and
VK_API_URL pointing at it. Idempotent: a second run finds the merchant and brings it back to
the same state (password, connections, fresh catalogs) without creating anything twice.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_EMAIL = "demo@evosync.local"
DEMO_PASSWORD = "evosync-demo"
DEMO_NAME = "Демо Магазин"
EVOTOR_DEMO_TOKEN = "evotor-demo-token"
VK_DEMO_TOKEN = "vk-demo-token"
VK_DEMO_GROUP_ID = 200001
DEMO_PHOTO_NAME = "evosync-demo-default.jpg"
DEMO_PHOTO_SIDE = 800
DEMO_PHOTO_TEXT = "Фото скоро появится"
EVOSYNC_BLUE = (31, 95, 191)  # --accent in static/css/site.css
# Fonts with Cyrillic letters, tried in order (Pillow's built-in font has none).
FONT_CANDIDATES = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LiberationSans-Bold.ttf")

PRODUCTION_HOSTS = {"api.evotor.ru", "api.vk.com", "api.vk.ru"}


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo merchant demo@evosync.local, connected to the local "
        "Evotor and VK sandboxes, with both catalogs read, a VK category and a default photo "
        "chosen. Prints the login and password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="Only create the merchant and the connections; do not read the catalogs.",
        )

    def handle(self, *args, **options):
        self._check_sandbox()
        user = self._merchant()
        self._connect(user)
        if not options["no_refresh"]:
            self._refresh(user)
        self._choose_category(user)
        self._default_photo(user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo merchant ready. Log in as {DEMO_EMAIL} with the password {DEMO_PASSWORD}"
            )
        )
        # What to do next is run_local's closing hint, in the UI's language and page names.

    def _check_sandbox(self) -> None:
        hosts = {urlsplit(settings.EVOTOR_API_URL).hostname, urlsplit(settings.VK_API_URL).hostname}
        if hosts & PRODUCTION_HOSTS:
            raise CommandError(
                "seed_demo talks to the sandboxes only: run it through `manage.py run_local` "
                "(`make run`), or point EVOTOR_API_URL and VK_API_URL at `manage.py run_sandbox`."
            )

    @transaction.atomic
    def _merchant(self):
        from accounts.models import Role, Status, User

        user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                full_name=DEMO_NAME,
                role=Role.USER,
                status=Status.ACTIVE,
            )
            self.stdout.write(f"Created the demo merchant {DEMO_EMAIL}.")
            return user
        # Whatever happened to it since, the printed password works again.
        user.set_password(DEMO_PASSWORD)
        user.role = Role.USER
        user.status = Status.ACTIVE
        user.save()
        self.stdout.write(f"The demo merchant {DEMO_EMAIL} exists; password reset to the demo one.")
        return user

    def _connect(self, user) -> None:
        from connections.evotor_services import evotor_connection_save_token
        from connections.vk_services import vk_connection_save, vk_connection_test

        evotor_connection_save_token(user=user, token=EVOTOR_DEMO_TOKEN)
        vk_connection_save(user=user, group_id=VK_DEMO_GROUP_ID, access_token=VK_DEMO_TOKEN)
        result = vk_connection_test(user=user)
        if result.ok:
            self.stdout.write(f"VK community connected: {result.group_name or VK_DEMO_GROUP_ID}.")
        else:
            self.stderr.write(self.style.WARNING(f"VK connection check failed: {result.message}"))

    def _refresh(self, user) -> None:
        from catalog.models import RefreshTrigger as CatalogTrigger
        from catalog.services import catalog_refresh_for_user
        from vk_catalog.models import RefreshTrigger as VkTrigger
        from vk_catalog.services import VkCatalogUnavailable, vk_catalog_refresh_for_user

        result = catalog_refresh_for_user(user=user, trigger=CatalogTrigger.COMMAND)
        if result.ok:
            self.stdout.write(
                f"Evotor catalog read: {result.stores} stores, {result.products} products."
            )
        else:
            # The scheduled refresh tries again; the demo login still works.
            self.stderr.write(
                self.style.WARNING(f"Evotor catalog not read ({result.status}): {result.error}")
            )
        try:
            run = vk_catalog_refresh_for_user(user=user, trigger=VkTrigger.COMMAND)
        except VkCatalogUnavailable as exc:
            self.stderr.write(
                self.style.WARNING(f"VK catalog not read: {getattr(exc, 'user_message', exc)}")
            )
            return
        if run.error:
            self.stderr.write(self.style.WARNING(f"VK catalog not read: {run.error}"))
        else:
            self.stdout.write(f"VK catalog read: {run.items_seen} items, {run.albums_seen} albums.")

    def _choose_category(self, user) -> None:
        from sync.categories import vk_categories
        from sync.plan.inputs import sync_settings_get

        settings_obj = sync_settings_get(user)
        if settings_obj.vk_category_id:
            return
        categories = vk_categories(user)
        first = next(
            (value for _group, options in categories.choices for value, _l in options), None
        )
        if first is None:
            return
        settings_obj.vk_category_id = first
        settings_obj.save(update_fields=["vk_category_id", "updated_at"])
        self.stdout.write(f"Default VK category chosen: {first}.")

    def _default_photo(self, user) -> None:
        """The sandbox's products mostly have no picture (like many real tills): a default photo
        lets the demo publish the whole catalog. Kept if the merchant already has one."""
        from django.core.files.base import ContentFile

        from sync.plan.inputs import sync_settings_get

        settings_obj = sync_settings_get(user)
        photo = settings_obj.default_photo
        if photo and photo.name and photo.storage.exists(photo.name):
            return
        photo.save(DEMO_PHOTO_NAME, ContentFile(demo_photo_jpeg()), save=False)
        settings_obj.save(update_fields=["default_photo", "updated_at"])
        self.stdout.write("Default photo set (for products without one of their own).")


def _font(size: int):
    from PIL import ImageFont

    for name in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return None


def demo_photo_jpeg() -> bytes:
    """An 800×800 JPEG in EvoSync's blue: a camera outline and «Фото скоро появится» (the camera
    alone where no font with Cyrillic letters is installed)."""
    import io

    from PIL import Image, ImageDraw

    side = DEMO_PHOTO_SIDE
    image = Image.new("RGB", (side, side), EVOSYNC_BLUE)
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255)
    # A camera: body, lens, viewfinder bump.
    left, top, right, bottom = 250, 250, 550, 450
    draw.rounded_rectangle((left, top, right, bottom), radius=28, outline=white, width=14)
    draw.rounded_rectangle((340, 212, 460, 258), radius=12, fill=white)
    draw.ellipse((340, 290, 460, 410), outline=white, width=14)
    font = _font(52)
    if font is not None:
        box = draw.textbbox((0, 0), DEMO_PHOTO_TEXT, font=font)
        width = box[2] - box[0]
        draw.text(((side - width) / 2 - box[0], 520), DEMO_PHOTO_TEXT, font=font, fill=white)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()
