"""The merchant's Evotor connection pages: state, save a token, test it, disconnect.

Everything acts on `request.user`'s own connection; there is no id in the URLs to guess.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connections import evotor_services as services
from connections.crypto import mask
from connections.evotor_selectors import evotor_connection_get


class EvotorTokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Evotor cloud token"),
        max_length=services.TOKEN_MAX_LENGTH * 2,
        strip=True,
        error_messages={"required": gettext_lazy("Paste the Evotor token.")},
        widget=forms.PasswordInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
            render_value=False,
        ),
        help_text=gettext_lazy(
            "You will find it in your Evotor account: Apps → EvoSync → Settings."
        ),
    )

    def clean_token(self) -> str:
        return services.evotor_token_clean(self.cleaned_data["token"])


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _context(request, connection, form=None) -> dict:
    return {
        "connection": connection,
        "form": form or EvotorTokenForm(),
        "api_token_masked": mask(connection.api_token) if connection else "",
        # The state block shows what the alerts about this connection say (no banner too).
        "shows_its_own_alerts": True,
    }


@login_required
@require_GET
def evotor(request):
    connection = evotor_connection_get(user=request.user)
    return render(request, "connections/evotor.html", _context(request, connection))


@login_required
@require_POST
def evotor_save(request):
    form = EvotorTokenForm(request.POST)
    if form.is_valid():
        try:
            result = services.evotor_connection_connect(
                user=request.user, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            form.add_error("token", exc)
        else:
            if not result.saved:
                # Nothing changed: the form says why, next to the token.
                form.add_error("token", result.message)
            else:
                (messages.success if result.ok else messages.warning)(request, result.message)
                return redirect("connections:evotor")
    connection = evotor_connection_get(user=request.user)
    return render(
        request, "connections/evotor.html", _context(request, connection, form), status=400
    )


@login_required
@require_POST
def evotor_test(request):
    connection = evotor_connection_get(user=request.user)
    result = services.evotor_connection_test(connection=connection)
    if request.htmx:
        if connection is not None:
            connection.refresh_from_db()
        status_html = render_to_string(
            "connections/evotor_status.html", {"connection": connection}, request=request
        )
        return render(
            request,
            "includes/check_result.html",
            {
                "status_html": status_html,
                "output_id": "evotor-test-result",
                "ok": result.ok,
                # A reason the state block now shows is not repeated next to the button.
                "message": "" if result.recorded and not result.ok else result.message,
            },
        )
    if _wants_json(request):
        if connection is not None:
            connection.refresh_from_db()
        body = {
            "ok": result.ok,
            "html": render_to_string(
                "connections/evotor_status.html", {"connection": connection}, request=request
            ),
        }
        if result.ok:
            body.update(message=result.message, stores=result.stores)
        else:
            # A reason the state block now shows is not repeated next to the button.
            body["error"] = "" if result.recorded else result.message
        return JsonResponse(body)
    if result.ok:
        messages.success(request, result.message)
    elif not result.recorded:
        messages.error(request, result.message)
    return redirect("connections:evotor")


@login_required
@require_http_methods(["GET", "POST"])
def evotor_disconnect(request):
    connection = evotor_connection_get(user=request.user)
    if connection is None or not connection.cloud_token:
        messages.info(request, _("Evotor is not connected."))
        return redirect("connections:evotor")
    if request.method == "POST":
        services.evotor_connection_disconnect(connection=connection)
        messages.success(
            request, _("Evotor is disconnected: the token and the loaded catalog are deleted.")
        )
        return redirect("connections:evotor")
    return render(request, "connections/evotor_disconnect.html", {"connection": connection})
