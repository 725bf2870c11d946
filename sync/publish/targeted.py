"""A targeted publish: a run that plans and publishes only the products changed in Evotor
(issue 10 item 2). The plan is sync/plan/targeted.py; the run around it (lock, guard, executor,
stop causes, the row) is the same as a whole run's (sync/publish/run.py), with this scope.

When the run went through, the changed-product marks it read are cleared by compare-and-delete
(`catalog.changes.dirty_products_clear`): a product changed again while the run was under way
keeps its mark and goes with the next publish. A run that stops or fails clears nothing, so a
worker lost mid-way loses no change either: the marks are rows in the database.
"""

from __future__ import annotations

from catalog.models import DirtyProduct
from connections.evotor_client import EvotorAuthError
from sync.models import ItemLink, LinkState, RunTrigger, SyncRun
from sync.plan.inputs import cached_vk_albums, cached_vk_items
from sync.plan.photos import evotor_images_refresh
from sync.plan.targeted import load_changed_inputs, plan_changed, published_count
from sync.publish.run import WholeCatalog, sync_run_execute
from sync.publish.vk_cache import vk_cache_write_through
from sync.publish.work import EvotorStopped, Stop


class ChangedProducts:
    """The scope of a targeted run (see `sync.publish.run.WholeCatalog` for the interface).

    A link left `creating` by a lost answer needs the VK catalog read to be recovered: then
    this run plans the whole catalog instead (rare; the whole run clears every mark it read).
    """

    def __init__(self):
        self.whole = False
        self.seen: dict[tuple[str, str], object] = {}
        self.instead: WholeCatalog | None = None

    def plan(self, ctx):
        user = ctx.user
        if ItemLink.objects.filter(user=user, state=LinkState.CREATING).exists():
            self.whole, self.instead = True, WholeCatalog()
            return self.instead.plan(ctx)
        self.seen = {
            (store_id, product_id): changed_at
            for store_id, product_id, changed_at in DirtyProduct.objects.filter(
                user=user
            ).values_list("store_evotor_id", "product_evotor_id", "changed_at")
        }
        inputs = load_changed_inputs(user, set(self.seen))
        if _touches_variants(user, inputs, set(self.seen)):
            # A modification is planned with its whole group (sync/plan/variants.py: the main
            # variant, the grouping): a whole plan, as for a group change.
            self.whole, self.instead = True, WholeCatalog()
            return self.instead.plan(ctx)
        if ctx.evotor is not None:
            try:
                evotor_images_refresh(evotor=ctx.evotor, inputs=inputs)
            except EvotorAuthError as exc:
                raise Stop(EvotorStopped(str(exc))) from None
        vk_items = vk_albums = None
        if inputs.has_unlinked_products():
            # A product new in Evotor may already be in VK (made by hand): look as a whole
            # run would, in the VK catalog cache (sync.plan.adoption).
            vk_items, vk_albums = cached_vk_items(user), cached_vk_albums(user)
        plan = plan_changed(
            inputs,
            published=lambda: published_count(user),
            vk_items=vk_items,
            vk_albums=vk_albums or [],
        )
        return plan, inputs.links

    def went_through(self, run: SyncRun) -> None:
        from catalog.changes import dirty_products_clear

        if self.instead is not None:
            self.instead.went_through(run)
        else:
            dirty_products_clear(user=run.user, seen=self.seen)
            # The VK catalog pages show what was just written, without a re-read of VK.
            vk_cache_write_through(user=run.user, keys=set(self.seen), since=run.started_at)


def _touches_variants(user, inputs, keys: set[tuple[str, str]]) -> bool:
    """Whether a changed product is a modification, or was one when it was last published."""
    from sync.models import VariantMember

    # `inputs.groups` holds the changed products' own groups (and the groups above modification
    # groups, which are ordinary groups): a modification group among them is a changed variant.
    if any(info.is_modification_group for info in inputs.groups.values()):
        return True
    stores = {store_id for store_id, _product in keys}
    products = {product_id for _store, product_id in keys}
    return (
        bool(keys)
        and VariantMember.objects.filter(
            user=user, store_id__in=stores, product_id__in=products
        ).exists()
    )


def sync_changes_publish(*, user) -> SyncRun | None:
    """Publish the merchant's changed products now, in a run of their own (trigger
    `evotor_change`). None when there is nothing to publish or no automatic run may start: before
    the first publish (which publishes everything), with automatic publishing off, or while
    another run is queued or in progress (the marks wait; sync/debounce.py comes back)."""
    from sync.lifecycle import sync_run_create, sync_run_start_check

    if not DirtyProduct.objects.filter(user=user).exists():
        return None
    check = sync_run_start_check(user, trigger=RunTrigger.EVOTOR_CHANGE)
    if check.refusal is not None or check.live is not None:
        return None
    run = sync_run_create(user=user, trigger=RunTrigger.EVOTOR_CHANGE)
    return sync_run_execute(run=run, scope=ChangedProducts())
