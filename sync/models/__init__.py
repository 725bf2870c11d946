"""Publishing's tables, one module per subject. Every row belongs to one merchant and goes
with them (CASCADE)."""

from sync.models.adoptions import AdoptionDecision, AdoptionVerdict
from sync.models.alerts import Alert, AlertCause
from sync.models.changes import PublishDue
from sync.models.links import AlbumLink, ItemLink, LinkState
from sync.models.locks import SyncLock
from sync.models.photos import PHOTOS_PER_PRODUCT, PhotoEntity, ProductPhoto
from sync.models.previews import PlanPreview, PlanPreviewChunk, PreviewStatus
from sync.models.runs import (
    RunAction,
    RunItemStatus,
    RunStatus,
    RunTrigger,
    StopCause,
    SyncRun,
    SyncRunItem,
)
from sync.models.sync_settings import (
    FieldOwner,
    OutOfStockPolicy,
    PriceRounding,
    RemovalPolicy,
    SyncSettings,
)
from sync.models.variants import VariantGroupLink, VariantMember, VkProperty, VkPropertyVariant

__all__ = [
    "PHOTOS_PER_PRODUCT",
    "AdoptionDecision",
    "AdoptionVerdict",
    "AlbumLink",
    "Alert",
    "AlertCause",
    "FieldOwner",
    "ItemLink",
    "LinkState",
    "OutOfStockPolicy",
    "PhotoEntity",
    "PlanPreview",
    "PlanPreviewChunk",
    "PreviewStatus",
    "PriceRounding",
    "ProductPhoto",
    "PublishDue",
    "RemovalPolicy",
    "RunAction",
    "RunItemStatus",
    "RunStatus",
    "RunTrigger",
    "StopCause",
    "SyncLock",
    "SyncRun",
    "SyncRunItem",
    "SyncSettings",
    "VariantGroupLink",
    "VariantMember",
    "VkProperty",
    "VkPropertyVariant",
]
