"""`scorestate scenarios`: the shipped presets, or one scenario with every parameter."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from scorestate.cli import SetOpt, app, friendly, once, out
from scorestate.errors import ScorestateError


@app.command()
@friendly
def scenarios(show: Annotated[str | None, typer.Option("--show", help="Print the fully resolved "
                                                       "scenario NAME (a preset or a file).")] = None,
              set_: SetOpt = None) -> None:
    """List the shipped presets, or show one resolved scenario with every parameter."""
    from scorestate.engine import Simulation
    from scorestate.scenario.load import load_scenario, preset_names, resolved_yaml

    if show is None:
        if set_:
            raise ScorestateError(f"--set {set_[0]} needs --show NAME: overrides change the one "
                                  "scenario that --show prints, not the list of presets")
        table = Table(title="presets (scorestate scenarios --show NAME prints every parameter)")
        table.add_column("name")
        table.add_column("description")
        for name in preset_names():
            table.add_row(name, load_scenario(name).description)
        out.print(table)
        return
    resolved = load_scenario(show, once("--set", set_))
    sys.stdout.write(f"# {resolved.name}: every parameter at its dotted path "
                     f"(override with --set PATH=VALUE)\n")
    sys.stdout.write("# the day's steps, in order: " + ", ".join(Simulation.plan()) + "\n")
    sys.stdout.write(resolved_yaml(resolved))
