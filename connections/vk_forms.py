"""The VK connection forms: the community chosen from the person's list (one-click connect), and
the advanced way, a pasted user access token and the community (number or address)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from connections import vk_errors, vk_services
from connections.models import VkConnection
from connections.vk_services import CommunityIdError, ScreenNameGiven


class VkConnectionForm(forms.Form):
    access_token = forms.CharField(
        label=_("User access token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_(
            "A VK user token with the “market” and “photos” rights (not a community token). "
            "You may paste the whole address VK showed after you allowed access."
        ),
    )
    community = forms.CharField(
        label=_("Community"),
        max_length=300,
        help_text=_("Its number (123456), or its address: vk.com/club123456 or vk.com/myshop."),
    )

    def __init__(self, *args, connection: VkConnection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection is not None and connection.access_token:
            self.fields["access_token"].help_text = _(
                "Saved: %(masked)s. Leave empty to keep it; paste a new one to replace it."
            ) % {"masked": connection.masked_token}

    def clean_access_token(self) -> str:
        text = self.cleaned_data.get("access_token", "")
        if not text:
            if self.connection is None or not self.connection.access_token:
                raise forms.ValidationError(_("Paste the access token."))
            return ""
        try:
            return vk_services.clean_access_token(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("community")
        if text is None or "access_token" in self.errors:
            return cleaned
        try:
            cleaned["group_id"] = vk_services.parse_community_id(text)
        except ScreenNameGiven as given:
            token = cleaned.get("access_token") or (
                self.connection.access_token if self.connection else ""
            )
            try:
                cleaned["group_id"] = vk_services.vk_community_resolve(
                    access_token=token, screen_name=given.screen_name
                )
            except CommunityIdError as exc:
                self.add_error("community", str(exc))
            except vk_errors.VkApiError as exc:
                self.add_error(
                    "community",
                    _(
                        "VK could not tell the community's number: %(reason)s Enter the number instead."
                    )
                    % {"reason": exc.user_message},
                )
        except CommunityIdError as exc:
            self.add_error("community", str(exc))
        return cleaned


class CommunityChoiceForm(forms.Form):
    """The community picked on the choice page; whether it will do is VK's to say
    (connections.vk_connect.vk_connect_choose)."""

    group_id = forms.IntegerField(
        min_value=1,
        error_messages={
            "required": _("Choose a community."),
            "invalid": _("Choose a community from the list."),
            "min_value": _("Choose a community from the list."),
        },
    )
