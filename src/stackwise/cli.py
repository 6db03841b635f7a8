"""The `stackwise` command: parse flags, call the core, print the result."""

from __future__ import annotations

import json
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from stackwise import __version__
from stackwise.catalog import TemplateInfo, builtin_templates
from stackwise.chooser import (
    RankedFramework,
    Recommendation,
    Requirements,
    check_choice,
    recommend,
)
from stackwise.errors import EXIT_FAILURE, EXIT_USAGE, Interrupted, StackwiseError, UsageError
from stackwise.guide import Guide, load_guide

if TYPE_CHECKING:
    from stackwise.answers import Suggestions
    from stackwise.catalog import Question
    from stackwise.config import TeamConfig
    from stackwise.lifecycle import UpdateSummary

app = typer.Typer(
    name="stackwise",
    help="Pick Django, Flask or FastAPI for what you are building, and generate the project.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console()
err = Console(stderr=True)


@contextmanager
def progress(label: str) -> Iterator[None]:
    """A spinner on stderr while a slow step runs, only when stderr is a terminal: stdout
    (`--json` included) never gets it, and a redirected stderr or a log neither."""
    if not err.is_terminal:
        yield
        return
    with err.status(f"{label}...", spinner="dots"):
        yield


# Shell completion: the values each option takes, with what they mean (shells that show it).
def _complete_use_case(incomplete: str) -> list[tuple[str, str]]:
    use_cases = load_guide().use_cases.items()
    return [(key, u.label) for key, u in use_cases if key.startswith(incomplete)]


def _complete_need(incomplete: str) -> list[tuple[str, str]]:
    return [(key, n.label) for key, n in load_guide().needs.items() if key.startswith(incomplete)]


def _complete_framework(incomplete: str) -> list[tuple[str, str]]:
    frameworks = [(key, f.best_for) for key, f in load_guide().frameworks.items()]
    return [(key, what) for key, what in frameworks if key.startswith(incomplete)]


def _complete_new_framework(incomplete: str) -> list[tuple[str, str]]:
    auto = [("auto", "the recommendation")] if "auto".startswith(incomplete) else []
    return _complete_framework(incomplete) + auto


def _complete_data(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """`KEY=` for each question (of the framework given before it, else of every built-in
    template), then `KEY=VALUE` for a question with choices; a list continues after a comma."""
    templates = builtin_templates()
    chosen = templates.get(str(ctx.params.get("framework")))
    questions = {
        q.name: (q, t.framework)
        for t in ([chosen] if chosen else templates.values())
        for q in t.all_questions()
    }
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [
            (f"{name}=", _help_for(q, framework))
            for name, (q, framework) in questions.items()
            if name.startswith(key)
        ]
    if key not in questions:
        return []
    question = questions[key][0]
    choices = question.offered
    done, _, last = value.rpartition(",") if question.multiselect else ("", "", value)
    before = f"{key}={done}," if done else f"{key}="
    taken = set(done.split(","))
    return [
        (before + choice, "")
        for choice in choices
        if choice.startswith(last) and choice not in taken
    ]


UseCaseOption = Annotated[
    str | None,
    typer.Option(
        "--use-case",
        "-u",
        metavar="USE_CASE",
        help="What you are building, e.g. web-app, api, cms (tab completes the rest).",
        autocompletion=_complete_use_case,
    ),
]
NeedOption = Annotated[
    list[str] | None,
    typer.Option(
        "--need",
        "-n",
        metavar="NEED",
        help="Something the project needs, e.g. --need admin --need auth (repeatable).",
        autocompletion=_complete_need,
    ),
]
TeamOption = Annotated[
    str | None,
    typer.Option(
        "--team-knows",
        metavar="FRAMEWORK",
        help="A framework your team already knows: django, flask or fastapi.",
        autocompletion=_complete_framework,
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"stackwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Team configuration (default: $STACKWISE_CONFIG, ./stackwise.toml, "
            "[tool.stackwise] in ./pyproject.toml, then the user config directory).",
        ),
    ] = None,
) -> None:
    """Pick Django, Flask or FastAPI for what you are building, and generate the project."""
    ctx.obj = config


def _team_config(ctx: typer.Context) -> TeamConfig:
    from stackwise.config import load_config  # pydantic is only paid for when it is needed

    return load_config(ctx.obj)


def _requirements(
    use_case: str | None, needs: list[str] | None, team: str | None, config: TeamConfig
) -> Requirements:
    return Requirements(
        use_case=use_case,
        needs=frozenset(needs or ()),
        team_knows=team or config.chooser.team_knows,
        prefer=config.chooser.prefer,
    )


def _team_lines(config: TeamConfig, guide: Guide) -> list[str]:
    """What the recommendation took from the team configuration, for people to see."""
    if config.path is None:
        return []
    lines = [f"Weighed the team configuration {config.path}."]
    for name, entry in config.templates.items():
        framework = guide.frameworks[entry.framework or str(entry.extends)].label
        lines.append(f"Team template for {framework}: {name} (stackwise new --template {name})")
    return lines


def _ranking_table(recommendation: Recommendation, guide: Guide) -> Group:
    """One line per framework, best first: rank, score and the first thing said for it (or
    against it), cut at the screen's edge; `--explain` shows everything."""
    labels = {r.framework: guide.frameworks[r.framework].label for r in recommendation.ranking}
    wide = max(len("Framework"), *map(len, labels.values()))
    lines = [Text(f" #  {'Framework':<{wide}}  Score  In short", style="bold")]
    for rank, ranked in enumerate(recommendation.ranking, start=1):
        line = Text(f"{rank:>2}  ")
        best = "bold green" if ranked.framework == recommendation.recommended else ""
        line.append(f"{labels[ranked.framework]:<{wide}}", style=best)
        gist = _gist(ranked) or guide.frameworks[ranked.framework].best_for  # nothing asked
        line.append(f"  {ranked.score:>5}  {gist}")
        line.no_wrap, line.overflow = True, "ellipsis"
        lines.append(line)
    return Group(*lines)


def _gist(ranked: RankedFramework) -> str:
    """The first reason for a framework (or, lacking one, against it), to its first full stop."""
    said = [f"+ {r}" for r in ranked.reasons] + [f"- {c}" for c in ranked.caveats]
    if not said:
        return ""
    first, stop, _ = said[0].partition(". ")
    return first + (stop.strip() if stop else "")


def _explained_table(recommendation: Recommendation, guide: Guide) -> Table:
    table = Table(title="Recommendation", show_lines=True)
    table.add_column("Framework", style="bold")
    table.add_column("Score", justify="right")
    table.add_column("For")
    table.add_column("Against")
    for ranked in recommendation.ranking:
        label = guide.frameworks[ranked.framework].label
        if ranked.framework == recommendation.recommended:
            label += " (recommended)"
        table.add_row(
            label,
            str(ranked.score),
            "\n".join(f"+ {r}" for r in ranked.reasons) or "-",
            "\n".join(f"- {c}" for c in ranked.caveats) or "-",
        )
    return table


@app.command("recommend")
def recommend_command(
    ctx: typer.Context,
    use_case: UseCaseOption = None,
    need: NeedOption = None,
    team_knows: TeamOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Every reason for and against each framework.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Recommend a framework for what you are building, with reasons."""
    guide = load_guide()
    config = _team_config(ctx)
    requirements = _requirements(use_case, need, team_knows, config)
    recommendation = recommend(requirements, guide)
    if as_json:
        report = recommendation.to_dict()
        for entry in report["ranking"]:
            entry["options"] = _suggestions(requirements, entry["framework"], config).options
        report["team_config"] = str(config.path) if config.path else None
        report["team_templates"] = {
            name: entry.framework or entry.extends for name, entry in config.templates.items()
        }
        print(json.dumps(report, indent=2))
        return
    out.print(
        _explained_table(recommendation, guide)
        if explain
        else _ranking_table(recommendation, guide)
    )
    for line in _team_lines(config, guide):
        out.print(line, soft_wrap=True)  # a path is not cut across lines
    if requirements.is_empty:
        guide_words = (("--use-case", guide.use_cases), ("--need", guide.needs))
        out.print("Say what you are building for a reasoned answer:")
        for flag, values in guide_words:
            out.print(f"  {flag}: {', '.join(values)}", highlight=False)
        return
    # The command that makes the project, copy-paste ready: what was asked goes with it, so the
    # guide's options for it are pre-filled.
    words = ["stackwise", "new", "my-app", "--framework", recommendation.recommended]
    words += ["--use-case", use_case] if use_case else []
    for name in sorted(set(need or ())):
        words += ["--need", name]
    label = guide.frameworks[recommendation.recommended].label
    more = "" if explain else " Every reason: add --explain."
    out.print(f"{label} fits best.{more} To create it:")
    out.print(f"  {shlex.join(words)}", soft_wrap=True, markup=False)
    if changed := _suggestions(requirements, recommendation.recommended, config).switched_on():
        out.print(f"which switches on {', '.join(changed)}.", markup=False)


@app.command("compare")
def compare_command() -> None:
    """Show Django, Flask and FastAPI side by side."""
    guide = load_guide()
    frameworks = list(guide.frameworks.values())
    table = Table(title="Django, Flask and FastAPI compared", show_lines=True)
    table.add_column("")
    for framework in frameworks:
        table.add_column(f"{framework.label} {framework.version}")
    rows = [
        ("Philosophy", "philosophy"),
        ("ORM", "orm"),
        ("Admin panel", "admin"),
        ("Auth", "auth"),
        ("API docs", "api_docs"),
        ("Async", "async_support"),
        ("Type safety", "type_safety"),
        ("Learning curve", "learning_curve"),
        ("Best for", "best_for"),
        ("JSON response, req/s*", "json_rps"),
        ("DB query, req/s*", "db_rps"),
        ("Concurrent connections*", "concurrency"),
        ("Memory per worker, MB*", "memory_per_worker_mb"),
    ]
    for title, attribute in rows:
        values = [getattr(f, attribute) for f in frameworks]
        table.add_row(title, *(f"~{v:,}" if isinstance(v, int) else v for v in values))
    out.print(table)
    servers = ", ".join(f"{f.label} on {f.server}" for f in frameworks)
    out.print(
        f"* Published figures ({servers}). In most applications the database, "
        "not the framework, is the bottleneck."
    )


def _kind(template: TemplateInfo) -> str:
    if template.is_builtin:
        return "built in"
    return f"team, extends {template.base.name}" if template.base else "team"


@app.command("templates")
def templates_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the built-in and team templates stackwise can render, with their options."""
    from stackwise.answers import typed_text
    from stackwise.catalog import all_templates

    config = _team_config(ctx)
    templates = all_templates(config)
    if as_json:
        listing = [
            {
                "name": t.name,
                "kind": "builtin" if t.is_builtin else "team",
                "framework": t.framework,
                "version": t.version,
                "source": t.source,
                "extends": t.base.name if t.base else None,
                "options": {
                    q.name: {
                        "default": default,
                        "default_from": source,
                        "locked": q.name in config.locked,
                        "template_default": q.default,
                        "choices": list(q.choices),
                    }
                    for q in t.all_questions()
                    for default, source in [_effective_default(q, config)]
                },
            }
            for t in templates.values()
        ]
        print(json.dumps(listing, indent=2, default=str))
        return
    for template in templates.values():
        title = f"{template.name} {template.version} ({_kind(template)})"
        table = Table(title=title, title_justify="left")
        table.add_column("Option (--data KEY=VALUE)")
        table.add_column("Default", overflow="fold")  # a list default is read whole
        table.add_column("Choices")
        table.add_column("Meaning")
        for q in template.all_questions():
            value, source = _effective_default(q, config)
            default = "(computed)" if "{{" in str(value) else typed_text(value)
            if source != "template":
                default += f" ({source})"  # the team's: what `new` starts from, or must use
            table.add_row(q.name, default, ", ".join(q.offered), _help_for(q, template.framework))
        out.print(table)
    if config.path is not None:
        out.print(
            f"Defaults marked (team) and (locked) come from {config.path}; "
            "a locked answer cannot be changed.",
            soft_wrap=True,
        )


def _help_for(question: Question, framework: str) -> str:
    """A question's help as copier shows it to that framework's users (help may be Jinja)."""
    if "{" not in question.help:
        return question.help
    from stackwise.catalog import shown_text

    return shown_text(question.help, {"framework": framework}) or question.help


def _effective_default(question: Question, config: TeamConfig) -> tuple[Any, str]:
    """The answer `new` starts from for `question`, and whose it is: the team's lock, the
    team's default (which replaces the template's), or the template's own."""
    for source, table in (("locked", config.locked), ("team", config.defaults)):
        if question.name in table:
            return table[question.name], source
    return question.default, "template"


@app.command("new")
def new_command(
    ctx: typer.Context,
    destination: Annotated[
        Path | None,
        typer.Argument(metavar="DIRECTORY", help="Directory to create the project in."),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option(
            "--framework",
            "-f",
            metavar="FRAMEWORK",
            help="django, flask, fastapi, or auto (use the recommendation).",
            autocompletion=_complete_new_framework,
        ),
    ] = None,
    template_name: Annotated[
        str | None,
        typer.Option(
            "--template", "-t", metavar="NAME", help="A built-in or team template by name."
        ),
    ] = None,
    use_case: UseCaseOption = None,
    need: NeedOption = None,
    team_knows: TeamOption = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a template question, e.g. -d database=postgres (repeatable; "
            "`stackwise templates` lists them).",
            autocompletion=_complete_data,
        ),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option("--answers-file", metavar="FILE", help="YAML file of question: answer."),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Accept the default for every unanswered question.")
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; a missing answer is an error.")
    ] = False,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would be created, write nothing.")
    ] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip git init and the first commit.")
    ] = False,
    no_lock: Annotated[
        bool,
        typer.Option(
            "--no-lock", help="Skip writing uv.lock (CI and the image expect one: run uv lock)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Render into a non-empty directory.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="With --force: replace files that differ without asking."),
    ] = False,
) -> None:
    """Create a project: recommend a framework, ask its questions, render it."""
    from stackwise import prompt
    from stackwise.answers import answer_text
    from stackwise.catalog import template_for, template_named
    from stackwise.render import (
        NewProject,
        new_project,
        parse_data,
        read_answers_file,
        start_command,
    )

    guide = load_guide()
    interactive = not (defaults or no_input)
    if interactive and not sys.stdin.isatty():
        raise UsageError("no terminal to ask questions in: pass --defaults or --no-input")

    config = _team_config(ctx)
    answers = read_answers_file(answers_file) if answers_file else {}
    given = parse_data(data or [])
    answers.update(given)
    given_framework = given.get("framework")
    if given_framework and framework not in (None, "auto", given_framework):
        raise UsageError(
            f"--data framework={given_framework} contradicts --framework {framework}; give one"
        )
    if "framework" in answers:  # an answers file may name it; --framework wins
        framework = framework or answer_text(answers.pop("framework"))
    template = template_named(template_name, config) if template_name else None
    if template is not None:
        if framework not in (None, "auto", template.framework):
            raise UsageError(
                f"template {template.name} is a {template.framework} template, "
                f"not {framework}; drop --framework"
            )
        framework = template.framework
    if framework not in (None, "auto"):
        check_choice("framework", framework, builtin_templates())
    requirements = _requirements(use_case, need, team_knows, config)
    recommendation = recommend(requirements, guide)  # validates use case, needs and team too

    if destination is None:
        if not interactive:
            raise UsageError("give the directory to create, e.g. `stackwise new my-app`")
        destination = prompt.ask_destination()

    if framework is None and interactive:
        if requirements.use_case is None and not requirements.needs:
            # A team's known or preferred framework is a weight, not what is being built.
            requirements = prompt.ask_requirements(guide, requirements)
            recommendation = recommend(requirements, guide)
        out.print(_ranking_table(recommendation, guide))
        framework = prompt.ask_framework(recommendation, guide)
    elif framework in (None, "auto"):
        framework = recommendation.recommended
        label = guide.frameworks[framework].label
        if recommendation.ranking[0].reasons:
            out.print(f"Using {label}, the recommendation for your input.")
        else:
            out.print(f"Using {label}, the most general choice (--use-case/--need refine it).")
    elif recommendation.ranking[0].reasons and framework != recommendation.recommended:
        picked = guide.frameworks[recommendation.recommended].label
        out.print(
            f"The recommendation for your input is {picked} (`stackwise recommend --explain` "
            f"says why); making a {guide.frameworks[framework].label} project, as asked.",
            soft_wrap=True,
            highlight=False,
        )

    if template is None:
        template = template_for(framework, config)
        if not template.is_builtin:
            out.print(f"Using the team template {template.name} {template.version}.")
    suggested = _suggestions(requirements, framework, config, answers, template)
    if interactive and (changed := suggested.switched_on()):
        out.print(f"Pre-filled for what you are building: {', '.join(changed)}.", soft_wrap=True)
    rendered = new_project(
        NewProject(
            destination=destination,
            template=template,
            data=suggested.given,
            defaults=suggested.defaults,
            suggested=suggested.options,
            prompt=interactive,
            pretend=pretend,
            git=not no_git,
            lock=not no_lock,
            force=force,
            overwrite=(lambda _: True)
            if overwrite
            else _confirm_overwrite
            if interactive
            else (lambda _: False),
            progress=progress,
        )
    )
    if rendered is None:
        out.print("Pretend mode: nothing was written.")
        return
    label = guide.frameworks[framework].label
    where = escape(str(rendered.destination))
    out.print(f"[green]Created[/green] {label} project [bold]{where}[/bold]", soft_wrap=True)
    if changed := suggested.switched_on(rendered.answers):
        out.print(f"Switched on for what you are building: {', '.join(changed)}.", soft_wrap=True)
    if left := suggested.not_switched_on(rendered.answers):
        out.print(
            "Not switched on (an answer, a team lock or a choice's rule decided otherwise): "
            f"{', '.join(left)}.",
            soft_wrap=True,
            highlight=False,
        )
    if rendered.lock and (warning := rendered.lock.warning()):
        _warn(warning)
    if rendered.replaced:
        out.print(f"Replaced {len(rendered.replaced)} file(s): {', '.join(rendered.replaced)}")
    locked = " (with uv.lock)" if rendered.lock and rendered.lock.written else ""
    if rendered.committed and rendered.new_repository:
        out.print(f"Initialised a git repository with a first commit{locked}.")
    elif rendered.committed:
        out.print(f"Made the existing repository's first commit{locked}, of the project's files.")
    elif not no_git:
        out.print(
            "Rendered into an existing git repository: review with `git status`, then commit "
            "(stackwise update needs the project committed).",
            soft_wrap=True,
        )
    out.print("Next steps (start the app; run its tests):")
    for step in next_steps(destination, start_command(rendered.destination), _uv_command()):
        out.print(f"  {step}", soft_wrap=True, markup=False, highlight=False)


def next_steps(destination: Path, start: str | None, uv: str) -> list[str]:
    """Commands to paste into a shell: into the project (its path quoted for the shell), start
    the app the way its README says, run its tests. `uv` is the uv to name in them."""
    steps = []
    if destination != Path():
        where = str(destination)
        # `cd -x` would be an option to cd
        steps.append(f"cd {shlex.quote(where if not where.startswith('-') else f'./{where}')}")
    start = start or "uv sync"
    steps.append(re.sub(r"(?<![\w/.-])uv(?= )", lambda _: uv, start))
    steps.append(f"{uv} run pytest")
    return steps


def _suggestions(
    requirements: Requirements,
    framework: str,
    config: TeamConfig,
    given: dict[str, Any] | None = None,
    template: TemplateInfo | None = None,
) -> Suggestions:
    """The guide's answers for what is being built, for the template `new` renders for
    `framework`, under the team configuration's defaults and locks."""
    from stackwise.answers import Suggestions, guide_options, team_answers
    from stackwise.catalog import template_for

    template = template or template_for(framework, config)
    answers, defaults = team_answers(config, template, given or {})
    options = guide_options(requirements, template.framework, template, defaults)
    return Suggestions(options, template, answers, defaults)


def _confirm_overwrite(replaced: list[str]) -> bool:
    """On a terminal: list the files the render would replace and ask, defaulting to no."""
    from stackwise.prompt import confirm

    out.print("These files exist and would be replaced:")
    for name in replaced:
        out.print(f"  {name}", soft_wrap=True, markup=False)
    return confirm(f"Replace {len(replaced)} file(s)?")


def _uv_command() -> str:
    """`uv` when it is on PATH; otherwise the one installed with stackwise, by its full path."""
    import shutil

    from uv import find_uv_bin

    return "uv" if shutil.which("uv") else shlex.quote(find_uv_bin())


def _warn(message: str) -> None:
    print(f"stackwise: warning: {message}", file=sys.stderr)


ProjectArgument = Annotated[
    Path,
    typer.Argument(metavar="PROJECT", help="The generated project (default: this directory)."),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to", metavar="VERSION", help="Template version, e.g. v0.2.0 (default: the newest)."
    ),
]


@app.command("status")
def status_command(
    ctx: typer.Context,
    path: ProjectArgument = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show a project's template, version, answers, and the files its owner changed."""
    from stackwise.answers import typed_text
    from stackwise.lifecycle import status

    config = _team_config(ctx)
    with progress("Comparing the project with its template"):
        state = status(path.absolute(), config)
    if as_json:
        layers = [
            {
                "template": layer.source,
                "version": layer.version,
                "latest": layer.latest,
                "answers_file": layer.answers_file,
            }
            for layer in state.layers
        ]
        report = {
            "path": str(state.path),
            "template": state.template.source,
            "version": state.template.version,
            "latest": state.template.latest,
            "update_available": state.update_available,
            "layers": layers,
            "answers": state.answers,
            "changed_by_owner": list(state.changed_by_owner),
            "changes": state.changed_by_owner,
            "conflicts": state.conflicts,
            "next": state.next_step,
        }
        print(json.dumps(report, indent=2, default=str))
        return
    table = Table(title=f"{state.path}", title_justify="left", show_header=False)
    for layer in state.layers:
        newer = f" (update available: {layer.latest})" if layer.update_available else " (newest)"
        if not layer.version:
            newer = " (not versioned: tag its repository and pin `ref` to update it)"
        if state.conflicts:
            newer = " (update not finished: files in conflict)"
        table.add_row("Template", f"{layer.source} {layer.version}{newer}")
    for name, value in state.answers.items():
        table.add_row(f"  {name}", typed_text(value))
    changes = [f"{how:<8} {name}" for name, how in state.changed_by_owner.items()]
    table.add_row("Changed by you", "\n".join(changes) or "nothing")
    if state.conflicts:
        table.add_row("In conflict", "\n".join(state.conflicts))
    table.add_row("Next", state.next_step)
    out.print(table)


@app.command("diff")
def diff_command(ctx: typer.Context, path: ProjectArgument = Path(), to: ToOption = None) -> None:
    """Show what an update would change, without touching the project."""
    from stackwise.lifecycle import diff

    config = _team_config(ctx)
    with progress("Working out the update"):
        summary, patch = diff(path.absolute(), config, to)
    if _print_summary(summary, "would update"):
        print(patch)


@app.command("update")
def update_command(
    ctx: typer.Context,
    path: ProjectArgument = Path(),
    to: ToOption = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change an answer, e.g. -d celery=true (repeatable).",
            autocompletion=_complete_data,
        ),
    ] = None,
) -> None:
    """Merge template changes into a project, keeping its owner's edits."""
    from stackwise.lifecycle import update
    from stackwise.render import parse_data

    config, answers = _team_config(ctx), parse_data(data or [])
    with progress("Updating the project"):
        summary = update(path.absolute(), config, to, answers)
    if not _print_summary(summary, "Updated"):
        return
    if summary.conflicts:
        out.print(
            "Resolve the <<<<<<< markers in the files in conflict, `git add` them, then commit."
        )
        raise typer.Exit(1)
    out.print("Review with `git status` and `git diff`, then `git add --all` and commit.")


def _print_summary(summary: UpdateSummary, verb: str) -> bool:
    """The files an update changes, for `update` and `diff` alike; False when there are none."""
    if not summary.changed:
        out.print(f"Already up to date ({summary.version_before}); nothing to update.")
        return False
    out.print(f"{verb} {summary.version_before} -> {summary.version_after}")
    for label, names in (
        ("updated", summary.updated),
        ("added", summary.added),
        ("removed", summary.removed),
        ("in conflict", summary.conflicts),
        ("kept, you edited it and the new release removes it", summary.kept),
    ):
        if names or label in ("updated", "added", "removed"):
            out.print(f"  {label}: {', '.join(names) or 'none'}", soft_wrap=True)
    if summary.relock_warning:
        _warn(summary.relock_warning)
    elif summary.relocked:
        out.print("uv.lock refreshed for the changed pyproject.toml.")
    if summary.secrets_added:
        out.print(f"Added to .env with fresh values: {', '.join(summary.secrets_added)}.")
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every StackwiseError into one line on stderr."""
    try:
        Path.cwd()
    except FileNotFoundError:
        return _fail("the current directory no longer exists; cd into one that does", EXIT_USAGE)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        # Without standalone mode click hands back typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="stackwise", standalone_mode=False)
    except StackwiseError as error:
        return _fail(error.message, error.exit_code)
    except typer.Exit as done:
        if done.exit_code == Interrupted.exit_code:  # typer's word for a KeyboardInterrupt
            return _fail("interrupted; nothing was written", Interrupted.exit_code)
        return int(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C (or SIGTERM, SIGHUP) before work began
        return _fail("interrupted; nothing was written", Interrupted.exit_code)
    except typer.TyperException as error:  # bad flags: typer's own usage errors
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `stackwise` is a request for help
            print(error.format_message())
            return 0
        return _fail(error.format_message(), EXIT_USAGE)
    except OSError as error:  # the output went to a full device or a closed pipe, and the like
        return _fail(f"{error.strerror or error}: {error.filename or 'output'}", EXIT_FAILURE)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code if isinstance(code, int) else 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP (a closed terminal) clean up the way Ctrl-C does."""
    raise KeyboardInterrupt


def _fail(message: str, exit_code: int) -> int:
    print(f"stackwise: error: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
