"""``rawkit train METHOD --preset full``: refused cleanly where it cannot run."""

import pytest

from rawkit.cli import main
from rawkit.weights.recipes import FULL_RECIPES, run_full


def test_every_shipped_method_has_a_full_recipe():
    from rawkit.pipelines import WEIGHTS_DIR

    shipped = {p.name for p in WEIGHTS_DIR.iterdir() if (p / "pipeline.json").is_file()}
    assert shipped <= set(FULL_RECIPES)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "srgb_unet", "--preset", "full", "-o", "OUT", "--width", "8"], "drop the other"),
        (["train", "srgb_unet", "--preset", "full", "-o", "OUT", "--seed", "3"], "drop the other"),
        (["train", "priorraw", "--preset", "full", "-o", "OUT", "--variant", "prior_raw"], "drop"),
    ],
)
def test_full_preset_refuses_other_settings(argv, words, tmp_path, capsys):
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_full_preset_never_overwrites(tmp_path, capsys):
    (tmp_path / "pipeline.json").write_text("{}")
    assert main(["train", "srgb_unet", "--preset", "full", "-o", str(tmp_path)]) == 2
    assert "overwrite" in capsys.readouterr().err


def test_run_full_unknown_method():
    with pytest.raises(ValueError, match="nn_search"):
        run_full("nn_search", "x")


def test_video_recipe_refuses_a_saved_folder_before_training(tmp_path, capsys):
    from rawkit.weights.video_recipe import main as recipe

    (tmp_path / "pipeline.json").write_text("{}")
    assert main(["train", "video", "--preset", "full", "-o", str(tmp_path)]) == 2
    assert "overwrite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # the module's own command line, called directly
        recipe(["--out", str(tmp_path), "--steps", "1"])
    assert e.value.code == 2 and "pass --overwrite" in capsys.readouterr().err
