"""The optional semantic matcher on the real all-MiniLM-L6-v2 model (numpy, no torch).

The document is from the tuning set dev3 (an independent author's outsourcing policy):
the matcher's thresholds were chosen there, so this checks the mechanism and its
explanations, not generalisation (bench/analyzer_quality.py --semantic measures that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.analysis import ANALYZER_VERSION, analyze, semantic_check
from agents.catalog import load_catalog
from agents.contracts import AnalysisResults, EntityProfile
from agents.documents import load_documents
from agents.evidence_model import load_evidence_model
from agents.semantic import reset_default_encoder
from agents.semantic.matcher import SemanticMatcher, reset_default_matcher
from dora.errors import ConfigurationError

#: what a lexical analysis records: the analyzer and the evidence model it decided with
LEXICAL_VERSION = f"{ANALYZER_VERSION}+evidence-{load_evidence_model().version}"

ROOT = Path(__file__).resolve().parent.parent
DEV3 = ROOT / "tests" / "eval" / "dev3"
DOC = "supplier-cloud-outsourcing-policy.md"


def _profile() -> EntityProfile:
    labels = yaml.safe_load((DEV3 / "labels.yaml").read_text(encoding="utf-8"))
    entry = next(e for e in labels["documents"] if e["path"] == DOC)
    return EntityProfile(**entry.get("profile", {}))


@pytest.fixture(scope="module")
def both() -> tuple[AnalysisResults, AnalysisResults]:
    catalog = load_catalog()
    docs = load_documents([DEV3 / DOC])
    lexical = analyze(docs, _profile(), catalog)
    semantic = analyze(docs, _profile(), catalog, semantic=semantic_check(catalog))
    return lexical, semantic


def _by_id(results: AnalysisResults) -> dict[str, str]:
    return {a.requirement_id: a.coverage for a in results.requirements}


def test_paraphrased_obligation_becomes_partial_with_quoted_evidence(
    both: tuple[AnalysisResults, AnalysisResults],
) -> None:
    lexical, semantic = both
    assert _by_id(lexical)["DORA-28-6"] == "missing"
    added = next(a for a in semantic.requirements if a.requirement_id == "DORA-28-6")
    assert added.coverage == "partial"  # never "covered" on similarity alone
    assert len(added.evidence) == 1 and added.evidence[0].document.endswith(DOC)
    assert "semantic match" in added.evidence[0].reason and added.evidence[0].quote
    assert "confirm it" in added.rationale


def test_words_without_the_duty_are_rejected_with_the_reason(
    both: tuple[AnalysisResults, AnalysisResults],
) -> None:
    lexical, semantic = both
    assert _by_id(lexical)["DORA-5-2-d"] in ("covered", "partial")
    rejected = next(a for a in semantic.requirements if a.requirement_id == "DORA-5-2-d")
    assert rejected.coverage == "missing"
    assert "Semantic check: the closest sentence" in rejected.rationale
    assert "closer to it" in rejected.rationale


def test_only_the_documented_changes_happen_and_provenance_says_so(
    both: tuple[AnalysisResults, AnalysisResults],
) -> None:
    lexical, semantic = both
    assert lexical.analyzer_version == LEXICAL_VERSION
    assert semantic.analyzer_version == f"{LEXICAL_VERSION}+semantic-minilm"
    before, after = _by_id(lexical), _by_id(semantic)
    changed = {rid for rid in before if before[rid] != after[rid]}
    assert changed, "the matcher changed nothing on a document it was tuned on"
    for rid in changed:
        was, now = before[rid], after[rid]
        assert (was == "missing" and now == "partial") or (
            was in ("covered", "partial") and now == "missing"
        ), (rid, was, now)
    assert semantic.compliance_score != lexical.compliance_score


def test_closest_sentence_ranks_against_the_whole_catalog() -> None:
    catalog = load_catalog()
    matcher = semantic_check(catalog)
    assert isinstance(matcher, SemanticMatcher)
    req = next(r for r in catalog.requirements if r.id == "DORA-30-2-f")

    class Passage:
        document, location = "p.md", "§1"
        text = (
            "The canteen opens at noon.\n"
            "Every contract with an ICT provider sets out the notice periods and the "
            "provider's duty to report developments that may affect its services."
        )

    best = matcher.closest(req, [Passage()])
    assert best is not None and "notice periods" in best.sentence
    assert best.rank >= 0 and -1.0 <= best.margin <= 1.0 and best.similarity > 0.3
    assert matcher.closest(req, []) is None


def test_broken_model_folder_is_a_clear_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DORA_SEMANTIC_MODEL_DIR", str(tmp_path))
    reset_default_encoder()
    reset_default_matcher()
    try:
        with pytest.raises(ConfigurationError, match="cannot load its model") as info:
            semantic_check(load_catalog())
        assert str(tmp_path) in str(info.value) and "model.safetensors" in str(info.value)
    finally:
        monkeypatch.delenv("DORA_SEMANTIC_MODEL_DIR")
        reset_default_encoder()
        reset_default_matcher()


def test_cli_analyze_semantic_json() -> None:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dora"),  # the installed console script
            "analyze",
            str(DEV3 / DOC),
            "--semantic",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = {r["id"]: r for r in json.loads(proc.stdout)}
    assert records["DORA-28-6"]["coverage"] == "partial"
    assert records["DORA-5-2-d"]["coverage"] == "missing"


def test_policy_analyzer_agent_setting_turns_it_on() -> None:
    from agents.policy_analyzer import PolicyAnalyzerAgent

    inputs = {"documents": [str(DEV3 / DOC)], "profile": _profile().model_dump()}
    on = PolicyAnalyzerAgent(settings={"semantic_matcher": True}).analyze_inputs(inputs)
    off = PolicyAnalyzerAgent().analyze_inputs(inputs)
    assert on.analyzer_version.endswith("+semantic-minilm")
    assert off.analyzer_version == LEXICAL_VERSION
