"""Agent registry, configuration files and the coordinator (capability match, health, balance)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents import registry
from agents.base import HealthStatus, SimpleAgent, TaskExecution, TaskResult
from agents.config_files import load_agent_configs
from agents.coordinator import Coordinator, default_coordinator
from dora.errors import ConfigurationError, NoAgentAvailableError, UnknownAgentError

ROOT = Path(__file__).resolve().parent.parent


class _Scanner(SimpleAgent):
    TYPE = "t_scanner"
    CAPABILITIES = ("vulnerability_scan",)

    async def health_check(self) -> HealthStatus:
        ok = self.settings.get("healthy", True)
        return HealthStatus(healthy=ok, detail="ok" if ok else "licence server unreachable")

    async def run(self, task: TaskExecution) -> TaskResult:
        return TaskResult(outputs={})


class _OtherScanner(_Scanner):
    TYPE = "t_scanner_b"


def _write(dir_: Path, name: str, body: str) -> None:
    (dir_ / name).write_text(body)


@pytest.fixture
def scanners(tmp_path: Path) -> Path:
    registry.register("t_scanner", _Scanner, replace=True)
    registry.register("t_scanner_b", _OtherScanner, replace=True)
    for i, healthy in ((1, "true"), (2, "false"), (3, "true")):
        _write(
            tmp_path,
            f"scanner-{i}-agent.yaml",
            f"""
agent:
  id: "scanner-00{i}"
  type: "t_scanner"
  version: "1.0.0"
  capabilities: ["vulnerability_scan"]
  configuration: {{healthy: {healthy}}}
  health_check: {{interval: 60, timeout: 5}}
""",
        )
    _write(
        tmp_path,
        "scanner-b-agent.yaml",
        """
agent:
  id: "scanner-b-001"
  type: "t_scanner_b"
  version: "2.0.0"
  priority: 5
  capabilities: ["vulnerability_scan"]
""",
    )
    yield tmp_path
    registry.unregister("t_scanner")
    registry.unregister("t_scanner_b")


def test_seed_agent_config_file_loads() -> None:
    configs = load_agent_configs(ROOT / "agents" / "config")
    pa = next(c for c in configs if c.type == "policy_analyzer")
    assert pa.id == "policy-analyzer-001" and pa.version == "1.2.0"
    assert "document_analysis" in pa.capabilities
    assert pa.resources.memory_limit == "8Gi" and pa.health_check.interval == 30


def test_round_robin_skips_unhealthy_instances(scanners: Path) -> None:
    coord = Coordinator.from_directory(scanners)

    async def picks() -> list[str]:
        return [(await coord.select("t_scanner"))[1].id for _ in range(4)]

    chosen = asyncio.run(picks())
    assert "scanner-002" not in chosen  # its health check fails
    assert set(chosen) == {"scanner-001", "scanner-003"}
    assert chosen[0] != chosen[1]  # balanced, not sticky


def test_select_ready_shares_the_round_robin_and_waits_for_health_checks(scanners: Path) -> None:
    coord = Coordinator.from_directory(scanners)
    assert coord.select_ready("t_scanner") is None  # nothing checked yet: select() must run
    assert coord.select_ready("vulnerability_scan") is None  # capabilities take select()

    async def warm() -> str:
        return (await coord.select("t_scanner"))[1].id

    first = asyncio.run(warm())
    # every instance has been checked now (select walks past the unhealthy one)
    while any(i.health is None for i in coord.instances("t_scanner")):
        asyncio.run(warm())
    fast = []
    for _ in range(4):
        picked = coord.select_ready("t_scanner")
        assert picked is not None
        fast.append(picked[1].id)
    assert "scanner-002" not in fast and set(fast) == {"scanner-001", "scanner-003"}
    assert fast[0] != fast[1] and first in {"scanner-001", "scanner-003"}
    for inst in coord.instances("t_scanner"):  # health results expire: back to select()
        inst.checked_at -= inst.config.health_check.interval + 1
    assert coord.select_ready("t_scanner") is None


def test_capability_conflict_resolved_by_priority_then_version(scanners: Path) -> None:
    coord = Coordinator.from_directory(scanners)
    _agent, cfg = asyncio.run(coord.select("vulnerability_scan"))
    assert cfg.type == "t_scanner_b" and cfg.priority == 5


def test_no_healthy_agent_lists_what_was_checked(tmp_path: Path) -> None:
    registry.register("t_scanner", _Scanner, replace=True)
    try:
        _write(
            tmp_path,
            "a-agent.yaml",
            """
agent: {id: "scanner-009", type: "t_scanner", configuration: {healthy: false}}
""",
        )
        coord = Coordinator.from_directory(tmp_path)
        with pytest.raises(NoAgentAvailableError, match="scanner-009: licence server unreachable"):
            asyncio.run(coord.select("t_scanner"))
    finally:
        registry.unregister("t_scanner")


def test_unknown_agent_or_capability_lists_known_agents() -> None:
    with pytest.raises(UnknownAgentError) as info:
        asyncio.run(default_coordinator().select("astrology"))
    assert "policy_analyzer" in str(info.value) and "report_generator" in str(info.value)


def test_duplicate_runtime_registration_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="duplicate agent name 'policy_analyzer'"):
        registry.register("policy_analyzer", _Scanner)


def test_bad_agent_config_file_names_file_and_field(tmp_path: Path) -> None:
    _write(tmp_path, "bad-agent.yaml", "agent:\n  id: x\n  type: y\n  capabilites: [a]\n")
    with pytest.raises(ConfigurationError, match=r"bad-agent.yaml: agent.capabilites"):
        load_agent_configs(tmp_path)


def test_builtin_agents_implement_the_interface() -> None:
    for name in (
        "policy_analyzer",
        "gap_assessment",
        "risk_calculator",
        "implementation_planner",
        "report_generator",
    ):
        agent = registry.get(name).create()
        assert agent.agent_type == name
        assert asyncio.run(agent.get_capabilities())
        assert asyncio.run(agent.health_check()).healthy
