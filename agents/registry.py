"""Agent registry: names definitions may use in ``agent:`` mapped to agent classes.

Agents are found by *name*, never by a dotted import path written in YAML (a definition
must not be able to import arbitrary code). Three sources, checked for duplicates:

1. built-ins listed in ``BUILTIN_AGENTS`` (imported lazily: validating a definition
   must not pay for pandas or matplotlib);
2. third-party agents from the ``dora.agents`` entry-point group
   (``my_agent = "my_pkg.agents:MyAgent"`` in their pyproject);
3. agents registered at run time with :func:`register` (tests, benchmarks, notebooks).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from agents.base import DORAAgent
from dora.errors import ConfigurationError, UnknownAgentError

AgentFactory = Callable[..., DORAAgent]
ENTRY_POINT_GROUP = "dora.agents"


@dataclass(frozen=True)
class AgentSpec:
    """How to build one kind of agent, and what it offers without importing it."""

    name: str
    target: str | AgentFactory  # "module:Class" or a callable returning an agent
    source: str = "builtin"
    #: named facts the agent publishes for conditions (e.g. ``no_critical_gaps``)
    facts: tuple[str, ...] = ()
    description: str = ""
    _loaded: list[AgentFactory] = field(default_factory=list, compare=False, repr=False)

    def factory(self) -> AgentFactory:
        if callable(self.target):
            return self.target
        if not self._loaded:
            module_name, _, attr = self.target.partition(":")
            try:
                obj = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigurationError(
                    f"agent {self.name!r} ({self.source}) cannot be loaded from {self.target!r}: {exc}"
                ) from exc
            self._loaded.append(obj)
        return self._loaded[0]

    def create(self, instance: str = "001", settings: dict[str, Any] | None = None) -> DORAAgent:
        agent = self.factory()(instance=instance, settings=settings)
        if not isinstance(agent, DORAAgent):
            raise ConfigurationError(f"agent {self.name!r} does not implement DORAAgent")
        return agent


BUILTIN_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        "policy_analyzer",
        "agents.policy_analyzer:PolicyAnalyzerAgent",
        description="maps policy documents to DORA requirements with evidence",
    ),
    AgentSpec(
        "gap_assessment",
        "agents.gap_assessment:GapAssessmentAgent",
        facts=("no_critical_gaps",),
        description="turns missing coverage into rated gaps",
    ),
    AgentSpec(
        "risk_calculator",
        "agents.risk_calculator:RiskCalculatorAgent",
        description="Monte Carlo loss exposure of the gaps in EUR",
    ),
    AgentSpec(
        "implementation_planner",
        "agents.implementation_planner:ImplementationPlannerAgent",
        description="remediation plan scheduled against capacity",
    ),
    AgentSpec(
        "report_generator",
        "agents.report_generator:ReportGeneratorAgent",
        description="HTML/PDF compliance report and executive summary",
    ),
    AgentSpec(
        "ict_risk_manager",
        "agents.ict_risk_manager:IctRiskManagerAgent",
        facts=("inventory_complete", "within_risk_tolerance"),
        description="ICT asset inventory and risk register review (RTS 2024/1774)",
    ),
    AgentSpec(
        "resilience_tester",
        "agents.resilience_tester:ResilienceTesterAgent",
        facts=("cif_tested_within_year", "no_overdue_findings"),
        description="resilience testing programme and TLPT planning (DORA Art. 24-27, RTS 2025/1190)",
    ),
    AgentSpec(
        "threat_intelligence",
        "agents.threat_intelligence:ThreatIntelligenceAgent",
        facts=("no_significant_threats",),
        description="STIX/CSV threat intelligence matched to ICT assets; CDR 2024/1772 Art. 10",
    ),
    AgentSpec(
        "incident_reporter",
        "agents.incident_reporter:IncidentReporterAgent",
        description="major-incident classification, CDR 2025/301 deadlines, CIR 2025/302 reports",
    ),
    AgentSpec(
        "third_party_risk",
        "agents.third_party_risk:ThirdPartyRiskAgent",
        description="register of information (CIR 2024/2956): validation, concentration, export",
    ),
)

_lock = threading.Lock()
_runtime: dict[str, AgentSpec] = {}
_cache: dict[str, AgentSpec] | None = None


def _build() -> dict[str, AgentSpec]:
    specs: dict[str, AgentSpec] = {}
    for spec in BUILTIN_AGENTS:
        specs[spec.name] = spec
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in specs:
            raise ConfigurationError(
                f"duplicate agent name {ep.name!r}: entry point {ep.value!r} clashes with "
                f"the {specs[ep.name].source} agent {specs[ep.name].target!r}"
            )
        specs[ep.name] = AgentSpec(ep.name, ep.value, source=f"entry point {ep.value}")
    return specs


def available() -> dict[str, AgentSpec]:
    """Every registered agent by name (built-ins, entry points, run-time registrations)."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = _build()
        return {**_cache, **_runtime}


def register(
    name: str, target: str | AgentFactory, *, facts: tuple[str, ...] = (), replace: bool = False
) -> AgentSpec:
    """Register an agent at run time; refuses to shadow an existing name unless ``replace``."""
    existing = available().get(name)
    if existing is not None and not replace:
        raise ConfigurationError(f"duplicate agent name {name!r} (already {existing.source})")
    spec = AgentSpec(name, target, source="runtime", facts=facts)
    with _lock:
        _runtime[name] = spec
    return spec


def unregister(name: str) -> None:
    with _lock:
        _runtime.pop(name, None)


def get(name: str) -> AgentSpec:
    """The spec for ``name``; the error lists every known agent."""
    specs = available()
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise UnknownAgentError(
            f"unknown agent {name!r}; known agents: {known}. Third-party agents register in "
            f"the {ENTRY_POINT_GROUP!r} entry-point group."
        ) from None
