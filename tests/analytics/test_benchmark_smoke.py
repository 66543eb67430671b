"""The classification benchmark's smoke run: on a small generated history it must find the generator's ground truth
exactly and print every figure the README quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import analytics_classify


@pytest.mark.parametrize("engine", ["numpy", "sql"])
def test_classify_benchmark_finds_the_ground_truth(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "events"
    argv = ["--events", "20000", "--days", "9", "--data", str(data), "--months", "--threads", "1", "--engine", engine]

    assert analytics_classify.main(argv) == 0

    out = capsys.readouterr().out
    assert "-> exact" in out
    for figure in ("classify + weekly", "monthly summaries", "stolen by the hypervisor", "idle"):
        assert figure in out
