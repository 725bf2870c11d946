"""A whole plan built a chunk of products at a time, holding at most a budget of items (issue
10 item 4: planning memory flat in the catalog's size, also when every product is computed).

`load_inputs` + `plan_from_inputs` hold every computed product, its VK item and its plan item:
604 MB at 100k products for a first publish or after a settings change. A run applies at most
`SYNC_RUN_CHUNK_ITEMS` items per task (sync/publish/chunked.py), so it plans here instead:

1. `survey_catalog` walks the selected products (sync/plan/chunks.py) and keeps, of the
   products to compute, only their primary keys, their skus' hashes (sync/plan/sku_survey.py)
   and their album groups' titles; unchanged products are counted as before.
2. `plan_in_chunks` reads the computed products again a chunk at a time, computes their items
   and hands them to a `PlanBuilder` whose `ItemBudget` keeps the first items of the plan
   and counts the rest. What the whole catalog decides is settled before the first chunk:
   the album renames (from the groups' titles), the contested skus, and the adoptions (the
   products that could match a VK item are found by a first walk, then matched together).

The preview task plans the same way, its items going to a `SpilledItems` (sync/plan/item_spill.py)
instead of a budget. Unchanged products found by this plan are stamped chunk by chunk. The variant members' items
are kept aside whatever the budget holds (few products), so the variant groups are planned as
in one piece; a chunked run still makes them in its last chunk only.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from catalog.models import CachedProduct
from sync.models import ItemLink, LinkState
from sync.plan import chunks, rules
from sync.plan.adoption import Adoptions, adoptions_for, name_key, product_names, sku_key
from sync.plan.album_index import AlbumIndex
from sync.plan.inputs import (
    PRODUCT_COLUMNS,
    Inputs,
    album_group,
    inputs_base,
    is_unchanged,
    link_snapshot,
    not_linked,
    source_hash,
    source_product,
)
from sync.plan.item_budget import ItemBudget
from sync.plan.photos import EvotorImage, PhotoMark
from sync.plan.plan import Plan
from sync.plan.planner import PlanBuilder
from sync.plan.skip import UnchangedCheck, stamp_products
from sync.plan.sku_survey import SkuSurvey, assign_contested
from sync.plan.snapshots import AlbumSnapshot, VkItemSnapshot
from sync.plan.variant_inputs import member_keys, variants_for_items

Key = tuple[str, str]


@dataclass
class Survey:
    """What a walk over the selected products found: enough to plan them in chunks."""

    base: Inputs  # everything but the products and their links
    computed: array = field(default_factory=lambda: array("q"))  # their pks, ascending
    # ((store, album group), album title) of the computed products: the album renames.
    group_titles: set[tuple[Key, str]] = field(default_factory=set)
    unlinked: bool = False  # some computed product has no VK item yet
    # Computed products with a VK item whose Evotor image must be read again.
    lookups: array = field(default_factory=lambda: array("q"))
    skipped_links: array = field(default_factory=lambda: array("q"))  # ids, sorted
    skus: SkuSurvey = field(default_factory=SkuSurvey)
    unselected: list[ItemLink] = field(default_factory=list)
    removed_keys: set[Key] = field(default_factory=set)

    @property
    def user_id(self) -> int:
        return self.base.sync_settings.user_id


def survey_catalog(user) -> Survey:
    """Walk the selected products once (see the module docstring)."""
    from catalog.filters import selected_products

    survey = Survey(base=inputs_base(user))
    base = survey.base
    check = UnchangedCheck(base)
    titles: dict[tuple, str] = {}
    selected = selected_products(user)
    for rows, links in chunks.product_chunks(user, selected, PRODUCT_COLUMNS):
        for row in rows:
            link = links.get((row["store_evotor_id"], row["evotor_id"]))
            if is_unchanged(check, row, link):
                base.unchanged += 1
                base.unchanged_published += not (link.published_fields or {}).get("hidden")
                survey.skipped_links.append(link.pk)
                survey.skus.add_reserved(link.sku)
                continue
            _note_computed(survey, row, link, titles)
    survey.skipped_links = array("q", sorted(survey.skipped_links))
    survey.unselected = chunks.unselected_links(user, selected)
    if survey.unselected:
        survey.removed_keys = chunks.removed_keys(
            user, {(link.store_id, link.product_id) for link in survey.unselected}
        )
    return survey


def _note_computed(survey: Survey, row: dict, link: ItemLink | None, titles: dict) -> None:
    """A product to compute: what must be known of it before the first chunk is planned
    (`titles` caches the album title of each group name)."""
    store_id = row["store_evotor_id"]
    survey.computed.append(row["pk"])
    product = rules.SourceProduct(
        store_id=store_id,
        product_id=row["evotor_id"],
        name="",
        article_number=row["article_number"],
        code=row["code"],
    )
    survey.skus.add_product(product, link.sku if link is not None else "")
    group_id, group_name = album_group(survey.base.groups, store_id, row["parent_evotor_id"])
    if survey.base.rule_settings.albums_from_groups and group_name:
        cache_key = (store_id, group_id, group_name)
        if cache_key not in titles:
            titles[cache_key] = rules.album_title(group_name)
        if titles[cache_key]:
            survey.group_titles.add(((store_id, group_id), titles[cache_key]))
    if link is None or link.vk_item_id is None:
        survey.unlinked = True
    elif (
        link.state != LinkState.CREATING
        and link.photo_hash != PhotoMark.KEEP_VK
        and (
            link.evotor_image == EvotorImage.NOT_LOOKED
            or link.source_hash != source_hash(row["content_hash"], row["images_changed_at"])
        )
    ):
        survey.lookups.append(row["pk"])


def computed_chunks(survey: Survey, pks=None, skus: dict | None = None) -> Iterator[Inputs]:
    """The computed products (or those of `pks`), a chunk at a time, each as an `Inputs` with
    their links and (given the contested ones, `skus`) their skus."""
    base = survey.base
    pks = survey.computed if pks is None else pks
    size = chunks.chunk_size()
    for start in range(0, len(pks), size):
        rows = list(
            CachedProduct.objects.filter(
                user_id=survey.user_id, pk__in=list(pks[start : start + size])
            )
            .order_by("pk")
            .values("pk", *PRODUCT_COLUMNS)
        )
        products = [source_product(row, base.groups) for row in rows]
        keys = {(p.store_id, p.product_id) for p in products}
        links = (
            {
                (link.store_id, link.product_id): link
                for link in ItemLink.objects.filter(user_id=survey.user_id).filter(
                    chunks.keys_q(keys, "store_id", "product_id")
                )
            }
            if keys
            else {}
        )
        chunk_skus = {}
        if skus is not None:
            for row, product in zip(rows, products, strict=True):
                chunk_skus[product_key(product)] = _sku(survey, skus, row["pk"], product)
        del rows  # the products are what the chunk is planned from
        yield replace(base, products=products, links=links, skus=chunk_skus)


def product_key(product: rules.SourceProduct) -> Key:
    return (product.store_id, product.product_id)


def _sku(survey: Survey, contested: dict[Key, str], pk: int, product: rules.SourceProduct) -> str:
    """The product's sku: the contested ones' as assigned, else its base sku, unless the
    product changed since the survey so that its base sku is not the one surveyed (a catalog
    read meanwhile): then its fallback sku, unique to it, rather than a sku nobody checked."""
    if (sku := contested.get(product_key(product))) is not None:
        return sku
    place = bisect_left(survey.computed, pk)
    if survey.skus.base_is(place, rules.base_sku(product)):
        return rules.base_sku(product)
    return rules.fallback_sku(product)


def contested_skus(survey: Survey) -> dict[Key, str]:
    """The skus of the products whose base sku something else may want (sync/plan/sku_survey.py);
    every other computed product keeps its base sku."""
    contested = array("q", (survey.computed[place] for place in survey.skus.contested()))
    if not contested:
        return {}
    products, kept = [], {}
    for part in computed_chunks(survey, contested):
        products.extend(part.products)
        kept.update({key: link.sku for key, link in part.links.items() if link.sku})
    return assign_contested(
        products, kept=kept, reserved_among=lambda skus: _skipped_carry(survey, skus)
    )


def _skipped_carry(survey: Survey, candidates: set[str]) -> set[str]:
    """Of the skus `candidates` (lower case), those a skipped product's link carries (the
    links' skus are streamed, never held)."""
    skipped = survey.skipped_links
    reserved = set()
    for link_id, sku in (
        ItemLink.objects.filter(user_id=survey.user_id)
        .exclude(sku="")
        .values_list("pk", "sku")
        .iterator(chunk_size=chunks.chunk_size())
    ):
        lowered = sku.lower()
        if lowered in candidates:
            at = bisect_left(skipped, link_id)
            if at < len(skipped) and skipped[at] == link_id:
                reserved.add(lowered)
    return reserved


def evotor_lookups(survey: Survey) -> Iterator[Inputs]:
    """The computed products whose Evotor image must be read again (`evotor_images_refresh`
    takes them a chunk at a time)."""
    return computed_chunks(survey, survey.lookups)


def _adoptions(survey: Survey, vk_items: list[VkItemSnapshot], skus: dict) -> Adoptions:
    """`adoptions_for` over the products that could match one of `vk_items` at all: the
    others neither match nor make a name ambiguous (sync.plan.adoption.match_adoptions)."""
    if not vk_items:
        return Adoptions(adopt={}, waiting=set(), reviews=[])
    vk_skus = {sku_key(vk.sku) for vk in vk_items if vk.sku}
    vk_names = {name_key(vk.title) for vk in vk_items}
    hits, hit_links = [], {}
    for part in computed_chunks(survey, skus=skus):
        for item in part.desired_items():
            link = part.links.get(item.key)
            if link is not None and (
                link.vk_item_id is not None or link.state == LinkState.CREATING
            ):
                continue
            keys = {sku_key(b) for b in item.barcodes} | {sku_key(item.fields.get("sku", ""))}
            names = {name_key(n) for n in product_names(item)}
            if keys & vk_skus or names & vk_names:
                hits.append(item)
                if link is not None:
                    hit_links[item.key] = link_snapshot(link)
    return adoptions_for(hits, hit_links, vk_items, survey.base.adoption_decisions)


def plan_in_chunks(
    survey: Survey,
    *,
    budget: ItemBudget,
    vk_items: list[VkItemSnapshot] | None = None,
    vk_albums: list[AlbumSnapshot] = (),
    confirmed_removals: int | None = None,
    stamp: bool = True,
) -> tuple[Plan, dict[Key, ItemLink]]:
    """The plan of the surveyed products and the links of its held items (and of the variant
    members) by key, for the executor. `stamp`: stamp the unchanged products' links."""
    base = survey.base
    skus = contested_skus(survey)
    adoptions = None
    if vk_items is not None:
        if vk_items:
            vk_items = not_linked(base, vk_items)
        adoptions = _adoptions(survey, vk_items, skus)
    members = member_keys(base.variants)
    builder = PlanBuilder(
        settings=base.rule_settings,
        albums=AlbumIndex(base.albums, group_titles=survey.group_titles),
        adoptions=adoptions,
        vk_albums=vk_albums,
        budget=budget,
        watch=members,
    )
    member_items: dict[Key, tuple[str, bool]] = {}
    member_links: dict[Key, ItemLink] = {}

    def noting_members(desired):
        for item in desired:
            if item.key in members:
                member_items[item.key] = (item.product_name, item.visible)
            yield item

    for part in computed_chunks(survey, skus=skus):
        snapshots = {key: link_snapshot(link) for key, link in part.links.items()}
        planned = builder.add_products(noting_members(part.iter_desired()), snapshots)
        if stamp:
            stamp_products(part, planned)
        member_links.update({k: v for k, v in part.links.items() if k in members})
    builder.add_gone([link_snapshot(link) for link in survey.unselected], survey.removed_keys)
    member_links.update(
        {
            k: link
            for link in survey.unselected
            if (k := (link.store_id, link.product_id)) in members
        }
    )
    plan = builder.finish(
        unchanged=base.unchanged,
        unchanged_published=base.unchanged_published,
        confirmed_removals=confirmed_removals,
    )
    plan.variants = variants_for_items(base.variants, builder.watched, member_items, member_links)
    wanted = {item.key for item in plan.items}
    if plan.variants.groups:
        wanted |= members
    return plan, links_by_key(survey.user_id, wanted)


def links_by_key(user_id: int, keys: set[Key]) -> dict[Key, ItemLink]:
    """The merchant's links of these products, read a chunk of keys at a time."""
    ordered = sorted(keys)
    size = chunks.chunk_size()
    found: dict[Key, ItemLink] = {}
    for start in range(0, len(ordered), size):
        for link in ItemLink.objects.filter(user_id=user_id).filter(
            chunks.keys_q(ordered[start : start + size], "store_id", "product_id")
        ):
            found[(link.store_id, link.product_id)] = link
    return found
