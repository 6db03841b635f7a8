"""A local git repository of the built-in template's versions, so projects update offline.

Copier updates a project by rendering the template at the version the project records and at
the new one, then merging the difference into the project; it reads both versions from a git
repository. A wheel carries only its own template, so every stackwise that renders adds that
template to this store as a commit tagged with its version. Projects record the project's
public URL as their template source; for the copier process only, git's
`url.<store>.insteadOf` sends that URL here, so no network is needed and plain `copier update`
still works anywhere the public repository is reachable.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackwise import __version__
from stackwise.errors import GitError

TEMPLATE_URL = "https://github.com/stackwise-dev/stackwise.git"
# What a template version is made of, relative to the directory holding copier.yml.
TEMPLATE_PATHS = ("copier.yml", "templates")
# Commits in the store are the tool's, not the user's: a fixed identity keeps them reproducible.
STORE_IDENTITY = {
    "GIT_AUTHOR_NAME": "stackwise",
    "GIT_AUTHOR_EMAIL": "stackwise@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "stackwise",
    "GIT_COMMITTER_EMAIL": "stackwise@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def store_path() -> Path:
    """`$STACKWISE_TEMPLATE_STORE`, else `templates.git` in the user's data directory."""
    configured = os.environ.get("STACKWISE_TEMPLATE_STORE")
    if configured:  # git runs in other directories too: a relative path would mean several
        return Path(configured).absolute()
    import platformdirs  # only commands that render need it

    return platformdirs.user_data_path("stackwise") / "templates.git"


# Never rendered, whatever a template's `_exclude` or `_subdirectory` say: a project's `.git` is
# stackwise's `git init`, or the owner's; a template writing into it could make the next git
# command run anything (core.fsmonitor, hooks).
NEVER_RENDERED = [".git"]


def link_escaping(project: Path, names: list[str] | None = None) -> str | None:
    """A symlink a template rendered (all of them, or those of `names`) that leads out of the
    project or into its `.git`, if any: stackwise's own steps (uv writing uv.lock) or the
    owner's editor would write through it."""
    root = project.absolute()
    candidates = root.rglob("*") if names is None else (root / name for name in names)
    for link in sorted(p for p in candidates if p.is_symlink()):
        if ".git" in link.relative_to(root).parts:
            continue
        target = Path(os.path.normpath(link.parent / link.readlink()))
        inside = target.is_relative_to(root) and target != root
        if not inside or ".git" in target.relative_to(root).parts:
            return f"{link.relative_to(root)} -> {link.readlink()}"
    return None


# Configuration no git command of stackwise's takes from a repository: these run programs.
SAFE_GIT_CONFIG = {"core.fsmonitor": "false", "core.hooksPath": os.devnull}


def git(
    args: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    *,
    stdin: str | None = None,
    fine: tuple[int, ...] = (0,),
) -> str:
    """Run git; a missing git or a failing command (an exit code not in `fine`) is one
    GitError line."""
    safe = [arg for key, value in SAFE_GIT_CONFIG.items() for arg in ("-c", f"{key}={value}")]
    try:
        completed = subprocess.run(
            ["git", *safe, *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed; stackwise needs it for template versions") from None
    if completed.returncode not in fine:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        # git's own verdict ("fatal: ..."), rather than the hint lines that may follow it
        verdict = next((line for line in detail if line.startswith(("fatal:", "error:"))), None)
        raise GitError(f"git {args[0]} failed: {verdict or (detail[-1] if detail else '')}")
    return completed.stdout.rstrip()  # leading spaces matter in `git status --porcelain`


def _tree_of(template_root: Path, store: Path) -> str:
    """The git tree of the template files, written into the store's object database."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "GIT_DIR": str(store),
            "GIT_WORK_TREE": str(template_root),
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
        }
        # From the template's own directory: git reads pathspecs against the working directory.
        git(["add", "--force", "--", *TEMPLATE_PATHS], env, cwd=template_root)
        return git(["write-tree"], env, cwd=template_root)


def tag_tree(store: Path, tag: str) -> str | None:
    """The git tree a version tag in the store holds, or None if there is no such tag."""
    try:
        return git(["--git-dir", str(store), "rev-parse", "--verify", "-q", f"{tag}^{{tree}}"])
    except GitError:
        return None


def add_version(template_root: Path, version: str = __version__) -> str:
    """Store the template in `template_root` as `v<version>`; return the tag to render from.

    The same version with different files (an edited source checkout) is stored as
    `v<version>+<tree>`, a PEP 440 local version, so a released tag never changes meaning.
    Several stackwise processes may add at once: the store is written under a file lock.
    """
    store = store_path()
    not_a_store = GitError(
        f"template store {store} is not a git repository; move it away, or set "
        "STACKWISE_TEMPLATE_STORE to another path"
    )
    if store.exists() and not store.is_dir():  # refused before a lock file is made beside it
        raise not_a_store
    with _locked(store):  # another process may be half way through creating it
        if store.exists() and not (store / "HEAD").is_file():
            raise not_a_store
        if not (store / "HEAD").is_file():
            git(["init", "--bare", "--quiet", str(store)])
        tree = _tree_of(template_root, store)
        for tag in (f"v{version}", f"v{version}+{tree[:12]}"):
            existing = tag_tree(store, tag)
            if existing == tree:
                return tag
            if existing is None:
                commit = git(
                    [
                        "--git-dir",
                        str(store),
                        "commit-tree",
                        tree,
                        "-m",
                        f"stackwise template {tag}",
                    ],
                    STORE_IDENTITY,
                )
                git(["--git-dir", str(store), "tag", tag, commit])
                return tag
    raise GitError(f"template store {store}: tag v{version}+{tree[:12]} holds other files")


@contextmanager
def _locked(store: Path) -> Iterator[None]:
    """An exclusive lock beside the store, held while it is written."""
    import fcntl

    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        handle = store.with_name(f"{store.name}.lock").open("a")
    except OSError as error:
        raise GitError(
            f"template store {store}: cannot create it ({error.strerror}); set "
            "STACKWISE_TEMPLATE_STORE to a writable path"
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextmanager
def redirected_to_store() -> Iterator[None]:
    """While inside, git (and so copier) fetches TEMPLATE_URL from the local store, and takes
    none of SAFE_GIT_CONFIG from the repositories it works in.

    Copier keeps one mirror per URL in its cache; the store gets a cache of its own, so two
    stores (two installs, or parallel test runs) never refresh one mirror from each other.
    """
    from plumbum import local  # copier runs git through plumbum, which keeps its own env

    store = store_path().absolute()
    settings = {f"url.{store.as_uri()}.insteadOf": TEMPLATE_URL, **SAFE_GIT_CONFIG}
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    redirect = {"GIT_CONFIG_COUNT": str(count + len(settings))}
    for index, (key, value) in enumerate(settings.items(), start=count):
        redirect[f"GIT_CONFIG_KEY_{index}"] = key
        redirect[f"GIT_CONFIG_VALUE_{index}"] = value
    previous_cache = os.environ.get(COPIER_CACHE)
    os.environ[COPIER_CACHE] = str(store.with_name(f"{store.name}.copier-cache"))
    try:
        with local.env(**redirect):
            yield
    finally:
        if previous_cache is None:
            os.environ.pop(COPIER_CACHE, None)
        else:
            os.environ[COPIER_CACHE] = previous_cache


COPIER_CACHE = "COPIER_CACHE_DIR"  # where copier keeps its mirrors of template repositories
