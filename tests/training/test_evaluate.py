"""normalgen_training.evaluate: per-kind statistics, and the light side each photo is evaluated
with ("index": from the azimuth in its folder's index.tsv)."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from normalgen.imageio import write_normal_map
from normalgen.vectors import angular_error_deg, normals_from_height
from normalgen_training.evaluate import evaluate, light_side


@pytest.mark.parametrize("azimuth, side", [
    (0, "right"), (44.9, "right"), (45.1, "top"), (90, "top"), (135.1, "left"), (180, "left"),
    (-90, "bottom"), (270, "bottom"), (315.1, "right"), (-10, "right"), (720 + 91, "top"),
])
def test_light_side_is_the_nearest_side_counter_clockwise_from_right(azimuth, side):
    assert light_side(azimuth) == side


def write_pairs(folder, rows, header):
    """One 16x16 pair per row (id, kind, azimuth): the photo's grey level tells the pairs apart."""
    folder.mkdir(parents=True)
    truths = {}
    for i, (ident, kind, azimuth) in enumerate(rows):
        yy, xx = np.mgrid[0:16, 0:16].astype(np.float32)
        truth = normals_from_height(np.sin(xx / (2 + i)) * 3 + yy * 0.1 * i)
        write_normal_map(folder / f"{ident}_normal.png", truth, convention="opengl", bit_depth=16)
        Image.fromarray(np.full((16, 16, 3), 10 * (i + 1), np.uint8)).save(folder / f"{ident}_color.png")
        truths[10 * (i + 1)] = truth
    lines = (["id\tkind\tlighting\tslope_deg\tlight_azimuth\tseed"] if header else [])
    lines += [f"{ident}\t{kind}\tsun\t10\t{az}\t1" if header else f"{ident}\t{kind}\t40\t{az}"
              for ident, kind, az in rows]
    (folder / "index.tsv").write_text("\n".join(lines) + "\n")
    return truths


@pytest.mark.parametrize("header", [True, False], ids=["synth-layout", "blender-dev-layout"])
def test_index_gives_each_photo_its_light_side_and_kind(tmp_path, header):
    rows = [("000", "brick", 10.0), ("001", "wave", 100.0), ("002", "brick", 200.0), ("003", "noise", 290.0)]
    truths = write_pairs(tmp_path / "set", rows, header)
    seen = {}

    def predict(photo, side):
        level = int(round(float(photo.mean()) * 255))
        seen[level] = side
        # Right only when told the pair's true side: a wrong side would cost a flat map's error.
        return truths[level] if side == {10: "right", 20: "top", 30: "left", 40: "bottom"}[level] else \
            np.dstack([np.zeros((16, 16, 2), np.float32), np.ones((16, 16, 1), np.float32)])

    result = evaluate(predict, [tmp_path / "set"], light_from="index")
    assert seen == {10: "right", 20: "top", 30: "left", 40: "bottom"}
    assert sorted(result["groups"]) == ["brick", "noise", "wave"]
    assert result["groups"]["brick"]["pixels"] == 512
    assert result["overall"]["mean"] < 0.1  # every photo got its own side, so every map was exact

    fixed = evaluate(predict, [tmp_path / "set"], light_from="top")
    assert set(seen.values()) == {"top"}
    flat = np.dstack([np.zeros((16, 16, 2)), np.ones((16, 16, 1))])
    expected = np.mean([angular_error_deg(flat, truths[level]).mean() for level in (10, 30, 40)] + [0.0])
    assert fixed["overall"]["mean"] == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("header", [True, False], ids=["synth-layout", "blender-dev-layout"])
def test_index_azimuth_gives_each_photo_its_lights_azimuth_in_degrees(tmp_path, header):
    truths = write_pairs(tmp_path / "set", [("000", "brick", 10.0), ("001", "wave", -137.5)], header)
    seen = {}

    def predict(photo, azimuth):
        level = int(round(float(photo.mean()) * 255))
        seen[level] = azimuth
        return truths[level]

    evaluate(predict, [tmp_path / "set"], light_from="index-azimuth")
    assert seen == {10: 10.0, 20: -137.5}


def test_an_index_saved_by_a_spreadsheet_is_read_and_one_in_latin_1_is_named(tmp_path):
    rows = [("000", "brick", 10.0), ("001", "wave", 100.0)]
    write_pairs(tmp_path / "set", rows, header=True)
    index = tmp_path / "set" / "index.tsv"
    index.write_bytes(b"\xef\xbb\xbf" + b"\n" + index.read_bytes() + b"\t\n")  # BOM, blank lines
    seen = []
    evaluate(lambda photo, side: seen.append(side) or np.dstack([np.zeros((16, 16, 2)), np.ones((16, 16, 1))]),
             [tmp_path / "set"], light_from="index")
    assert seen == ["right", "top"]  # the azimuth column, found by the header, not the slope's
    index.write_bytes(index.read_bytes().replace(b"brick", b"brique \xe9maill\xe9e"))
    with pytest.raises(ValueError, match=r"index.tsv is not UTF-8 text"):
        evaluate(lambda photo, side: None, [tmp_path / "set"])


def test_index_without_a_light_azimuth_is_an_error(tmp_path):
    write_pairs(tmp_path / "set", [("000", "brick", 0.0)], header=True)
    index = tmp_path / "set" / "index.tsv"
    index.write_text("id\tkind\n000\tbrick\n")
    with pytest.raises(ValueError, match="no light azimuth"):
        evaluate(lambda photo, side: None, [tmp_path / "set"], light_from="index")


@pytest.mark.parametrize("light_from", ["index", "index-azimuth"])
@pytest.mark.parametrize("azimuth", ["-", "nan"])
def test_index_row_without_an_azimuth_is_named_not_a_crash(tmp_path, light_from, azimuth):
    # `normalgen synth` resumed after an interruption writes "-" for the pairs it kept.
    write_pairs(tmp_path / "set", [("000", "brick", 0.0), ("001", "wave", azimuth)], header=True)
    with pytest.raises(ValueError, match="no light azimuth in an index.tsv for .*001"):
        evaluate(lambda photo, side: None, [tmp_path / "set"], light_from=light_from)


def test_eval_command_with_light_from_index(tmp_path, tiny_model_path):
    from normalgen.cli import cli

    write_pairs(tmp_path / "set", [("000", "brick", 0.0), ("001", "wave", 95.0)], header=False)
    r = CliRunner().invoke(cli, ["eval", str(tmp_path / "set"), "--light-from", "index", "--json"])
    assert r.exit_code == 0, r.output
    assert '"brick"' in r.output and '"wave"' in r.output
    r = CliRunner().invoke(cli, ["eval", str(tmp_path / "set"), "--light-from", "index",
                                 "--model", str(tmp_path / "missing.keras")])
    assert r.exit_code != 0 and "model file not found" in r.output
    r = CliRunner().invoke(cli, ["eval", str(tmp_path / "set"), "--light-from", "index", "--model", tiny_model_path])
    assert r.exit_code == 1 and "cannot use the light side 'index'" in r.output  # an any-light model


def test_a_corrupt_pair_is_skipped_with_one_warning_and_the_rest_is_measured(tmp_path):
    truths = write_pairs(tmp_path / "set", [("000", "brick", 0.0), ("001", "wave", 95.0)], header=True)
    (tmp_path / "set" / "001_color.png").write_bytes(b"not a png")
    result = evaluate(lambda photo, side: truths[10], [tmp_path / "set"])
    assert result["overall"]["pixels"] == 256 and result["overall"]["mean"] < 0.1
    assert len(result["warnings"]) == 1
    warning = result["warnings"][0]
    assert warning.count("001_color.png") == 1 and warning.endswith("pair skipped")

    (tmp_path / "set" / "000_normal.png").write_bytes(b"")
    with pytest.raises(ValueError, match="none of the 2 pairs could be read; the first: "):
        evaluate(lambda photo, side: truths[10], [tmp_path / "set"])


def test_relief_is_the_predicted_tilt_over_the_true_tilt(tmp_path):
    """A flat map scores relief 0, the truth 1, and the truth's slopes halved about a half
    (tilt is the angle, so halving the slope gives a little more than half the angle)."""
    rows = [("000", "brick", 0.0), ("001", "wave", 90.0)]
    truths = write_pairs(tmp_path / "set", rows, header=True)

    def half(n):
        m = np.concatenate([n[..., :2] * 0.5, n[..., 2:]], axis=-1)
        return m / np.linalg.norm(m, axis=-1, keepdims=True)

    def run(transform):
        return evaluate(lambda photo, side: transform(truths[int(round(float(photo.mean()) * 255))]),
                        [tmp_path / "set"])

    flat = run(lambda n: np.dstack([np.zeros((16, 16, 2)), np.ones((16, 16, 1))]))
    exact = run(lambda n: n)
    halved = run(half)
    assert flat["overall"]["relief"] == pytest.approx(0.0, abs=1e-3)
    assert exact["overall"]["relief"] == pytest.approx(1.0, abs=1e-3)
    assert 0.5 < halved["overall"]["relief"] < 0.6
    for group in ("brick", "wave"):
        assert exact["groups"][group]["relief"] == pytest.approx(1.0, abs=1e-3)
    assert halved["overall"]["mean"] > exact["overall"]["mean"]


def test_relief_of_a_flat_truth_is_none_and_the_json_stays_valid(tmp_path):
    import json

    folder = tmp_path / "flat"
    folder.mkdir()
    flat = np.dstack([np.zeros((16, 16, 2), np.float32), np.ones((16, 16, 1), np.float32)])
    write_normal_map(folder / "a_normal.png", flat, convention="opengl", bit_depth=8)  # 8-bit: tilt ~0.3°
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / "a_color.png")
    tilted = flat + np.array([0.2, 0.0, 0.0], np.float32)
    result = evaluate(lambda photo, side: tilted / np.linalg.norm(tilted, axis=-1, keepdims=True), [folder])
    assert result["overall"]["relief"] is None
    json.loads(json.dumps(result["overall"], allow_nan=False))
    from normalgen_training.evaluate import format_report

    assert format_report(result).splitlines()[-1].split()[-1] == "-"


def test_no_pairs_says_why_the_files_found_did_not_pair(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "lonely_color.png")
    with pytest.raises(ValueError, match="no pairs found in .*lonely_color.png: no matching normal map"):
        evaluate(lambda photo, light: photo, [tmp_path])
