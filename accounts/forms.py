"""Forms of the account pages (the admin's forms are in `accounts/admin_forms.py`)."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.contrib.auth.forms import SetPasswordForm as DjangoSetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from accounts import services
from accounts.models import Status, User


def _email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        **kwargs,
    )


def _full_name_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class NewPasswordMixin(forms.Form):
    """Two password fields checked against each other and Django's password validators."""

    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def password_user(self) -> User:
        """The (possibly unsaved) user the password is checked against for similarity."""
        raise NotImplementedError

    def clean_password2(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise ValidationError(_("The two passwords do not match."), code="password_mismatch")
        return password2

    def _post_clean(self):
        super()._post_clean()
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, self.password_user())
            except ValidationError as error:
                self.add_error("password1", error)


class RegisterForm(NewPasswordMixin, forms.Form):
    email = _email_field()
    full_name = _full_name_field()
    field_order = ["email", "full_name", "password1", "password2"]

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("An account with this e-mail address already exists."), code="duplicate_email"
            )
        return email

    def password_user(self) -> User:
        return User(
            email=self.cleaned_data.get("email", ""),
            full_name=self.cleaned_data.get("full_name", ""),
        )


class LoginForm(AuthenticationForm):
    """E-mail and password. Tells a pending or suspended user why they cannot come in.

    The field keeps Django's name `username` (django-axes reads it, AXES_USERNAME_FORM_FIELD).
    """

    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("Wrong e-mail or password."),
        "pending": _(
            "Your e-mail address is not confirmed yet. Follow the link in the message we sent you."
        ),
        "suspended": _("Your account is suspended. Reason: %(reason)s"),
        "suspended_no_reason": _("Your account is suspended. Please contact support."),
        "inactive": _("This account cannot log in."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # Set when a correct password belongs to an account that may not log in, so the
        # template can offer the way out (a new confirmation link).
        self.login_problem: str | None = None

    @sensitive_variables("password")
    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            # `request=` is what lets django-axes count failures per e-mail and IP.
            self.user_cache = authenticate(
                request=self.request, username=username, password=password
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def get_invalid_login_error(self):
        return ValidationError(self.error_messages["invalid_login"], code="invalid_login")

    def confirm_login_allowed(self, user):
        if user.status == Status.PENDING:
            self.login_problem = "pending"
            raise ValidationError(self.error_messages["pending"], code="pending")
        if user.status == Status.SUSPENDED:
            self.login_problem = "suspended"
            if user.suspension_reason:
                raise ValidationError(
                    self.error_messages["suspended"],
                    code="suspended",
                    params={"reason": user.suspension_reason},
                )
            raise ValidationError(self.error_messages["suspended_no_reason"], code="suspended")
        super().confirm_login_allowed(user)


class ResendConfirmationForm(forms.Form):
    email = _email_field()


class InviteAcceptForm(NewPasswordMixin, forms.Form):
    full_name = _full_name_field(required=False)
    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["full_name"].initial = user.full_name

    def password_user(self) -> User:
        return User(
            email=self.user.email,
            full_name=self.cleaned_data.get("full_name") or self.user.full_name,
        )


PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{5,31}$")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone"]
        labels = {"full_name": _("Full name"), "phone": _("Phone")}
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }
        help_texts = {"phone": _("For example +7 912 345-67-89.")}

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and (not PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 5):
            raise ValidationError(
                _("Enter a phone number: digits, spaces, brackets and dashes, optionally + first."),
                code="invalid_phone",
            )
        return phone


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's form; only the labels are made to match the rest of the site."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")


class SetPasswordForm(DjangoSetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's form, sending our templated message (`services.user_request_password_reset`).

    Only active accounts get a message, and the page says the same whether or not the address is
    known. Unlike Django's default, an active account without a password (an invitee whom staff
    activated before they chose one) may set one this way: there is no other way in.
    """

    email = _email_field()

    def save(self, **kwargs):
        services.user_request_password_reset(email=self.cleaned_data["email"])


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("To be sure it is you, enter your password."),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    @sensitive_variables("password")
    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The password is not correct."), code="wrong_password")
        return password
