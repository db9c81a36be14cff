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


def test_data_are_the_benchmark_pairs_and_their_overexposed_twins():
    from rawkit.data import benchmark_pairs
    from rawkit.pipelines.overexposure import clipped_fraction

    d = bench.overexposure_data(splits=("test",), per_photo=1, max_side=48)["test"]
    ref = benchmark_pairs("test", per_photo=1, max_side=48)
    assert [p.seed for p in d[0]] == [p.seed for p in ref]
    for n, o in zip(*d, strict=True):
        assert (n.packed == o.packed).all() and 0.04 <= clipped_fraction(o.srgb) <= 0.31
