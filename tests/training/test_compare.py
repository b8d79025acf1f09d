"""normalgen_training.compare: scoring models on the validation sets, and the shipping rule
(better on every synthetic set) applied to what was scored."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from normalgen_training import compare, synth
from normalgen_training.dataset import load_pair
from normalgen_training.pairing import find_pairs

REPO = Path(__file__).resolve().parents[2]


def _key(photo) -> str:
    return hashlib.sha1(np.ascontiguousarray(photo, dtype=np.float32).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Two tiny synthetic sets and one 'external' set, each with its truths keyed by photo."""
    root = tmp_path_factory.mktemp("sets")
    truths = {}
    folders = {}
    for name, seed in (("a_val", 1), ("b_val", 2), ("outside", 3)):
        folder = synth.write_dataset(root / name, 2, 32, seed=seed, light_mode="canonical")
        folders[name] = folder
        for pair in find_pairs([folder])[0]:
            photo, truth = load_pair(pair)
            truths[_key(photo)] = (name, truth)
    return folders, truths


def fake_predictor(truths, wrong_on: set[str]):
    """A 'model' that returns the truth, except a flat map on the sets in wrong_on. The sides it
    is told are checked: every synthetic photo here is lit from the right."""
    def predictor(model, light_from):
        assert light_from == "index"

        def predict(photo, side):
            assert side == "right"
            name, truth = truths[_key(photo)]
            if name in wrong_on:
                return np.dstack([np.zeros(truth.shape[:2] + (2,), np.float32), np.ones(truth.shape[:2] + (1,), np.float32)])
            return truth
        return predict
    return predictor


def test_a_model_better_on_every_synthetic_set_would_replace_the_first(sets):
    folders, truths = sets
    base_wrong = {"a_val", "b_val"}

    def mixed(model, light_from):  # "base" is flat everywhere, "half" only on b_val, "exact" nowhere
        wrong = {"base": base_wrong, "half": {"b_val"}, "exact": set()}[model]
        return fake_predictor(truths, wrong)(model, light_from)

    results = compare.score(["base", "half", "exact"], folders, predictor=mixed)
    assert results["exact"]["a_val"]["overall"]["mean"] < 0.5
    assert results["base"]["a_val"]["overall"]["mean"] > 2.0
    # b_val: both "base" and "half" are a flat map there, so "half" is not better on it.
    assert compare.verdicts(results, ["a_val", "b_val"]) == {"half": ["b_val"], "exact": []}


def test_table_gives_each_set_and_the_outside_sets_kinds(sets):
    folders, truths = sets

    def two(model, light_from):
        return fake_predictor(truths, {"a_val", "b_val", "outside"} if model == "old" else set())(model, light_from)

    results = compare.score(["old", "new"], folders, predictor=two)
    table = compare.format_table(results, ["a_val", "b_val"], labels={"old": "stage 8"})
    lines = table.splitlines()
    assert lines[0] == "| set | stage 8 | new |"
    assert any(line.startswith("| a_val | ") for line in lines)
    kinds = sorted(results["old"]["outside"]["groups"])
    assert kinds and all(any(line.startswith(f"| outside / {k} | ") for line in lines) for k in kinds)
    assert not any(line.startswith("| a_val / ") for line in lines)  # synthetic sets: no per-kind rows
    assert lines[-1] == "- new: better than stage 8 on every synthetic set scored (2)."


def test_make_set_makes_canonical_pairs_with_the_listed_settings(tmp_path, monkeypatch):
    monkeypatch.setitem(compare.SYNTHETIC_SETS, "tiny_val", dict(count=2, size=32, seed=7, broad=1.0))
    folder = tmp_path / "tiny_val"
    assert not compare.is_complete(folder, "tiny_val")
    compare.make_set(folder, "tiny_val")
    assert compare.is_complete(folder, "tiny_val")
    recorded = json.loads((folder / synth.SETTINGS_FILE).read_text())
    assert recorded["light"] == "canonical" and recorded["broad"] == 1.0 and recorded["size"] == 32


def test_script_refuses_missing_sets_in_one_sentence(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "pretrained" / "compare_models.py"), "m.keras",
                           "--data", str(tmp_path), "--sets", "canon2b_val,steep2_val"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"canon2b_val, steep2_val not made yet in {tmp_path}; add --make to make them"


def test_a_folder_made_with_other_settings_is_not_taken_for_the_set(tmp_path, monkeypatch):
    monkeypatch.setitem(compare.SYNTHETIC_SETS, "tiny_val", dict(count=1, size=32, seed=7, broad=1.0))
    folder = synth.write_dataset(tmp_path / "tiny_val", 1, 32, seed=7, light_mode="canonical")  # no --broad
    with pytest.raises(ValueError, match=r"made with --broad 0.0 \(asked: 1.0\), so it is not tiny_val"):
        compare.is_complete(folder, "tiny_val")


def test_a_folder_of_another_seed_or_more_pairs_is_not_the_set(tmp_path, monkeypatch):
    monkeypatch.setitem(compare.SYNTHETIC_SETS, "tiny_val", dict(count=2, size=32, seed=7))
    other_seed = synth.write_dataset(tmp_path / "seed", 2, 32, seed=8, light_mode="canonical")
    with pytest.raises(ValueError, match=r"from another --seed than tiny_val's 7"):
        compare.is_complete(other_seed, "tiny_val")
    more = synth.write_dataset(tmp_path / "more", 3, 32, seed=7, light_mode="canonical")
    with pytest.raises(ValueError, match=r"holds 3 photos, more than the 2 of tiny_val"):
        compare.is_complete(more, "tiny_val")


def test_a_pair_without_its_index_row_leaves_the_set_unfinished(tmp_path, monkeypatch):
    """A run killed after its last photo but before index.tsv was rewritten is not complete, so
    --make finishes it instead of scoring photos that have no light side."""
    monkeypatch.setitem(compare.SYNTHETIC_SETS, "tiny_val", dict(count=2, size=32, seed=7))
    folder = compare.make_set(tmp_path / "tiny_val", "tiny_val")
    assert compare.is_complete(folder, "tiny_val")
    index = folder / "index.tsv"
    index.write_text("\n".join(index.read_text().splitlines()[:-1]) + "\n")  # the last row lost
    assert not compare.is_complete(folder, "tiny_val")
    compare.make_set(folder, "tiny_val")
    assert compare.is_complete(folder, "tiny_val")


def test_every_model_is_loaded_before_any_is_scored(sets):
    folders, truths = sets
    scored = []

    def predictor(model, light_from):
        if model == "missing.keras":
            raise ValueError("no model file missing.keras")
        return lambda photo, side: scored.append(model) or truths[_key(photo)][1]

    with pytest.raises(ValueError, match="no model file"):
        compare.score(["good.keras", "missing.keras"], folders, predictor=predictor)
    assert scored == []
    with pytest.raises(ValueError, match="good.keras is given twice"):
        compare.score(["good.keras", "good.keras"], folders, predictor=predictor)


def test_script_cannot_make_sets_in_a_file_in_one_sentence(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    proc = subprocess.run([sys.executable, str(REPO / "pretrained" / "compare_models.py"), "m.keras",
                           "--data", str(tmp_path / "data"), "--sets", "canon2b_val", "--make"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cannot make {tmp_path / 'data' / 'canon2b_val'}: ") and "Traceback" not in proc.stderr
