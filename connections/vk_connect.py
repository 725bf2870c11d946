"""One-click VK connect: «Подключить ВКонтакте» → VK's consent page → the person's communities
→ one chosen, checked and saved.

The steps, each a function the views call:

1. `vk_connect_begin` makes a `state` and a PKCE verifier, keeps them in the person's session
   (with their user id and the redirect URI) and returns VK ID's authorization address
   (connections/vk_oauth.py, docs/contracts/vk-market-api.md §13 addendum).
2. `vk_connect_finish` takes VK's answer at the redirect URI: it is accepted only with the
   `state` of a connection this very session started for this very user, once, within
   STATE_TTL. The code is exchanged for tokens; they wait in the session, encrypted with
   FIELD_ENCRYPTION_KEYS, until a community is chosen (the saved connection is untouched until
   then, so an abandoned attempt breaks nothing).
3. `vk_connect_communities` lists the communities the person administers (`groups.get`
   filter=admin, extended, with whether Market is on), with the waiting tokens or, to change
   the community of a saved connection, with its token.
4. `vk_connect_choose` explains a wrong choice before saving (not an administrator, Market off,
   a community token, the `market` right missing) and saves a right one as working.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from connections import vk_errors, vk_oauth
from connections.crypto import decrypt, encrypt
from connections.signals import REASON_ACCESS, REASON_MARKET_OFF, REASON_TOKEN
from connections.vk_client import VkClient, VkCommunity
from connections.vk_oauth import VkIdTokens
from connections.vk_services import (
    VkTestResult,
    broken_reason,
    vk_check,
    vk_client_for,
    vk_connection_get,
    vk_connection_record_check,
    vk_connection_save,
)

logger = logging.getLogger(__name__)

STATE_KEY = "vk_connect_state"
PENDING_KEY = "vk_connect_tokens"
# VK ID's codes live ten minutes; a consent page left open longer starts over.
STATE_TTL = 15 * 60
# Time to choose a community after allowing access (the access token lives an hour).
PENDING_TTL = 30 * 60


class VkConnectError(Exception):
    """The attempt cannot go on; the message says why and what to do, in the person's words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- 1. start ---------------------------------------------------------------------------------


def vk_connect_begin(*, session, user, redirect_uri: str) -> str:
    """Starts an attempt for `user` in `session`; returns the address of VK's consent page.
    A new attempt replaces an unfinished one."""
    state = vk_oauth.new_state()
    verifier = vk_oauth.new_code_verifier()
    session[STATE_KEY] = {
        "user": user.pk,
        "state": state,
        "verifier": encrypt(verifier),
        "redirect_uri": redirect_uri,
        "started": time.time(),
    }
    logger.info("VK connect started", extra={"user_id": user.pk})
    return vk_oauth.authorize_url(state=state, verifier=verifier, redirect_uri=redirect_uri)


# --- 2. VK's answer ---------------------------------------------------------------------------


def vk_connect_finish(*, session, user, params) -> VkIdTokens:
    """Takes the query VK redirected to the callback with (`code`, `state`, `device_id`, or
    `error`); returns the tokens, kept in the session for step 3. Raises `VkConnectError`."""
    entry = session.get(STATE_KEY)
    state = str(params.get("state") or "")
    if (
        not isinstance(entry, dict)
        or entry.get("user") != user.pk
        or not state
        or not secrets.compare_digest(state, str(entry.get("state") or ""))
    ):
        # Another person's answer, a replayed one, or one for an attempt of another session:
        # its code is not used.
        logger.warning("VK connect answer refused: unknown state", extra={"user_id": user.pk})
        raise VkConnectError(
            _(
                "This answer from VK does not belong to a connection started here in your "
                "browser, so it was ignored. Press “Connect VK” to start again."
            )
        )
    del session[STATE_KEY]  # one answer per attempt
    if time.time() - float(entry.get("started") or 0) > STATE_TTL:
        raise VkConnectError(
            _("The connection took too long and has expired. Press “Connect VK” again.")
        )
    error = str(params.get("error") or "")
    if error:
        logger.info("VK connect declined", extra={"user_id": user.pk, "error": error})
        if error == "access_denied":
            raise VkConnectError(
                _(
                    "You did not allow access in VK, so nothing changed. Press “Connect VK” "
                    "when you are ready."
                )
            )
        raise VkConnectError(
            _("VK stopped the connection (%(error)s). Press “Connect VK” to try again.")
            % {"error": error}
        )
    code = str(params.get("code") or "")
    device_id = str(params.get("device_id") or "")
    if not code or not device_id:
        raise VkConnectError(
            _("VK's answer was incomplete (no code). Press “Connect VK” to try again.")
        )
    try:
        tokens = vk_oauth.exchange_code(
            code=code,
            verifier=decrypt(entry["verifier"]),
            device_id=device_id,
            redirect_uri=entry["redirect_uri"],
        )
    except vk_oauth.VkIdUnavailable:
        raise VkConnectError(
            _("VK ID is not answering right now. Press “Connect VK” again in a minute.")
        ) from None
    except vk_oauth.VkIdError as exc:
        logger.warning("VK ID refused the code", extra={"user_id": user.pk, "error": exc.error})
        raise VkConnectError(
            _("VK did not confirm the access (%(error)s). Press “Connect VK” to try again.")
            % {"error": exc.error}
        ) from None
    if tokens.missing_scopes:
        logger.warning(
            "VK ID granted too few rights",
            extra={"user_id": user.pk, "missing": sorted(tokens.missing_scopes)},
        )
        raise VkConnectError(missing_rights_message(tokens.missing_scopes))
    session[PENDING_KEY] = {
        "user": user.pk,
        "tokens": encrypt(json.dumps(tokens.as_dict())),
        "at": time.time(),
    }
    logger.info("VK connect allowed", extra={"user_id": user.pk})
    return tokens


def missing_rights_message(missing) -> str:
    return _(
        "VK gave EvoSync access without the rights it needs (%(rights)s), so it cannot fill "
        "your Market. VK grants the “market” right only to approved apps: tell the EvoSync "
        "support team about this message."
    ) % {"rights": ", ".join(f"“{name}”" for name in sorted(missing))}


def vk_connect_pending(*, session, user) -> VkIdTokens | None:
    """The tokens of an allowed attempt waiting for a community, if still fresh."""
    entry = session.get(PENDING_KEY)
    if not isinstance(entry, dict) or entry.get("user") != user.pk:
        return None
    if time.time() - float(entry.get("at") or 0) > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        return None
    try:
        return VkIdTokens.from_dict(json.loads(decrypt(entry["tokens"])))
    except (KeyError, TypeError, ValueError):
        session.pop(PENDING_KEY, None)
        return None


def vk_connect_forget(*, session) -> None:
    session.pop(PENDING_KEY, None)
    session.pop(STATE_KEY, None)


# --- 3. the person's communities --------------------------------------------------------------


@dataclass(frozen=True)
class CommunityList:
    """What the choice page shows: the communities, or why there are none to show."""

    communities: list[VkCommunity] = field(default_factory=list)
    error: str = ""
    # True when the list comes from a fresh consent (not yet saved), False for a saved token.
    pending: bool = False

    @property
    def available(self) -> bool:
        return not self.error


def _client_for(*, session, user) -> tuple[VkClient, VkIdTokens | None] | None:
    tokens = vk_connect_pending(session=session, user=user)
    if tokens is not None:
        return VkClient(tokens.access_token), tokens
    connection = vk_connection_get(user=user)
    if connection is not None and connection.access_token:
        return vk_client_for(connection), None
    return None


def vk_connect_communities(*, session, user) -> CommunityList | None:
    """The communities `user` administers in VK, for the choice page; None when there is no
    token to ask with (nothing allowed yet and nothing saved)."""
    found = _client_for(session=session, user=user)
    if found is None:
        return None
    client, tokens = found
    try:
        communities = client.admin_communities()
    except vk_errors.VkApiError as exc:
        return CommunityList(error=community_list_error(exc), pending=tokens is not None)
    communities.sort(key=lambda c: (c.market_enabled is False, c.name.casefold()))
    return CommunityList(communities=communities, pending=tokens is not None)


def community_list_error(exc: vk_errors.VkApiError) -> str:
    """Why the list of the person's communities could not be read, in their words."""
    if isinstance(exc, vk_errors.VkPermissionError) and exc.code == vk_errors.GROUP_AUTH_FAILED:
        return _(
            "This is a community token: it cannot list your communities or fill a Market. "
            "Press “Connect VK” (or paste a user token) instead."
        )
    if isinstance(exc, vk_errors.VkPermissionError):
        return _(
            "VK did not let EvoSync see your communities (the “groups” right is missing). "
            "Press “Connect VK” and allow access."
        )
    return exc.user_message


def community_problem(community: VkCommunity) -> str:
    """What stops EvoSync from filling this community's Market, or "" when nothing does."""
    if community.deactivated:
        return _("VK has blocked or deleted this community.")
    if community.market_enabled is False:
        return vk_errors.VkMarketDisabledError(1438).user_message
    return ""


def not_an_admin_message() -> str:
    return _(
        "You are not an administrator of this community, so VK will not let EvoSync fill its "
        "Market. Choose a community from the list, or ask its owner to make you an "
        "administrator."
    )


# --- 4. the choice ------------------------------------------------------------------------------


def vk_connect_choose(*, session, user, group_id: int) -> VkTestResult:
    """Checks the chosen community and, when EvoSync can fill its Market, saves it (with the
    waiting VK ID tokens, if any) as a working connection. A wrong choice is explained and
    nothing is saved; VK being busy saves nothing either (the person chooses again)."""
    found = _client_for(session=session, user=user)
    if found is None:
        return VkTestResult(
            False, _("VK is not connected yet. Press “Connect VK” first."), reason=REASON_TOKEN
        )
    client, tokens = found
    try:
        communities = {c.id: c for c in client.admin_communities()}
    except vk_errors.VkApiError as exc:
        return VkTestResult(False, community_list_error(exc), reason=broken_reason(exc))
    community = communities.get(group_id)
    if community is None:
        return VkTestResult(False, not_an_admin_message(), reason=REASON_ACCESS)
    problem = community_problem(community)
    if problem:
        reason = REASON_MARKET_OFF if community.market_enabled is False else REASON_ACCESS
        return VkTestResult(False, problem, community.name, reason=reason)
    connection = vk_connection_get(user=user)
    worked_before = tokens is not None or (
        connection is not None and connection.token_verified_at is not None
    )
    result = vk_check(client, group_id=group_id, worked_before=worked_before)
    if not result.ok:
        return result
    saved = vk_connection_save(
        user=user,
        group_id=group_id,
        tokens=tokens,
        group_name=result.group_name or community.name,
    )
    if tokens is not None:
        session.pop(PENDING_KEY, None)
    logger.info("VK community chosen", extra={"user_id": user.pk, "group_id": group_id})
    return vk_connection_record_check(saved, result)
