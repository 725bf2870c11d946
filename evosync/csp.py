"""django-csp's middleware, with the image hosts of VK added to the policy at request time.

The VK catalog pages show VK's own thumbnails (`thumb_url`, `photo_url`), served from VK's image
hosts, or from the sandbox when VK_API_URL points at it: its origin is read per request so the
demo and the tests (which move VK_API_URL) see their pictures, and nothing else is loosened.

"Connect VK" is a form whose answer redirects to VK ID's authorization page; browsers apply
`form-action` to that redirect too, so VK ID's origin (VK_ID_URL) is allowed there, and nothing
else.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings

# Where VK serves product and album photos (its CDN, and the API domain's own images).
VK_IMAGE_SOURCES = ["https://*.userapi.com", "https://*.vk.com", "https://*.vkuserphoto.ru"]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        sources = [*VK_IMAGE_SOURCES]
        origin = _origin(settings.VK_API_URL)
        if origin and not origin.startswith("https://api.vk.com"):
            sources.append(origin)
        update = dict(parts.update or {})
        update["img-src"] = [*update.get("img-src", []), *sources]
        vk_id = _origin(getattr(settings, "VK_ID_URL", ""))
        if vk_id:
            update["form-action"] = [*update.get("form-action", []), vk_id]
        parts.update = update
        return parts
