import json

import pytest

from rawkit.bench.harness import SpeedRecord, compare, format_table, write_json
from rawkit.cli import main


def test_demo_writes_figure_and_refuses_overwrite(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "malvar" in out and "RAW12" in out
    assert (tmp_path / "cfa_demo.png").stat().st_size > 10_000
    assert main(["demo", "-o", str(tmp_path), "--size", "64"]) == 2
    assert "exists" in capsys.readouterr().err


def test_bench_speed_small_writes_json(tmp_path, capsys):
    path = tmp_path / "speed.json"
    assert (
        main(
            [
                "bench",
                "speed",
                "--suite",
                "cfa",
                "--megapixels",
                "0.05",
                "--repeats",
                "1",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    records = json.loads(path.read_text())
    assert {"name", "size", "rawkit_s", "peer", "peer_s", "ratio"} <= set(records[0])
    names = [r["name"] for r in records]
    assert any(n.startswith("pack float32") for n in names)
    assert any(n.startswith("demosaic_malvar") for n in names)
    assert all(r["ratio"] == pytest.approx(r["rawkit_s"] / r["peer_s"]) for r in records)
    # no silent overwrite
    assert (
        main(["bench", "speed", "--suite", "cfa", "--megapixels", "0.05", "--json", str(path)]) == 2
    )


def test_bench_unknown_suite(capsys):
    assert main(["bench", "speed", "--suite", "nope"]) == 2


def test_harness_pieces(tmp_path):
    rec = compare("a", "1", lambda: None, "b", lambda: sum(range(1000)), repeats=3)
    assert isinstance(rec, SpeedRecord) and rec.ratio == rec.rawkit_s / rec.peer_s
    assert "ratio" in format_table([rec])
    p = write_json([rec], tmp_path / "r.json")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_json([rec], p)
    with pytest.raises(ValueError, match="repeats"):
        compare("a", "1", lambda: None, "b", lambda: None, repeats=0)
