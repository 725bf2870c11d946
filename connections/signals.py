"""Signals about a merchant's connections, for apps built on top of this one (publishing raises
and resolves its alerts from them), so that `connections` never imports those apps.

Both are sent with `send_robust` from inside the service's transaction: a receiver that fails
is logged by Django and never undoes the state change it was told about.
"""

from django.dispatch import Signal

VENDOR_EVOTOR = "evotor"
VENDOR_VK = "vk"

# Why a connection broke, as far as the receiver needs to tell causes apart.
REASON_TOKEN = "token"  # the token was revoked or has expired (VK error 5, Evotor 401)
REASON_ACCESS = "access"  # the token lacks rights, or the community is not there
REASON_MARKET_OFF = "market_off"  # the community's Market section is off (VK 1438/1525/1526)

# Sent when a connection's state changes to broken (not when it was broken already, nor for a
# connection staff disabled): sender = the connection's model class, with `user`, `vendor`
# (VENDOR_EVOTOR / VENDOR_VK), `message` (the explanation the merchant sees, never a token) and
# `reason` (one of the REASON_* values).
connection_broken = Signal()

# Sent when a broken connection stops being broken: a call succeeded again, the merchant saved a
# new token or community, or disconnected it. sender = the model class, with `user`, `vendor`
# and `disconnected`: True when what the connection read from is gone (the merchant
# disconnected, or switched VK communities), so the apps that cache data read through it
# (catalog, vk_catalog) forget that data; those apps sit above this one and must never be
# imported from here.
connection_restored = Signal()
