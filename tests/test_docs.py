"""The documentation cannot drift: ODD.md is what the generator makes from the code now, every
parameter is documented with a source, and the user guide's tutorial runs as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from scorestate import docs_gen
from scorestate.cli import app
from scorestate.engine import DAY
from scorestate.errors import ScenarioError
from scorestate.scenario.load import load_scenario, scenario_from_dict
from scorestate.scenario.schema import Scenario

GUIDE = docs_gen.ROOT / "docs" / "guide.md"
runner = CliRunner()


def test_odd_md_is_what_the_generator_makes_now() -> None:
    expected = docs_gen.render(docs_gen.TEMPLATE.read_text(encoding="utf-8"))
    actual = docs_gen.OUTPUT.read_text(encoding="utf-8")
    assert actual == expected, ("docs/ODD.md differs from its template and the code; run "
                                "`python -m scorestate.docs_gen` and commit the result")


def test_every_parameter_has_a_description_and_a_source() -> None:
    assert docs_gen.undocumented() == []


def _leaf_paths(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaf_paths(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def test_the_tables_cover_every_field_of_the_schema() -> None:
    """Every value of a default scenario lies at a documented path (or inside a documented
    mapping such as `policy.scoring.points`), and every documented path is in ODD.md."""
    documented = {p.path for p in docs_gen.walk()}
    for path in _leaf_paths(Scenario().model_dump(mode="json")):
        parts = path.split(".")
        assert any(".".join(parts[:k]) in documented for k in range(1, len(parts) + 1)), path
    odd = docs_gen.OUTPUT.read_text(encoding="utf-8")
    missing = [p for p in documented if f"`{p}`" not in odd]
    assert missing == []


def test_nested_defaults_are_the_sub_models_own() -> None:
    rows = {p.path: p for p in docs_gen.walk()}
    assert rows["population.traits.conformity.mean"].default == "0.6"
    assert rows["population.traits.health.mean"].default == "0.8"
    assert rows["population.size"].allowed == "> 0, ≤ 2000000000"
    assert rows["policy.gates.<name>.action"].type == "one of 'deny', 'price'"
    assert "timeline.phases[k].day" in rows


def test_the_schedule_lists_the_days_steps_in_order_with_what_they_read_and_write() -> None:
    table = docs_gen.schedule_table().splitlines()[2:]
    names = [row.split("|")[2].strip().strip("`") for row in table]
    assert names == [name for name, _ in DAY]
    for row in table:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        if cells[2].startswith("`mechanisms."):
            assert cells[4] != "-" and cells[5] != "-", f"step {cells[1]}: its module docstring " \
                                                        "should say what it reads and writes"


def test_a_stale_odd_is_detected_and_regenerated(tmp_path: Path) -> None:
    template = tmp_path / "ODD.template.md"
    output = tmp_path / "ODD.md"
    template.write_text("# ODD\n\n" + "\n\n".join(docs_gen.MARKERS) + "\n", encoding="utf-8")
    output.write_text("stale\n", encoding="utf-8")
    args = ["--template", str(template), "--output", str(output)]
    assert docs_gen.main([*args, "--check"]) == 1
    assert output.read_text(encoding="utf-8") == "stale\n"  # --check writes nothing
    assert docs_gen.main(args) == 0
    assert docs_gen.main([*args, "--check"]) == 0
    assert "| `population.size` |" in output.read_text(encoding="utf-8")


def test_a_template_without_its_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the marker"):
        docs_gen.render("# no markers here\n")


# ---------------------------------------------------------------- the user guide


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def _yaml_files() -> dict[str, str]:
    """The guide's YAML blocks by the file name their first line gives (`# my-town.yaml: ...`)."""
    return {block.split(":", 1)[0].removeprefix("# ").strip(): block for block in _blocks("yaml")}


def _commands() -> list[str]:
    lines = [line.split("  #")[0].strip() for block in _blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line.startswith("scorestate")]


def test_the_guide_names_only_commands_that_exist() -> None:
    registered = set(get_command(app).commands)  # type: ignore[attr-defined]
    named = {shlex.split(c)[1] for c in _commands() if len(shlex.split(c)) > 1}
    named |= set(re.findall(r"`scorestate (\w+)", GUIDE.read_text(encoding="utf-8")))
    named = {n for n in named if not n.startswith("-")} - {"COMMAND"}
    assert named and named <= registered, named - registered


def test_the_guides_scenario_file_and_overrides_are_valid() -> None:
    scenario_yaml = _yaml_files()["my-town.yaml"]
    town = scenario_from_dict(yaml.safe_load(scenario_yaml), "guide's my-town.yaml")
    assert town.timeline.dismantle_day == 150 and town.policy.sharing.platform
    for command in _commands():
        overrides = [a.split("=", 1)[0] + "=" + a.split("=", 1)[1]
                     for flag, a in zip(shlex.split(command), shlex.split(command)[1:], strict=False)
                     if flag == "--set"]
        if not overrides:
            continue
        if "drift=2" in command:  # the guide's example of a mistake
            with pytest.raises(ScenarioError, match=r"policy\.scoring\.drift"):
                load_scenario("essay", overrides)
        else:
            load_scenario("essay", overrides)


def _smaller(args: list[str]) -> list[str]:
    """The tutorial's command at a test's size: the same options, fewer citizens and days."""
    small = {"-n": "300", "-d": "60"} if args[0] == "findings" else {"-n": "600", "-d": "90"}
    sizes = {**small, "-r": "2"}
    out = [sizes.get(prev, a) for prev, a in zip(["", *args], args, strict=False)]
    for flag in ("-n", "-d"):
        if args[0] in ("run", "compare") and flag not in args:
            out += [flag, sizes[flag]]
    return out


@pytest.mark.slow
def test_the_tutorial_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command and every Python block of the guide, in order, at a smaller size."""
    monkeypatch.chdir(tmp_path)
    for name, text in _yaml_files().items():  # the sweep's runs at a test's size
        text = text.replace("population: 10000", "population: 1000").replace("days: 120", "days: 60")
        (tmp_path / name).write_text(text, encoding="utf-8")
    ran = 0
    for command in _commands():
        args = shlex.split(command)[1:]
        if not args or args == ["--help"] or any(a in ("RUN_ID", "CITIZEN") for a in args):
            continue
        result = runner.invoke(app, _smaller(args))
        expected = 2 if "drift=2" in command else 0
        assert result.exit_code == expected, f"{command}\n{result.output}"
        ran += 1
    assert ran >= 8
    listed = runner.invoke(app, ["runs", "--store", "tutorial.duckdb", "--json"])
    run_id = re.findall(r'"run_id": "([^"]+)"', listed.output)[-1]
    explained = runner.invoke(app, ["explain", run_id, "0", "--store", "tutorial.duckdb"])
    assert explained.exit_code == 0, explained.output
    report = runner.invoke(app, ["report", run_id, "--store", "tutorial.duckdb", "-o", "r.html"])
    assert report.exit_code == 0 and (tmp_path / "r.html").stat().st_size > 0, report.output
    code = "\n".join(_blocks("python")).replace("population=20_000, days=200", "population=1_500, days=90")
    done = subprocess.run([sys.executable, "-"], input=code, text=True, capture_output=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_the_documents_that_code_and_docs_cite_are_shipped() -> None:
    """Parameters and docstrings cite MODEL.md and REFERENCES.md as their sources; a reader must
    be able to open them, and a Markdown link between the docs must lead somewhere."""
    root = docs_gen.ROOT
    docs = root / "docs"
    cited: set[str] = set()
    for path in [*root.glob("src/scorestate/**/*.py"), *root.glob("src/scorestate/**/*.yaml"),
                 *docs.glob("*.md"), root / "README.md"]:
        cited |= set(re.findall(r"\b(MODEL|REFERENCES)\.md\b", path.read_text(encoding="utf-8")))
    assert cited == {"MODEL", "REFERENCES"}
    for name in cited:
        assert (docs / f"{name}.md").is_file(), f"docs/{name}.md is cited but missing"
    for page in [*docs.glob("*.md"), root / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
