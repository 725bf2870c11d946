"""Publishing's tables, one module per subject. Every row belongs to one merchant and goes
with them (CASCADE)."""

from sync.models.adoptions import AdoptionDecision, AdoptionVerdict
from sync.models.alerts import Alert, AlertCause
from sync.models.changes import PublishDue
from sync.models.links import AlbumLink, ItemLink, LinkState
from sync.models.locks import SyncLock
from sync.models.photos import PhotoEntity, ProductPhoto
from sync.models.runs import (
    RunAction,
    RunItemStatus,
    RunStatus,
    RunTrigger,
    StopCause,
    SyncRun,
    SyncRunItem,
)
from sync.models.sync_settings import OutOfStockPolicy, PriceRounding, RemovalPolicy, SyncSettings

__all__ = [
    "AdoptionDecision",
    "AdoptionVerdict",
    "AlbumLink",
    "Alert",
    "AlertCause",
    "ItemLink",
    "LinkState",
    "OutOfStockPolicy",
    "PhotoEntity",
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
]
