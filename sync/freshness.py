"""How fresh a merchant's VK shop is: when the last change arrived from Evotor and when it
reached VK (the dashboard and the admin's freshness list, issue 10 item 5).

"Reached VK" is the end of the first publish that succeeded (done, or done with problems) and
started after the change arrived: a run reads the cached catalog when it starts, and the change
was in the cache from the moment it arrived. Until such a run ends the change is waiting, and
its lag grows with the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DateTimeField, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import CatalogFreshness, DirtyProduct
from sync.models import RunStatus, SyncRun

PUBLISHED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


@dataclass(frozen=True)
class Freshness:
    last_change_at: datetime | None  # None: no single change has arrived yet
    reached_vk_at: datetime | None  # None: not yet (or never a change)
    changes_waiting: int  # products changed in Evotor and not yet sent

    @property
    def waiting(self) -> bool:
        return self.last_change_at is not None and self.reached_vk_at is None

    def lag(self, now: datetime | None = None) -> timedelta | None:
        """From the change's arrival to VK, or to now while it waits."""
        if self.last_change_at is None:
            return None
        return (self.reached_vk_at or now or timezone.now()) - self.last_change_at


def _reached_vk(user_ref, since_ref) -> Subquery:
    return Subquery(
        output_field=DateTimeField(),
        queryset=SyncRun.objects.filter(
            user=user_ref,
            dry_run=False,
            status__in=PUBLISHED,
            started_at__gte=since_ref,
        )
        .order_by()
        .values("user")
        .annotate(first=Min("finished_at"))
        .values("first")[:1],
    )


def _changes_waiting(user_ref) -> Subquery:
    return Subquery(
        DirtyProduct.objects.filter(user=user_ref)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )


def freshness_read(user) -> Freshness:
    """The merchant's freshness (two queries)."""
    row = (
        CatalogFreshness.objects.filter(user=user)
        .annotate(reached_vk_at=_reached_vk(OuterRef("user"), OuterRef("last_change_at")))
        .values("last_change_at", "reached_vk_at")
        .first()
    )
    waiting = DirtyProduct.objects.filter(user=user).count()
    if row is None:
        return Freshness(last_change_at=None, reached_vk_at=None, changes_waiting=waiting)
    return Freshness(
        last_change_at=row["last_change_at"],
        reached_vk_at=row["reached_vk_at"],
        changes_waiting=waiting,
    )


def freshness_annotate(queryset: QuerySet) -> QuerySet:
    """`CatalogFreshness` rows with `reached_vk_at` and `changes_waiting`, in one query
    whatever the count."""
    return queryset.annotate(
        reached_vk_at=_reached_vk(OuterRef("user"), OuterRef("last_change_at")),
        changes_waiting=Coalesce(_changes_waiting(OuterRef("user")), 0),
    )
