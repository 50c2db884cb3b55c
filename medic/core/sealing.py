"""Sealing secrets at rest: AES-256-GCM under MEDIC_SECRETS_KEY.

Each value gets a fresh 96-bit nonce, and the secret's name is bound as associated
data, so a sealed value copied onto another name (or tampered with) fails to open
instead of decrypting to the wrong secret. Pure: no database, no settings.

`cryptography` is imported when a value is first sealed or opened: it adds about 8 MB
to a process, and most processes (an API worker taking heartbeats) never need it.
"""

from __future__ import annotations

import os

NONCE_BYTES = 12


class SealBroken(Exception):
    """The value was sealed under another key or name, or was altered."""


def seal(key: bytes, name: str, plaintext: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), name.encode())


def unseal(key: bytes, name: str, sealed: bytes) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, name.encode()).decode()
    except InvalidTag:
        raise SealBroken(
            f"secret {name!r} cannot be opened: sealed under another MEDIC_SECRETS_KEY or altered"
        ) from None
