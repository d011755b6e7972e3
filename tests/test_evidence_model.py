"""The analyzer's evidence model: the shipped file, its explanations, and what it decides.

Real documents from the tuning sets; no mocks. The figures the model reaches are checked
by the quality floors in test_policy_analyzer.py.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.analysis import analysis_signals, analyze
from agents.catalog import load_catalog
from agents.contracts import EntityProfile
from agents.documents import load_documents
from agents.evidence_model import (
    DEFAULT_MODEL_PATH,
    SEMANTIC_MODEL_PATH,
    EvidenceModel,
    Signals,
    load_evidence_model,
)
from bench.analyzer_quality import HELD_OUT
from dora.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "eval"
#: an investment firm's framework that mentions many topics it leaves to other documents
FRAMEWORK = EVAL / "dev5" / "NAM-POL-ICT-001_ICT_Risk_Management_Framework.md"
INVESTMENT_FIRM = EntityProfile(entity_type="investment_firm")


@pytest.mark.parametrize(
    ("path", "semantic"), [(DEFAULT_MODEL_PATH, False), (SEMANTIC_MODEL_PATH, True)]
)
def test_the_shipped_models_are_complete_and_were_fitted_on_tuning_sets_only(
    path: Path, semantic: bool
) -> None:
    model = load_evidence_model(str(path))
    # the default model never needs what only the semantic matcher computes
    assert model.features == Signals.names(semantic=semantic)
    assert ("semantic_margin" in model.features) is semantic
    assert 0.0 < model.threshold < 1.0
    assert np.all(model.scale > 0)
    assert model.trained_on and not any(name.startswith("holdout") for name in model.trained_on)
    assert model.metrics and "leave_one_set_out" in model.metrics


def test_contributions_explain_the_probability_exactly() -> None:
    model = load_evidence_model()
    signals = Signals(rule_credited=1.0, relevance=0.9, elements=0.75, key_shown=1.0)
    logit = sum(c for _, c in model.contributions(signals)) + model.intercept
    assert model.probability(signals) == pytest.approx(1 / (1 + math.exp(-logit)))
    weaker = Signals(rule_credited=1.0, relevance=0.6, elements=0.25, key_shown=1.0)
    assert model.probability(weaker) < model.probability(signals)  # positive weights


def test_quote_words_and_the_requirement_prior_are_part_of_the_explanation() -> None:
    """Model 2 weighs words of the quoted evidence and a per-requirement prior; both show
    up in ``contributions`` and the probability is still exactly their sum."""
    model = load_evidence_model()
    assert model.words and model.priors
    assert 0.0 < model.prior_default < 1.0
    assert all(0.0 < rate < 1.0 for rate in model.priors.values())
    word = max(model.words, key=lambda w: abs(model.words[w]))
    signals = model.observe("DORA-9-4-f", Signals(rule_credited=1.0, relevance=0.8))
    assert signals.requirement_prior == model.priors.get("DORA-9-4-f", model.prior_default)
    with_word = Signals(**{**signals.__dict__, "terms": frozenset({word, "zzz-unknown"})})
    parts = dict(model.contributions(with_word))
    assert parts[f"word:{word}"] == pytest.approx(model.words[word])
    assert "word:zzz-unknown" not in parts
    logit = sum(parts.values()) + model.intercept
    assert model.probability(with_word) == pytest.approx(1 / (1 + math.exp(-logit)))
    assert (model.probability(with_word) > model.probability(signals)) == (model.words[word] > 0)


def _unknown_signal(data: dict[str, Any]) -> None:
    data["features"] = [*data["features"][:-1], "no_such_signal"]


def _short_coefficients(data: dict[str, Any]) -> None:
    data["coef"] = [1.0]


def _zero_scale(data: dict[str, Any]) -> None:
    data["scale"] = [0.0] * len(data["features"])


def _no_threshold(data: dict[str, Any]) -> None:
    del data["threshold"]


def _words_not_a_mapping(data: dict[str, Any]) -> None:
    data["words"] = ["plan", -0.3]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_unknown_signal, "unknown signals"),
        (_short_coefficients, "one value per feature"),
        (_zero_scale, "scale must be positive"),
        (_no_threshold, "threshold"),
        (_words_not_a_mapping, "words must be a mapping"),
    ],
)
def test_a_broken_model_file_is_a_configuration_error_naming_the_file(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    breakage(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_evidence_model(str(path))
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_the_model_withdraws_mentions_and_says_why() -> None:
    documents = load_documents([FRAMEWORK])
    rules = analyze(documents, INVESTMENT_FIRM, evidence_model=False)
    model = analyze(documents, INVESTMENT_FIRM)
    before = {a.requirement_id: a for a in rules.requirements}
    withdrawn = [
        a
        for a in model.requirements
        if a.coverage == "missing" and before[a.requirement_id].coverage in ("covered", "partial")
    ]
    assert withdrawn, "the model withdrew nothing on a document full of mentions"
    for a in withdrawn:
        assert "Credit withdrawn" in a.rationale
        assert "Evidence model: 0." in a.rationale
        # a withdrawal is explained by what pushed against the credit, never by its pluses
        reasons = re.search(r"against threshold [0-9.]+ \((.*?)\)\.", a.rationale)
        if reasons:
            assert all(part.strip().startswith("-") for part in reasons.group(1).split("; "))
        assert a.evidence == before[a.requirement_id].evidence  # still shown to a reviewer
    for a in model.requirements:
        if a.coverage != "not_applicable":
            assert "Evidence model:" in a.rationale
    # ... and only ever moves between credited and missing, or grants partial with evidence
    for a in model.requirements:
        was = before[a.requirement_id].coverage
        if was != a.coverage:
            assert a.coverage in ("missing", "partial"), (a.requirement_id, was, a.coverage)
            if a.coverage == "partial":
                assert was == "missing" and a.evidence
    assert model.analyzer_version.endswith(f"+evidence-{load_evidence_model().version}")
    assert model.compliance_score < rules.compliance_score


def test_a_folder_is_judged_document_by_document() -> None:
    """Focus signals belong to the evidence document: adding an unrelated document to the
    analysis must not change how the framework's requirements are decided."""
    alone = analyze(load_documents([FRAMEWORK]), INVESTMENT_FIRM)
    distractor = EVAL / "dev5" / "NAM-POL-CMP-004_Anti_Bribery_Gifts_Hospitality.md"
    together = analyze(load_documents([FRAMEWORK, distractor]), INVESTMENT_FIRM)
    assert {a.requirement_id: a.coverage for a in alone.requirements} == {
        a.requirement_id: a.coverage for a in together.requirements
    }


def test_signals_cover_every_applicable_requirement() -> None:
    catalog = load_catalog()
    signals = dict(analysis_signals(load_documents([FRAMEWORK]), INVESTMENT_FIRM, catalog))
    applicable = {
        r.id
        for r in catalog.requirements
        if r.applicability.reason_not_applicable(INVESTMENT_FIRM) is None
    }
    assert set(signals) == applicable
    credited = [s for s in signals.values() if s.rule_credited]
    assert credited and all(0.0 <= s.bm25_relative <= 1.0 for s in signals.values())
    assert all(s.document_found > 0 for s in credited)


def _dry_run_trainer(sets: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "train_evidence_model.py"),
            "--dry-run",
            "--sets",
            sets,
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_trainer_runs_on_the_tuning_sets_without_writing() -> None:
    before = DEFAULT_MODEL_PATH.read_bytes()
    # three sets keep it quick; the full fit is the same code over more rows
    run = _dry_run_trainer("dev,dev2,dev3")
    assert run.returncode == 0, run.stderr
    assert "leave-one-set-out" in run.stdout
    for name in Signals.names(semantic=False):
        assert name in run.stdout
    assert "semantic_" not in run.stdout
    assert "holdout" not in run.stdout
    assert DEFAULT_MODEL_PATH.read_bytes() == before
    fresh = EvidenceModel.from_json(json.loads(before))
    assert fresh.features == Signals.names(semantic=False)
    # a held-out set can never be fitted on, not even for a quick try
    refused = _dry_run_trainer(f"dev,{HELD_OUT[0]}")
    assert refused.returncode == 2
    assert f"not tuning sets: {HELD_OUT[0]}" in refused.stderr


def test_the_trainer_fits_the_semantic_model_with_the_semantic_signals() -> None:
    before = SEMANTIC_MODEL_PATH.read_bytes()
    run = _dry_run_trainer("dev,dev2", "--semantic")
    assert run.returncode == 0, run.stderr
    weights = run.stdout.split("weights (standardised)")[1].split("quote words")[0]
    for name in Signals.names():
        assert name in weights
    assert SEMANTIC_MODEL_PATH.read_bytes() == before


def test_rules_only_is_a_setting_of_the_agent_and_a_cli_flag() -> None:
    from agents.analysis import ANALYZER_VERSION
    from agents.policy_analyzer import PolicyAnalyzerAgent

    inputs = {"documents": [str(FRAMEWORK)], "profile": INVESTMENT_FIRM.model_dump()}
    calibrated = PolicyAnalyzerAgent().analyze_inputs(inputs)
    rules = PolicyAnalyzerAgent(settings={"evidence_model": False}).analyze_inputs(inputs)
    assert (
        calibrated.analyzer_version
        == f"{ANALYZER_VERSION}+evidence-{load_evidence_model().version}"
    )
    assert rules.analyzer_version == ANALYZER_VERSION
    assert all("Evidence model" not in a.rationale for a in rules.requirements)
    dora = str(Path(sys.executable).parent / "dora")  # the installed console script
    proc = subprocess.run(
        [dora, "analyze", str(FRAMEWORK), "--rules-only", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=True,
    )
    records = {r["id"]: r for r in json.loads(proc.stdout)}
    expected = {
        a.requirement_id: a.coverage
        for a in analyze(
            load_documents([FRAMEWORK]), EntityProfile(), evidence_model=False
        ).requirements
    }
    assert {rid: r["coverage"] for rid, r in records.items()} == expected
