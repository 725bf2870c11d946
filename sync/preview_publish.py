"""Whether the preview's "Publish" may go ahead on the preview the merchant saw.

The form carries the key of the result shown (sync/preview_jobs.py `preview_source_key`). A
current result publishes. A result that was already stale when shown (a large catalog changing
faster than its preview is computed: every sale that changes stock) publishes too, because the
page said so (its banner: the run publishes the catalog as it is now), as long as it is still
close to what the run will do:

- it is still the latest kept result (a newer one is shown instead);
- the settings and choices it was computed with are unchanged (the key's first part: a changed
  store, filter, category or adoption answer changes what is sent, not just a figure);
- the catalog's number of products moved by at most STALE_PRODUCTS_MARGIN (a catalog read that
  brought or dropped many products is not "the same shop with new stock").

Removals need no check here: the run re-checks the removal guard itself and stops before
removing more than the number the merchant ticked (or, with no tick, more than the limit).
A result that was current when shown but went stale before "Publish" is refused, as before:
the page then shows it as stale, saying what publishing it now means.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

STALE_PRODUCTS_MARGIN = 0.01  # of the products when the result was computed
STALE_PRODUCTS_MIN = 20  # a small catalog may gain or lose this many regardless


def publish_refusal(user, *, seen: str | None, as_now: bool) -> str | None:
    """Why "Publish" from a preview showing the result with key `seen` must not go ahead
    (None: it may). `as_now`: the page showed that result as stale, with its banner."""
    from sync.models import PlanPreview
    from sync.preview_jobs import catalog_size, key_choices, preview_source_key
    from sync.preview_store import preview_summary

    if seen is None:  # not from the preview (the dashboard's "Publish now")
        return None
    current = preview_source_key(user)
    if seen == current:
        return None
    if not as_now:
        return _(
            "Your catalog or settings changed after this preview was made, so nothing was "
            "published. Here is the preview as it is now: check it and publish again."
        )
    kept = PlanPreview.objects.filter(user=user).first()
    summary = preview_summary(kept) if kept is not None and kept.has_result else None
    if summary is None or not seen or summary.source_key != seen:
        return _(
            "A newer preview was computed after the one you saw, so nothing was published. "
            "Here it is: check it and publish again."
        )
    if key_choices(seen) != key_choices(current):
        return _(
            "Your settings or choices changed after this preview was computed, so nothing was "
            "published. Wait for the new preview below, check it and publish again."
        )
    then, now = summary.products, catalog_size(user)
    if abs(now - then) > max(STALE_PRODUCTS_MIN, STALE_PRODUCTS_MARGIN * then):
        return ngettext(
            "Your catalog now has %(now)d product, %(then)d when this preview was computed: "
            "too different to publish from it, so nothing was published. Wait for the new "
            "preview below, check it and publish again.",
            "Your catalog now has %(now)d products, %(then)d when this preview was computed: "
            "too different to publish from it, so nothing was published. Wait for the new "
            "preview below, check it and publish again.",
            now,
        ) % {"now": now, "then": then}
    return None
