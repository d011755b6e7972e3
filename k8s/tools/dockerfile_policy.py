"""Static checks of the Dockerfile: the image rules we can verify without a Docker engine.

Why static: no Docker engine (and no registry but PyPI/Debian/npm) is available where the
tests run, so the image is never built in CI here. What can be checked from the text is
checked: a parser for the Dockerfile subset we use (instructions, ``\\`` continuations,
``ARG`` defaults in ``FROM``, stages) and these rules, each named like the manifest checks:

* ``multi-stage``: at least a builder and a final stage; the final stage copies from it;
* ``base-pinned``: every ``FROM`` image has an explicit tag or digest, never ``latest``;
* ``slim``: the final stage's base is a ``-slim`` Python image;
* ``non-root``: the final stage ends with ``USER`` of a fixed non-zero numeric uid;
* ``no-build-tools``: the final stage installs no compilers or build packages;
* ``healthcheck``: the final stage has a ``HEALTHCHECK`` with a command;
* ``writable-dirs``: PREFECT_HOME and DORA_REPORTS_DIR are set and declared as VOLUMEs
  together with /tmp (the root filesystem is read-only at run time);
* ``entrypoint``: the final stage's ENTRYPOINT is the ``dora`` command.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|clang|make|cmake|libc6-dev|python3-dev|cargo|rustc)\b"
)


@dataclass
class Instruction:
    line: int
    op: str
    args: str


@dataclass
class Stage:
    line: int
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def ops(self, op: str) -> list[Instruction]:
        return [i for i in self.instructions if i.op == op]


@dataclass(frozen=True)
class Problem:
    check: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] line {self.line}: {self.message}"


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    instructions: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        op, _, rest = buf.partition(" ")
        instructions.append(Instruction(start, op.upper(), rest.strip()))
        buf = ""
    if buf:
        raise ValueError(f"line {start}: instruction continues past the end of the file")

    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.op == "FROM":
            words = ins.args.split()
            words = [w for w in words if not w.startswith("--platform")]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(ins.line, image, name))
        elif not stages:
            if ins.op == "ARG" and "=" in ins.args:
                key, _, value = ins.args.partition("=")
                args[key.strip()] = value.strip().strip('"')
            elif ins.op != "ARG":
                raise ValueError(f"line {ins.line}: {ins.op} before the first FROM")
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise ValueError("no FROM instruction")
    return args, stages


def _tag_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"base image {image!r} has no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return f"base image {image!r} uses 'latest'"
    return None


def _exec_form(args: str) -> list[str] | None:
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def check(text: str) -> list[Problem]:
    """Every rule violation of the Dockerfile ``text``; empty when it complies."""
    _, stages = parse(text)
    final = stages[-1]
    out: list[Problem] = []
    names = {s.name for s in stages[:-1] if s.name}
    if len(stages) < 2:
        out.append(Problem("multi-stage", final.line, "single stage: build in a builder stage"))
    elif not any(
        any(part.startswith("--from=") and part[7:] in names for part in i.args.split())
        for i in final.ops("COPY")
    ):
        out.append(
            Problem("multi-stage", final.line, "the final stage copies nothing from a builder")
        )
    for stage in stages:
        problem = _tag_problem(stage.image)
        if problem:
            out.append(Problem("base-pinned", stage.line, problem))
    if not re.match(r"^(docker\.io/)?(library/)?python:3\.\d+(\.\d+)?-slim", final.image):
        out.append(
            Problem("slim", final.line, f"final base {final.image!r} is not a slim Python image")
        )
    users = final.ops("USER")
    if not users:
        out.append(Problem("non-root", final.line, "no USER: the container would run as root"))
    else:
        uid = users[-1].args.split(":", 1)[0]
        if not uid.isdigit():
            out.append(
                Problem("non-root", users[-1].line, f"USER {uid!r} must be a fixed numeric uid")
            )
        elif int(uid) == 0:
            out.append(Problem("non-root", users[-1].line, "USER 0 is root"))
    for run in final.ops("RUN"):
        found = BUILD_TOOLS.search(run.args)
        if found:
            out.append(
                Problem("no-build-tools", run.line, f"final stage installs build tool {found[0]!r}")
            )
    health = final.ops("HEALTHCHECK")
    if not health or "CMD" not in health[-1].args or health[-1].args.strip().upper() == "NONE":
        out.append(Problem("healthcheck", final.line, "final stage has no HEALTHCHECK CMD"))
    env = " ".join(i.args for i in final.ops("ENV"))
    volumes: list[str] = []
    for v in final.ops("VOLUME"):
        volumes += _exec_form(v.args) or shlex.split(v.args)
    for var in ("PREFECT_HOME", "DORA_REPORTS_DIR"):
        m = re.search(rf"\b{var}=(\S+)", env)
        if not m:
            out.append(Problem("writable-dirs", final.line, f"{var} is not set"))
        elif not any(m[1] == v or m[1].startswith(v.rstrip("/") + "/") for v in volumes):
            out.append(Problem("writable-dirs", final.line, f"{var}={m[1]} is not under a VOLUME"))
    if "/tmp" not in volumes:
        out.append(Problem("writable-dirs", final.line, "/tmp is not a VOLUME"))
    entry = final.ops("ENTRYPOINT")
    form = _exec_form(entry[-1].args) if entry else None
    if not form or form[0] != "dora":
        out.append(Problem("entrypoint", final.line, 'ENTRYPOINT must be ["dora"] (exec form)'))
    return out


def copy_sources(text: str) -> list[str]:
    """Build-context paths the Dockerfile COPYs (not ``--from`` copies)."""
    _, stages = parse(text)
    out: list[str] = []
    for stage in stages:
        for ins in stage.ops("COPY"):
            parts = [p for p in shlex.split(ins.args) if not p.startswith("--")]
            if any(p.startswith("--from=") for p in shlex.split(ins.args)):
                continue
            out += parts[:-1]
    return out


def main(argv: list[str] | None = None) -> int:
    import sys

    path = Path((argv or sys.argv[1:] or ["Dockerfile"])[0])
    problems = check(path.read_text(encoding="utf-8"))
    for p in problems:
        print(f"{path}:{p}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
