from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from evosync import health as health_checks


def home(request):
    if request.user.is_authenticated:
        return redirect("sync:dashboard")
    return redirect("accounts:login")


# Exempt from CSRF so that another method gets its 405 from require_GET rather than a 403 from
# the CSRF middleware (which runs first); a GET changes nothing.
@csrf_exempt
@require_GET
@never_cache
def health(request):
    """Answers 200 when both the database and the broker answer, 503 otherwise."""
    checks = {"database": health_checks.database_ok(), "broker": health_checks.broker_ok()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **{k: "ok" if v else "error" for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # Rendered without the request, so no context processor runs: they read the signed-in user
    # (the session) and their alerts, and the error may be the database itself (a render that
    # failed here left the merchant with the server's bare "A server error occurred").
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))
