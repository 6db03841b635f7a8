"""A cache of the template renders `status` and `update` compare a project with.

A project's recorded template versions, rendered with its recorded answers, are the same files
every time: `status` renders them on each run, `update` again when a release removes files. An
entry is a directory named by a digest of everything the render depends on, holding the
rendered tree and a manifest of its files. It is built in a staging directory beside the
entries and renamed into place whole, so an entry is complete or absent; one that does not
match its manifest (a disk that lost files, a hand edit) is removed and rendered again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

CACHE_ENV = "STACKWISE_RENDER_CACHE"  # a directory, or `off`
MANIFEST = "manifest.json"
TREE = "tree"
# Entries kept, the most recently used first; one is a project's worth of files (about 1 MB).
KEEP = 20
# Staging and removed entries older than this were left by a process that was killed.
ABANDONED_AFTER = 3600.0


def location() -> Path | None:
    """`$STACKWISE_RENDER_CACHE` (`off`: no cache); else beside a relocated template store, as
    copier's mirror cache is; else `renders` in the user's cache directory."""
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured).absolute()
    from stackwise import store

    if os.environ.get("STACKWISE_TEMPLATE_STORE"):
        template_store = store.store_path()
        return template_store.with_name(f"{template_store.name}.renders")
    import platformdirs

    return platformdirs.user_cache_path("stackwise") / "renders"


def key_of(what: Any) -> str:
    """The name of the entry for a render determined by `what` (JSON data)."""
    text = json.dumps(what, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@contextmanager
def rendered(key: str | None, render: Callable[[Path], None], scratch: Path) -> Iterator[Path]:
    """The tree `render(destination)` makes: the cached one for `key` if there is a sound
    entry, else rendered now and kept. Without a key or a usable cache, rendered into
    `scratch`, as if there were no cache."""
    root = location()
    if key is None or root is None:
        render(scratch)
        yield scratch
        return
    entry = root / key
    with _reading(entry) as tree:
        if tree is not None:
            yield tree
            return
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    except OSError:  # a cache that cannot be written is no cache
        render(scratch)
        yield scratch
        return
    try:
        render(staging / TREE)
        (staging / MANIFEST).write_text(json.dumps(_manifest(staging / TREE)))
        try:
            staging.rename(entry)
        except OSError:  # another process kept the same render first: use this one
            yield staging / TREE
            return
        _prune(root, keep=key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with _reading(entry) as tree:
        yield tree or entry / TREE


@contextmanager
def _reading(entry: Path) -> Iterator[Path | None]:
    """The entry's tree, or None if it is absent or does not match its manifest. A shared lock
    on the manifest keeps `_remove` from taking the entry away while it is read."""
    import fcntl

    try:
        handle = (entry / MANIFEST).open()
    except OSError:
        if entry.exists():  # renamed into place without a manifest: not an entry of ours
            _remove(entry)
        yield None
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            sound = json.loads(handle.read()) == _manifest(entry / TREE)
        except (ValueError, OSError):
            sound = False
        if sound:
            with suppress(OSError):  # a cache someone else keeps may be read-only
                os.utime(handle.fileno())  # used now: the last to be pruned
            yield entry / TREE
            return
    _remove(entry)
    yield None


def _manifest(tree: Path) -> dict[str, str]:
    """{file: digest of its bytes, or where a symlink points} for everything in `tree`."""
    if not tree.is_dir():
        raise OSError(f"{tree} is missing")
    files = {}
    for path in tree.rglob("*"):
        name = str(path.relative_to(tree))
        if path.is_symlink():
            files[name] = f"link:{path.readlink()}"
        elif path.is_file():
            files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _prune(root: Path, keep: str) -> None:
    """Remove all but the KEEP entries used last, and what killed processes left behind."""
    entries, now = [], time.time()
    for path in root.iterdir():
        if path.name.startswith("."):
            with suppress(OSError):
                if now - path.stat().st_mtime > ABANDONED_AFTER:
                    shutil.rmtree(path, ignore_errors=True)
            continue
        with suppress(OSError):
            entries.append(((path / MANIFEST).stat().st_mtime, path))
    entries.sort(reverse=True)
    for _, path in entries[KEEP:]:
        if path.name != keep:
            _remove(path)


def _remove(entry: Path) -> None:
    """Take an entry out of use (renamed away at once, then deleted), unless it is being read."""
    import fcntl

    removed = entry.with_name(f".removed-{entry.name}-{os.getpid()}")
    manifest = entry / MANIFEST
    try:
        with manifest.open() if manifest.is_file() else nullcontext() as handle:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            entry.rename(removed)
    except OSError:  # being read (BlockingIOError), or gone already
        return
    shutil.rmtree(removed, ignore_errors=True)
