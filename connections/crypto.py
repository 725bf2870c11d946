"""Encryption of vendor tokens at rest (Fernet, with key rotation through MultiFernet)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    try:
        return fernet().decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        # Fail loudly: a wrong key must never pass ciphertext off as a token.
        raise ValueError(
            "A stored token cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was the key changed without keeping the old one?"
        ) from exc


def mask(secret: str) -> str:
    """What a page may show of a token: enough to recognise it, not to use it."""
    if not secret:
        return ""
    if len(secret) <= 8:
        return "•" * len(secret)
    return f"{secret[:4]}…{secret[-4:]}"


class EncryptedTextField(models.TextField):
    """A text column whose value is Fernet-encrypted in the database; "" stays "".

    Encrypted values cannot be filtered on; look rows up by their other columns.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
