"""The users admin (replaces the original hand-built panel) and the roles (groups) admin.

Status changes and e-mails go through `accounts.services`; e-mails to merchants are written in
the site's language (settings.LANGUAGE_CODE), whatever language the staff member uses.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.admin_forms import (
    SuspendForm,
    UserChangeForm,
    UserInviteForm,
    default_suspension_reason,
)
from accounts.models import Role, Status, User
from accounts.selectors import users_editable_by


def _in_site_language(function, /, **kwargs):
    with translation.override(settings.LANGUAGE_CODE):
        return function(**kwargs)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserInviteForm
    add_form_template = "admin/accounts/user/add_form.html"
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone")}),
        (_("Access"), {"fields": ("role", "status", "suspension_reason")}),
        (_("Evotor"), {"fields": ("evotor_user_id",)}),
        (_("Important dates"), {"fields": ("email_confirmed_at", "last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "role")}),)
    readonly_fields = ("email", "evotor_user_id", "email_confirmed_at", "last_login", "date_joined")
    list_display = (
        "email",
        "full_name",
        "role",
        "status",
        "email_confirmed",
        "date_joined",
        "last_login",
    )
    list_filter = ("role", "status", "date_joined")
    search_fields = ("email", "full_name", "phone")
    ordering = ("email",)
    filter_horizontal = ()
    list_per_page = 50
    actions = ("activate_users", "suspend_users", "send_password_reset", "send_invite")

    @admin.display(boolean=True, description=_("e-mail confirmed"), ordering="email_confirmed_at")
    def email_confirmed(self, obj: User) -> bool:
        return obj.email_confirmed_at is not None

    def get_readonly_fields(self, request, obj=None):
        # On the add (invite) form the e-mail is what staff type in.
        return () if obj is None else self.readonly_fields

    # --- Keeping the admin role below the system role -----------------------------------------

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v != Role.SYSTEM]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.role == Role.SYSTEM and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.role == Role.SYSTEM and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # The bulk "delete selected" must not reach system accounts either.
        if not request.user.is_superuser and any(o.role == Role.SYSTEM for o in objs):
            deleted, model_count, perms_needed, protected = super().get_deleted_objects(
                objs, request
            )
            return deleted, model_count, {*perms_needed, User._meta.verbose_name}, protected
        return super().get_deleted_objects(objs, request)

    # --- Add = invite ----------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {"title": _("Invite a user"), **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        result = _in_site_language(
            services.user_invite,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
        if result.email_sent:
            self.message_user(
                request,
                _("Invitation sent to %(email)s.") % {"email": result.user.email},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                _(
                    "The account is created, but the invitation to %(email)s could not be sent. "
                    "Try again later with the “Send an invitation” action."
                )
                % {"email": result.user.email},
                messages.ERROR,
            )
        return result.user

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # On add, `save_form` has created the user through `user_invite` already.

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    # --- Actions ---------------------------------------------------------------------------------

    def _editable(self, request, queryset):
        return users_editable_by(request.user, queryset)

    def _report_mail(self, request, *, sent: int, failed: int, skipped: int = 0, skip_why=""):
        if sent:
            self.message_user(
                request,
                ngettext("%(count)d e-mail sent.", "%(count)d e-mails sent.", sent)
                % {"count": sent},
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail could not be sent; see the logs and try again later.",
                    "%(count)d e-mails could not be sent; see the logs and try again later.",
                    failed,
                )
                % {"count": failed},
                messages.ERROR,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d user skipped: %(why)s",
                    "%(count)d users skipped: %(why)s",
                    skipped,
                )
                % {"count": skipped, "why": skip_why},
                messages.WARNING,
            )

    @admin.action(description=_("Activate selected users"), permissions=["change"])
    def activate_users(self, request, queryset):
        users = list(self._editable(request, queryset))
        for user in users:
            _in_site_language(services.user_activate, user=user, notify=True)
        self.message_user(
            request,
            ngettext("%(count)d user activated.", "%(count)d users activated.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Suspend selected users…"), permissions=["change"])
    def suspend_users(self, request, queryset):
        users = list(self._editable(request, queryset).exclude(pk=request.user.pk))
        if not users:
            self.message_user(
                request,
                _("Nothing to suspend: you cannot suspend yourself or a system account."),
                messages.WARNING,
            )
            return None
        if "apply" in request.POST:
            form = SuspendForm(request.POST)
            if form.is_valid():
                for user in users:
                    services.user_suspend(user=user, reason=form.cleaned_data["reason"])
                self.message_user(
                    request,
                    ngettext("%(count)d user suspended.", "%(count)d users suspended.", len(users))
                    % {"count": len(users)},
                    messages.SUCCESS,
                )
                return None
        else:
            form = SuspendForm(initial={"reason": default_suspension_reason()})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Suspend users"),
            "opts": self.opts,
            "users": users,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "suspend_users",
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/user/suspend_confirmation.html", context)

    @admin.action(description=_("Send a password reset link"), permissions=["change"])
    def send_password_reset(self, request, queryset):
        self._mail_each(
            request,
            queryset,
            status=Status.ACTIVE,
            send=lambda user: _in_site_language(services.user_send_password_reset, user=user),
            skip_why=_("only active users can reset a password (invite the others)."),
        )

    @admin.action(description=_("Send an invitation"), permissions=["change"])
    def send_invite(self, request, queryset):
        self._mail_each(
            request,
            queryset,
            status=Status.PENDING,
            send=lambda user: _in_site_language(
                services.user_send_invite, user=user, invited_by=request.user
            ),
            skip_why=_("only users waiting for confirmation can be invited."),
        )

    def _mail_each(self, request, queryset, *, status, send, skip_why):
        """E-mails each selected user in `status` with `send` (True when it went out) and
        reports how many were sent, failed and skipped."""
        sent = failed = skipped = 0
        for user in self._editable(request, queryset):
            if user.status != status:
                skipped += 1
            elif send(user):
                sent += 1
            else:
                failed += 1
        self._report_mail(request, sent=sent, failed=failed, skipped=skipped, skip_why=skip_why)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin):
    """Roles are groups; the three role groups can be given permissions but not renamed or
    deleted, since `User.role` names them."""

    list_display = ("name", "role_label", "user_count")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_count=Count("user", distinct=True))

    @admin.display(description=_("role"))
    def role_label(self, obj: Group) -> str:
        return Role(obj.name).label if obj.name in Role.values else "—"

    @admin.display(description=_("users"), ordering="user_count")
    def user_count(self, obj: Group) -> int:
        return obj.user_count

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return ("name",)
        return ()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return False
        return super().has_delete_permission(request, obj)
