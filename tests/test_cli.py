"""The `normalgen` CLI: exit codes, one-line errors, JSON progress, lazy imports, end-to-end runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from normalgen import cli
from normalgen.imageio import read_normal_map

REPO = Path(__file__).resolve().parents[1]


def photo(path: Path, size=(24, 32), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def invoke(*args, env=None):
    return CliRunner().invoke(cli.cli, [str(a) for a in args], env=env, catch_exceptions=False)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def events(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def run_subprocess(*args, env_extra=None, timeout=120):
    env = {**os.environ, **(env_extra or {}), "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    code = "import sys; from normalgen.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, encoding="utf-8")  # fmt: skip


# ---------------------------------------------------------------- fast paths, lazy loading


def test_help_and_version_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from normalgen.cli import cli\n"
        "for args in (['--help'], ['--version'], ['convert', '--help']):\n"
        "    r = CliRunner().invoke(cli, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "    print(r.output)\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'normalgen_training') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("convert", "info", "synth", "train", "eval", "normalgen 0.1.0", "--progress"):
        assert name in out.stdout


def test_training_commands_are_imported_only_when_invoked(monkeypatch):
    import click

    fake = types.ModuleType("fake_training_cli")

    @click.command()
    def synth():
        click.echo("synth ran")

    fake.synth = synth
    monkeypatch.setitem(sys.modules, "fake_training_cli", fake)
    monkeypatch.setitem(cli.LAZY_COMMANDS, "synth", ("fake_training_cli", "synth", "Make data."))
    monkeypatch.setitem(cli.LAZY_COMMANDS, "train", ("no_such_module_here", "train", "Train."))
    assert "Make data." in invoke("--help").output
    assert invoke("synth").output == "synth ran\n"
    result = CliRunner().invoke(cli.cli, ["train"])
    assert result.exit_code == 1 and "not available" in result.output and "Traceback" not in result.output


def test_usage_errors_exit_2():
    assert CliRunner().invoke(cli.cli, ["convert"]).exit_code == 2
    assert CliRunner().invoke(cli.cli, ["convert", "x.png", "--format", "jpg"]).exit_code == 2
    assert CliRunner().invoke(cli.cli, ["convert", "x.png", "--strength", "-1"]).exit_code == 2


# ---------------------------------------------------------------- convert


def test_convert_folder_then_rerun_skips_and_overwrite_replaces(tmp_path):
    for i in range(3):
        photo(tmp_path / f"p{i}.png", seed=i)
    r = invoke("convert", tmp_path, "--method", "sobel", "--height")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip().splitlines()[-1] == "converted 3, skipped 0, failed 0"
    out = tmp_path / "p0_normal.png"
    before = out.stat().st_mtime_ns

    r = invoke("convert", tmp_path, "--method", "sobel", "--height")  # outputs are not re-ingested
    assert r.exit_code == 0
    assert r.stderr.strip().splitlines()[-1] == "converted 0, skipped 3 (exist; --overwrite to redo), failed 0"
    assert out.stat().st_mtime_ns == before

    r = invoke("convert", tmp_path, "--method", "sobel", "--overwrite", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""
    assert out.stat().st_mtime_ns != before


def test_invert_writes_the_map_of_the_sunk_relief(tmp_path):
    photo(tmp_path / "p.png")
    for name, extra in (("plain", ()), ("inverted", ("--invert",))):
        r = invoke("convert", tmp_path / "p.png", "-o", tmp_path / name, "--method", "sobel", "--strength", "3",
                    "--height", "--bit-depth", "16", *extra)
        assert r.exit_code == 0, r.output
    read = lambda *p: cv2.imread(str(tmp_path.joinpath(*p)), cv2.IMREAD_UNCHANGED).astype(np.float64) / 65535
    plain, inverted = read("plain", "p_normal.png"), read("inverted", "p_normal.png")  # OpenCV: B, G, R
    assert np.abs(plain[..., 1:] - 0.5).max() > 0.05  # there is relief to invert
    np.testing.assert_allclose(inverted[..., 1:], 1.0 - plain[..., 1:], atol=2 / 65535)  # G and R mirrored
    np.testing.assert_allclose(inverted[..., 0], plain[..., 0], atol=1 / 65535)  # B (Z) kept
    np.testing.assert_allclose(read("inverted", "p_height.png"), 1.0 - read("plain", "p_height.png"), atol=1e-3)


def test_a_cut_out_photo_gets_a_flat_map_where_it_is_transparent(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    alpha = np.zeros((24, 32), np.uint8)
    alpha[4:20, 6:26] = 255
    outputs = []
    for under in (0, 255):
        folder = tmp_path / f"under{under}"
        folder.mkdir()
        Image.fromarray(np.dstack([np.where(alpha[..., None] > 0, rgb, under).astype(np.uint8), alpha]),
                        mode="RGBA").save(folder / "decal.png")
        assert invoke("convert", folder / "decal.png", "--method", "sobel", "-q").exit_code == 0
        outputs.append(np.asarray(Image.open(folder / "decal_normal.png")))
    np.testing.assert_array_equal(outputs[0], outputs[1])  # what lies under alpha 0 is never read
    assert (outputs[0][alpha == 0] == (128, 128, 255)).all()  # flat there
    assert np.abs(outputs[0][alpha == 255][:, :2].astype(int) - 128).max() > 10  # relief inside
    # --ignore-alpha: the colours alone, as if the file had no alpha (a mask, channel-packed data).
    Image.fromarray(np.where(alpha[..., None] > 0, rgb, 0).astype(np.uint8)).save(tmp_path / "plain.png")
    for name in ("under0/decal.png", "plain.png"):
        r = invoke("convert", tmp_path / name, "-o", tmp_path / "ignored", "--method", "sobel", "--ignore-alpha", "-q")
        assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ignored" / "decal_normal.png")),
                                  np.asarray(Image.open(tmp_path / "ignored" / "plain_normal.png")))


def test_a_folder_of_only_outputs_is_nothing_to_do(tmp_path):
    photo(tmp_path / "a_normal.png")
    r = invoke("convert", tmp_path, "--method", "sobel")
    assert r.exit_code == 0 and "nothing to convert" in r.stderr
    assert os.listdir(tmp_path) == ["a_normal.png"]


def test_a_file_named_explicitly_is_converted_even_if_it_looks_like_an_output(tmp_path):
    # A photo called rock_height.jpg, named on the command line (the Blender add-on does), was
    # silently taken for one of our outputs: "nothing to convert".
    photo(tmp_path / "rock_height.png")
    r = invoke("convert", tmp_path / "rock_height.png", "--method", "sobel", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rock_height_normal.png").exists()


def test_bad_files_are_one_line_each_and_the_rest_is_done(tmp_path):
    photo(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "c.png").write_text("hello")
    good = photo(tmp_path / "d.png", size=(40, 40))
    cut = tmp_path / "e.png"
    cut.write_bytes(good.read_bytes()[:300])
    photo(tmp_path / "one.png", size=(1, 1))
    photo(tmp_path / "odd.png", size=(7, 5))
    r = invoke("convert", tmp_path, "--method", "sobel", "--progress", "none")
    assert r.exit_code == 1
    lines = error_lines(r)
    assert len(lines) == 3
    for line, name in zip(lines, ["b.png", "c.png", "e.png"]):
        assert line.startswith(f"error: {tmp_path / name}") and line.endswith(".")
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == "converted 4, skipped 0, failed 3"
    for name in ("a", "d", "one", "odd"):
        assert (tmp_path / f"{name}_normal.png").exists()
    assert read_normal_map(tmp_path / "odd_normal.png").shape == (7, 5, 3)
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_json_progress(tmp_path):
    photo(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"")
    photo(tmp_path / "c.png")
    (tmp_path / "c_normal.png").write_bytes(b"already there")
    r = invoke("convert", tmp_path, "--method", "sobel", "--progress", "json")
    assert r.exit_code == 1
    ev = events(r)  # every stdout line is one JSON object
    assert ev[0] == {"event": "start", "total": 3}
    assert ev[-1] == {"event": "summary", "converted": 1, "skipped": 1, "failed": 1}
    a, b, c = (str(tmp_path / n) for n in ("a.png", "b.png", "c.png"))
    assert {"event": "done", "input": a, "output": str(tmp_path / "a_normal.png"), "height": None} in ev
    assert {"event": "skipped", "input": c, "output": str(tmp_path / "c_normal.png"), "reason": "exists"} in ev
    [err] = [e for e in ev if e["event"] == "error"]
    assert err["input"] == b and "empty" in err["message"]
    progress = [e for e in ev if e["event"] == "progress"]
    first = {}
    for e in progress:
        first.setdefault(e["input"], e)
    assert [(e["input"], e["index"], e["total"]) for e in first.values()] == [(a, 0, 3), (b, 1, 3), (c, 2, 3)]
    assert [e["fraction"] for e in first.values()] == pytest.approx([0, 1 / 3, 2 / 3], abs=1e-5)
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert (tmp_path / "c_normal.png").read_bytes() == b"already there"
    assert len(error_lines(r)) == 1  # stderr still has the human line


def test_16bit_output_and_directx_flip(tmp_path):
    photo(tmp_path / "p.png")
    assert invoke("convert", tmp_path / "p.png", "--method", "sobel", "--bit-depth", "16", "-q").exit_code == 0
    raw = cv2.imread(str(tmp_path / "p_normal.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    r = invoke("convert", tmp_path / "p.png", "--method", "sobel", "--bit-depth", "16", "--suffix", "_dx",
               "--convention", "directx", "-q")  # fmt: skip
    assert r.exit_code == 0
    gl, dx = read_normal_map(tmp_path / "p_normal.png"), read_normal_map(tmp_path / "p_dx.png", convention="directx")
    np.testing.assert_allclose(dx[..., 1], -gl[..., 1], atol=1e-3)
    np.testing.assert_allclose(dx[..., 0], gl[..., 0], atol=1e-3)


def test_pixel_limit_flag(tmp_path):
    photo(tmp_path / "big.png", size=(100, 100))
    r = invoke("convert", tmp_path / "big.png", "--method", "sobel", "--max-megapixels", "0.005")
    assert r.exit_code == 1
    [line] = error_lines(r)
    assert "100×100 (0.01 MP), above the 0.005 MP limit; raise it with --max-megapixels" in line
    assert invoke("convert", tmp_path / "big.png", "--method", "sobel", "--max-megapixels", "0.01").exit_code == 0


def test_output_folder_that_cannot_be_created(tmp_path):
    photo(tmp_path / "a.png")
    photo(tmp_path / "b.png")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    r = invoke("convert", tmp_path / "a.png", tmp_path / "b.png", "--method", "sobel", "-o", blocker / "out")
    assert r.exit_code == 2  # the README: an output folder that refuses writes is a setup problem
    assert len(error_lines(r)) == 1 and "Traceback" not in r.stderr


def test_an_output_folder_that_refuses_new_files_is_one_line_and_exit_2_before_the_model(tmp_path, monkeypatch):
    from normalgen import atomic_files, inference

    photo(tmp_path / "a.png")
    out = tmp_path / "ro"
    out.mkdir()
    real_open = os.open

    def denied(path, flags, *a, **kw):
        if Path(path).parent == out and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(atomic_files.os, "open", denied)
    monkeypatch.setattr(inference, "generate_normal_map", lambda *a, **kw: pytest.fail("the photo was predicted"))
    from normalgen import batch

    monkeypatch.setattr(batch, "load_model_for", lambda *a, **kw: pytest.fail("the model was loaded"))
    photo(tmp_path / "b.png")
    r = invoke("convert", tmp_path / "a.png", tmp_path / "b.png", "-o", out, "--progress", "json")
    assert r.exit_code == 2
    assert error_lines(r) == [f"error: cannot write to the folder {out}: Permission denied."]
    assert events(r) == [{"event": "error", "input": None, "message": f"cannot write to the folder {out}: Permission denied."}]
    assert os.listdir(out) == []


def test_strength_must_be_a_finite_number_up_to_100():
    for bad in ("nan", "inf", "1e40", "101"):
        r = CliRunner().invoke(cli.cli, ["convert", "x.png", "--strength", bad])
        assert r.exit_code == 2 and "strength" in r.output.lower(), (bad, r.output)


def test_ctrl_c_while_the_model_loads_is_an_interruption_not_a_failure(tmp_path, monkeypatch):
    from normalgen import batch

    photo(tmp_path / "a.png")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "load_model_for", interrupted)
    r = invoke("convert", tmp_path / "a.png")
    assert r.exit_code == 130 and "interrupted; finished files are kept" in r.stderr


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch):
    """kill, a closed terminal or a scheduler stop the batch as Ctrl-C does, exit 128 + signal;
    a signal someone chose to ignore (nohup's SIGHUP) stays ignored, and the handlers go back."""
    import signal

    from normalgen import atomic_files

    for i in range(2):
        photo(tmp_path / f"p{i}.png", seed=i)
    seen = {}

    def terminated_while_syncing(fd):  # what the signal would run, without signalling pytest
        seen["hup"] = signal.getsignal(signal.SIGHUP)
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler), "convert did not handle SIGTERM"
        handler(signal.SIGTERM, None)

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    monkeypatch.setattr(atomic_files.os, "fsync", terminated_while_syncing)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        r = invoke("convert", tmp_path, "--method", "sobel")
        after = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP))
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert r.exit_code == 128 + signal.SIGTERM, r.output
    assert "interrupted" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["p0.png", "p1.png"]  # no half file, no temp file
    assert seen["hup"] is signal.SIG_IGN and after == (signal.SIG_DFL, signal.SIG_IGN)


def test_a_keras_backend_that_is_not_installed_is_one_sentence(tmp_path):
    env = {"KERAS_BACKEND": "no_such_backend"}
    r = run_subprocess("info", env_extra=env)
    assert r.returncode == 1 and r.stdout.startswith("normalgen "), r.stderr
    assert r.stderr.strip() == ("error: cannot load Keras with the no_such_backend backend (Unable to import "
                                "backend : no_such_backend); install it, or set KERAS_BACKEND to an installed "
                                "one (tensorflow, jax or torch).")  # fmt: skip
    r = run_subprocess("info", "--json", env_extra=env)
    assert r.returncode == 1 and json.loads(r.stdout)["error"].startswith("cannot load Keras with the no_such")
    r = run_subprocess("convert", photo(tmp_path / "x.png"), env_extra=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_bad_precision_in_the_environment_is_fatal_before_any_file(tmp_path, tiny_model_path):
    photo(tmp_path / "a.png")
    r = invoke("convert", tmp_path, "--model", tiny_model_path, env={"NORMALGEN_PRECISION": "fp16"})
    assert r.exit_code == 2
    assert error_lines(r) == ["error: unknown precision 'fp16' in $NORMALGEN_PRECISION; use one of auto, "
                              "float32, bfloat16."]  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["a.png"]


def test_exr_or_fatal_before_any_file(tmp_path):
    from normalgen.imageio import exr_available

    photo(tmp_path / "a.png")
    r = invoke("convert", tmp_path, "--method", "sobel", "--format", "exr")
    if exr_available():
        assert r.exit_code == 0 and (tmp_path / "a_normal.exr").exists()
    else:
        assert r.exit_code == 2
        assert error_lines(r) == ["error: EXR is not available in this OpenCV build; use the png or tif format."]
        assert sorted(os.listdir(tmp_path)) == ["a.png"]


def test_missing_and_corrupt_model_are_fatal_one_line(tmp_path):
    photo(tmp_path / "a.png")
    bad = tmp_path / "corrupt.keras"
    bad.write_bytes(b"PK\x03\x04 definitely not a keras archive")
    for model in (tmp_path / "missing.keras", bad):
        r = invoke("convert", tmp_path, "--model", model)
        assert r.exit_code == 2, r.output
        [line] = r.stderr.strip().splitlines()
        assert line.startswith("error: ") and "Traceback" not in r.stderr
    r = invoke("convert", tmp_path, "--model", bad, "--progress", "json")
    [ev] = events(r)
    assert ev["event"] == "error" and ev["input"] is None
    assert sorted(os.listdir(tmp_path)) == ["a.png", "corrupt.keras"]


def test_unexpected_error_is_one_line_unless_debug(tmp_path, monkeypatch):
    import normalgen.inference as inference

    def broken(image, **kw):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(inference, "generate_normal_map", broken)
    photo(tmp_path / "a.png")
    r = invoke("convert", tmp_path, "--method", "sobel")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    [line] = error_lines(r)
    assert "unexpected ZeroDivisionError: oops" in line
    r = invoke("convert", tmp_path, "--method", "sobel", env={"NORMALGEN_DEBUG": "1"})
    assert "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr


def test_convert_with_the_tiny_model_and_info(tmp_path, tiny_model_path):
    photo(tmp_path / "a.png", size=(33, 47))
    r = invoke("convert", tmp_path, "--model", tiny_model_path, "--height", "--progress", "json")
    assert r.exit_code == 0, r.output
    assert events(r)[-1] == {"event": "summary", "converted": 1, "skipped": 0, "failed": 0}
    assert read_normal_map(tmp_path / "a_normal.png").shape == (33, 47, 3)

    r = invoke("info", "--json", "--model", tiny_model_path)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["version"] == "0.1.0" and data["model"] == str(tiny_model_path)
    assert data["light_side_model"].endswith("normalgen_unet_lit.keras")
    assert data["model_config"]["base_filters"] == 4 and data["parameters"] > 0
    assert data["backend"] and data["devices"]
    r = invoke("info", "--model", tmp_path / "missing.keras")
    assert r.exit_code == 1 and "model error:" in r.stdout and len(error_lines(r)) == 1


def test_light_from_chooses_the_one_side_model_and_refuses_a_model_that_cannot_use_it(tmp_path, tiny_model_path):
    photo(tmp_path / "a.png", size=(40, 56))
    r = invoke("convert", tmp_path / "a.png", "--light-from", "top", "--progress", "json")
    assert r.exit_code == 0, r.output
    assert read_normal_map(tmp_path / "a_normal.png").shape == (40, 56, 3)
    # The tiny fixture reads light from any side: told a side, the batch stops before any file.
    r = invoke("convert", tmp_path / "a.png", "--overwrite", "--light-from", "left", "--model", tiny_model_path)
    assert r.exit_code == 2
    assert error_lines(r) == [
        "error: this model reads photos lit from any side and cannot use the light side 'left'; "
        "leave it on auto, or use a model trained with --light canonical."]
    r = invoke("convert", tmp_path / "a.png", "--light-from", "north")
    assert r.exit_code == 2 and "'north' is not one of" in r.stderr


# ---------------------------------------------------------------- end to end, real processes


def test_end_to_end_subprocess_with_odd_paths(tmp_path):
    folder = tmp_path / "my tëxtures Ω"
    photo(folder / "sub" / "brîck wall.jpg")
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out put"
    r = run_subprocess("convert", folder, "-r", "-o", out, "--method", "sobel", "--progress", "json")
    assert r.returncode == 1, r.stderr
    ev = [json.loads(line) for line in r.stdout.splitlines()]
    assert ev[-1] == {"event": "summary", "converted": 1, "skipped": 0, "failed": 1}
    assert (out / "sub" / "brîck wall_normal.png").exists()
    assert [line for line in r.stderr.splitlines() if line.startswith("error: ")] == [
        line for line in r.stderr.splitlines() if "broken.png" in line]  # fmt: skip
    assert "Traceback" not in r.stderr

    r = run_subprocess("convert", folder, "-r", "-o", out, "--method", "sobel")
    assert r.returncode == 1  # the broken file is still broken; the good one is skipped
    assert r.stderr.strip().splitlines()[-1] == "converted 0, skipped 1 (exist; --overwrite to redo), failed 1"


def test_version_subprocess():
    r = run_subprocess("--version")
    assert r.returncode == 0 and r.stdout.strip() == "normalgen 0.1.0"


@pytest.mark.parametrize("flag", [[], ["--ignore-orientation"]])
def test_an_exif_rotated_photo_gets_a_map_on_its_stored_grid(tmp_path, flag):
    p = tmp_path / "phone.png"
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(p, exif=exif.tobytes())
    r = invoke("convert", p, "--method", "sobel", "-q", *flag)
    assert r.exit_code == 0, r.output
    assert read_normal_map(tmp_path / "phone_normal.png").shape == (24, 40, 3)


def test_an_unreadable_folder_is_one_line_and_exit_1_not_unexpected(tmp_path):
    photo(tmp_path / "locked" / "a.png")
    (tmp_path / "locked").chmod(0)
    try:
        if os.access(tmp_path / "locked", os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading here")
        r = invoke("convert", tmp_path / "locked", "--method", "sobel")
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert r.exit_code == 1
    assert error_lines(r) == [f"error: cannot read the folder {tmp_path / 'locked'}: permission denied."]


def test_a_mistyped_path_is_reported_without_loading_the_model(tmp_path, monkeypatch):
    from normalgen import batch

    monkeypatch.setattr(batch, "load_model_for", lambda *a, **kw: pytest.fail("the model was loaded"))
    monkeypatch.setattr(cli, "load_backend_quietly", lambda: pytest.fail("Keras was loaded"))
    r = invoke("convert", tmp_path / "typo.png")
    assert r.exit_code == 1
    assert error_lines(r) == [f"error: {tmp_path / 'typo.png'} does not exist."]


def test_the_progress_bar_moves_within_a_file(tmp_path, monkeypatch):
    # A 12 MP photo sat at 0/1 for 25 s: the bar now follows the tile callback.
    reporter = cli._make_reporter("bar", quiet=False)
    job = types.SimpleNamespace(input=tmp_path / "big.png")
    reporter.start(2)
    try:
        reporter.file_progress(job, 0, 2, 0.0)
        reporter.file_progress(job, 0, 2, 0.5)
        assert reporter.bar.pos == reporter.steps // 2
        reporter.file_progress(job, 1, 2, 0.25)
        assert reporter.bar.pos == reporter.steps * 5 // 4
    finally:
        reporter.bar.__exit__(None, None, None)


def test_height_maps_are_16_bit_unless_told(tmp_path):
    photo(tmp_path / "a.png")
    assert invoke("convert", tmp_path / "a.png", "--method", "sobel", "--height", "-q").exit_code == 0
    assert cv2.imread(str(tmp_path / "a_height.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert cv2.imread(str(tmp_path / "a_normal.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    photo(tmp_path / "b.png")
    assert invoke("convert", tmp_path / "b.png", "--method", "sobel", "--height", "--bit-depth", "8").exit_code == 0
    assert cv2.imread(str(tmp_path / "b_height.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint8


def test_hints_about_r(tmp_path):
    photo(tmp_path / "scans" / "sub" / "deeper" / "a.png")  # without -r, ** is one level like *
    r = invoke("convert", tmp_path / "scans", "--method", "sobel")
    assert error_lines(r) == [f"error: {tmp_path / 'scans'} contains no images (.png, .jpg, .jpeg, .tif, .tiff, "
                              ".bmp, .tga, .webp); -r also searches its sub-folders."]  # fmt: skip
    r = invoke("convert", str(tmp_path / "scans" / "**" / "*.png"), "--method", "sobel")
    assert error_lines(r)[0].endswith("(** descends into sub-folders only with -r).")
