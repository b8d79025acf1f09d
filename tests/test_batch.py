"""normalgen.batch: input expansion, output paths, resumable and fault-isolated conversion."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from normalgen import batch
from normalgen.batch import ConvertOptions, Reporter, find_inputs, plan, run
from normalgen.errors import NormalgenError, OutputError
from normalgen.imageio import read_normal_map


def photo(path: Path, size=(24, 32), seed=0) -> Path:
    """A small textured photo (not flat, so Sobel gives non-trivial normals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(a).save(path)
    return path


def sobel(**kw) -> ConvertOptions:
    return ConvertOptions(method="sobel", **kw)


class Recorder(Reporter):
    def __init__(self):
        self.events = []

    def start(self, total):
        self.events.append(("start", total))

    def file_progress(self, job, index, total, fraction):
        self.events.append(("progress", job.input.name, index, fraction))

    def file_done(self, result, index, total):
        self.events.append((result.status, result.input.name))

    def finish(self, summary):
        self.events.append(("finish", summary.converted, summary.skipped, summary.failed))


def names(found):
    return [f.path.name for f in found]


# ---------------------------------------------------------------- inputs and paths


def test_folder_expansion_skips_outputs_temps_hidden_and_non_images(tmp_path):
    for n in ["b.png", "a.jpg", "a_normal.png", "a_height.png", "notes.txt", ".hidden.png",
              ".a_normal.png.tmp-1234abcd.png", "sub/c.png", ".git/d.png"]:  # fmt: skip
        photo(tmp_path / n) if n.endswith(".png") or n.endswith(".jpg") else (tmp_path / n).write_text("x")
    assert names(find_inputs([tmp_path], sobel())) == ["a.jpg", "b.png"]
    assert names(find_inputs([tmp_path], sobel(recursive=True))) == ["a.jpg", "b.png", "c.png"]


def test_recursive_scan_follows_linked_folders_once_and_does_not_loop(tmp_path):
    lib, other = tmp_path / "lib", tmp_path / "other"
    photo(lib / "stone" / "a.png")
    photo(other / "b.png")
    (lib / "wood").symlink_to(other, target_is_directory=True)  # a library assembled from links
    (lib / "stone" / "up").symlink_to(lib, target_is_directory=True)  # a link back up the tree
    found = find_inputs([lib], sobel(recursive=True))
    assert sorted(str(f.path.relative_to(lib)) for f in found) == ["stone/a.png", "wood/b.png"]


def test_explicit_files_globs_missing_and_duplicates(tmp_path):
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png")
    photo(tmp_path / "a_normal.png")
    found = find_inputs([a, str(tmp_path / "*.png"), tmp_path / "missing.png", str(tmp_path / "*.tga")], sobel())
    assert [(f.path.name, f.problem is None) for f in found] == [
        ("a.png", True), ("b.png", True), ("missing.png", False), ("*.tga", False)]  # fmt: skip
    assert "does not exist" in found[2].problem and "no images match" in found[3].problem
    assert b  # b came from the glob, a only once


def test_empty_folder_is_a_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    [f] = find_inputs([tmp_path / "empty"], sobel())
    assert "contains no images" in f.problem


def test_output_paths(tmp_path):
    p = photo(tmp_path / "in" / "sub" / "rock.png")
    [job] = plan([tmp_path / "in" / "sub" / "rock.png"], sobel(height=True, format="tif"))
    assert job.output == p.with_name("rock_normal.tif") and job.height_output == p.with_name("rock_height.tif")
    out = tmp_path / "out"
    [job] = plan([tmp_path / "in"], sobel(recursive=True, output_dir=out))
    assert job.output == out / "sub" / "rock_normal.png"  # relative path inside the folder kept
    [job] = plan([p], sobel(output_dir=out))
    assert job.output == out / "rock_normal.png"  # a file given by name goes straight into -o


def test_a_glob_keeps_the_sub_folders_below_its_fixed_part_under_o(tmp_path, monkeypatch):
    # Per-material folders that all hold albedo.jpg must not clash under -o.
    photo(tmp_path / "scans" / "rock" / "albedo.png")
    photo(tmp_path / "scans" / "rock" / "wet" / "albedo.png")
    photo(tmp_path / "scans" / "bark" / "albedo.png")
    out = tmp_path / "maps"
    monkeypatch.chdir(tmp_path)
    jobs = plan(["scans/**/*.png"], sobel(recursive=True, output_dir=out))
    assert [j.problem for j in jobs] == [None] * 3
    assert sorted(j.output.relative_to(out).as_posix() for j in jobs) == [
        "bark/albedo_normal.png", "rock/albedo_normal.png", "rock/wet/albedo_normal.png"]  # fmt: skip
    [job] = plan(["scans/rock/*.png"], sobel(output_dir=out))
    assert job.output == out / "albedo_normal.png"
    photo(tmp_path / "scans" / "maps" / "rock" / "albedo.png")  # an earlier run's output, -o inside the tree
    jobs = plan(["scans/**/*.png"], sobel(recursive=True, output_dir=tmp_path / "scans" / "maps", suffix=""))
    assert len(jobs) == 3 and all("maps" not in j.input.parts for j in jobs)
    assert batch.glob_base("*.png") == Path(".") and batch.glob_base("/a/b*/c/*.jpg") == Path("/a")


def test_clashing_outputs_fail_up_front(tmp_path):
    photo(tmp_path / "wall.png")
    photo(tmp_path / "wall.jpg")
    jobs = plan([tmp_path], sobel())
    assert [j.problem is None for j in jobs] == [True, False]
    assert "rename one" in jobs[1].problem


def test_bad_options_are_refused_before_any_work(tmp_path):
    with pytest.raises(OutputError, match="empty --suffix"):
        sobel(suffix="").validate()
    with pytest.raises(OutputError, match="differ"):
        sobel(suffix="_x", height_suffix="_x").validate()
    with pytest.raises(OutputError, match="bit"):
        sobel(format="png", bit_depth=12).validate()
    sobel(suffix="", output_dir=tmp_path).validate()
    with pytest.raises(OutputError, match="looks like a file name"):
        sobel(output_dir=tmp_path / "wall_n.png").validate()
    with pytest.raises(NormalgenError, match="--detail applies only to --method sobel"):
        ConvertOptions(method="model", detail=0.3).validate()
    for strength in (-1.0, float("inf"), float("nan"), 101.0):
        with pytest.raises(NormalgenError, match="strength must be between 0 and 100"):
            sobel(strength=strength).validate()


def test_a_folder_that_refuses_new_files_fails_its_photos_before_they_are_read(tmp_path, monkeypatch):
    """Refused at os.open, as a read-only mount or share refuses (as root a chmod would not stop
    the writes, and CI may run as root); photos whose outputs exist are still skipped."""
    import normalgen.atomic_files as atomic_files
    import normalgen.inference as inference

    photo(tmp_path / "ro" / "a.png")
    photo(tmp_path / "ro" / "done.png")
    photo(tmp_path / "ro" / "done_normal.png")
    photo(tmp_path / "rw" / "b.png")
    real_open = os.open

    def refused_in_ro(path, flags, *a, **kw):
        if Path(path).parent == tmp_path / "ro" and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(atomic_files.os, "open", refused_in_ro)
    predicted = []
    real = inference.generate_normal_map
    monkeypatch.setattr(inference, "generate_normal_map", lambda image, **kw: predicted.append(1) or real(image, **kw))
    rec = Recorder()
    summary = run([tmp_path / "ro", tmp_path / "rw"], sobel(), reporter=rec)
    assert (summary.converted, summary.skipped, summary.failed, len(predicted)) == (1, 1, 1, 1)
    assert ("failed", "a.png") in rec.events and ("skipped", "done.png") in rec.events
    assert (tmp_path / "rw" / "b_normal.png").exists()
    assert sorted(os.listdir(tmp_path / "ro")) == ["a.png", "done.png", "done_normal.png"]


# ---------------------------------------------------------------- conversion


def test_batch_converts_then_resumes_without_reingesting(tmp_path):
    for i in range(3):
        photo(tmp_path / f"p{i}.png", seed=i)
    rec = Recorder()
    summary = run([tmp_path], sobel(height=True), reporter=rec)
    assert (summary.converted, summary.skipped, summary.failed, summary.exit_code) == (3, 0, 0, 0)
    assert rec.events[0] == ("start", 3) and rec.events[-1] == ("finish", 3, 0, 0)
    assert rec.events[1] == ("progress", "p0.png", 0, 0.0)
    normal = read_normal_map(tmp_path / "p0_normal.png")
    assert normal.shape == (24, 32, 3) and np.allclose(np.linalg.norm(normal, axis=-1), 1, atol=0.02)
    assert (tmp_path / "p0_height.png").exists()
    stamp = (tmp_path / "p0_normal.png").stat().st_mtime_ns

    summary = run([tmp_path], sobel(height=True))  # outputs are not new inputs; existing are skipped
    assert (summary.converted, summary.skipped, summary.failed) == (0, 3, 0)
    assert (tmp_path / "p0_normal.png").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*_normal_normal*"))

    summary = run([tmp_path], sobel(height=True, overwrite=True))
    assert summary.converted == 3


def test_missing_height_is_added_without_touching_the_normal_map(tmp_path):
    photo(tmp_path / "p.png")
    run([tmp_path], sobel())
    before = (tmp_path / "p_normal.png").read_bytes()
    summary = run([tmp_path], sobel(height=True))
    assert summary.converted == 1 and (tmp_path / "p_height.png").exists()
    assert (tmp_path / "p_normal.png").read_bytes() == before


def test_one_bad_file_never_stops_the_others(tmp_path):
    photo(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "c.png").write_text("not an image")
    photo(tmp_path / "d.png")
    rec = Recorder()
    summary = run([tmp_path, tmp_path / "gone.png"], sobel(), reporter=rec)
    assert (summary.converted, summary.failed, summary.exit_code) == (2, 3, 1)
    assert [e for e in rec.events if e[0] in ("converted", "failed")] == [
        ("converted", "a.png"), ("failed", "b.png"), ("failed", "c.png"), ("converted", "d.png"),
        ("failed", "gone.png")]  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["a.png", "a_normal.png", "b.png", "c.png", "d.png", "d_normal.png"]


def test_unexpected_error_is_one_file_with_a_traceback(tmp_path, monkeypatch):
    import normalgen.inference as inference

    real = inference.generate_normal_map

    def flaky(image, **kw):
        if image.shape[0] == 7:
            raise RuntimeError("boom\nsecond line")
        return real(image, **kw)

    monkeypatch.setattr(inference, "generate_normal_map", flaky)
    photo(tmp_path / "a.png", size=(7, 9))
    photo(tmp_path / "b.png")
    results = []

    class Keep(Reporter):
        def file_done(self, result, index, total):
            results.append(result)

    summary = run([tmp_path], sobel(), reporter=Keep())
    assert (summary.converted, summary.failed) == (1, 1)
    bad = results[0]
    assert bad.status == "failed" and "\n" not in bad.message and "RuntimeError: boom second line" in bad.message
    assert "Traceback" in bad.traceback
    assert bad.error_line().startswith(str(tmp_path / "a.png") + ": ")


def test_an_output_folder_that_cannot_be_made_is_fatal_before_any_file(tmp_path):
    photo(tmp_path / "a.png")
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    rec = Recorder()
    with pytest.raises(OutputError, match="cannot create the output folder"):
        run([tmp_path / "a.png"], sobel(output_dir=blocker / "sub"), reporter=rec)
    assert rec.events == []


def test_interrupted_batch_resumes(tmp_path, monkeypatch):
    import normalgen.inference as inference

    for i in range(3):
        photo(tmp_path / f"p{i}.png", seed=i)
    real = inference.generate_normal_map
    calls = []

    def interrupt_second(image, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(image, **kw)

    monkeypatch.setattr(inference, "generate_normal_map", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        run([tmp_path], sobel())
    assert sorted(p.name for p in tmp_path.iterdir() if "_normal" in p.name) == ["p0_normal.png"]
    monkeypatch.setattr(inference, "generate_normal_map", real)
    summary = run([tmp_path], sobel())
    assert (summary.converted, summary.skipped) == (2, 1)


def test_directx_flips_green(tmp_path):
    photo(tmp_path / "p.png")
    run([tmp_path], sobel(suffix="_gl"))
    run([tmp_path], sobel(suffix="_dx", convention="directx"))
    gl = read_normal_map(tmp_path / "p_gl.png")
    dx = read_normal_map(tmp_path / "p_dx.png", convention="directx")
    assert np.abs(gl[..., 1]).max() > 0.1  # not a trivially flat map
    np.testing.assert_allclose(dx[..., 1], -gl[..., 1], atol=0.02)
    np.testing.assert_allclose(dx[..., [0, 2]], gl[..., [0, 2]], atol=0.02)


def test_model_method_with_tiny_model_and_tile_progress(tmp_path, tiny_model):
    photo(tmp_path / "p.png", size=(40, 56))
    rec = Recorder()
    summary = run([tmp_path], ConvertOptions(), model=tiny_model, reporter=rec)
    assert summary.converted == 1
    fractions = [e[3] for e in rec.events if e[0] == "progress"]
    assert fractions[0] == 0.0 and all(0.0 <= f <= 1.0 for f in fractions)
    assert read_normal_map(tmp_path / "p_normal.png").shape == (40, 56, 3)


def test_error_line_does_not_repeat_the_path():
    r = batch.FileResult(Path("x.png"), "failed", message="x.png is empty (0 bytes).")
    assert r.error_line() == "x.png is empty (0 bytes)."
    r = batch.FileResult(Path("x.png"), "failed", message="disk on fire.")
    assert r.error_line() == "x.png: disk on fire."


def oriented_photo(path: Path, orientation: int, size=(24, 40)) -> Path:
    """A photo stored `size` (rows, columns) with an EXIF orientation, lossless (PNG eXIf)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    a = np.random.default_rng(1).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(a).save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("ext", ["png", "jpg", "tif"])
def test_maps_of_an_exif_rotated_photo_are_on_its_stored_grid(tmp_path, ext):
    # Blender and game engines sample the stored grid: an upright map did not line up with it.
    p = oriented_photo(tmp_path / f"phone.{ext}", 6)
    summary = run([p], sobel(height=True))
    assert summary.converted == 1
    assert read_normal_map(tmp_path / "phone_normal.png").shape == (24, 40, 3)
    assert np.asarray(Image.open(tmp_path / "phone_height.png")).shape == (24, 40)


@pytest.mark.parametrize("ignore", [False, True])
def test_the_light_side_is_named_upright_and_given_to_the_model_on_the_stored_grid(tmp_path, monkeypatch, ignore):
    import normalgen.inference

    seen = {}

    def fake(photo, *, light_from, **kw):
        seen.update(shape=photo.shape, light_from=light_from)
        return np.dstack([np.zeros(photo.shape[:2]), np.zeros(photo.shape[:2]), np.ones(photo.shape[:2])])

    monkeypatch.setattr(normalgen.inference, "generate_normal_map", fake)
    p = oriented_photo(tmp_path / "phone.png", 6)  # shown turned a quarter clockwise
    opts = ConvertOptions(light_from="top", ignore_orientation=ignore)
    assert run([p], opts, model=object()).converted == 1
    assert seen["shape"][:2] == (24, 40)
    # Shown upright, the top is the stored grid's left side; ignoring the orientation, top is top.
    assert seen["light_from"] == ("top" if ignore else "left")


def test_a_scan_leaves_out_the_default_outputs_whatever_the_suffix(tmp_path):
    # After a run with the default suffix, --suffix _nrm made normal maps of the normal maps.
    for n in ["a.png", "a_normal.png", "a_height.png", "a_nrm.png", "a_hgt.png"]:
        photo(tmp_path / n)
    opts = sobel(suffix="_nrm", height_suffix="_hgt")
    assert names(find_inputs([tmp_path], opts)) == ["a.png"]
    assert names(find_inputs([str(tmp_path / "*.png")], opts)) == ["a.png"]
    assert names(find_inputs([tmp_path / "a_normal.png"], opts)) == ["a_normal.png"]  # named: taken


def test_an_output_another_run_writes_meanwhile_is_skipped_not_failed(tmp_path, monkeypatch):
    # Two terminals on one batch: the second to finish a photo found its map there at the last
    # step, and counted a failure with the wrong advice "pass --overwrite" (exit 1).
    import normalgen.imageio as imageio

    photo(tmp_path / "a.png")
    real = imageio._encode

    def other_run_writes_first(path, *a, **kw):
        path.write_bytes(b"written by the other run")
        return real(path, *a, **kw)

    monkeypatch.setattr(imageio, "_encode", other_run_writes_first)
    rec = Recorder()
    summary = run([tmp_path / "a.png"], sobel(), reporter=rec)
    assert (summary.converted, summary.skipped, summary.failed, summary.exit_code) == (0, 1, 0, 0)
    assert ("skipped", "a.png") in rec.events
    assert (tmp_path / "a_normal.png").read_bytes() == b"written by the other run"


def test_a_height_map_another_run_writes_meanwhile_still_counts_our_normal_map(tmp_path, monkeypatch):
    import normalgen.imageio as imageio

    photo(tmp_path / "a.png")
    real = imageio._encode

    def other_run_writes_the_height_map_first(path, *a, **kw):
        if path.name.startswith("a_height"):
            path.write_bytes(b"written by the other run")
        return real(path, *a, **kw)

    monkeypatch.setattr(imageio, "_encode", other_run_writes_the_height_map_first)
    summary = run([tmp_path / "a.png"], sobel(height=True), reporter=Recorder())
    assert (summary.converted, summary.skipped, summary.failed) == (1, 0, 0)  # our normal map landed
    assert read_normal_map(tmp_path / "a_normal.png").shape[:2] == (24, 32)
    assert (tmp_path / "a_height.png").read_bytes() == b"written by the other run"


@pytest.fixture
def locked(tmp_path):
    """chmod 000 on a folder, undone afterwards; skipped where permissions are not enforced
    (root without the permission being enforced, as CI containers often run)."""
    made = []

    def lock(folder: Path) -> Path:
        folder.chmod(0)
        made.append(folder)
        if os.access(folder, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading here")
        return folder

    yield lock
    for folder in made:
        folder.chmod(0o755)


def test_an_unreadable_sub_folder_under_r_is_a_failure_not_skipped(tmp_path, locked):
    photo(tmp_path / "top" / "a.png")
    photo(tmp_path / "top" / "locked" / "b.png")
    locked(tmp_path / "top" / "locked")
    summary = run([tmp_path / "top"], sobel(recursive=True), reporter=(rec := Recorder()))
    assert (summary.converted, summary.failed, summary.exit_code) == (1, 1, 1)
    [job] = [j for j in plan([tmp_path / "top"], sobel(recursive=True)) if j.problem]
    assert job.problem == f"cannot read the folder {tmp_path / 'top' / 'locked'}: permission denied."
    assert ("failed", "top") in rec.events


@pytest.mark.parametrize("recursive", [False, True])
def test_an_unreadable_folder_input_is_named_in_one_sentence(tmp_path, locked, recursive):
    photo(tmp_path / "locked" / "b.png")
    locked(tmp_path / "locked")
    [f] = find_inputs([tmp_path / "locked"], sobel(recursive=recursive))
    assert f.problem == f"cannot read the folder {tmp_path / 'locked'}: permission denied."


def test_a_file_or_glob_inside_an_unreadable_folder_is_named_in_one_sentence(tmp_path, locked):
    photo(tmp_path / "locked" / "b.png")
    locked(tmp_path / "locked")
    a, b = find_inputs([tmp_path / "locked" / "b.png", str(tmp_path / "locked" / "*.png")], sobel())
    assert a.problem == f"cannot read {tmp_path / 'locked' / 'b.png'}: permission denied."
    assert b.problem == f"cannot read the folder {tmp_path / 'locked'}: permission denied."


def test_an_unreadable_sub_folder_is_reported_where_chmod_cannot_show_it(tmp_path, monkeypatch):
    # The same as above for runs as root, where chmod 000 stops nothing: os.walk's error hook.
    photo(tmp_path / "top" / "a.png")
    real_walk = os.walk

    def walk(folder, onerror=None, **kw):
        onerror(PermissionError(13, "Permission denied", str(Path(folder, "locked"))))
        return real_walk(folder, onerror=onerror, **kw)

    monkeypatch.setattr(batch.os, "walk", walk)
    found = find_inputs([tmp_path / "top"], sobel(recursive=True))
    assert [(f.path.name, f.problem) for f in found] == [
        ("top", f"cannot read {tmp_path / 'top' / 'locked'}: permission denied."), ("a.png", None)]


def test_a_broken_link_named_explicitly_is_called_so(tmp_path):
    (tmp_path / "wall.png").symlink_to(tmp_path / "moved_away.png")
    [f] = find_inputs([tmp_path / "wall.png"], sobel())
    assert f.problem == f"{tmp_path / 'wall.png'} is a broken link (what it points to does not exist)."


def _raising_for(monkeypatch, name: str):
    """Path.is_dir/is_file raise EACCES for paths named `name`, as through a link into a folder
    this user cannot read (chmod cannot show it when the tests run as root)."""
    for method in ("is_dir", "is_file"):
        real = getattr(Path, method)

        def fake(self, real=real):
            if self.name == name:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, method, fake)


def test_one_unreadable_entry_does_not_lose_the_rest_of_its_folder(tmp_path, monkeypatch):
    photo(tmp_path / "lib" / "a.png")
    photo(tmp_path / "lib" / "b.png")  # as if a link to a photo this user cannot read
    (tmp_path / "lib" / "notes.txt").write_text("x")  # not an input: never reported, readable or not
    (tmp_path / "lib" / "deep").mkdir()  # without -r not entered, so not reported either
    for name in ("b.png", "notes.txt", "deep"):
        _raising_for(monkeypatch, name)
    cannot = f"cannot read {tmp_path / 'lib' / 'b.png'}: permission denied."
    found = find_inputs([tmp_path / "lib"], sobel())
    assert [(f.path.name, f.problem) for f in found] == [("lib", cannot), ("a.png", None)]
    found = find_inputs([str(tmp_path / "lib" / "*")], sobel())  # the same through a glob
    assert sorted(f.problem or f.path.name for f in found) == ["a.png", cannot]


def test_a_glob_below_an_unreadable_folder_is_one_sentence_not_a_crash(tmp_path, monkeypatch):
    photo(tmp_path / "good.png")
    _raising_for(monkeypatch, "sub")
    good, bad = find_inputs([tmp_path / "good.png", str(tmp_path / "locked" / "sub" / "*.png")], sobel())
    assert good.problem is None
    assert bad.problem == f"cannot read {tmp_path / 'locked' / 'sub'}: permission denied."
