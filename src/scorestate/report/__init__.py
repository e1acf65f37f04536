"""The HTML report of a stored run: plots a reader would rather look at than read.

    from scorestate.report import write_report
    write_report(ss.open_run(run_id, store="runs.duckdb"), "report.html")
"""

from scorestate.report.page import render, write_report

__all__ = ["render", "write_report"]
