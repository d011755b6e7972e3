"""Custom Prefect blocks: Vault-sourced secrets (:mod:`blocks.vault`) and the Kafka
connection of the event relay (:mod:`blocks.kafka`).

Register them with a Prefect API by ``register_blocks()`` (``dora deploy`` and
``dora blocks register`` do) or ``prefect block register -m blocks`` with the project root
on ``PYTHONPATH``.
"""

from blocks.kafka import KafkaConnection
from blocks.vault import (
    VaultCredentials,
    VaultKVSecret,
    VaultSecret,
    clear_caches,
    register_blocks,
)

__all__ = [
    "KafkaConnection",
    "VaultCredentials",
    "VaultKVSecret",
    "VaultSecret",
    "clear_caches",
    "register_blocks",
]
