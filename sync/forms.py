"""Forms of the publishing pages: the merchant's sync settings and the photo uploads.

Uploaded photos are checked here, before anything is stored, against what VK accepts for a
Market item photo (docs/contracts/vk-market-api.md §4, errors 1433–1435: "photos crop invalid format / overflow
/ size too low"): a real image in a format VK takes, at least 400×400 px, not absurdly large.
"""

from __future__ import annotations

import os
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from connections.vk_photos import (
    MAX_ASPECT_RATIO,
    MAX_INPUT_PIXELS,
    UnusableImage,
    check_image_dimensions,
)
from sync.models import PHOTOS_PER_PRODUCT, FieldOwner, ProductPhoto, SyncSettings
from sync.plan.stock import FLOOR_MAX

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MIN_SIDE = 400
# VK refuses photos whose width and height add up to more than this.
PHOTO_MAX_SIDES_SUM = 14_000
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}

MARKUP_MIN, MARKUP_MAX = Decimal("-90"), Decimal("1000")
OLD_PRICE_MAX = Decimal("500")


def validate_vk_photo(upload) -> None:
    """Raises ValidationError unless `upload` (already opened by forms.ImageField) suits VK."""
    if upload is None or upload is False:
        return
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s; VK takes photos up to %(limit)s."),
            code="photo_too_big",
            params={
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(PHOTO_MAX_BYTES),
            },
        )
    image = getattr(upload, "image", None)
    if image is None:
        # A file that is already stored (the form was saved before): nothing new to check.
        return
    if image.format not in PHOTO_FORMATS:
        raise ValidationError(
            _("VK takes JPEG, PNG and WebP photos; this file is %(format)s."),
            code="photo_format",
            params={"format": image.format or _("of an unknown type")},
        )
    width, height = image.size
    if width < PHOTO_MIN_SIDE or height < PHOTO_MIN_SIDE:
        raise ValidationError(
            _(
                "The photo is %(width)d×%(height)d px; VK needs at least %(min)d×%(min)d px. "
                "Take a larger one."
            ),
            code="photo_too_small",
            params={"width": width, "height": height, "min": PHOTO_MIN_SIDE},
        )
    if width + height > PHOTO_MAX_SIDES_SUM:
        raise ValidationError(
            _(
                "The photo is %(width)d×%(height)d px; VK takes photos up to 14 000 px wide and "
                "high together."
            ),
            code="photo_too_large",
            params={"width": width, "height": height},
        )
    # The publisher refuses these from the header (connections.vk_photos): say so at upload.
    try:
        check_image_dimensions(width, height)
    except UnusableImage as exc:
        if exc.reason == "aspect_ratio":
            raise ValidationError(
                _(
                    "The photo is %(width)d×%(height)d px; its sides may differ at most "
                    "%(ratio)d times. Crop it closer to a square."
                ),
                code="photo_aspect_ratio",
                params={"width": width, "height": height, "ratio": MAX_ASPECT_RATIO},
            ) from None
        raise ValidationError(
            _(
                "The photo is %(width)d×%(height)d px, more than %(limit)d megapixels. "
                "Take a smaller one."
            ),
            code="photo_too_many_pixels",
            params={"width": width, "height": height, "limit": MAX_INPUT_PIXELS // 1_000_000},
        ) from None


class PhotoField(forms.ImageField):
    default_error_messages = {
        "invalid_image": _(
            "This file is not a photo we can read. Upload a JPEG, PNG or WebP image."
        ),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [validate_vk_photo])
        kwargs.setdefault(
            "help_text",
            _("JPEG, PNG or WebP, at least 400×400 px, up to %(limit)s.")
            % {"limit": filesizeformat(PHOTO_MAX_BYTES)},
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs["accept"] = "image/jpeg,image/png,image/webp"
        return attrs


class _StoredPhoto:
    """The saved file as the widget shows it: its own name, linked to the owner-only view."""

    def __init__(self, file, url: str):
        self.file = file
        self.url = url

    def __str__(self) -> str:
        return os.path.basename(self.file.name)


class OwnerPhotoInput(forms.ClearableFileInput):
    """ClearableFileInput whose "Currently: …" link goes to a view that checks the owner, never
    to MEDIA_URL (uploads are not public)."""

    def __init__(self, *args, url_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.url_name = url_name

    def format_value(self, value):
        value = super().format_value(value)
        if value:
            return _StoredPhoto(value, reverse(self.url_name))
        return value


CategoryChoices = list[tuple[str, list[tuple[int, str]]]]

# Field ownership (sync/plan/ownership.py), in the order the page shows it.
OWNER_FIELDS = ("name_owner", "description_owner", "photos_owner", "albums_owner")


class SyncSettingsForm(forms.ModelForm):
    """The merchant's publishing rules. `categories` are VK's (or the built-in fallback list)."""

    vk_category_id = forms.TypedChoiceField(
        label=_("VK category for new items"),
        coerce=int,
        empty_value=None,
        error_messages={"required": _("Choose a category: VK does not accept items without one.")},
        help_text=_(
            "VK wants a category for every item. Items created by EvoSync get this one; you can "
            "change an item's category in VK afterwards."
        ),
    )
    price_markup_percent = forms.DecimalField(
        label=_("Price markup, %"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(MARKUP_MIN), MaxValueValidator(MARKUP_MAX)],
        help_text=_(
            "Added to the Evotor price in VK: 0 keeps the till price, −10 lowers it by 10 %."
        ),
    )
    old_price_percent = forms.DecimalField(
        label=_("Show a crossed-out old price higher by, %"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(OLD_PRICE_MAX)],
        help_text=_(
            "0 shows no old price; 20 shows a crossed-out price higher than the VK one by 20 %."
        ),
    )
    removal_guard_percent = forms.IntegerField(
        label=_("Ask me first when a run would hide or delete more than, %"),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "Protects your VK Market from a sudden emptying (a store switched off by mistake, "
            "a broken catalog): such a run waits for your confirmation."
        ),
    )
    default_photo = PhotoField(
        label=_("Default photo"),
        required=False,
        widget=OwnerPhotoInput(url_name="sync:default_photo_image"),
    )

    class Meta:
        model = SyncSettings
        fields = [
            "auto_sync",
            "vk_category_id",
            "price_markup_percent",
            "price_rounding",
            "old_price_percent",
            "removal_policy",
            "out_of_stock_policy",
            "albums_from_groups",
            "default_photo",
            "removal_guard_percent",
            *OWNER_FIELDS,
            "publish_stock",
        ]
        labels = {
            "auto_sync": _("Publish changes automatically"),
            "price_rounding": _("Round the VK price"),
            "removal_policy": _("Products removed at the till or switched off here"),
            "out_of_stock_policy": _("Products out of stock or not on sale"),
            "albums_from_groups": _("Make a VK album of each Evotor product group"),
            "name_owner": pgettext_lazy("VK item field", "Name"),
            "description_owner": pgettext_lazy("VK item field", "Description"),
            "photos_owner": pgettext_lazy("VK item field", "Photos"),
            "albums_owner": pgettext_lazy("VK item field", "Albums"),
            "publish_stock": _("Show the stock count in VK"),
        }
        help_texts = {
            "auto_sync": _(
                "After your first publish, changes at the till reach VK after each Evotor "
                "refresh and on schedule. Off: only when you press “Sync now”."
            ),
            "removal_policy": _(
                "Hidden items keep their likes and links and come back when the product does."
            ),
            "publish_stock": _(
                "VK buyers see how many are left (“осталось 3”), from the Evotor quantity, "
                "rounded down for weighed goods. A sale that leaves the shown figure as it was "
                "sends nothing to VK."
            ),
        }
        widgets = {
            "price_rounding": forms.RadioSelect,
            "removal_policy": forms.RadioSelect,
            "out_of_stock_policy": forms.RadioSelect,
            **{name: forms.RadioSelect for name in OWNER_FIELDS},
        }

    def __init__(
        self, *args, categories: CategoryChoices, stores: list[tuple[str, str]] = (), **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.stock_floor_fields = self._add_stock_floors(stores)
        choices: list = [("", _("— choose a category —")), *categories]
        current = self.instance.vk_category_id
        known = {value for _group, options in categories for value, _label in options}
        if current is not None and current not in known:
            # A category VK no longer lists (or the fallback list lacks): keep it selectable
            # rather than silently clearing the merchant's choice on the next save.
            choices.append((current, _("Category %(id)s (chosen earlier)") % {"id": current}))
        self.fields["vk_category_id"].choices = choices
        self.fields["default_photo"].help_text = _(
            "Used for products without a photo of their own or of their group. %(rules)s"
        ) % {"rules": PhotoField().help_text}

    def given_back_to_evotor(self) -> list[str]:
        """The labels of the fields this save gives back from VK to Evotor: the next run puts
        Evotor's values into the items, over the edits made in VK."""
        return [
            str(self.fields[name].label)
            for name in OWNER_FIELDS
            if name in self.changed_data
            and self.initial.get(name) == FieldOwner.VK
            and self.cleaned_data.get(name) == FieldOwner.EVOTOR
        ]

    def _add_stock_floors(self, stores: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """One "show 0 below" number per Evotor store: (field name, store id)."""
        floors = self.instance.stock_floors or {}
        names = []
        for n, (store_id, store_name) in enumerate(stores):
            name = f"stock_floor_{n}"
            self.fields[name] = forms.IntegerField(
                label=_("%(store)s: show 0 when fewer than") % {"store": store_name or store_id},
                min_value=0,
                max_value=FLOOR_MAX,
                required=False,
                initial=floors.get(store_id, 0),
                help_text=_("0 shows the real figure down to the last one."),
            )
            names.append((name, store_id))
        return names

    def clean(self):
        cleaned = super().clean()
        floors = dict(self.instance.stock_floors or {})
        for name, store_id in self.stock_floor_fields:
            if name in self.errors:
                continue
            value = cleaned.get(name)
            if value:
                floors[store_id] = value
            else:  # 0 or left empty: no floor
                floors.pop(store_id, None)
        self.instance.stock_floors = floors
        return cleaned

    @property
    def stock_floor_bound_fields(self):
        return [self[name] for name, _store_id in self.stock_floor_fields]

    @transaction.atomic
    def save(self, commit=True):
        """Saves the settings; a replaced or cleared default photo's old file is deleted."""
        old_file = None
        if "default_photo" in self.changed_data and self.initial.get("default_photo"):
            old_file = self.initial["default_photo"]
        instance = super().save(commit=commit)
        if commit and old_file and old_file.name != instance.default_photo.name:
            storage, name = old_file.storage, old_file.name
            transaction.on_commit(lambda: storage.delete(name))
        return instance


class ProductPhotoForm(forms.Form):
    """A photo the merchant uploads for one Evotor product or group: the main one (replacing
    the earlier main photo), or with `add` one more for a product, after the others."""

    image = PhotoField(label=_("Photo"))

    def __init__(self, *args, add: bool = False, existing: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.add, self.existing = add, existing

    def clean(self):
        cleaned = super().clean()
        if self.add and self.existing >= PHOTOS_PER_PRODUCT:
            raise ValidationError(
                _(
                    "A product has at most %(n)d photos in VK (a main one and four more): "
                    "remove one first."
                )
                % {"n": PHOTOS_PER_PRODUCT}
            )
        return cleaned

    @transaction.atomic
    def save(self, *, user, store_id: str, entity_type: str, entity_id: str) -> ProductPhoto:
        """Stores the photo: a new one after the others (`add`), else the main one, replacing
        (and deleting the file of) an earlier main photo."""
        place = dict(user=user, store_id=store_id, entity_type=entity_type, entity_id=entity_id)
        if self.add:
            last = (
                ProductPhoto.objects.select_for_update()
                .filter(**place)
                .order_by("-position")
                .first()
            )
            position = last.position + 1 if last else 0
            return ProductPhoto.objects.create(
                **place, position=position, image=self.cleaned_data["image"]
            )
        photo, created = ProductPhoto.objects.select_for_update().get_or_create(
            **place, position=0, defaults={"image": self.cleaned_data["image"]}
        )
        if not created:
            old = photo.image
            storage, old_name = old.storage, old.name
            photo.image = self.cleaned_data["image"]
            photo.save()
            if old_name and old_name != photo.image.name:
                transaction.on_commit(lambda: storage.delete(old_name))
        return photo
