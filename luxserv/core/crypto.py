"""Encryption at rest for provider credentials, tokens and feed URLs (Fernet from `cryptography`).

The key comes from LUXSERV_ENCRYPTION_KEY, or is derived from LUXSERV_SECRET_KEY when that is not set.
LUXSERV_PREVIOUS_ENCRYPTION_KEY keeps older values readable while keys rotate.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from luxserv.core.errors import LuxServError
from luxserv.core.settings import Settings


class DecryptionFailed(LuxServError):
    """A stored secret cannot be read with the configured keys."""


def _fernet_key(material: str) -> bytes:
    # A Fernet key is 32 url-safe base64 bytes; accept one as is, or derive one from any other secret.
    try:
        if len(base64.urlsafe_b64decode(material.encode())) == 32:
            return material.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"luxserv-encryption:" + material.encode()).digest())


class Vault:
    """Encrypts and decrypts small secrets. Never logs or repr()s what it holds."""

    def __init__(self, settings: Settings) -> None:
        primary = settings.encryption_key.get_secret_value() if settings.encryption_key else ""
        keys = [Fernet(_fernet_key(primary or settings.secret_key.get_secret_value()))]
        if settings.previous_encryption_key is not None and settings.previous_encryption_key.get_secret_value():
            keys.append(Fernet(_fernet_key(settings.previous_encryption_key.get_secret_value())))
        self._fernet = MultiFernet(keys)

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise DecryptionFailed(
                "a stored secret cannot be decrypted: was LUXSERV_ENCRYPTION_KEY (or LUXSERV_SECRET_KEY) changed?"
            ) from error

    def encrypt_json(self, data: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(data, sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, Any]:
        text = self.decrypt(token)
        value = json.loads(text) if text else {}
        return value if isinstance(value, dict) else {}
