"""Account pages: thin views over `accounts.services` and `accounts.tokens`."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import forms, services, tokens
from accounts.models import Status

BACKEND = "accounts.backends.EmailBackend"
REGISTERED_EMAIL_SESSION_KEY = "accounts_registered_email"


def _data(request: HttpRequest):
    """The submitted data on a POST (even an empty one), None on a GET: an unbound form."""
    return request.POST if request.method == "POST" else None


def _email_not_sent_warning(request: HttpRequest) -> None:
    messages.warning(
        request,
        _(
            "We could not send the e-mail just now. Please try again in a few minutes "
            "with “Send the link again”."
        ),
    )


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = forms.RegisterForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.user_register(
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            if not result.email_sent:
                _email_not_sent_warning(request)
            request.session[REGISTERED_EMAIL_SESSION_KEY] = result.user.email
            return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET"])
def register_done(request: HttpRequest) -> HttpResponse:
    email = request.session.get(REGISTERED_EMAIL_SESSION_KEY, "")
    return render(
        request,
        "accounts/register_done.html",
        {"email": email, "expires_hours": settings.EMAIL_CONFIRM_MAX_AGE_HOURS},
    )


@never_cache
@require_http_methods(["GET"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    check = tokens.email_confirmation_token_check(token)
    if check.problem == tokens.TokenProblem.USED:
        messages.info(request, _("Your e-mail address is already confirmed. You can log in."))
        return redirect("accounts:login")
    if not check.ok:
        return render(
            request,
            "accounts/link_problem.html",
            {
                "kind": "confirmation",
                "problem": check.problem,
                "resend_form": forms.ResendConfirmationForm(
                    initial={"email": check.user.email if check.user else ""}
                ),
            },
            status=400,
        )
    user = services.user_confirm_email(user=check.user)
    if user.status == Status.ACTIVE:
        messages.success(request, _("Your e-mail address is confirmed. Welcome! Please log in."))
    else:
        messages.info(request, _("Your e-mail address is confirmed."))
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    form = forms.ResendConfirmationForm(
        _data(request), initial={"email": request.GET.get("email", "")}
    )
    if request.method == "POST" and form.is_valid():
        services.user_resend_confirmation(email=form.cleaned_data["email"])
        # The same answer whether or not the address has an account.
        messages.success(
            request,
            _(
                "If an account with this address is waiting for confirmation, we have sent a "
                "new link to it. Check your inbox (and the spam folder)."
            ),
        )
        return redirect("accounts:login")
    return render(request, "accounts/resend_confirmation.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET with 405)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have logged out."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    check = tokens.invite_token_check(token)
    if not check.ok:
        return render(
            request,
            "accounts/link_problem.html",
            {
                "kind": "invite",
                "problem": check.problem,
                "resend_form": forms.ResendConfirmationForm(
                    initial={"email": check.user.email if check.user else ""}
                ),
            },
            status=400,
        )
    form = forms.InviteAcceptForm(_data(request), user=check.user)
    if request.method == "POST" and form.is_valid():
        user = services.user_accept_invite(
            user=check.user,
            password=form.cleaned_data["password1"],
            full_name=form.cleaned_data["full_name"],
        )
        login(request, user, backend=BACKEND)
        messages.success(request, _("Your password is set and your account is ready. Welcome!"))
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/invite_accept.html", {"form": form, "invitee": check.user})


@login_required
@require_http_methods(["GET"])
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {"profile_user": request.user})


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    form = forms.ProfileForm(_data(request), instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(
            user=request.user,
            full_name=form.cleaned_data["full_name"],
            phone=form.cleaned_data["phone"],
        )
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile_edit.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change.html"

    def get_success_url(self):
        return reverse("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed."))
        return response


@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = forms.DeleteAccountForm(_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_delete(user=request.user)
        logout(request)
        messages.success(request, _("Your account and all its data have been deleted."))
        return redirect("accounts:login")
    return render(request, "accounts/delete_account.html", {"form": form})
