"""Why an item was not published, as codes the engine stores and the pages put into words.

The engine writes a code (or several, comma-separated) into `SyncRunItem.error` and
`ItemLink.last_error` for every reason of its own; only VK's answer to an item is stored as VK's
text (sync.publish.records.vk_message). The pages and the admin translate codes when they show them
(`reason_text`), so a run's items read in the language of whoever looks, and an old run still
reads right after a wording changes.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from sync.plan.rules import FLAG_NAME_TOO_SHORT, FLAG_NO_CATEGORY, FLAG_NO_PHOTO, FLAG_NO_PRICE

# Reasons the executor (sync.publish) finds while applying a plan (the planner's are the rules' FLAG_*).
PHOTO_UNREADABLE = "photo_unreadable"
EVOTOR_PHOTO_UNAVAILABLE = "evotor_photo_unavailable"
EVOTOR_TOKEN_REVOKED = "evotor_token_revoked"
PHOTO_FAILED = "photo_failed"
PHOTO_TOO_LARGE = "photo_too_large"
PHOTO_BAD_SHAPE = "photo_bad_shape"
PHOTO_OUT_OF_MEMORY = "photo_out_of_memory"
NOT_SENT = "not_sent"
ANSWER_LOST_NOT_CREATED = "answer_lost_not_created"
ANSWER_LOST_UNKNOWN = "answer_lost_unknown"

# The planner's flags: VK would refuse the item.
FLAGS = {
    FLAG_NAME_TOO_SHORT: _(
        "The name is too short for VK (at least 4 letters). Give it a longer name at the till."
    ),
    FLAG_NO_PHOTO: _("No photo: VK does not accept items without one."),
    FLAG_NO_CATEGORY: _("No VK category chosen."),
    FLAG_NO_PRICE: _("No price: set one at the till."),
}

REASONS = {
    **FLAGS,
    PHOTO_UNREADABLE: _(
        "The photo could not be read (the file is damaged or not a picture). Upload another one."
    ),
    EVOTOR_PHOTO_UNAVAILABLE: _(
        "Evotor did not give the product's photo this time. It is tried again on the next run."
    ),
    EVOTOR_TOKEN_REVOKED: _(
        "Evotor no longer accepts the token, so the product's photo could not be read."
    ),
    PHOTO_FAILED: _(
        "Something went wrong on our side while preparing the photo. It is tried again on the "
        "next run."
    ),
    PHOTO_TOO_LARGE: _(
        "The photo has too many pixels to prepare for VK (at most 25 megapixels). Upload a "
        "smaller one."
    ),
    PHOTO_BAD_SHAPE: _(
        "The photo is too long and narrow for VK (its sides may differ at most 20 times). "
        "Upload another one."
    ),
    PHOTO_OUT_OF_MEMORY: _(
        "The photo needed more memory than the server had free, so the item was skipped. It is "
        "tried again on the next run; a smaller photo avoids it."
    ),
    NOT_SENT: _("Not sent: the run ended before this item's turn. It is sent on the next run."),
    ANSWER_LOST_NOT_CREATED: _(
        "VK did not answer in time and has no such item; it will be created on the next run."
    ),
    ANSWER_LOST_UNKNOWN: _(
        "VK did not answer in time; the next run checks whether the item was created."
    ),
}

# Codes that a photo the merchant uploads would fix (the pages link to the upload form).
PHOTO_PROBLEMS = frozenset({FLAG_NO_PHOTO, PHOTO_UNREADABLE, PHOTO_TOO_LARGE, PHOTO_BAD_SHAPE})

# connections.vk_photos.UnusableImage.reason → the code the run item records.
UNUSABLE_IMAGE = {"too_many_pixels": PHOTO_TOO_LARGE, "aspect_ratio": PHOTO_BAD_SHAPE}

# Texts stored before the codes (the engine's first weeks): still shown in words.
_LEGACY_PREFIXES = (
    ("no photo", FLAG_NO_PHOTO),
    ("photo unreadable", PHOTO_UNREADABLE),
    ("photo:", PHOTO_FAILED),
    ("Evotor:", EVOTOR_PHOTO_UNAVAILABLE),
    ("nothing left to send", NOT_SENT),
)


def codes_of(error: str) -> list[str]:
    """The reason codes in a stored error, or [] when it is a text (VK's own message)."""
    if not error:
        return []
    codes = [part.strip() for part in error.split(",")]
    if all(code in REASONS for code in codes):
        return codes
    for prefix, code in _LEGACY_PREFIXES:
        if error.startswith(prefix):
            return [code]
    return []


def reason_text(error: str) -> str:
    """A stored item error for the merchant: codes in words, anything else (VK's text) as is."""
    codes = codes_of(error)
    if not codes:
        return error or ""
    return " ".join(str(REASONS[code]) for code in codes)


def is_photo_problem(error: str) -> bool:
    """Whether uploading a photo would fix the item."""
    return any(code in PHOTO_PROBLEMS for code in codes_of(error))
