"""The answer to an htmx poll (`hx-trigger="every …"`) of a live block: its fresh HTML while
the work goes on; once it is over, either the whole page again (`?reload=1`, for pages whose
other parts change too) or the last HTML with status 286, which tells htmx to stop polling.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling


def poll_answer(request: HttpRequest, html: str, *, done: bool) -> HttpResponse:
    if not done:
        return HttpResponse(html)
    if request.GET.get("reload"):
        return HttpResponseClientRefresh()
    return HttpResponseStopPolling(html)
