"""What a plan is computed from, read from the database into plain data (sync/plan/planner.py).

Selected products (sync.filters), their groups, the merchant's links and albums, the photo
fallbacks, and optionally the VK catalog cache for adoption. A whole plan reads the products
and their links in chunks (sync/plan/chunks.py): its memory is flat in the catalog's size when
the products are unchanged, and its queries grow by two per chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from catalog.models import CachedGroup
from sync.models import AdoptionDecision, AlbumLink, ItemLink, SyncSettings
from sync.plan import chunks, rules
from sync.plan.photos import (
    EvotorImage,
    FallbackPhotos,
    PhotoMark,
    decode_evotor_image,
    load_fallbacks,
)
from sync.plan.plan import Plan
from sync.plan.planner import build_plan
from sync.plan.skip import UnchangedCheck, assign_skus_besides
from sync.plan.snapshots import AlbumSnapshot, LinkSnapshot, VkItemSnapshot
from sync.plan.variant_inputs import VariantInputs, load_variant_inputs, variants_for_plan


def sync_settings_get(user) -> SyncSettings:
    """The merchant's sync settings, created with the defaults on first use."""
    settings_obj, _created = SyncSettings.objects.get_or_create(user=user)
    return settings_obj


@dataclass
class GroupInfo:
    name: str
    parent_id: str
    is_modification_group: bool


@dataclass
class Inputs:
    """Everything the planner needs for one merchant. `links` holds the links of the computed
    products and of the products no longer selected, not those of skipped products."""

    sync_settings: SyncSettings
    rule_settings: rules.RuleSettings
    products: list[rules.SourceProduct]
    links: dict[tuple[str, str], ItemLink]
    albums: list[AlbumSnapshot]
    fallbacks: FallbackPhotos
    groups: dict[tuple[str, str], GroupInfo]
    removed_keys: set[tuple[str, str]] = field(default_factory=set)
    skus: dict[tuple[str, str], str] = field(default_factory=dict)
    # Evotor's image list as the preview just read it, for new items (never stored): see
    # `photo_for`.
    evotor_seen: dict[tuple[str, str], str] = field(default_factory=dict)
    # The merchant's answers about weak adoption matches: {key: (VK item id, verdict)}.
    adoption_decisions: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    # Modification groups and what was published of them (sync/plan/variant_inputs.py).
    variants: VariantInputs = field(default_factory=VariantInputs)
    # Selected products known unchanged, not computed (sync/plan/skip.py): only counted, and
    # how many of them are visible in VK (the removal guard's base).
    unchanged: int = 0
    unchanged_published: int = 0

    def group_chain(self, store_id: str, group_id: str) -> list[str]:
        """The group and its ancestors, nearest first (cycles in bad data are cut)."""
        chain: list[str] = []
        while group_id and group_id not in chain:
            chain.append(group_id)
            info = self.groups.get((store_id, group_id))
            group_id = info.parent_id if info else ""
        return chain

    def has_unlinked_products(self) -> bool:
        """Whether some selected product has no VK item yet (then adoption is looked for)."""
        return any(
            (link := self.links.get((p.store_id, p.product_id))) is None or link.vk_item_id is None
            for p in self.products
        )

    def link_snapshots(self) -> list[LinkSnapshot]:
        return [link_snapshot(link) for link in self.links.values()]

    def needs_evotor_lookup(self, product: rules.SourceProduct) -> bool:
        """Whether Evotor's image list must be read before this product's photo is known."""
        link = self.links.get((product.store_id, product.product_id))
        return (
            link is None
            or link.evotor_image == EvotorImage.NOT_LOOKED
            or link.source_hash != product.source_hash
        )

    def fallback_for(self, product: rules.SourceProduct) -> rules.PhotoSource | None:
        """The photo used when Evotor has none: the product's, its group's, the defaults."""
        chain = self.group_chain(product.store_id, product.group_id)
        return self.fallbacks.for_product(product.store_id, product.product_id, chain)

    def photo_depends_on_evotor(self, product: rules.SourceProduct) -> bool:
        """A new item whose fate only Evotor's (unread) image list decides: with an image it is
        published, without one it is skipped, as no other photo would stand in."""
        link = self.links.get((product.store_id, product.product_id))
        if link is not None and (
            link.vk_item_id is not None or link.photo_hash == PhotoMark.KEEP_VK
        ):
            return False
        return self.needs_evotor_lookup(product) and self.fallback_for(product) is None

    def photo_for(self, product: rules.SourceProduct) -> tuple[rules.PhotoSource | None, bool]:
        """(photo source, unknown): the photo the item should have, as far as we know.

        `unknown` when Evotor's image was never read for the product's current version: for a
        new item the run reads it then (the preview may have just read it: `evotor_seen`);
        for a published one the photo counts as unchanged until it has.
        """
        key = (product.store_id, product.product_id)
        link = self.links.get(key)
        fallback = self.fallback_for(product)
        if link is not None and link.photo_hash == PhotoMark.KEEP_VK:
            # An adopted item keeps the merchant's own VK photo, unless they upload one for the
            # product here.
            own = self.fallbacks.product_photos.get(key)
            return own, False
        if self.needs_evotor_lookup(product):
            if link is not None and link.vk_item_id is not None:
                return None, True
            if key in self.evotor_seen:
                return decode_evotor_image(self.evotor_seen[key]) or fallback, False
            return fallback, True
        return decode_evotor_image(link.evotor_image) or fallback, False

    def desired_items(self) -> list[rules.DesiredItem]:
        return list(self.iter_desired())

    def iter_desired(self) -> Iterator[rules.DesiredItem]:
        """The VK item each product should be, one at a time."""
        for product in self.products:
            key = (product.store_id, product.product_id)
            photo, unknown = self.photo_for(product)
            link = self.links.get(key)
            if link is not None and link.vk_item_id is not None and photo is None:
                unknown = True  # a published item keeps its photo; nothing to flag
            yield rules.desired_item(
                product,
                self.rule_settings,
                sku=self.skus.get(key),
                photo=photo,
                photo_unknown=unknown,
            )


def link_snapshot(link: ItemLink) -> LinkSnapshot:
    return LinkSnapshot(
        id=link.pk,
        store_id=link.store_id,
        product_id=link.product_id,
        vk_item_id=link.vk_item_id,
        sku=link.sku,
        state=link.state,
        adopted=link.adopted,
        album_ids=tuple(int(a) for a in link.album_ids or ()),
        published_fields=dict(link.published_fields or {}),
        photo_hash=link.photo_hash,
        product_name=link.product_name,
        last_error=link.last_error,
        vk_edits=dict(link.vk_edits or {}),
    )


def source_hash(content_hash: str, images_changed_at) -> str:
    """What a link compares to know the product changed since Evotor's image list was read:
    the payload's hash, and the last picture change Evotor announced (an image replaced with
    nothing else changed leaves the payload as it was)."""
    if images_changed_at is None:
        return content_hash
    return rules.short_hash(f"{content_hash}:{images_changed_at.isoformat()}")


def _is_modification(groups: dict, store_id: str, group_id: str) -> bool:
    info = groups.get((store_id, group_id))
    return info is not None and info.is_modification_group


def album_group(groups: dict, store_id: str, group_id: str) -> tuple[str, str]:
    """(group id, name) of the album a product goes in: its group, or for a modification (a
    variant) the group above its modification group."""
    info = groups.get((store_id, group_id))
    if info is not None and info.is_modification_group and info.parent_id:
        parent = groups.get((store_id, info.parent_id))
        if parent is not None:
            return info.parent_id, parent.name
        return "", ""
    return (group_id, info.name) if info is not None else ("", "")


# The cached product's columns a plan reads (`source_product`).
PRODUCT_COLUMNS = (
    "store_evotor_id",
    "evotor_id",
    "parent_evotor_id",
    "name",
    "price",
    "description",
    "article_number",
    "code",
    "measure_name",
    "quantity",
    "allow_to_sell",
    "content_hash",
    "images_changed_at",
    "barcodes",
)


def source_product(row: dict, groups: dict) -> rules.SourceProduct:
    """One cached product (its `PRODUCT_COLUMNS`) as the rules read it."""
    group_id, group_name = album_group(groups, row["store_evotor_id"], row["parent_evotor_id"])
    return rules.SourceProduct(
        store_id=row["store_evotor_id"],
        product_id=row["evotor_id"],
        name=row["name"],
        price=row["price"],
        description=row["description"],
        article_number=row["article_number"],
        code=row["code"],
        measure_name=row["measure_name"],
        quantity=row["quantity"],
        allow_to_sell=row["allow_to_sell"],
        group_id=group_id,
        group_name=group_name,
        source_hash=source_hash(row["content_hash"], row["images_changed_at"]),
        barcodes=tuple(row["barcodes"] or ()),
    )


def groups_info(queryset) -> dict[tuple[str, str], GroupInfo]:
    """{(store, group): GroupInfo} of the cached groups in `queryset`."""
    return {
        (g.store_evotor_id, g.evotor_id): GroupInfo(
            name=g.name,
            parent_id=g.parent_evotor_id,
            is_modification_group=bool((g.raw or {}).get("attributes")),
        )
        for g in queryset.only("store_evotor_id", "evotor_id", "name", "parent_evotor_id", "raw")
    }


def merchant_albums(user) -> list[AlbumSnapshot]:
    """The albums we made for the merchant, each with the Evotor groups it holds."""
    albums_by_id: dict[int, list] = {}
    titles: dict[int, str] = {}
    for album in AlbumLink.objects.filter(user=user):
        albums_by_id.setdefault(album.vk_album_id, []).append((album.store_id, album.group_id))
        titles[album.vk_album_id] = album.title
    return [
        AlbumSnapshot(vk_album_id=vk_id, title=titles[vk_id], group_keys=tuple(keys))
        for vk_id, keys in albums_by_id.items()
    ]


def is_unchanged(check: UnchangedCheck, row: dict, link: ItemLink | None) -> bool:
    """Whether the product (a row of `PRODUCT_COLUMNS`) is known unchanged since its `link`
    was stamped, so its item need not be computed (sync/plan/skip.py)."""
    groups = check.inputs.groups
    store_id = row["store_evotor_id"]
    # A modification is planned with its whole group (sync/plan/variants.py): never skipped.
    if _is_modification(groups, store_id, row["parent_evotor_id"]):
        return False
    group_id, group_name = album_group(groups, store_id, row["parent_evotor_id"])
    fingerprint = check.fingerprint(
        link=link,
        store_id=store_id,
        product_id=row["evotor_id"],
        content_hash=source_hash(row["content_hash"], row["images_changed_at"]),
        group_id=group_id,
        group_name=group_name,
    )
    return check.skips(link, fingerprint)


def load_inputs(user) -> Inputs:
    """Read everything a whole plan for `user` needs, in chunks (sync/plan/chunks.py): the
    products known unchanged (sync/plan/skip.py) are only counted, so their rows and links are
    never all held at once."""
    from catalog.filters import selected_products

    inputs = inputs_base(user)
    groups = inputs.groups
    selected = selected_products(user)
    check = UnchangedCheck(inputs)
    for rows, links in chunks.product_chunks(user, selected, PRODUCT_COLUMNS):
        for row in rows:
            key = (row["store_evotor_id"], row["evotor_id"])
            link = links.get(key)
            if is_unchanged(check, row, link):
                inputs.unchanged += 1
                inputs.unchanged_published += not (link.published_fields or {}).get("hidden")
                continue
            inputs.products.append(source_product(row, groups))
            if link is not None:
                inputs.links[key] = link
    unselected = {
        (link.store_id, link.product_id): link for link in chunks.unselected_links(user, selected)
    }
    inputs.links.update(unselected)
    if unselected:
        inputs.removed_keys = chunks.removed_keys(user, set(unselected))
    inputs.skus = _skus(user, inputs)
    return inputs


def inputs_base(user) -> Inputs:
    """What every plan of `user` needs besides the products and their links: settings,
    groups, albums, fallback photos, adoption answers, variant groups."""
    from catalog.filters import enabled_store_ids

    sync_settings = sync_settings_get(user)
    store_ids = enabled_store_ids(user) | chunks.link_store_ids(user)
    return Inputs(
        sync_settings=sync_settings,
        rule_settings=rules.RuleSettings.from_model(sync_settings),
        products=[],
        links={},
        albums=merchant_albums(user),
        fallbacks=load_fallbacks(user, sync_settings),
        groups=groups_info(
            CachedGroup.objects.filter(user=user, store_evotor_id__in=sorted(store_ids))
        ),
        adoption_decisions={
            (d.store_id, d.product_id): (d.vk_item_id, d.verdict)
            for d in AdoptionDecision.objects.filter(user=user)
        },
        variants=load_variant_inputs(user, store_ids),
    )


def _skus(user, inputs: Inputs) -> dict[tuple[str, str], str]:
    """A sku per computed product, unique among the merchant's items: the skipped products
    keep their items' skus, and nobody else may take them (`chunks.reserved_skus`)."""
    products = inputs.products
    kept = {key: link.sku for key, link in inputs.links.items() if link.sku}
    first = rules.assign_skus(products, kept=kept)
    candidates = {sku.lower() for sku in first.values()}
    candidates |= {kept[key].lower() for key in first if key in kept}
    reserved = chunks.reserved_skus(user, candidates, besides=set(inputs.links))
    if not reserved:
        return first
    return assign_skus_besides(products, kept=kept, reserved=reserved)


def cached_vk_items(user) -> list[VkItemSnapshot]:
    """The merchant's VK items as the VK catalog cache last saw them (for adoption)."""
    from vk_catalog.models import VkCachedProduct

    return [
        VkItemSnapshot.from_cached(row)
        for row in VkCachedProduct.objects.filter(user=user, is_removed=False)
    ]


def cached_vk_albums(user) -> list[AlbumSnapshot]:
    from vk_catalog.models import VkCachedAlbum

    return [
        AlbumSnapshot(vk_album_id=row.vk_id, title=row.title)
        for row in VkCachedAlbum.objects.filter(user=user, is_removed=False)
    ]


def not_linked(inputs: Inputs, vk_items: list[VkItemSnapshot]) -> list[VkItemSnapshot]:
    """The VK items no link of the merchant holds: the links of skipped products are not in
    `inputs.links` (sync/plan/chunks.py), so their items are left out here, never adopted twice."""
    linked = chunks.linked_vk_ids(inputs.sync_settings.user_id)
    return [vk for vk in vk_items if vk.vk_id not in linked]


def plan_from_inputs(
    inputs: Inputs,
    *,
    vk_items: list[VkItemSnapshot] | None = None,
    vk_albums: list[AlbumSnapshot] = (),
    confirmed_removals: int | None = None,
) -> Plan:
    desired = inputs.desired_items()
    if vk_items:
        vk_items = not_linked(inputs, vk_items)
    plan = build_plan(
        desired=desired,
        links=inputs.link_snapshots(),
        settings=inputs.rule_settings,
        albums=inputs.albums,
        vk_items=vk_items,
        vk_albums=vk_albums,
        removed_keys=inputs.removed_keys,
        confirmed_removals=confirmed_removals,
        adoption_decisions=inputs.adoption_decisions,
        unchanged=inputs.unchanged,
        unchanged_published=inputs.unchanged_published,
    )
    plan.variants = variants_for_plan(inputs.variants, plan, desired, inputs.links)
    return plan
