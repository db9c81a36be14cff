"""The speed harness: thread settings, goals, interleaving (no timings asserted)."""

import gc

import pytest
import torch

from rawkit.bench import harness
from rawkit.bench.harness import (
    SpeedRecord,
    compare,
    format_table,
    register_speed,
    run_speed,
    thread_count,
)


def test_thread_count_sets_and_restores():
    before = torch.get_num_threads()
    with thread_count(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with thread_count(0):
            pass


def test_compare_warms_up_and_interleaves():
    calls = []
    rec = compare("a", "1", lambda: calls.append("r"), "b", lambda: calls.append("p"),
                  repeats=4, warmup=1, goal=1.5)  # fmt: skip
    assert calls[:2] == ["r", "p"]  # warm-up, then alternating order
    assert calls[2:] == ["r", "p", "p", "r", "r", "p", "p", "r"]
    assert rec.goal == 1.5 and rec.met == (rec.ratio <= 1.5)


def test_run_speed_reports_each_thread_setting():
    seen = []

    @register_speed("_probe")
    def probe(*, megapixels, repeats):
        seen.append(torch.get_num_threads())
        return [SpeedRecord("x", "1", 1.0, "y", 2.0, 0.5, goal=1.0)]

    try:
        recs = run_speed(["_probe"], megapixels=0.01, repeats=1, threads=[1, 2], progress=False)
    finally:
        harness._SUITES.pop("_probe")
    assert seen == [1, 2] and [r.threads for r in recs] == [1, 2]
    table = format_table(recs)
    assert "<=1" in table and "yes" in table
    with pytest.raises(ValueError, match="unknown"):
        run_speed(["nope"], progress=False)


def test_cfa_suite_rows_at_a_tiny_size():
    """Every row of the CFA suite has a goal; the OpenCV row says what each side reads and writes."""
    pytest.importorskip("cv2")
    pytest.importorskip("colour_demosaicing")
    from rawkit.bench.speed_cfa import cfa_suite

    frozen = gc.get_freeze_count()
    recs = cfa_suite(megapixels=0.01, repeats=1)
    assert recs and all(r.goal is not None and r.rawkit_s > 0 and r.peer_s > 0 for r in recs)
    (opencv,) = [r for r in recs if r.peer.startswith("OpenCV")]
    assert "uint16 in/out" in opencv.note and "float32 in/out" in opencv.note
    assert opencv.goal == 2.0
    assert gc.get_freeze_count() == frozen  # the suite puts the objects it set aside back


def test_bank_row_at_a_tiny_size(monkeypatch):
    """The bank row runs both sides in subprocesses and notes CPU, memory and the load around them."""
    pytest.importorskip("faiss")
    from rawkit.bench.speed_search import _bank_records

    monkeypatch.setenv("RAWKIT_BENCH_BANK_POINTS", "2000")
    monkeypatch.setenv("RAWKIT_BENCH_BANK_NITER", "2")
    with thread_count(1):
        (rec,) = _bank_records(12.0)
    assert rec.size == "N=2000" and rec.goal == 1.2 and rec.rawkit_s > 0 and rec.peer_s > 0
    assert "2000x32 -> 31x1000, niter=2; CPU " in rec.note
    assert " (rawkit), ->" in rec.note and "peak +" in rec.note


def test_video_suite_rows_at_a_tiny_size():
    """The video rows time one chain step against DIS and state the absolute goal in the note."""
    from rawkit.bench.speed_video import GOAL_S, video_suite
    from rawkit.pipelines import WEIGHTS_DIR

    recs = video_suite(megapixels=0.0, repeats=1, size=(64, 96))
    names = [r.name for r in recs]
    shipped = (WEIGHTS_DIR / "video" / "pipeline.json").is_file()
    assert names == ["video base step"] + (["video FAGDN step (flow + network)"] if shipped else [])
    for r in recs:
        assert r.size == "64x96" and r.peer == "OpenCV DIS flow (medium)"
        assert r.rawkit_s > 0 and r.peer_s > 0 and r.ratio == pytest.approx(r.rawkit_s / r.peer_s)
        verdict = "met" if r.rawkit_s <= GOAL_S else "missed"
        assert r.note.startswith(f"{r.rawkit_s:.3f} s/frame (goal <= 1 s: {verdict})")
