"""The dashboard's page: pick a preset, move the policy's knobs, watch the society change.

Served by `scorestate dashboard` (or `solara run scorestate.dashboard.app`). The sidebar holds
the society (preset, citizens, days, seed) and policy A's knobs; the tabs show the society under
A, one citizen's file, and A against a policy B on the same citizens.
"""

from __future__ import annotations

import contextlib
import functools

import solara

from scorestate.dashboard import knobs, runs, state
from scorestate.dashboard.limits import MIN_POPULATION
from scorestate.dashboard.tab_citizen import CitizenTab
from scorestate.dashboard.tab_compare import CompareTab
from scorestate.dashboard.tab_society import SocietyTab
from scorestate.dashboard.widgets import Caption, Heading, Knob, NumberField
from scorestate.scenario.load import load_scenario, preset_names

# Reacton reads pandas from sys.modules while it renders; a run imports pandas (the store does),
# and a page rendered in another session meanwhile met a half-imported module and failed. Imported
# here, when the server starts, it is whole before any session begins.
with contextlib.suppress(ImportError):
    import pandas  # noqa: F401

TITLE = "scorestate: a social-scoring regime on synthetic citizens"
VIEWS = {"The society": SocietyTab, "A citizen": CitizenTab, "Compare two policies": CompareTab}
view = solara.reactive(next(iter(VIEWS)))


@functools.cache
def description(preset: str) -> str:
    """The preset's one line, as `scorestate scenarios` lists it."""
    return load_scenario(preset).description


def warm_up(preset: str) -> str:
    """What a preset's warm-up leaves of the bounds, for the sidebar's caption ('' without one)."""
    warm = runs.warm_up_days(preset)
    if not warm:
        return ""
    days, most = state.warm_up_room(preset)
    room = (f"up to {most:,} of its citizens for {days:,} days" if most >= MIN_POPULATION
            else f"not even {MIN_POPULATION:,} of its citizens for {days:,} days")
    return f" {preset} lives {warm:,} days of warm-up before day 0, which count too: {room}."


@solara.component
def Sidebar() -> None:
    limits = state.LIMITS
    Heading("The society", 3)
    solara.Select("Preset", preset_names(), value=state.preset.value, on_value=state.choose_preset,
                  classes=["preset"])
    Caption(description(state.preset.value), classes=["preset-description"])
    found = state.field_problems()
    for field, (text, _) in state.FIELDS.items():
        NumberField(field, text.value, lambda t, f=field: state.type_number(f, t), found[field])
    Caption(f"This server runs from {MIN_POPULATION:,} to {limits.max_population:,} citizens for up to "
            f"{limits.max_days:,} days, {limits.max_runs} simulation{'s' * (limits.max_runs > 1)} at a "
            "time." + warm_up(state.preset.value), small=True, classes=["bounds"])
    shipped = knobs.preset_values(state.preset.value)
    values = state.knobs_a.value
    with solara.Row(style={"align-items": "center", "justify-content": "space-between"}):
        Heading("Policy A: the knobs", 3)
        solara.Button("Reset", text=True, small=True,
                      on_click=lambda: state.knobs_a.set(knobs.preset_values(state.preset.value)))
    Caption("Each knob starts at the preset's value; a knob you move holds from day 0 to the last "
            "day, through every phase of the preset.", small=True)
    for knob in knobs.KNOBS:
        Knob(knob, values[knob.key], shipped[knob.key],
             lambda v, k=knob.key: state.set_knob(state.knobs_a, k, v))


@solara.component
def Layout(children: list[solara.Element] | None = None) -> None:
    """The page as it is: Solara's default frame (app bar and drawer) needs Vuetify 2."""
    solara.Div(children=children or [], style={"font-family": "Roboto, 'DejaVu Sans', sans-serif"})


@solara.component
def Page() -> None:
    solara.Title("scorestate dashboard")
    solara.Div(children=[TITLE], classes=["app-title"], style={
        "background": "#1f4e79", "color": "white", "padding": "10px 20px", "font-size": "1.2rem",
        "font-weight": "500"})
    with solara.Row(style={"align-items": "flex-start", "gap": "0", "flex-wrap": "nowrap"}):
        with solara.Div(classes=["controls"], style={
                "width": "370px", "min-width": "370px", "padding": "0 16px 16px 16px",
                "border-right": "1px solid #ddd", "position": "sticky", "top": "0",
                "height": "100vh", "overflow-y": "auto", "box-sizing": "border-box"}):
            Sidebar()
        with solara.Div(classes=["main"], style={"flex": "1 1 auto", "min-width": "0",
                                                 "padding": "12px 24px"}):
            # toggle buttons rather than solara.lab.Tabs, which needs Vuetify 2 (ipyvuetify < 3)
            solara.ToggleButtonsSingle(value=view, values=list(VIEWS), classes=["views"],
                                       style={"margin-bottom": "12px"})
            VIEWS[view.value]()
