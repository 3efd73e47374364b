"""CURVE keys for the client: the files `minidns-ctl keygen` writes, and
new key pairs."""

from __future__ import annotations

from typing import Optional

import zmq


def load_key_file(path: str) -> tuple[str, Optional[str]]:
    """Reads a key file written by `minidns-ctl keygen` (or its .pub):
    returns (public_key, secret_key or None), both Z85 text."""
    keys: dict[str, str] = {}
    with open(path, encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            name = name.strip()
            if not sep or name not in ("public-key", "secret-key"):
                raise ValueError(f"{path}: line {n}: expected public-key = "
                                 f"\"...\" or secret-key = \"...\"")
            keys[name] = value.strip().strip('"')
    if "public-key" not in keys:
        raise ValueError(f"{path}: no public-key line")
    return keys["public-key"], keys.get("secret-key")


def generate_keys() -> tuple[str, str]:
    """A new CURVE key pair (public, secret), Z85 text."""
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()
