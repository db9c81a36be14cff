"""Tests for rawkit.bench.overexposure (the full run trains for minutes: only its guards here)."""

from rawkit.bench import overexposure as bench


def test_existing_outputs_are_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "record.json"
    out.write_text("{}")
    assert bench.main(["--json", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "{}"
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "pipeline.json").write_text("{}")
    assert bench.main(["--save", str(folder)]) == 2


def test_seeds_are_fixed_by_photo_and_capture():
    assert bench._seed("kodim01", 0) == bench._seed("kodim01", 0) != bench._seed("kodim01", 1)
    assert bench._seed("kodim01", 100) != bench._seed("kodim02", 100)
