"""Definition loading and validation: the seed loads; every rejection rule is located."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dora.definition.loader import load_definition, parse_definition, validate_paths
from dora.definition.models import EventTrigger, ExternalInput, FromTaskInput, ScheduledTrigger
from dora.definition.schema import schema_text
from dora.errors import DefinitionErrors

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "definitions" / "dora-compliance-assessment.yaml"
INVALID = sorted((ROOT / "tests" / "fixtures" / "invalid").glob("*.yaml"))
DORA = [sys.executable, "-m", "dora.cli.main"]


def _expectations(path: Path) -> list[tuple[int | None, str, str]]:
    out = []
    for line in path.read_text().splitlines():
        if m := re.match(r"# expect-line: (\d+) :: (\S*) :: (.*)", line):
            out.append((int(m[1]), m[2], m[3]))
        elif m := re.match(r"# expect: *(\S*) :: (.*)", line):
            out.append((None, m[1], m[2]))
    return out


def test_seed_definition_loads_unchanged() -> None:
    seed_text = ROOT.parent / "shared" / "seed" / "workflow-engine-spec.md"
    loaded = load_definition(SEED)
    wf = loaded.workflow
    assert wf.id == "dora-compliance-assessment" and wf.version == "1.0.0"
    assert [t.id for t in wf.tasks] == [
        "document_analysis",
        "gap_identification",
        "risk_calculation",
        "implementation_planning",
        "report_generation",
    ]
    assert isinstance(wf.triggers[1], ScheduledTrigger) and wf.triggers[1].schedule == "0 0 1 */3 *"
    assert (
        isinstance(wf.triggers[2], EventTrigger) and wf.triggers[2].event_type == "policy.updated"
    )
    risk = wf.task("risk_calculation")
    assert isinstance(risk.inputs[0], FromTaskInput) and isinstance(risk.inputs[1], ExternalInput)
    assert [r.action for r in wf.routing] == ["escalate", "require_approval", "alert"]
    assert len(loaded.content_hash) == 64
    if seed_text.exists():  # the workflow body is the seed's, byte for byte
        body = SEED.read_text().split("\n", 1)[1]
        assert body.strip() in seed_text.read_text()


@pytest.mark.parametrize("fixture", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_is_rejected_with_located_message(fixture: Path) -> None:
    expects = _expectations(fixture)
    assert expects, f"{fixture.name} has no '# expect' header"
    with pytest.raises(DefinitionErrors) as info:
        load_definition(fixture)
    problems = info.value.problems
    rendered = [str(p) for p in problems]
    for line, path, message in expects:
        match = [p for p in problems if message in p.message and (not path or p.path == path)]
        assert match, f"expected {path}: {message!r} in:\n" + "\n".join(rendered)
        if line is not None:
            assert match[0].line == line, rendered
        assert str(match[0]).startswith(f"{fixture}:{match[0].line}:{match[0].column}: ")


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    text = SEED.read_text()
    bad = (
        text.replace("timeout: 900", "timeout: -1")
        .replace('priority: "low"', 'priority: "lowest"')
        .replace('agent: "risk_calculator"', 'agent: "risk_calc"')
    )
    (tmp_path / "a.yaml").write_text(bad)
    (tmp_path / "b.yaml").write_text("workflow: [\n")
    (tmp_path / "ok.yaml").write_text(text)
    good, problems = validate_paths([tmp_path])
    assert [g.path.name for g in good] == ["ok.yaml"]
    files = {Path(p.file).name for p in problems}
    assert files == {"a.yaml", "b.yaml"}
    assert {p.path for p in problems if p.file.endswith("a.yaml")} >= {
        "workflow.tasks[document_analysis].config.timeout",
        "workflow.tasks[report_generation].config.priority",
        "workflow.tasks[risk_calculation].agent",
    }


def test_oversized_document_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text('workflow:\n  description: "' + "x" * 1_100_000 + '"\n')
    with pytest.raises(DefinitionErrors, match="limit is"):
        load_definition(big)


def test_same_content_same_hash_and_version_label(tmp_path: Path) -> None:
    a = load_definition(SEED)
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(SEED.read_bytes())
    assert load_definition(copy).version_label == a.version_label
    copy.write_text(SEED.read_text().replace("1 hour", "one hour"))
    assert load_definition(copy).content_hash != a.content_hash


def test_unknown_agent_lists_known_agents() -> None:
    text = SEED.read_text().replace('agent: "report_generator"', 'agent: "reporter"')
    with pytest.raises(DefinitionErrors) as info:
        parse_definition(text, "x.yaml")
    msg = next(p.message for p in info.value.problems if "agent" in p.path)
    for name in ("policy_analyzer", "gap_assessment", "report_generator"):
        assert name in msg


def test_committed_json_schema_is_current_and_referenced() -> None:
    committed = ROOT / "schemas" / "workflow-definition.schema.json"
    assert committed.read_text() == schema_text(), "run `dora schema` and commit the result"
    schema = json.loads(committed.read_text())
    assert schema["properties"]["workflow"]
    assert "additionalProperties" in json.dumps(schema)
    for path in (ROOT / "definitions").glob("*.yaml"):
        assert path.read_text().startswith(
            "# yaml-language-server: $schema=../schemas/workflow-definition.schema.json"
        )


def test_cli_validate_exit_codes_and_format(tmp_path: Path) -> None:
    ok = subprocess.run([*DORA, "validate", str(SEED)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "typo.yaml"
    bad.write_text(
        SEED.read_text().replace(
            'depends_on: ["document_analysis"]', 'depends_on: ["document_anlysis"]'
        )
    )
    res = subprocess.run(
        [*DORA, "validate", str(bad), str(SEED)], capture_output=True, text=True, cwd=ROOT
    )
    assert res.returncode == 1
    line = res.stdout.strip().splitlines()[0]
    assert re.match(
        rf"{re.escape(str(bad))}:\d+:\d+: workflow\.tasks\[gap_identification\]\.depends_on\[0\]: "
        r"unknown task 'document_anlysis' in depends_on \(did you mean 'document_analysis'\?\)",
        line,
    ), line
    usage = subprocess.run([*DORA, "validate"], capture_output=True, text=True, cwd=ROOT)
    assert usage.returncode == 2


def test_cli_refuses_alias_bomb_by_expansion_budget(tmp_path: Path) -> None:
    """A billion-laughs file is refused by the value budget, never expanded.

    9**11 values if expanded; the refusal comes from the deterministic node budget, so it
    cannot depend on machine speed (speed is measured in bench/, not asserted here).
    """
    bomb = tmp_path / "bomb.yaml"
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    bomb.write_text("\n".join(levels) + "\n")
    res = subprocess.run([*DORA, "validate", str(bomb)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 1
    assert "alias bomb" in res.stdout and res.stdout.startswith(f"{bomb}:")
