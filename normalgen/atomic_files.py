"""Writing a file atomically, and never over an existing one unless asked.

The bytes go to a hidden temp file in the target's own folder (``.name.tmp-XXXXXXXX.png``), are
fsynced, then renamed onto the target. A crash, a full disk or Ctrl-C leaves either the old file or
the new one, never half of one, and no temp file. A kill the process cannot catch (SIGKILL, a
power cut) can leave a temp file; the next write to that folder removes those over an hour old.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import threading
import time
from pathlib import Path

from normalgen.errors import OutputError, one_clause

TEMP_MARKER = ".tmp-"  # hidden temp files are named ".<name>.tmp-<random><ext>"
STALE_TEMP_SECONDS = 3600  # a temp file this old is left from a killed write: none takes that long
_TEMP_NAME = re.compile(r"\..+" + re.escape(TEMP_MARKER) + r"[0-9a-f]{8}(\.[^.]*)?")
_SWEPT_FOLDERS: set[str] = set()
_SWEPT_LOCK = threading.Lock()


class OutputExistsError(OutputError):
    """The target exists and overwrite is off: before the write, or made by someone else while
    this one was writing (two runs into one folder)."""


def temp_path_for(path: Path) -> Path:
    """A hidden, unique sibling of `path`: same folder (so os.replace is atomic), same extension."""
    return path.with_name(f".{path.name}{TEMP_MARKER}{secrets.token_hex(4)}{path.suffix}")


def check_writable(folder) -> None:
    """OutputError unless a new file can be made in `folder`: tried for real, with a hidden temp
    file made and removed at once (permission bits, ACLs, read-only mounts, network shares and
    Windows all answer the same way)."""
    probe = temp_path_for(Path(folder) / "write-check")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
    except OSError as e:
        raise OutputError(f"cannot write to the folder {folder}: {one_clause(e)}.") from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


def is_temp_file(path) -> bool:
    """Whether `path` is one of our in-progress temp files (hidden, with the temp marker)."""
    name = Path(path).name
    return name.startswith(".") and TEMP_MARKER in name


def remove_stale_temps(folder) -> list[Path]:
    """Remove this module's temp files in `folder` older than STALE_TEMP_SECONDS: what a write
    killed before its cleanup (SIGKILL, a power cut) left. Returns what it removed; never raises."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if not _TEMP_NAME.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _sweep_once(folder: Path) -> None:
    """remove_stale_temps the first time this process writes to `folder` (not on every write: a
    batch of thousands would list its output folder thousands of times)."""
    key = os.path.abspath(folder)
    with _SWEPT_LOCK:
        if key in _SWEPT_FOLDERS:
            return
        _SWEPT_FOLDERS.add(key)
    remove_stale_temps(folder)


def atomic_write_bytes(path, data: bytes, *, overwrite: bool = False) -> None:
    """Write `data` to `path` via a fsynced temp file in the same folder and an atomic rename.

    With overwrite=False an existing target is never replaced, even one that appears while we
    write (the final step is a hard link, which fails if the name is taken; on file systems
    without hard links, an existence check and a rename). On any failure the temp file is removed
    and OutputError (one sentence) is raised; KeyboardInterrupt also cleans up and propagates.
    """
    path = Path(path)
    folder = path.parent
    _sweep_once(folder)
    tmp = None
    try:
        for _ in range(16):
            candidate = temp_path_for(path)
            try:
                # 0o666 & ~umask: the result gets the same permissions as any new file.
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:
            raise OutputError(f"cannot create a temporary file in {folder}.")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(tmp, path, overwrite)
        tmp = None
        _fsync_folder(folder)
    except OSError as e:
        raise _output_error(path, e) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic "create if absent"
    except FileExistsError:
        raise OutputExistsError(f"{path} already exists; pass --overwrite to replace it.") from None
    except OSError:  # no hard links here (FAT, some network shares): check, then rename
        if os.path.lexists(path):
            raise OutputExistsError(f"{path} already exists; pass --overwrite to replace it.") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); best effort, Windows has no directory fds."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _output_error(path: Path, e: OSError) -> OutputError:
    folder = path.parent
    if isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"cannot write {path}: the folder {folder} is not writable ({one_clause(e)}).")
    if isinstance(e, (NotADirectoryError, FileNotFoundError)):
        return OutputError(f"cannot write {path}: the folder {folder} does not exist or is not a folder.")
    if e.errno == errno.ENOSPC:
        return OutputError(f"cannot write {path}: no space left on the device.")
    return OutputError(f"cannot write {path}: {one_clause(e)}.")
