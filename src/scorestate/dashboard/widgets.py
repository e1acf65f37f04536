"""Small pieces the page is built from: captions, tables, figures, knobs, a task's progress.

All of them are Solara's (and its Vuetify) components with text children: nothing a visitor
types is ever rendered as HTML, and figures are SVG images, which cannot run or fetch anything.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import solara
import solara.lab

from scorestate.dashboard import knobs
from scorestate.report.figures import Panel

ACCENT = "#1f4e79"  # the report's colour of run A
CAPTION = {"font-size": "0.8rem", "color": "#555", "line-height": "1.3"}
SMALL = {"font-size": "0.72rem", "color": "#777", "line-height": "1.25"}


CODE = "font-family: 'DejaVu Sans Mono', monospace; font-size: 0.95em; background: #f1f1f1; padding: 0 2px"


def inline_code(text: str) -> list[Any]:
    """A caption's text with its `code` spans (the report's Markdown) set as code, not backticks."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: not Markdown, shown as written
        return [text]
    return [solara.v.Html(tag="code", children=[part], style_=CODE) if k % 2 else part
            for k, part in enumerate(parts) if part]


@solara.component
def Caption(text: str, small: bool = False, classes: list[str] | None = None) -> None:
    solara.Div(children=inline_code(text), style=SMALL if small else CAPTION, classes=classes or [])


NOTE_COLORS = {"info": "#1f4e79", "warning": "#b26a00", "error": "#b00020"}


@solara.component
def Note(text: str, kind: str = "info", classes: list[str] | None = None) -> None:
    """A message box. Solara's Info, Warning and Error need Vuetify 2 (ipyvuetify < 3); this
    renders the same under either."""
    color = NOTE_COLORS[kind]
    solara.Div(children=[text], classes=["note", f"note-{kind}", *(classes or [])], style={
        "border-left": f"4px solid {color}", "background": f"{color}10", "color": "#222",
        "padding": "6px 10px", "margin": "6px 0", "font-size": "0.9rem", "border-radius": "2px"})


@solara.component
def Heading(text: str, level: int = 3, classes: list[str] | None = None) -> None:
    solara.v.Html(tag=f"h{level}", children=[text], class_=" ".join(classes or []),
                  style_="margin: 0.6em 0 0.3em 0")


TABLE = {"border-collapse": "collapse", "font-size": "0.85rem", "width": "100%"}
CELL = "padding: 2px 10px 2px 0; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top"
HEAD = CELL + "; font-weight: 600; position: sticky; top: 0; background: white"


@solara.component
def Table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          row_classes: Sequence[str] | None = None, cell_classes: Sequence[str] | None = None,
          classes: list[str] | None = None, max_height: str = "26em") -> None:
    """A plain table whose rows and cells carry classes (what a reader or a test looks for),
    scrolling past `max_height`. Plain HTML elements, so it reads the same under Vuetify 2 and 3."""
    html = solara.v.Html
    head = html(tag="thead", children=[html(tag="tr", children=[
        html(tag="th", children=[h], style_=HEAD) for h in headers])])
    body = []
    for k, row in enumerate(rows):
        cells = [html(tag="td", children=[str(c)], style_=CELL,
                      class_=cell_classes[j] if cell_classes else "") for j, c in enumerate(row)]
        body.append(html(tag="tr", children=cells, class_=row_classes[k] if row_classes else ""))
    table = html(tag="table", children=[head, html(tag="tbody", children=body)],
                 style_="; ".join(f"{k}: {v}" for k, v in TABLE.items()))
    solara.Div(children=[table], classes=classes or [],
               style={"max-height": max_height, "overflow-y": "auto", "margin-bottom": "0.8em"})


@solara.component
def Figure(panel: Panel, caption: bool = True) -> None:
    """One of the report's figures: its title, the SVG as an image, how to read it, and the
    small table the report prints under it."""
    with solara.Div(classes=[f"figure-{panel.id}"], style={"margin-bottom": "1.2em"}):
        if panel.title:
            Heading(panel.title, 4)
        if panel.svg:  # an <img> of its own rather than solara.Image, which gives no alt text
            solara.v.Html(tag="img", attributes={"src": svg_url(panel.svg), "alt": alt_text(panel)},
                          style_="width: 100%")
        if caption and panel.caption:
            Caption(panel.caption)
        if panel.svg and panel.table:
            Table(panel.table[0], panel.table[1:], classes=[f"table-{panel.id}"])


def svg_url(svg: str) -> str:
    """An SVG figure as a data: URL, which an <img> shows without fetching anything."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def alt_text(panel: Panel) -> str:
    """What a figure is, for a reader who cannot see it (how to read it is the caption under it)."""
    return f"Figure: {panel.title or panel.id.replace('-', ' ')}"


@solara.component
def Headline(value: str, label: str, column: str) -> None:
    """One of the last day's numbers; the metric's column is a class, for tests, not shown."""
    with solara.Card(classes=["headline", f"headline-{column}"],
                     style={"min-width": "11em", "flex": "1 1 11em", "margin": "4px"}):
        solara.Div(children=[value], classes=["headline-value"],
                   style={"font-size": "1.6rem", "font-weight": "600", "color": "#1f4e79"})
        Caption(label)


@solara.component
def Progress(task: Any, status: str, what: str) -> None:
    """A running task: its bar, what it is doing (day X of D, or waiting its turn), and Stop."""
    if not task.pending:
        return
    with solara.Div(classes=["progress"]):
        value = task.progress
        known = isinstance(value, int | float) and value > 0
        # model_value, not solara.ProgressLinear's value: Vuetify 3 reads the fraction from it
        solara.v.ProgressLinear(model_value=value if known else None, indeterminate=not known,
                                color=ACCENT, height=6, class_="progress-bar")
        with solara.Row(style={"align-items": "center"}):
            solara.Text(status or f"starting {what}", classes=["status"])
            solara.Button("Stop", on_click=task.cancel, text=True, small=True)


@solara.component
def Knob(knob: knobs.Knob, value: knobs.Value, shipped: knobs.Value,
         on_value: Callable[[knobs.Value], None]) -> None:
    """One knob: the widget, what it means, the preset's value, the fields it sets and their source."""
    moved = knobs.moved_one(knob, value, shipped)
    with solara.Div(classes=["knob", f"knob-{knob.key}"], style={"margin-bottom": "0.9em"}):
        if knob.kind == "switch":
            solara.Switch(label=f"{knob.label}: {knob.show(value)}", value=bool(value),
                          on_value=on_value, color=ACCENT)
        else:  # the label above the slider: beside it, Vuetify 3 leaves the track a stub
            solara.Div(children=[f"{knob.label}: {knob.show(value)}"], classes=["knob-label"],
                       style={"font-size": "0.95rem", "margin-bottom": "-6px"})
            if knob.kind == "int":
                solara.SliderInt("", value=int(value), min=int(knob.low), max=int(knob.high),
                                 step=int(knob.step), on_value=on_value, thumb_label=False)
            else:
                solara.SliderFloat("", value=float(value), min=knob.low, max=knob.high,
                                   step=knob.step, on_value=on_value, thumb_label=False)
        Caption(knob.meaning)
        preset = f"preset: {knob.show(shipped)}"
        Caption(preset + (" · moved: this value holds from day 0 to the last day" if moved else ""),
                small=True, classes=["moved"] if moved else [])
        Caption(knobs.provenance(knob), small=True)


@solara.component
def NumberField(label: str, text: str, on_text: Callable[[str], None], problems: Sequence[str],
                note_class: str = "bound-refused", style: dict[str, str] | None = None) -> None:
    """A whole-number field and, under it, what is wrong with what it holds. A text field, not
    solara.InputInt, whose complaint hides in its label while the last valid number stays in use;
    updated as it is typed, so the button it feeds is off the moment the text is wrong."""
    with solara.Div(classes=["number-field"], style=style or {}):
        solara.InputText(label, value=text, on_value=on_text, continuous_update=True, error=bool(problems))
        for problem in problems:
            Note(kind="error", text=problem, classes=[note_class])


@solara.component
def TaskOutcome(task: Any, what: str) -> None:
    """Why a task left nothing to show: stopped, or its one readable error."""
    done = task.value
    if task.cancelled or (task.finished and done is not None and done.error == "stopped"):
        Note(f"The {what} was stopped.")
    elif task.finished and done is not None and done.error:
        Note(kind="error", text=done.error, classes=["request-error"])
    elif task.error:
        Note(kind="error", text=f"The {what} failed unexpectedly; the server's log has the details.",
             classes=["request-error"])
