"""`rasa-handover report`'s HTML page: one self-contained file.

The plots are drawn with matplotlib (a Rasa dependency) on its Agg canvas, no
pyplot state, and embedded as base64 PNG images, so the page opens anywhere,
offline, and can be mailed. Every plot has its table of figures next to it
(`report.figures`' document, nothing recomputed here).
"""

import base64
import hashlib
import html
import io
from typing import Any, Dict, List, Optional, Sequence, Tuple

TITLE = "Handover report"
# Figure size in inches (at `DPI`).
SIZE = (6.4, 3.2)
DPI = 100
STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #1f2933;
       max-width: 1400px; }
h1 { margin-bottom: 4px; } .meta { color: #52606d; margin-top: 0; }
.cards { display: grid; gap: 16px;
         grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); }
section { border: 1px solid #d9e2ec; border-radius: 8px; padding: 12px 16px; }
h2 { font-size: 1.1em; margin: 0 0 8px; } img { max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9em; margin-top: 8px; }
td, th { border-bottom: 1px solid #e4e7eb; padding: 2px 10px 2px 0; text-align: left; }
.empty { color: #7b8794; }
"""
# The page's one inline style as a Content-Security-Policy hash source. The
# agent page opens the report in a tab that inherits its policy (a blob: URL),
# and that policy allows this style, and no other inline one, by its hash.
STYLE_CSP_SOURCE = (
    "'sha256-"
    + base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode()
    + "'"
)


def render(document: Dict[str, Any]) -> str:
    """The page for a `report.figures` document."""
    period = document["period"]
    sections = [
        _section(
            "Handovers per day, by reason",
            _per_day_plot(document["per_day"]),
            ["date", "handovers"],
            [(d["date"], d["handovers"]) for d in document["per_day"]],
        ),
        _section(
            "Handovers by intent",
            _barh(
                [(r["intent"], r["handovers"]) for r in document["by_intent"][:12]],
                "handovers",
            ),
            ["intent", "handovers", "share"],
            [
                (r["intent"], r["handovers"], _pct(r["share"]))
                for r in document["by_intent"]
            ],
        ),
        _section(
            "Precision per trigger (needed or late, of labelled)",
            _precision_plot(document["precision"]),
            ["reason", "labelled", "needed", "late", "not needed", "precision"],
            [
                (
                    r["reason"],
                    r["labelled"],
                    r["needed"],
                    r["late"],
                    r["not_needed"],
                    _pct(r["precision"]),
                )
                for r in document["precision"]
            ],
        ),
        _section(
            "Late escalations, by reason",
            _barh(
                [(r["reason"], r["handovers"]) for r in document["late"]["by_reason"]],
                "late handovers",
            ),
            ["reason", "late"],
            [(r["reason"], r["handovers"]) for r in document["late"]["by_reason"]],
        ),
        *(
            _section(
                f"Time to {name} by {group} (minutes)",
                _timing_plot(document[name][f"by_{group}"]),
                [group, "count", "median", "p90"],
                [
                    (
                        r["group"],
                        r["count"],
                        _minutes(r["median_seconds"]),
                        _minutes(r["p90_seconds"]),
                    )
                    for r in document[name][f"by_{group}"]
                ],
            )
            for name in ("pickup", "resolution")
            for group in ("team", "tier")
        ),
        _section(
            "CSAT by reason (mean, 1-5)",
            _barh(
                [(r["reason"], r["mean"]) for r in document["csat"]["by_reason"]],
                "mean score",
                limit=5,
            ),
            ["reason", "answers", "mean", "1", "2", "3", "4", "5"],
            [
                (r["reason"], r["answers"], r["mean"], *r["scores"].values())
                for r in document["csat"]["by_reason"]
            ],
        ),
        _section(
            "Agents' load",
            _barh(
                [(r["agent"], r["handled"]) for r in document["agents"]],
                "tickets handled",
            ),
            ["agent", "handled", "resolved", "open", "median resolution", "CSAT"],
            [
                (
                    r["agent"],
                    r["handled"],
                    r["resolved"],
                    r["open"],
                    _minutes(r["median_resolution_seconds"]),
                    r["csat_mean"],
                )
                for r in document["agents"]
            ],
        ),
    ]
    meta = (
        f"{document['handovers']} handovers from {period['from']} to {period['to']}: "
        f"{document['resolved']} resolved, {document['labelled']} labelled, "
        f"{document['late']['count']} late, {document['csat']['answers']} CSAT answers."
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{TITLE}</title><style>{STYLE}</style></head><body>"
        f"<h1>{TITLE}</h1><p class='meta'>{html.escape(meta)}</p>"
        f"<div class='cards'>{''.join(sections)}</div></body></html>\n"
    )


def _section(
    title: str,
    image: Optional[str],
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> str:
    if not rows:
        body = "<p class='empty'>No data yet.</p>"
    else:
        picture = f"<img alt='{html.escape(title)}' src='{image}'>" if image else ""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        lines = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        body = f"{picture}<table><tr>{head}</tr>{lines}</table>"
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.0%}"


def _minutes(seconds: Optional[float]) -> Optional[str]:
    return None if seconds is None else f"{seconds / 60:.1f}"


# --- The plots (matplotlib's Agg canvas, no pyplot). ---------------------------------


def _figure() -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI)
    return figure, figure.add_subplot()


def _png(figure: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _per_day_plot(days: List[Dict[str, Any]]) -> Optional[str]:
    if not days:
        return None
    figure, axes = _figure()
    reasons = sorted({reason for day in days for reason in day["by_reason"]})
    bottoms = [0] * len(days)
    labels = [day["date"][5:] for day in days]
    for reason in reasons:
        counts = [day["by_reason"].get(reason, 0) for day in days]
        axes.bar(labels, counts, bottom=bottoms, label=reason)
        bottoms = [b + c for b, c in zip(bottoms, counts)]
    axes.set_ylabel("handovers")
    axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelrotation=45, labelsize="small")
    return _png(figure)


def _barh(
    items: Sequence[Tuple[str, Optional[float]]], label: str, limit: float = 0
) -> Optional[str]:
    items = [(name, value) for name, value in items if value is not None]
    if not items:
        return None
    figure, axes = _figure()
    names = [name for name, _ in reversed(items)]
    values = [float(value or 0) for _, value in reversed(items)]
    axes.barh(names, values, color="#2f80ed")
    axes.set_xlabel(label)
    if limit:
        axes.set_xlim(0, limit)
    for y, value in enumerate(values):
        axes.text(value, y, f" {value:g}", va="center", fontsize="small")
    return _png(figure)


def _precision_plot(rows: List[Dict[str, Any]]) -> Optional[str]:
    if not rows:
        return None
    figure, axes = _figure()
    names = [row["reason"] for row in rows]
    axes.bar(names, [row["precision"] for row in rows], color="#27ae60")
    axes.set_ylim(0, 1.2)  # room for the labels above 100%
    axes.set_ylabel("precision")
    for x, row in enumerate(rows):
        axes.text(
            x, row["precision"], f"{row['precision']:.0%}\nof {row['labelled']}",
            ha="center", va="bottom", fontsize="small",
        )  # fmt: skip
    axes.tick_params(axis="x", labelsize="small")
    return _png(figure)


def _timing_plot(rows: List[Dict[str, Any]]) -> Optional[str]:
    if not rows:
        return None
    figure, axes = _figure()
    positions = range(len(rows))
    width = 0.38
    medians = [(row["median_seconds"] or 0) / 60 for row in rows]
    p90s = [(row["p90_seconds"] or 0) / 60 for row in rows]
    axes.bar([p - width / 2 for p in positions], medians, width, label="median")
    axes.bar([p + width / 2 for p in positions], p90s, width, label="p90")
    axes.set_xticks(list(positions), [row["group"] for row in rows])
    axes.set_ylabel("minutes")
    axes.legend(fontsize="small")
    return _png(figure)
