"""Agent coordinator: find an agent for a task, skip unhealthy ones, balance the load.

Selection for ``agent: <name>`` in a definition:

1. ``<name>`` is an agent type -> its instances; otherwise ``<name>`` is a capability ->
   instances of every type that declares it. When several *types* claim a capability the
   conflict is resolved deterministically: higher configured ``priority``, then higher
   version, then agent id (so two runs never pick differently by accident).
2. Instances whose last health check failed are skipped; a health result is reused for
   ``health_check.interval`` seconds so checks do not dominate short tasks.
3. Round robin across the remaining instances of the winning type.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field

from agents import registry
from agents.base import DORAAgent, HealthStatus
from agents.config_files import AgentConfig, load_agent_configs
from dora.errors import NoAgentAvailableError, UnknownAgentError


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+", maxsplit=1)[0].split("-", maxsplit=1)[0].split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


@dataclass
class _Instance:
    config: AgentConfig
    agent: DORAAgent
    health: HealthStatus | None = None
    checked_at: float = 0.0


@dataclass
class Coordinator:
    """Holds agent instances for one process (a flow run's worker, a CLI call)."""

    configs: list[AgentConfig] = field(default_factory=list)
    _instances: dict[str, list[_Instance]] = field(default_factory=dict)
    _cycles: dict[str, itertools.count[int]] = field(default_factory=dict)
    _capabilities: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_directory(cls, directory: object) -> Coordinator:
        from pathlib import Path

        return cls(configs=load_agent_configs(Path(str(directory))))

    # -------------------------------------------------------------- instances
    def instances(self, agent_type: str) -> list[_Instance]:
        with self._lock:
            if agent_type not in self._instances:
                spec = registry.get(agent_type)
                configs = [c for c in self.configs if c.type == agent_type] or [
                    AgentConfig(
                        id=f"{agent_type.replace('_', '-')}-001",
                        type=agent_type,
                        version=getattr(spec.factory(), "version", "1.0.0"),
                    )
                ]
                made = []
                for cfg in configs:
                    instance = cfg.id.rsplit("-", 1)[-1] if "-" in cfg.id else cfg.id
                    agent = spec.create(instance=instance, settings=cfg.configuration)
                    made.append(_Instance(cfg, agent))
                self._instances[agent_type] = made
                self._cycles[agent_type] = itertools.count()
            return self._instances[agent_type]

    async def _healthy(self, inst: _Instance) -> bool:
        now = time.monotonic()
        if inst.health is None or now - inst.checked_at > inst.config.health_check.interval:
            try:
                inst.health = await asyncio.wait_for(
                    inst.agent.health_check(), timeout=inst.config.health_check.timeout
                )
            except Exception as exc:  # a crashing health check means unhealthy, not a crash
                inst.health = HealthStatus(healthy=False, detail=f"health check raised {exc!r}")
            inst.checked_at = now
        return inst.health.healthy

    async def _types_for(self, name: str) -> list[str]:
        if name in registry.available():
            return [name]
        claimants: list[tuple[int, tuple[int, ...], str, str]] = []
        for agent_type in sorted(registry.available()):
            try:
                insts = self.instances(agent_type)
            except Exception:  # an agent that cannot even load does not claim anything
                continue
            caps = set(insts[0].config.capabilities) | set(await insts[0].agent.get_capabilities())
            if name in caps:
                cfg = insts[0].config
                claimants.append(
                    (
                        -cfg.priority,
                        tuple(-v for v in _version_key(cfg.version)),
                        cfg.id,
                        agent_type,
                    )
                )
        return [c[3] for c in sorted(claimants)]

    def select_ready(self, name: str) -> tuple[DORAAgent, AgentConfig] | None:
        """``select`` without awaiting, when it needs no health check; else ``None``.

        The common case of a task run (an agent type whose health results are fresh)
        then costs no coroutines; the round robin is the same one ``select`` uses.
        """
        if name not in registry.available():
            return None  # a capability: the async path resolves and ranks the claimants
        insts = self.instances(name)
        now = time.monotonic()
        if any(
            i.health is None or now - i.checked_at > i.config.health_check.interval for i in insts
        ):
            return None
        start = next(self._cycles[name])
        for k in range(len(insts)):
            inst = insts[(start + k) % len(insts)]
            if inst.health is not None and inst.health.healthy:
                return inst.agent, inst.config
        return None  # none healthy: select() explains which and why

    async def select(self, name: str) -> tuple[DORAAgent, AgentConfig]:
        """The agent to run the next task for ``name`` (agent type or capability)."""
        types = await self._types_for(name)
        if not types:
            raise UnknownAgentError(
                f"no agent type or capability {name!r}; known agents: {', '.join(sorted(registry.available()))}"
            )
        problems = []
        for agent_type in types:
            insts = self.instances(agent_type)
            start = next(self._cycles[agent_type])
            for k in range(len(insts)):
                inst = insts[(start + k) % len(insts)]
                if await self._healthy(inst):
                    return inst.agent, inst.config
                problems.append(
                    f"{inst.config.id}: {inst.health.detail if inst.health else 'unknown'}"
                )
        raise NoAgentAvailableError(
            f"no healthy agent for {name!r}; checked {len(problems)} instance(s): "
            + "; ".join(problems)
        )


_default: Coordinator | None = None
_default_lock = threading.Lock()


def default_coordinator() -> Coordinator:
    """The process-wide coordinator built from ``DORA_AGENT_CONFIG_DIR``."""
    global _default
    with _default_lock:
        if _default is None:
            from dora.settings import get_settings

            _default = Coordinator.from_directory(get_settings().agent_config_dir)
        return _default


def reset_default_coordinator() -> None:
    """Forget cached instances (tests, or after registering agents at run time)."""
    global _default
    with _default_lock:
        _default = None
