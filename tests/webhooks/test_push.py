"""The Evotor push webhook (docs/contracts/evotor-api.md §7.5): signature, idempotency, routing, bad input."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.models import CachedProduct, CatalogFreshness, DirtyProduct
from catalog.selectors import dirty_products, last_change_arrived
from catalog.services import catalog_refresh_for_user
from connections.models import EvotorConnection
from sandbox.evotor.app import dumps
from webhooks.auth import push_signature
from webhooks.models import ChangeOutcome, EvotorChange

from .conftest import SECRET, error_codes

TOKEN = "push-test-cloud-token"
USER = "01-000000000000321"
URL = "/evotor/events"

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(owner, evotor_sandbox):
    """The owner's Evotor store in the sandbox, read into the cache once."""
    evotor_sandbox.add_token(TOKEN, USER)
    store_id = evotor_sandbox.add_store(name="Лавка", user_id=USER)
    product = evotor_sandbox.add_product(store_id, name="Чай", price=150)
    EvotorConnection.objects.create(user=owner, cloud_token=TOKEN)
    assert catalog_refresh_for_user(user=owner).ok
    return evotor_sandbox, store_id, product["id"]


@pytest.fixture
def push(client, django_capture_on_commit_callbacks):
    """POST an event the way Evotor's Hookshot does; tasks run inline after commit."""

    def send(event, *, delivery="d-1", signature: str | None = "auto", raw: bytes | None = None):
        body = raw if raw is not None else json.dumps(event).encode()
        headers = {}
        if delivery is not None:
            headers["HTTP_X_EVOTOR_DELIVERY"] = delivery
        if signature == "auto":
            signature = push_signature(body, SECRET)
        if signature is not None:
            headers["HTTP_X_HUB_SIGNATURE"] = signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                URL, data=body, content_type="application/vnd.evotor.v2+json", **headers
            )

    return send


def product_event(sandbox, store_id, product_id, *, event_id="e-1", **changes):
    """The sandbox's own event for a change at the till, under a chosen id."""
    if changes:
        sandbox.set_product(store_id, product_id, **changes)
        payload = sandbox.events.events[-1]["payload"]
    else:
        payload = json.loads(dumps(sandbox.product(store_id, product_id)))
    return {
        "id": event_id,
        "timestamp": payload["updated_at"],
        "type": "ProductEvent",
        "action": "updated",
        "payload": payload,
    }


def price(user, product_id) -> Decimal:
    return CachedProduct.objects.get(user=user, evotor_id=product_id).price


def test_a_signed_push_updates_the_cached_product_and_marks_it_dirty(owner, till, push):
    sandbox, store_id, product_id = till
    response = push(product_event(sandbox, store_id, product_id, price=171))
    assert response.status_code == 200
    assert response.json() == {}
    assert price(owner, product_id) == Decimal("171")
    dirty = DirtyProduct.objects.get(user=owner)
    assert (dirty.store_evotor_id, dirty.product_evotor_id) == (store_id, product_id)
    assert CatalogFreshness.objects.get(user=owner).changes == 1
    assert last_change_arrived(owner) is not None
    assert [d.product_evotor_id for d in dirty_products(owner)] == [product_id]
    change = EvotorChange.objects.get()
    assert (change.outcome, change.user, change.delivery_id) == ("applied", owner, "d-1")


def test_a_sha256_signature_is_accepted_too(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=172)
    body = json.dumps(event).encode()
    response = push(event, raw=body, signature=push_signature(body, SECRET, "sha256"))
    assert response.status_code == 200
    assert price(owner, product_id) == Decimal("172")


def test_a_push_with_a_wrong_signature_is_refused_and_changes_nothing(owner, till, push):
    sandbox, store_id, product_id = till
    body = json.dumps(product_event(sandbox, store_id, product_id, price=999)).encode()
    response = push(None, raw=body, signature=push_signature(body, "not-the-secret"))
    assert response.status_code == 401
    assert response.json()["errors"][0] == {
        "code": 1001,
        "reason": "bad signature",
        "subject": "X-Hub-Signature",
    }
    assert price(owner, product_id) == Decimal("150")
    assert not EvotorChange.objects.exists()


def test_an_unsigned_push_is_refused_and_changes_nothing(owner, till, push):
    sandbox, store_id, product_id = till
    response = push(product_event(sandbox, store_id, product_id, price=999), signature=None)
    assert response.status_code == 401
    assert error_codes(response) == [1001]
    assert price(owner, product_id) == Decimal("150")
    assert not EvotorChange.objects.exists()


def test_a_push_signed_for_another_body_is_refused(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=999)
    response = push(event, signature=push_signature(b"{}", SECRET))
    assert response.status_code == 401
    assert price(owner, product_id) == Decimal("150")


def test_with_no_secret_configured_every_push_is_refused(settings, owner, till, push):
    settings.EVOTOR_WEBHOOK_SECRET = ""
    settings.EVOTOR_PUSH_SECRET = ""
    sandbox, store_id, product_id = till
    body = json.dumps(product_event(sandbox, store_id, product_id, price=999)).encode()
    assert push(None, raw=body, signature=push_signature(body, "")).status_code == 401
    assert price(owner, product_id) == Decimal("150")


def test_a_separate_push_secret_is_used_when_configured(settings, owner, till, push):
    settings.EVOTOR_PUSH_SECRET = "hook-secret-from-the-portal"
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=173)
    assert push(event).status_code == 401  # signed with the app secret
    body = json.dumps(event).encode()
    signature = push_signature(body, "hook-secret-from-the-portal")
    assert push(None, raw=body, signature=signature).status_code == 200
    assert price(owner, product_id) == Decimal("173")


def test_a_malformed_body_gets_400_in_evotors_format(owner, till, push):
    response = push(None, raw=b"{not json")
    assert response.status_code == 400
    assert response.json() == {"errors": [{"code": 2001, "reason": "syntax"}]}
    assert not EvotorChange.objects.exists()


def test_a_product_event_without_a_payload_gets_400_naming_it(owner, till, push):
    response = push({"id": "e-1", "type": "ProductEvent", "action": "updated"})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"code": 2002, "reason": "missing", "subject": "payload"}
    assert not EvotorChange.objects.exists()


def test_an_unknown_action_gets_400(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id)
    event["action"] = "exploded"
    response = push(event)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 2003
    assert not EvotorChange.objects.exists()


def test_a_push_without_a_delivery_id_gets_400(owner, till, push):
    sandbox, store_id, product_id = till
    response = push(product_event(sandbox, store_id, product_id), delivery=None)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": 2002,
        "reason": "missing",
        "subject": "X-Evotor-Delivery",
    }


def test_a_replayed_delivery_changes_nothing_twice(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=180)
    assert push(event).status_code == 200
    # The merchant's own edit in between: a replay must not undo it.
    CachedProduct.objects.filter(user=owner, evotor_id=product_id).update(price=1)
    DirtyProduct.objects.all().delete()
    assert push(event).status_code == 200
    assert price(owner, product_id) == Decimal("1")
    assert not DirtyProduct.objects.exists()
    assert EvotorChange.objects.count() == 1


def test_the_same_event_in_another_delivery_is_recorded_once(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=181)
    assert push(event, delivery="d-1").status_code == 200
    assert push(event, delivery="d-2").status_code == 200
    assert EvotorChange.objects.count() == 1
    assert CatalogFreshness.objects.get(user=owner).changes == 1


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(owner, till, push):
    sandbox, store_id, product_id = till
    older = product_event(sandbox, store_id, product_id, event_id="e-old", price=190)
    newer = product_event(sandbox, store_id, product_id, event_id="e-new", price=195)
    assert push(newer, delivery="d-new").status_code == 200
    assert push(older, delivery="d-old").status_code == 200
    assert price(owner, product_id) == Decimal("195")
    assert EvotorChange.objects.get(event_id="e-old").outcome == ChangeOutcome.STALE


def test_an_update_sent_before_a_removal_but_arriving_after_it_is_stale(owner, till, push):
    sandbox, store_id, product_id = till
    update = product_event(sandbox, store_id, product_id, event_id="e-upd", price=205)
    sandbox.remove_product(store_id, product_id)
    removal = sandbox.events.events[-1]
    assert push(removal, delivery="d-rm").status_code == 200
    assert push(update, delivery="d-upd").status_code == 200
    assert CachedProduct.objects.get(user=owner, evotor_id=product_id).is_removed
    assert EvotorChange.objects.get(event_id="e-upd").outcome == ChangeOutcome.STALE


def test_a_payload_that_is_not_a_product_is_recorded_as_invalid(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id)
    event["payload"] = {**event["payload"], "price": "много"}
    assert push(event).status_code == 200
    assert EvotorChange.objects.get().outcome == ChangeOutcome.INVALID
    assert price(owner, product_id) == Decimal("150")


def test_a_removal_marks_the_product_removed_and_dirty(owner, till, push):
    sandbox, store_id, product_id = till
    sandbox.remove_product(store_id, product_id)
    event = sandbox.events.events[-1]
    assert event["action"] == "removed"
    assert push(event).status_code == 200
    cached = CachedProduct.objects.get(user=owner, evotor_id=product_id)
    assert cached.is_removed
    assert DirtyProduct.objects.filter(user=owner, product_evotor_id=product_id).exists()


def test_an_event_for_an_unknown_merchant_is_recorded_and_ignored(owner, till, push):
    sandbox, store_id, product_id = till
    event = product_event(sandbox, store_id, product_id, price=200)
    event["payload"] = {**event["payload"], "store_id": "NO-SUCH-STORE", "user_id": "01-9"}
    response = push(event)
    assert response.status_code == 200
    change = EvotorChange.objects.get()
    assert (change.outcome, change.user) == (ChangeOutcome.UNKNOWN_USER, None)
    assert price(owner, product_id) == Decimal("150")
    assert not DirtyProduct.objects.exists()


def test_a_non_catalog_event_is_recorded_and_ignored(owner, till, push):
    response = push({"id": "ping-1", "type": "SystemEvent", "action": "ping"})
    assert response.status_code == 200
    assert EvotorChange.objects.get().outcome == ChangeOutcome.IGNORED


def test_a_get_is_refused_with_405(client, till):
    response = client.get(URL)
    assert response.status_code == 405
    assert error_codes(response) == [2001]


def test_push_intake_switched_off_answers_404(settings, owner, till, push):
    settings.EVOTOR_INTAKE = ["poll"]
    sandbox, store_id, product_id = till
    response = push(product_event(sandbox, store_id, product_id, price=201))
    assert response.status_code == 404
    assert price(owner, product_id) == Decimal("150")


def test_a_legacy_v1_product_notification_adds_the_product(
    owner, till, client, django_capture_on_commit_callbacks
):
    _sandbox, store_id, _product_id = till
    connection = EvotorConnection.objects.get(user=owner)
    connection.evotor_user_id = USER
    connection.save()
    body = [
        {
            "uuid": "11111111-2222-3333-4444-555555555555",
            "name": "Пряник",
            "group": False,
            "price": 35,
            "allowToSell": True,
            "measureName": "шт",
            "articleNumber": "P-1",
        },
        {"uuid": "66666666-2222-3333-4444-555555555555", "name": "Сладости", "group": True},
    ]
    path = f"/inventories/stores/{store_id}/products"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path,
            data=json.dumps(body),
            content_type="application/json;charset=UTF-8",
            HTTP_AUTHORIZATION=f"Bearer {connection.api_token}",
        )
    assert response.status_code == 200
    change = EvotorChange.objects.get()
    assert change.source == "legacy" and change.entity_id.startswith("11111111")
    added = CachedProduct.objects.get(user=owner, evotor_id=change.entity_id)
    assert (added.name, added.price, added.article_number) == ("Пряник", Decimal("35"), "P-1")
    # Evotor repeats the notification until it gets 200: the repeat is recorded once.
    client.post(
        path,
        data=json.dumps(body),
        content_type="application/json;charset=UTF-8",
        HTTP_AUTHORIZATION=f"Bearer {connection.api_token}",
    )
    assert EvotorChange.objects.count() == 1


def test_a_legacy_notification_without_the_merchants_token_is_refused(owner, till, client):
    _sandbox, store_id, _product_id = till
    response = client.post(
        f"/inventories/stores/{store_id}/products",
        data="[]",
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer wrong",
    )
    assert response.status_code == 401
    assert error_codes(response) == [1002]
