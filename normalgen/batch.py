"""Batch conversion: the library layer that `normalgen convert` (and the Blender add-on) is thin over.

Four steps, each its own function:

1. `find_inputs` expands INPUTs (files, folders, globs; recursive on request) into photo paths,
   leaving out our own outputs (names ending in the normal/height suffix, hidden temp files) so
   that a second run over the same folder never converts a normal map into a normal map.
2. `plan` gives each photo its output paths (``<stem>_normal.png`` beside it, or under ``-o DIR``
   keeping the relative path inside a folder given as input) and flags clashes up front.
3. `convert_file` converts one photo independently: every failure becomes a `FileResult` with one
   sentence, so one bad file never stops the others; outputs that already exist are skipped
   (unless overwrite), so a killed batch resumes by re-running the same command.
4. `run` ties them together, loading the model once and telling a `Reporter` what happens.

The one library function doing the work is `normalgen.inference.generate_normal_map`.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import traceback
from pathlib import Path
from typing import Callable, Iterable, Sequence

from normalgen.atomic_files import OutputExistsError, check_writable, is_temp_file
from normalgen.errors import NormalgenError, OutputError, one_clause
from normalgen.imageio import (
    DEFAULT_MAX_PIXELS,
    PHOTO_EXTENSIONS,
    check_output_format,
    read_photo_as_stored,
    write_height_map,
    write_normal_map,
)
from normalgen.orientation import LIGHT_SIDES, stored_light_side
from normalgen.vectors import check_convention, check_strength

FORMATS = ("png", "tif", "exr")


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """Everything `normalgen convert` can be told, with the CLI's defaults."""

    output_dir: Path | None = None
    recursive: bool = False
    suffix: str = "_normal"
    height_suffix: str = "_height"
    format: str = "png"  # png | tif | exr
    bit_depth: int | None = None  # None: the format's default (png 8, tif 16, exr 32-bit float)
    convention: str = "opengl"
    strength: float = 1.0
    invert: bool = False  # turn the relief inside out
    seamless: bool = False
    method: str = "model"  # model | sobel
    detail: float | None = None  # None: generate_normal_map's default
    light_from: str = "auto"  # auto | right | top | left | bottom: a side as the photo is shown
    # The maps are always on the photo's stored pixel grid (what Blender and game engines sample);
    # the EXIF orientation only says which stored side light_from names. True: it names a side of
    # the stored grid itself (what Blender shows), and the orientation is not read at all.
    ignore_orientation: bool = False
    ignore_alpha: bool = False  # True: the fourth channel is not transparency (channel-packed data)
    height: bool = False
    overwrite: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def validate(self) -> None:
        """Raise OutputError/ValueError for options that cannot work, before any file is touched."""
        check_convention(self.convention)
        if self.light_from not in LIGHT_SIDES:
            raise NormalgenError(f"unknown light side {self.light_from!r}; use one of {', '.join(LIGHT_SIDES)}.")
        if self.format not in FORMATS:
            raise OutputError(f"unknown output format {self.format!r}; use png, tif or exr.")
        check_output_format("." + self.format, self.bit_depth)
        for s in (self.suffix, self.height_suffix):
            if any(sep in s for sep in ("/", "\\")) or s.startswith("."):
                raise OutputError(f"the suffix {s!r} must be a plain name ending, like _normal.")
        if self.suffix == self.height_suffix:
            raise OutputError("the normal-map and height-map suffixes must differ.")
        if not self.suffix and self.output_dir is None:
            raise OutputError("an empty --suffix needs -o DIR, or outputs could overwrite the inputs.")
        check_strength(self.strength)
        if self.detail is not None and self.method != "sobel":
            raise NormalgenError("--detail applies only to --method sobel; the model reads the detail from the photo.")
        if self.output_dir is not None:
            out = Path(self.output_dir)
            if not out.exists() and out.suffix.lower() in PHOTO_EXTENSIONS + tuple("." + f for f in FORMATS):
                raise OutputError(f"-o takes a folder, and {out} looks like a file name; name a folder "
                                  f"(each output is named <photo name>{self.suffix}.{self.format}).")


@dataclasses.dataclass(frozen=True)
class Job:
    """One photo and where its outputs go; `problem` is a failure known before any work."""

    input: Path
    output: Path | None = None
    height_output: Path | None = None
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What happened to one input. status: "converted" | "skipped" | "failed"."""

    input: Path
    status: str
    output: Path | None = None
    height: Path | None = None
    message: str | None = None  # failed: one sentence; skipped: the reason ("exists")
    traceback: str | None = None  # only for unexpected errors (bugs), for NORMALGEN_DEBUG=1

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def error_line(self) -> str:
        """``PATH: reason`` for a failure, without naming the file twice."""
        path = str(self.input)
        return self.message if path in (self.message or "") else f"{path}: {self.message}"


@dataclasses.dataclass
class Summary:
    converted: int = 0
    skipped: int = 0
    failed: int = 0

    def add(self, result: FileResult) -> None:
        setattr(self, result.status, getattr(self, result.status) + 1)

    @property
    def exit_code(self) -> int:
        """0 when every file was converted or skipped, 1 when any failed."""
        return 1 if self.failed else 0

    def line(self) -> str:
        skipped = f"skipped {self.skipped}" + (" (exist; --overwrite to redo)" if self.skipped else "")
        return f"converted {self.converted}, {skipped}, failed {self.failed}"


class Reporter:
    """Told what the batch does; subclass and override what you need (all no-ops here)."""

    def start(self, total: int) -> None: ...

    def file_progress(self, job: Job, index: int, total: int, fraction: float) -> None:
        """`fraction` (0..1) is how far *this* file is; called at 0 and from the tile callback."""

    def file_done(self, result: FileResult, index: int, total: int) -> None: ...

    def finish(self, summary: Summary) -> None: ...


# --------------------------------------------------------------------------------------------
# 1. Inputs
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Found:
    path: Path
    root: Path | None = None  # the folder given as INPUT this came from (for -o relative paths)
    problem: str | None = None
    scanned: bool = False  # found in a folder or by a glob, not named on the command line


DEFAULT_OUTPUT_SUFFIXES = ("_normal", "_height")


def own_output_suffixes(options: ConvertOptions) -> tuple[str, ...]:
    """The name endings a scan leaves out: this run's suffixes and always the default ones, so
    that changing --suffix does not turn the maps of an earlier run into photos."""
    return tuple(dict.fromkeys((options.suffix, options.height_suffix) + DEFAULT_OUTPUT_SUFFIXES))


def is_own_output(path, suffixes: Iterable[str]) -> bool:
    """Whether `path` looks like something normalgen wrote: a *_normal/_height file or a temp file."""
    p = Path(path)
    return is_temp_file(p) or any(s and p.stem.lower().endswith(s.lower()) for s in suffixes)


def _is_photo_name(p: Path) -> bool:
    return p.suffix.lower() in PHOTO_EXTENSIONS and not p.name.startswith(".")


def _walk_folder(folder: Path, recursive: bool) -> tuple[list[Path], list[str]]:
    """The photos in `folder` (and its sub-folders if recursive), and one problem sentence for
    each folder that cannot be read (permissions): those are failures, never skipped silently."""
    found, problems = [], []
    if not recursive:
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:
            return [], [_cannot_read(folder, e)]
        for p in entries:
            if not _is_photo_name(p):  # not an input (a sub-folder too, without -r): never asked about
                continue
            kind, problem = _kind(p)
            if problem:  # a link into a folder this user cannot read: that entry, not the whole folder
                problems.append(problem)
            elif kind == "file":
                found.append(p)
        return found, problems

    def unreadable(e: OSError) -> None:
        problems.append(_cannot_read(Path(e.filename) if e.filename else folder, e))

    # Linked sub-folders are followed (texture libraries are often assembled from links), each
    # real folder once, so a link back up the tree does not loop.
    seen = set()
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # no .git, no caches
        found += [Path(dirpath, f) for f in sorted(filenames) if _is_photo_name(Path(f))]
    return found, problems


def _kind(p: Path) -> tuple[str | None, str | None]:
    """("file" | "dir" | None, None), or (None, why) where asking raises (EACCES through a link)."""
    try:
        return ("dir" if p.is_dir() else "file" if p.is_file() else None), None
    except OSError as e:
        return None, _cannot_read(p, e)


def _cannot_read(path: Path, e: OSError) -> str:
    reason = one_clause(e)
    reason = reason[:1].lower() + reason[1:]
    what = "the folder " if os.path.isdir(path) else ""
    return f"cannot read {what}{path}: {reason}."


def glob_base(pattern: str | os.PathLike) -> Path:
    """The folder a glob pattern starts from: its leading parts without wildcards
    (``scans/**/*.jpg`` -> ``scans``, ``*.png`` -> ``.``)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def find_inputs(inputs: Sequence[str | os.PathLike], options: ConvertOptions) -> list[_Found]:
    """Expand INPUTs into photos, in the order given, each once. Folders and globs leave out our
    own outputs (`own_output_suffixes`, temp files); a file named explicitly is always taken."""
    suffixes = own_output_suffixes(options)
    out_dir = options.output_dir.resolve() if options.output_dir else None
    found: list[_Found] = []
    for raw in inputs:
        p = Path(raw)
        try:
            kind = "folder" if p.is_dir() else "file" if p.exists() else None
        except OSError as e:  # EACCES on a folder above it (Path.exists raises that)
            if not glob.has_magic(str(raw)):
                found.append(_Found(p, problem=_cannot_read(p, e)))
                continue
            kind = None
        if kind == "folder":
            found += _expand_folder(p, options, out_dir)
        elif kind == "file":
            found.append(_Found(p))  # named explicitly: any extension, the reader decides
        elif glob.has_magic(str(raw)):
            found += _expand_glob(str(raw), options, out_dir)
        elif p.is_symlink():
            found.append(_Found(p, problem=f"{p} is a broken link (what it points to does not exist)."))
        else:
            found.append(_Found(p, problem=f"{p} does not exist."))
    seen: set[Path] = set()
    result = []
    for f in found:
        if f.problem is None:
            if f.scanned and is_own_output(f.path, suffixes):
                continue
            key = f.path.resolve()
            if key in seen:
                continue
            seen.add(key)
        result.append(f)
    return result


def _expand_folder(folder: Path, options: ConvertOptions, out_dir: Path | None) -> list[_Found]:
    files, problems = _walk_folder(folder, options.recursive)
    found = [_Found(Path(folder), problem=problem) for problem in problems]
    if not files and not problems:
        found.append(_Found(folder, problem=_no_images(folder, options.recursive)))
    if out_dir is not None:  # an output folder inside the input folder is not input
        files = [f for f in files if out_dir not in f.resolve().parents]
    return found + [_Found(f, root=folder, scanned=True) for f in files]


def _expand_glob(pattern: str, options: ConvertOptions, out_dir: Path | None) -> list[_Found]:
    matches = sorted(glob.glob(pattern, recursive=options.recursive))
    files, problems = [], []
    for m in map(Path, matches):
        kind, problem = _kind(m)
        if problem:
            if _is_photo_name(m):  # an input this user cannot read; anything else is not an input
                problems.append(problem)
        elif kind == "file" and _is_photo_name(m):
            files.append(m)
        elif kind == "dir":
            more, unreadable = _walk_folder(m, options.recursive)
            files += more
            problems += unreadable
    if out_dir is not None:  # as for a folder: nothing already inside the output folder
        files = [f for f in files if out_dir not in f.resolve().parents]
    base = glob_base(pattern)  # -o keeps the sub-folders below it, as for a folder INPUT
    if not files and not problems:
        problems.append(_no_match(pattern, base, options.recursive))
    return [_Found(Path(pattern), problem=p) for p in problems] + [_Found(f, root=base, scanned=True) for f in files]


def _no_match(pattern: str, base: Path, recursive: bool) -> str:
    """Why a glob matched nothing: a folder it starts from that cannot be read, or no match."""
    try:
        unreadable = base.is_dir() and not os.access(base, os.R_OK | os.X_OK)
    except OSError as e:  # EACCES on a folder above the base
        return _cannot_read(base, e)
    if unreadable:
        return f"cannot read the folder {base}: permission denied."
    hint = "" if recursive or "**" not in pattern else " (** descends into sub-folders only with -r)"
    return f"no images match {pattern}{hint}."


def _no_images(folder: Path, recursive: bool) -> str:
    hint = ""
    if not recursive and any(d.is_dir() and not d.name.startswith(".") for d in folder.iterdir()):
        hint = "; -r also searches its sub-folders"
    return f"{folder} contains no images ({', '.join(PHOTO_EXTENSIONS)}){hint}."


# --------------------------------------------------------------------------------------------
# 2. Output paths
# --------------------------------------------------------------------------------------------


def output_path(photo: Path, suffix: str, options: ConvertOptions, root: Path | None = None) -> Path:
    """``<stem><suffix>.<format>`` beside the photo, or under output_dir (keeping paths below `root`)."""
    name = f"{photo.stem}{suffix}.{options.format}"
    if options.output_dir is None:
        return photo.with_name(name)
    if root is not None:
        return Path(options.output_dir, photo.parent.relative_to(root), name)
    return Path(options.output_dir, name)


def plan(inputs: Sequence[str | os.PathLike], options: ConvertOptions) -> list[Job]:
    """One Job per photo; a second photo that would write the same output fails up front."""
    jobs: list[Job] = []
    claimed: dict[Path, Path] = {}
    for f in find_inputs(inputs, options):
        if f.problem:
            jobs.append(Job(f.path, problem=f.problem))
            continue
        out = output_path(f.path, options.suffix, options, f.root)
        height = output_path(f.path, options.height_suffix, options, f.root) if options.height else None
        problem = None
        for target in filter(None, (out, height)):
            key = target.resolve()
            if key == f.path.resolve():
                problem = f"{f.path}: the output would replace the input; choose another --suffix or -o."
            elif key in claimed:
                problem = f"{f.path} would write {target}, as {claimed[key]} does; rename one of them."
        if problem is None:
            for target in filter(None, (out, height)):
                claimed[target.resolve()] = f.path
        jobs.append(Job(f.path, out, height, problem))
    return jobs


# --------------------------------------------------------------------------------------------
# 3. One file
# --------------------------------------------------------------------------------------------


def needs_model(jobs: Iterable[Job]) -> bool:
    """Whether any job gets as far as predicting: a batch of mistyped paths needs no model."""
    return any(job.problem is None for job in jobs)


def load_model_for(options: ConvertOptions, model_path=None):
    """The Keras model for method "model" (ModelError if missing or corrupt); None for "sobel"."""
    if options.method != "model":
        return None
    from normalgen.model_loading import check_light_side, load_model, resolve_precision  # imports Keras: only when needed

    model = load_model(model_path, light_from=options.light_from)
    check_light_side(model, options.light_from)
    resolve_precision()  # a bad $NORMALGEN_PRECISION is found here, before any file
    return model


def convert_file(
    job: Job,
    options: ConvertOptions,
    *,
    model=None,
    progress: Callable[[int, int], None] | None = None,
) -> FileResult:
    """Convert one photo; never raises for a bad file (only KeyboardInterrupt/SystemExit pass)."""
    if job.problem:
        return FileResult(job.input, "failed", message=job.problem)
    want_normal = options.overwrite or not os.path.lexists(job.output)
    want_height = job.height_output is not None and (options.overwrite or not os.path.lexists(job.height_output))
    if not (want_normal or want_height):
        return FileResult(job.input, "skipped", job.output, job.height_output, message="exists")
    wrote_normal = False
    try:
        from normalgen.inference import generate_height_map, generate_normal_map

        _make_folder(job.output.parent)  # before the expensive part: a bad -o DIR fails fast,
        check_writable(job.output.parent)  # and so does a folder that refuses new files
        photo, light_from = _read_on_stored_grid(job.input, options)
        extra = {} if options.detail is None else {"detail": options.detail}
        normals = generate_normal_map(
            photo,
            strength=options.strength,
            invert=options.invert,
            convention=options.convention,
            seamless=options.seamless,
            method=options.method,
            model=model,
            light_from=light_from,
            progress=progress,
            **extra,
        )
        del photo  # 0.2-0.4 GB at 8192², not needed for writing or the height
        if want_normal:
            write_normal_map(
                job.output, normals, convention=options.convention, bit_depth=options.bit_depth, overwrite=options.overwrite
            )
            wrote_normal = True  # a race on the height map below still counts this map
        if want_height:
            height = generate_height_map(normals, convention=options.convention, seamless=options.seamless)
            write_height_map(job.height_output, height, bit_depth=height_bit_depth(options), overwrite=options.overwrite)
    except OutputExistsError:  # another run (a second terminal, a farm) wrote it meanwhile
        if wrote_normal:  # ours landed; only the height map was written by the other run
            return FileResult(job.input, "converted", job.output, job.height_output)
        return FileResult(job.input, "skipped", job.output, job.height_output, message="exists")
    except NormalgenError as e:
        return FileResult(job.input, "failed", message=str(e))
    except MemoryError:
        return FileResult(job.input, "failed", message=f"{job.input}: ran out of memory; try a smaller image.")
    except OSError as e:
        return FileResult(job.input, "failed", message=f"{job.input}: {one_clause(e)}.")
    except Exception as e:  # a bug: still only this file fails
        return FileResult(
            job.input,
            "failed",
            message=f"{job.input}: unexpected {type(e).__name__}: {one_clause(e)} (NORMALGEN_DEBUG=1 shows the traceback).",
            traceback=traceback.format_exc(),
        )
    return FileResult(job.input, "converted", job.output, job.height_output)


def _read_on_stored_grid(path: Path, options: ConvertOptions):
    """The photo's stored pixel grid (uint8/uint16: a quarter of the memory) and the light's
    side on that grid: the maps are predicted and written on it, so they line up with the photo
    wherever it is sampled as stored. A side named for the upright picture is mapped through
    the EXIF orientation; with ignore_orientation it already names a side of the stored grid."""
    photo, orientation = read_photo_as_stored(path, max_pixels=options.max_pixels, as_float=False,
                                              keep_alpha=not options.ignore_alpha)
    if options.ignore_orientation:
        return photo, options.light_from
    return photo, stored_light_side(options.light_from, orientation)


def check_output_dir(options: ConvertOptions) -> None:
    """With -o DIR: make it and try a write there, once, before any file. OutputError (fatal:
    the CLI exits 2) if it cannot be made or refuses new files, rather than one error per photo."""
    if options.output_dir is None:
        return
    folder = Path(options.output_dir)
    _make_folder(folder)
    check_writable(folder)


def height_bit_depth(options: ConvertOptions) -> int | None:
    """16 bits unless --bit-depth says otherwise (EXR: its float): 256 grey levels terrace when
    a height map drives displacement."""
    if options.bit_depth is not None or options.format == "exr":
        return options.bit_depth
    return 16


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {folder}: {one_clause(e)}.") from None


# --------------------------------------------------------------------------------------------
# 4. The batch
# --------------------------------------------------------------------------------------------


def run(
    inputs: Sequence[str | os.PathLike],
    options: ConvertOptions,
    *,
    model=None,
    model_path=None,
    reporter: Reporter | None = None,
    jobs: Sequence[Job] | None = None,
) -> Summary:
    """Convert every input; returns the counts. Raises NormalgenError only for fatal problems
    found before any file (bad options, an -o folder that cannot be made or written to, a
    missing or corrupt model): then nothing has been written. `jobs`: `plan`'s answer for these
    inputs, when the caller has it already. The model is loaded only if some job needs it.
    """
    reporter = reporter or Reporter()
    options.validate()
    check_output_dir(options)
    jobs = plan(inputs, options) if jobs is None else jobs
    if model is None and needs_model(jobs):
        model = load_model_for(options, model_path)
    total = len(jobs)
    summary = Summary()
    reporter.start(total)
    for index, job in enumerate(jobs):
        reporter.file_progress(job, index, total, 0.0)

        def tile_progress(done: int, of: int, job=job, index=index) -> None:
            reporter.file_progress(job, index, total, min(1.0, done / of) if of else 1.0)

        result = convert_file(job, options, model=model, progress=tile_progress)
        summary.add(result)
        reporter.file_done(result, index, total)
    reporter.finish(summary)
    return summary
