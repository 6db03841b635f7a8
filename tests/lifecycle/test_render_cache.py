"""The render cache: `status` renders a project's recorded template version once, not on
every run, and a cache entry never changes what status or update report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stackwise import lifecycle, render_cache
from tests.lifecycle.conftest import TemplateVersions, commit, edit
from tests.lifecycle.test_update import OWNER_LINE, add_gitignore_line


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "renders"
    monkeypatch.setenv(render_cache.CACHE_ENV, str(path))
    return path


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every render of a project's recorded template versions, as it happens."""
    done: list[Path] = []
    real = lifecycle._render_layers

    def counted(layers: list[lifecycle.Layer], pristine: Path) -> None:
        done.append(pristine)
        real(layers, pristine)

    monkeypatch.setattr(lifecycle, "_render_layers", counted)
    return done


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if not p.name.startswith("."))


def owned(versions: TemplateVersions, version: str, **answers: object) -> Path:
    """A project with every kind of owner change status reports: edited, added, deleted."""
    project = versions.generate(versions.release(version), **answers)
    edit(project / "README.md", "## Test it", "## Test it (owner's wording)")
    (project / "notes.txt").write_text(OWNER_LINE)
    (project / "docker-compose.yml").unlink()
    commit(project, "Owner changes")
    return project


def status_of(run_cli: Callable[..., object], project: Path) -> dict[str, object]:
    result = run_cli("status", str(project), "--json")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined,no-any-return]


OWNER_CHANGES = {
    "README.md": "edited",
    "docker-compose.yml": "deleted",
    "notes.txt": "added",
}


def test_a_second_status_reuses_the_first_ones_render(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, cache: Path, renders: list[Path]
) -> None:
    project = owned(versions, "60.0.0")

    first, second = status_of(run_cli, project), status_of(run_cli, project)

    assert len(renders) == 1
    assert len(entries(cache)) == 1
    assert first == second
    assert first["changes"] == OWNER_CHANGES


def test_status_is_the_same_with_and_without_the_cache(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = owned(versions, "61.0.0")
    versions.release("61.1.0", add_gitignore_line)
    cold, warm = status_of(run_cli, project), status_of(run_cli, project)
    monkeypatch.setenv(render_cache.CACHE_ENV, "off")

    uncached = status_of(run_cli, project)

    assert cold == warm == uncached
    assert uncached["changes"] == OWNER_CHANGES
    assert uncached["update_available"] is True


def test_off_renders_every_time_and_keeps_nothing(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, cache: Path, renders: list[Path], monkeypatch
) -> None:
    project = owned(versions, "62.0.0")
    monkeypatch.setenv(render_cache.CACHE_ENV, "off")

    status_of(run_cli, project)
    status_of(run_cli, project)

    assert len(renders) == 2
    assert not cache.exists()


def test_another_answer_or_version_is_another_render(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, cache: Path, renders: list[Path]
) -> None:
    version = versions.release("63.0.0")
    project = versions.generate(version)
    other_answer = versions.generate(version, description="Another service")
    other_version = versions.generate(versions.release("63.1.0", add_gitignore_line))

    reports = [status_of(run_cli, p) for p in (project, other_answer, other_version)]

    assert len(renders) == 3
    assert len(entries(cache)) == 3
    # Each compared with its own render: none of them looks edited by its owner.
    assert [report["changes"] for report in reports] == [{}, {}, {}]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda tree: (tree / "README.md").write_text("damaged\n"), id="changed"),
        pytest.param(lambda tree: (tree / "README.md").unlink(), id="missing"),
        pytest.param(lambda tree: (tree / "stray.txt").write_text("x\n"), id="extra"),
        pytest.param(lambda tree: (tree.parent / render_cache.MANIFEST).unlink(), id="partial"),
        pytest.param(
            lambda tree: (tree.parent / render_cache.MANIFEST).write_text("{"), id="manifest"
        ),
    ],
)
def test_a_damaged_or_partial_entry_is_rendered_again(  # type: ignore[no-untyped-def]
    versions: TemplateVersions,
    run_cli,
    cache: Path,
    renders: list[Path],
    damage: Callable[[Path], object],
) -> None:
    project = owned(versions, "64.0.0")
    status_of(run_cli, project)
    [entry] = entries(cache)
    damage(entry / render_cache.TREE)

    report = status_of(run_cli, project)

    assert report["changes"] == OWNER_CHANGES
    assert len(renders) == 2
    assert status_of(run_cli, project)["changes"] == OWNER_CHANGES
    assert len(renders) == 2  # the entry rendered again is sound


def test_update_reuses_the_render_status_made(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, cache: Path, renders: list[Path]
) -> None:
    project = versions.generate(versions.release("65.0.0"))
    ignore = project / ".dockerignore"
    ignore.write_text(ignore.read_text() + "# the owner's line\n")
    commit(project, "Owner's ignore line")

    def removes_dockerignore(templates: Path) -> None:
        (templates / "flask" / "project" / ".dockerignore.jinja").unlink()

    target = versions.release("65.1.0", removes_dockerignore)
    status_of(run_cli, project)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert "kept, you edited it and the new release removes it: .dockerignore" in result.stdout
    assert len(renders) == 1


# The cache itself, with a render that writes two files: what happens between processes.


def two_files(destination: Path) -> None:
    destination.mkdir(parents=True)
    (destination / "a.txt").write_text("a\n")
    (destination / "sub").mkdir()
    (destination / "sub" / "b.txt").write_text("b\n")


def test_two_processes_rendering_the_same_entry_both_get_a_whole_tree(cache: Path) -> None:
    """The second render finishes while the first is still rendering; the first one's rename
    then finds the entry in place and uses its own tree."""
    seen: list[set[str]] = []

    def racing(destination: Path) -> None:
        with render_cache.rendered("k", two_files, cache / "unused") as tree:
            seen.append({str(p.relative_to(tree)) for p in tree.rglob("*")})
        two_files(destination)

    with render_cache.rendered("k", racing, cache / "unused") as tree:
        seen.append({str(p.relative_to(tree)) for p in tree.rglob("*")})

    assert seen == [{"a.txt", "sub", "sub/b.txt"}] * 2
    assert [p.name for p in entries(cache)] == ["k"]
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left


def test_an_entry_being_read_is_not_pruned(cache: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(render_cache, "KEEP", 1)
    reader_inside, reader_may_leave = threading.Event(), threading.Event()

    def read_first() -> None:
        with render_cache.rendered("first", two_files, cache / "unused"):
            reader_inside.set()
            reader_may_leave.wait(timeout=30)

    reader = threading.Thread(target=read_first)
    reader.start()
    reader_inside.wait(timeout=30)
    time.sleep(0.02)  # file times may be as coarse as the kernel's clock tick
    with render_cache.rendered("second", two_files, cache / "unused"):
        kept_while_read = [p.name for p in entries(cache)]
    reader_may_leave.set()
    reader.join()
    time.sleep(0.02)
    with render_cache.rendered("third", two_files, cache / "unused"):
        pass

    assert kept_while_read == ["first", "second"]
    assert [p.name for p in entries(cache)] == ["third"]


def test_the_cache_keeps_the_entries_used_last(cache: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(render_cache, "KEEP", 2)
    for key in ("one", "two", "one", "three"):
        with render_cache.rendered(key, two_files, cache / "unused"):
            pass
        time.sleep(0.02)  # file times may be as coarse as the kernel's clock tick

    assert [p.name for p in entries(cache)] == ["one", "three"]


def test_a_cache_that_cannot_be_written_renders_into_scratch(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(render_cache.CACHE_ENV, str(blocked / "renders"))

    with render_cache.rendered("k", two_files, tmp_path / "scratch") as tree:
        assert tree == tmp_path / "scratch"
        assert (tree / "sub" / "b.txt").read_text() == "b\n"
