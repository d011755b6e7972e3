"""``dora audit`` end to end: verify (exit 0/1), export a window, verify the export, holds."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dora.audit.store import AuditStore, Entry
from dora.cli.main import app


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("DORA_AUDIT_URL", url)

    async def fill() -> None:
        store = await AuditStore.open(url)
        await store.append(
            [Entry(kind="task.completed", data={"i": i}, run_id="r1") for i in range(6)]
        )
        await store.close()

    asyncio.run(fill())
    return url


def _tamper(url: str, sql: str) -> None:
    async def run() -> None:
        store = await AuditStore.open(url)
        async with store.engine.begin() as conn:
            await conn.execute(text(sql))
        await store.close()

    asyncio.run(run())


def test_verify_exit_codes(store_url: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "ok: 6 record(s) verified" in ok.output
    _tamper(store_url, "UPDATE dora_audit_records SET kind = 'approval' WHERE seq = 4")
    bad = runner.invoke(app, ["audit", "verify", "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["problem"]["kind"] == "edited" and report["problem"]["seq"] == 4


def test_export_window_and_verify_file(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "export.jsonl"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    result = runner.invoke(
        app, ["audit", "export", "--since", since, "--until", until, "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and all("hash" in json.loads(line) for line in lines)
    empty = runner.invoke(app, ["audit", "export", "--until", "2000-01-01"])
    assert empty.exit_code == 0 and empty.stdout == ""

    checked = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert checked.exit_code == 0, checked.output
    last = json.loads(lines[-1])
    anchored = runner.invoke(
        app, ["audit", "verify", "--file", str(out), "--anchor", f"6:{'0' * 64}"]
    )
    assert anchored.exit_code == 1 and "anchor" in anchored.output
    good_anchor = runner.invoke(
        app, ["audit", "verify", "--file", str(out), "--anchor", f"6:{last['hash']}"]
    )
    assert good_anchor.exit_code == 0

    del lines[2]  # a supervisor's copy with a record removed
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert broken.exit_code == 1
    assert "seq 3: deleted" in broken.output

    out.write_text('{"seq": 1}\n', encoding="utf-8")
    garbage = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert garbage.exit_code == 1 and f"{out}:1:" in garbage.output


def test_bad_time_is_a_usage_error(store_url: str) -> None:
    result = CliRunner().invoke(app, ["audit", "export", "--since", "last tuesday"])
    assert result.exit_code == 2 and "ISO" in result.output


def test_holds_and_purge(store_url: str) -> None:
    runner = CliRunner()
    placed = runner.invoke(
        app, ["audit", "hold", "place", "--reason", "case 12", "--by", "legal@bank.eu"]
    )
    assert placed.exit_code == 0, placed.output
    hold_id = json.loads(placed.stdout)["id"]
    listed = json.loads(runner.invoke(app, ["audit", "hold", "list"]).stdout)
    assert [h["id"] for h in listed] == [hold_id]
    held = runner.invoke(app, ["audit", "purge", "--older-than-days", "1"])
    assert json.loads(held.stdout)["purged"] == 0
    released = runner.invoke(app, ["audit", "hold", "release", str(hold_id), "--by", "legal"])
    assert released.exit_code == 0
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    no_retention = runner.invoke(app, ["audit", "purge"])
    assert no_retention.exit_code == 2
