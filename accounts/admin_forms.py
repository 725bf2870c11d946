"""Forms of the users admin: edit, invite a new user, suspend with a reason."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Status, User


def default_suspension_reason() -> str:
    """The reason offered when staff suspend without writing one: in the site's language, since
    it is the merchant who reads it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("Suspended by the EvoSync administration."))


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        label=_("Password"),
        help_text=_(
            "Passwords are not stored, so nobody can see them. Set a new one with the button, "
            "or send the user a reset link (the “Send a password reset link” action)."
        ),
    )

    class Meta:
        model = User
        fields = ["password", "full_name", "phone", "role", "status", "suspension_reason"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Status.SUSPENDED:
            if not (cleaned.get("suspension_reason") or "").strip():
                self.add_error(
                    "suspension_reason",
                    ValidationError(
                        _("Write the reason: the user sees it when they try to log in."),
                        code="reason_required",
                    ),
                )
        else:
            cleaned["suspension_reason"] = ""
        return cleaned


class UserInviteForm(forms.ModelForm):
    """The admin's "add user": a pending account that gets an invitation to set its password."""

    class Meta:
        model = User
        fields = ["email", "full_name", "role"]

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("An account with this e-mail address already exists."), code="duplicate_email"
            )
        return email

    def save(self, commit=True):
        # The account is created by `user_invite` (UserAdmin.save_form), never by this form.
        raise NotImplementedError("UserAdmin creates invited users through accounts.services")


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("The users see this text when they try to log in."),
    )
