"""`scorestate run`: simulate a scenario, land it in the store, print what it did."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from scorestate import interrupts
from scorestate.cli import (
    DaysOpt,
    JsonOpt,
    PopulationOpt,
    SeedOpt,
    SetOpt,
    StoreOpt,
    app,
    err,
    friendly,
    once,
    out,
    plural,
    progress,
    store_flag,
    warm_up,
    warn_undone,
    who,
)
from scorestate.errors import ScorestateError
from scorestate.store import DEFAULT_STORE

CheckpointOpt = Annotated[int | None, typer.Option(
    "--checkpoint-every", metavar="DAYS", min=1,
    help="Save a checkpoint every DAYS days with the run's ledger, so that a run killed or "
    "interrupted before it is stored can be resumed (--resume) to the same results.")]
ResumeOpt = Annotated[str | None, typer.Option(
    "--resume", metavar="RUN", help="Go on with a checkpointed run that stopped before it was "
    "stored, from its last checkpoint (its id, a unique prefix of it or its last six "
    "characters, as the interruption message and `scorestate runs` give it).")]
# no default in the signature, so that --resume can tell an explicit `essay` from none
OptionalScenarioArg = Annotated[str | None, typer.Argument(
    metavar="SCENARIO", show_default=False,
    help="A preset name or a YAML scenario file (default: essay).")]


@app.command()
@friendly(stopped="the run was not stored")
def run(scenario: OptionalScenarioArg = None, population: PopulationOpt = None, days: DaysOpt = None,
        seed: SeedOpt = None, store: StoreOpt = DEFAULT_STORE, set_: SetOpt = None,
        as_json: JsonOpt = False, checkpoint_every: CheckpointOpt = None,
        resume: ResumeOpt = None) -> None:
    """Simulate a scenario and land the run in the store."""
    from scorestate import api
    from scorestate.scenario.load import load_scenario
    from scorestate.store import Store, new_run_id, unstored_checkpoint

    if resume is not None:
        given = [name for name, value in (("SCENARIO", scenario), ("-n", population),
                                          ("-d", days), ("-s", seed), ("--set", set_),
                                          ("--checkpoint-every", checkpoint_every))
                 if value is not None]
        if given:
            raise ScorestateError(f"--resume goes on with the run as it was started; "
                                  f"{', '.join(given)} cannot change it; expected --resume RUN "
                                  "with --store alone (and --json)")
        resolved = None
        with Store(store, create=False) as catalogue:  # a prefix or suffix: the id in full
            run_id = api.stopped_run_id(catalogue, resume)
            total = _days_of(unstored_checkpoint(store, run_id))
    else:
        resolved = load_scenario(scenario or "essay", once("--set", set_), population=population,
                                 days=days, seed=seed)
        api.check_store(store)  # fail fast on a bad store (waiting for one in use), before any citizen
        run_id = new_run_id()
        total = resolved.run.days
        warm = resolved.run.warm_up_days  # the bar runs through the warm-up's days first
        if checkpoint_every is not None and checkpoint_every >= total:
            only = ("only the one on day 0, after the warm-up, is written" if warm
                    else "none is written")
            err.print(f"scorestate: note: --checkpoint-every {checkpoint_every}: the run's "
                      f"{plural(total, 'day')} end before a first checkpoint, so {only}",
                      markup=False, highlight=False, soft_wrap=True)
    interrupts.finish_once_stored()
    try:
        with progress("days") as bar:
            task = bar.add_task(f"resuming {run_id}" if resolved is None else
                                f"{resolved.name}: {who(resolved)}", total=total)
            if resolved is None:
                result = api.resume_run(run_id, store=store, progress=lambda d: bar.update(
                    task, completed=d))
            else:
                bar.update(task, total=warm + total)
                result = api.run(resolved, store=store, checkpoint_every=checkpoint_every,
                                 run_id=run_id, progress=lambda d: bar.update(task, completed=warm + d))
    except (KeyboardInterrupt, SystemError) as e:
        if not interrupts.was_interrupt(e):
            raise
        with interrupts.ignoring():  # a second Ctrl-C: the message still comes
            if not _resumable(store, run_id):
                raise
            err.print(f"scorestate: interrupted; the run was not stored; go on from its last "
                      f"checkpoint with: scorestate run --resume {run_id}{store_flag(store)}",
                      markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
    _print_result(result, store, as_json)
    if interrupts.came_after_store():  # Ctrl-C no longer stops it: say why it went on
        err.print(f"scorestate: note: Ctrl-C came once run {result.run_id} was being stored in "
                  f"{store}; it is stored whole, so the command finished (exit status 0)",
                  markup=False, highlight=False, soft_wrap=True)


def _print_result(result: Any, store: Path, as_json: bool) -> None:
    """What the stored run did: one JSON object on stdout, or the summary."""
    resolved = result.scenario
    warn_undone(resolved)  # after the run: an error is then the only message
    if as_json:
        payload = {"run_id": result.run_id, "scenario": resolved.name,
                   "population": result.population, "days": result.days,
                   "seed": resolved.run.seed, "elapsed_s": round(result.elapsed_s, 4),
                   "citizen_days_per_s": round(result.citizen_days_per_s, 1),
                   "final": result.final}
        sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
        return
    print_summary(result, store)


def _days_of(path: Path) -> int | None:
    """The days of the run a checkpoint belongs to, for the progress bar (None if unknown:
    resuming then says what is wrong with it)."""
    from scorestate import checkpoint

    try:
        days = checkpoint.note(path).get("days")
    except ScorestateError:
        return None
    return days if isinstance(days, int) else None


def _resumable(store: Path, run_id: str) -> bool:
    """Whether the run stopped after a checkpoint: read from its folder, without opening the
    store (which another process may hold, and which takes a moment a second Ctrl-C would cut)."""
    from scorestate.store import unstored_checkpoint

    try:
        return unstored_checkpoint(store, run_id).is_file()
    except OSError:
        return False


# Daily counts summed over a run are counts of events, not of people.
TOTAL_LABELS = {"innocent_penalised": "innocent citizen-days penalised",
                "misattributions": "of which acts pinned on another (once per actor a day)",
                "officials_spared": "sanctions softened or waived for officials",
                "appeals_delisted": "of which took the citizen off the list"}
GLOSSARY = ("latent: what the same citizens would have done without the incentives · p10: the "
            "score a tenth of citizens are below · assortativity: how alike the scores of tied "
            "citizens are (-1 to 1) · degree: number of ties · components: separate pieces of "
            "the network")


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.2f}%" if pct else f"{value:,.3f}"


def _pair(f: dict[str, float | None], a: str, b: str) -> str:
    return f"{_fmt(f[a], True)} / {_fmt(f[b], True)}"


def print_summary(result: Any, store: Path) -> None:
    """The readable summary of a run: what the system did to this society."""
    m: pl.DataFrame = result.metrics
    f = result.final
    last = m.row(-1, named=True)
    head = Table(title=f"{result.scenario.name}: {plural(result.population, 'citizen')}, "
                       f"{plural(result.days, 'day')}{warm_up(result.scenario)}, seed {result.seed}",
                 show_header=True,
                 caption=GLOSSARY, caption_justify="left")
    head.add_column("on the last day")
    head.add_column("value", justify="right")
    rows = [
        ("blacklisted", _fmt(f["blacklist_share"], True)),
        ("  of them no act the rules name, so far", _fmt(f["innocent_blacklisted_share"], True)),
        ("wallets frozen", _fmt(f["wallet_frozen_share"], True)),
        ("denied a service today", _fmt(f["denied_share"], True)),
        ("dissent expressed / latent", _pair(f, "dissent_rate", "dissent_latent_rate")),
        ("alcohol bought / latent", _pair(f, "alcohol_rate", "alcohol_latent_rate")),
        ("health compliance", _fmt(f["health_compliance_rate"], True)),
        ("approval of the system", _fmt(f["approval_mean"], True)),
        ("perceived detection", _fmt(f["perceived_mean"], True)),
        ("false attributions among penalties", _fmt(f["false_attribution_share"], True)),
        ("score mean / p10", f"{last['score_mean']:,.1f} / {last['score_p10']:,.1f}"),
        ("score assortativity over ties", _fmt(f["score_assortativity"])),
        ("ties across tiers", _fmt(f["cross_tier_tie_share"], True)),
        ("degree of the blacklisted / mean", _fmt(f["blacklisted_degree_ratio"])),
        ("network components", f"{int(last['components']):,}"),
    ]
    for label, value in rows:
        head.add_row(label, value)
    out.print(head)

    totals = Table(title="over the whole run")
    totals.add_column("what")
    totals.add_column("count", justify="right")
    for prefix in ("blacklist_inflow_", "denied_"):
        for col in m.columns:
            total = m[col].sum() if col.startswith(prefix) and col != "denied_share" else 0
            if total:
                label = col.replace("blacklist_inflow_", "blacklist entries: ").replace("_", " ")
                totals.add_row(label, f"{int(total):,}")
        if prefix == "blacklist_inflow_":
            totals.add_row("blacklist exits", f"{int(m['blacklist_outflow'].sum()):,}")
            totals.add_row("blacklist terms extended (a reason still held)",
                           f"{int(m['blacklist_extended'].sum()):,}")
    for col in ("false_attributions", "misattributions", "innocent_penalised", "appeals_upheld",
                "appeals_delisted", "officials_spared", "ties_dropped", "ties_made"):
        totals.add_row(TOTAL_LABELS.get(col, col.replace("_", " ")), f"{int(m[col].sum()):,}")
    out.print(totals)

    groups = result.group_metrics.filter(pl.col("day") == result.days - 1)
    by = Table(title="by group, last day")  # fits 80 columns: no cell wraps
    for col in ("grouping", "group", "approval", "listed", "dissent/latent", "denied"):
        by.add_column(col, justify="left" if col in ("grouping", "group") else "right", no_wrap=True)
    for row in groups.iter_rows(named=True):
        by.add_row(row["grouping"].replace("income_quintile", "income"), row["group"],
                   _fmt(row["approval_mean"], True), _fmt(row["blacklist_share"], True),
                   f"{_fmt(row['dissent_rate'], True)}/{_fmt(row['dissent_latent_rate'], True)}",
                   _fmt(row["denied_share"], True))
    out.print(by)
    out.print(f"run [bold]{result.run_id}[/bold] stored in {store} "
              f"({result.elapsed_s:.1f} s, {result.citizen_days_per_s:,.0f} citizen-days/s)")
    where = store_flag(store)
    out.print(f"next: scorestate report {result.run_id}{where} (the figures, as HTML) · "
              f"scorestate explain {result.run_id}{where} (whose files to open)",
              markup=False, highlight=False)
