"""Pictures and tables of a plan for people: the HTML page, notebook displays, ``draw``.

Imports ``plan`` and ``drawing`` (the SVG; its names are re-exported here).
Everything but :func:`draw` (whose Plan reads storage) is pure: plain data in,
text out.  No I/O, no network: a page is one self-contained HTML file (inline
SVG and styles given as attributes, so it also reads where a notebook viewer
strips ``<style>``), and a person opens it in any browser.  The picture always
fits what holds it: on a page, the window (scaled down to its width and
height, with a small inline script for pan and zoom that the fit does not
need); in a notebook, the cell's width.  It is never drawn larger than its
natural size.
"""

from __future__ import annotations

from .drawing import STATUSES, _TEXT, _e, layout, plan_data, svg
from .plan import Plan

__all__ = ["STATUSES", "plan_data", "layout", "svg", "page", "fragment", "Drawing", "draw",
           "graph_html", "why_html", "result_html"]


def _legend(nodes: list[dict]) -> str:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n["status"]] = counts.get(n["status"], 0) + 1
    items = []
    for status, (label, fill, stroke, dashed) in STATUSES.items():
        if status in counts:
            border = "dashed" if dashed else "solid"
            items.append(f'<span class="dfv-legend-item dfv-{status}" style="display:inline-block;'
                         f'margin:0 12px 4px 0;padding:1px 8px;background:{fill};border:1.5px {border} '
                         f'{stroke};border-radius:4px;color:{_TEXT}">{_e(label)}: {counts[status]}</span>')
    return f'<div class="dfv-legend" style="font:13px sans-serif;margin:6px 0">{"".join(items)}</div>'


def _reasons_table(nodes: list[dict]) -> str:
    rows = []
    for n in reversed(nodes):  # targets first, as preview and why read
        label, fill, stroke, _ = STATUSES[n["status"]]
        why = "".join(f"<li>{_e(r['message'])}</li>" for r in n["reasons"])
        rows.append(f'<tr class="dfv-row dfv-{n["status"]}"><td style="padding:3px 8px;font-family:monospace">'
                    f'{_e(n["task"])}</td><td style="padding:3px 8px"><span style="background:{fill};'
                    f'border:1px solid {stroke};border-radius:3px;padding:0 6px;color:{_TEXT}">{_e(label)}</span>'
                    f'</td><td style="padding:3px 8px"><ul style="margin:0;padding-left:1.2em">{why}</ul></td></tr>')
    return ('<table class="dfv-table" style="border-collapse:collapse;font:13px sans-serif;text-align:left">'
            '<thead><tr><th style="padding:3px 8px">task</th><th style="padding:3px 8px">status</th>'
            f'<th style="padding:3px 8px">why</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _summary(nodes: list[dict]) -> str:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n["status"]] = counts.get(n["status"], 0) + 1
    parts = [f"{counts[s]} {STATUSES[s][0]}" for s in STATUSES if s in counts]
    return f"{len(nodes)} task{'s' if len(nodes) != 1 else ''}: " + ", ".join(parts)


def fragment(nodes: list[dict], table: bool = True) -> str:
    """The picture for a notebook cell: legend, SVG (scaled to the cell's width) and the reasons table."""
    parts = ['<div class="dfv" style="color:#1a1a1a;background:#fff;padding:6px">',
             f'<div class="dfv-summary" style="font:bold 13px sans-serif">daskflow: {_e(_summary(nodes))}</div>',
             _legend(nodes), svg(nodes)]
    if table:
        parts.append(_reasons_table(nodes))
    parts.append("</div>")
    return "\n".join(parts)


# Pan and zoom on the page's picture, by moving the SVG's viewBox: the wheel zooms at the
# pointer, a drag pans, a double click (or the 0 key) fits the whole graph again.  Without
# scripts the picture still fits its window (the viewBox and CSS do that); this only adds
# a closer look.
_PAN_ZOOM = """<script>
(function () {
  const svg = document.querySelector('.dfv-view svg.dfv-graph');
  if (!svg) return;
  const whole = svg.getAttribute('viewBox').split(' ').map(Number);
  let box = whole.slice(), drag = null;
  const show = () => svg.setAttribute('viewBox', box.join(' '));
  const at = (e) => {
    const m = svg.getScreenCTM().inverse(), p = svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY; return p.matrixTransform(m);
  };
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const p = at(e), k = Math.pow(1.0015, e.deltaY);
    const w = Math.min(Math.max(box[2] * k, whole[2] / 50), whole[2] * 2);
    const f = w / box[2];
    box = [p.x - (p.x - box[0]) * f, p.y - (p.y - box[1]) * f, w, box[3] * f];
    show();
  }, {passive: false});
  svg.addEventListener('pointerdown', (e) => { drag = at(e); svg.setPointerCapture(e.pointerId); });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const p = at(e); box[0] -= p.x - drag.x; box[1] -= p.y - drag.y; show();
  });
  svg.addEventListener('pointerup', () => { drag = null; });
  const fit = () => { box = whole.slice(); show(); };
  svg.addEventListener('dblclick', fit);
  document.addEventListener('keydown', (e) => { if (e.key === '0') fit(); });
})();
</script>"""


def page(nodes: list[dict], title: str, subtitle: str = "") -> str:
    """A self-contained HTML page of the DAG (no network): the whole graph fits the window.

    The first screen holds the title, the legend and the picture scaled down to
    fit the window (wheel to zoom, drag to pan, double click to fit again);
    the table of reasons follows below.
    """
    sub = f'<p style="font:13px sans-serif;color:#555;margin:0 0 4px">{_e(subtitle)}</p>' if subtitle else ""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(title)}</title></head>\n<body style="margin:0;background:#fff;color:#1a1a1a">'
            '<div class="dfv" style="box-sizing:border-box;height:100vh;padding:12px 16px;display:flex;'
            'flex-direction:column">'
            f'<h1 style="font:bold 18px sans-serif;margin:0 0 4px">{_e(title)}</h1>{sub}'
            f'<div class="dfv-summary" style="font:bold 13px sans-serif">daskflow: {_e(_summary(nodes))} '
            '<span style="font-weight:normal;color:#666">(wheel: zoom, drag: pan, double click: fit)</span></div>'
            f'{_legend(nodes)}'
            '<div class="dfv-view" style="flex:1;min-height:0;overflow:hidden;cursor:grab;touch-action:none">'
            f'{svg(nodes, fit="box")}</div></div>\n'
            f'<div style="padding:0 16px 16px">{_reasons_table(nodes)}</div>\n'
            f'{_PAN_ZOOM}\n</body></html>\n')


class Drawing:
    """A picture of a plan: ``html()`` a whole page, ``svg()``, ``save(path)``; shows in notebooks.

    Attributes
    ----------
    nodes : list of dict
        :func:`plan_data` of the plan (and run result) drawn.
    """

    def __init__(self, nodes: list[dict], title: str = "daskflow", subtitle: str = ""):
        self.nodes = nodes
        self.title = title
        self.subtitle = subtitle

    def svg(self) -> str:
        return svg(self.nodes, standalone=True)

    def html(self) -> str:
        return page(self.nodes, self.title, self.subtitle)

    def save(self, path) -> None:
        """Write the page (or the SVG alone when ``path`` ends in ``.svg``)."""
        text = self.svg() if str(path).endswith(".svg") else self.html()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def to_dict(self) -> dict:
        return {"tasks": self.nodes}

    def _repr_html_(self) -> str:
        return fragment(self.nodes)

    def __repr__(self) -> str:
        return f"<Drawing: {_summary(self.nodes)}>"


def draw(tasks, force=None, forced_all=False, forced_all_upstream=False, store=None,
         result=None) -> Drawing:
    """A picture of ``tasks`` and their upstream, each box coloured by status.

    Parameters
    ----------
    tasks : Task or list of Task
    force, forced_all, forced_all_upstream : as in :func:`daskflow.run`
    store : Store, optional
    result : RunResult, optional
        Colour the tasks a run built, failed or did not run.

    Examples
    --------
    >>> daskflow.draw(Train())                        # doctest: +SKIP
    <Drawing: 3 tasks: 1 fresh, 2 will run>
    >>> daskflow.draw(Train()).save("train.html")     # doctest: +SKIP
    """
    plan = Plan(tasks, store, force=force, forced_all=forced_all,
                forced_all_upstream=forced_all_upstream, explain=True)
    names = ", ".join(repr(n.task) for n in plan.targets)
    return Drawing(plan_data(plan, result), f"daskflow: {names}", f"storage root: {plan.store.display}")


def graph_html(tasks, **kwargs) -> str:
    """The self-contained HTML page of :func:`draw` (what ``daskflow graph`` writes)."""
    return draw(tasks, **kwargs).html()


# -- notebook tables for why and run results ------------------------------------------------
def _badge(status: str, label: str | None = None) -> str:
    text, fill, stroke, _ = STATUSES[status]
    return (f'<span class="dfv-badge dfv-{status}" style="background:{fill};border:1px solid {stroke};'
            f'border-radius:3px;padding:0 6px;color:{_TEXT}">{_e(label or text)}</span>')


def why_html(report, nodes: list[dict] | None = None) -> str:
    """HTML of a :class:`~daskflow.report.WhyReport`: a summary line, the picture (given the
    plan's ``nodes``, up to 60 tasks) and a row per task with its reasons."""
    status = {"fresh": "fresh", "run": "run", "external": "external", "missing": "missing"}
    rows, counts = [], {}
    for t in reversed(report.tasks):
        counts[t.status] = counts.get(t.status, 0) + 1
        why = "".join(f'<li class="dfv-reason" data-kind="{_e(r.kind)}">{_e(r.message)}</li>' for r in t.reasons)
        rows.append(f'<tr class="dfv-row dfv-{status[t.status]}"><td style="padding:3px 8px;font-family:monospace">'
                    f'{_e(repr(t.task))}</td><td style="padding:3px 8px">{_badge(status[t.status])}</td>'
                    f'<td style="padding:3px 8px"><ul style="margin:0;padding-left:1.2em">{why}</ul></td></tr>')
    summary = ", ".join(f"{counts[s]} {label}" for s, (label, *_) in STATUSES.items() if s in counts)
    return ('<div class="dfv dfv-why" style="color:#1a1a1a;background:#fff;padding:6px">'
            f'<div class="dfv-summary" style="font:bold 13px sans-serif">daskflow why: '
            f'{len(report.tasks)} tasks: {_e(summary)}</div>'
            + (f'{_legend(nodes)}{svg(nodes)}' if nodes and len(nodes) <= 60 else "")
            + '<table class="dfv-table" style="border-collapse:collapse;font:13px sans-serif;text-align:left">'
            '<thead><tr><th style="padding:3px 8px">task</th><th style="padding:3px 8px">status</th>'
            f'<th style="padding:3px 8px">why</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def result_html(result) -> str:
    """HTML of a :class:`~daskflow.RunResult`: a summary line and a row per task, errors folded."""
    rows = []

    def row(task, status, label, detail=""):
        seconds = result.durations.get(task)
        time = f"{seconds:.3f}s" if seconds is not None else ""
        rows.append(f'<tr class="dfv-row dfv-{status}"><td style="padding:3px 8px;font-family:monospace">'
                    f'{_e(repr(task))}</td><td style="padding:3px 8px">{_badge(status, label)}</td>'
                    f'<td style="padding:3px 8px;text-align:right">{time}</td>'
                    f'<td style="padding:3px 8px">{detail}</td></tr>')

    for f in result.failed:
        error = f"{type(f.exception).__name__}: {f.exception}"
        row(f.task, "failed", "failed", f'<span class="dfv-error">{_e(error)}</span><details><summary>'
            f'traceback</summary><pre style="font-size:11px">{_e(f.traceback)}</pre></details>')
    for t in result.upstream_failed:
        row(t, "blocked", "not run: upstream failed")
    for t in result.ran:
        row(t, "ran", "ran")
    for t in result.skipped:
        row(t, "fresh", "skipped (early cutoff)" if t in result.cutoff else "skipped, fresh")
    verdict = "ok" if result.ok else "FAILED"
    return ('<div class="dfv dfv-result" style="color:#1a1a1a;background:#fff;padding:6px">'
            f'<div class="dfv-summary" style="font:bold 13px sans-serif">daskflow run {verdict}: '
            f'{_e(result.summary())}</div>'
            '<table class="dfv-table" style="border-collapse:collapse;font:13px sans-serif;text-align:left">'
            '<thead><tr><th style="padding:3px 8px">task</th><th style="padding:3px 8px">status</th>'
            '<th style="padding:3px 8px">time</th><th style="padding:3px 8px">detail</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')
