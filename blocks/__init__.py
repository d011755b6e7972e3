"""Custom Prefect blocks: Vault-sourced secrets (see :mod:`blocks.vault`).

Register them with a Prefect API by ``register_blocks()`` (``dora deploy`` and
``dora blocks register`` do) or ``prefect block register -m blocks`` with the project root
on ``PYTHONPATH``.
"""

from blocks.vault import (
    VaultCredentials,
    VaultKVSecret,
    VaultSecret,
    clear_caches,
    register_blocks,
)

__all__ = ["VaultCredentials", "VaultKVSecret", "VaultSecret", "clear_caches", "register_blocks"]
