"""Pictures and tables of a plan: the DAG as inline SVG, and notebook displays.

Imports ``plan`` (and, in :func:`draw` only, nothing else: the Plan reads
storage).  Everything else here is pure: plain data in, text out.  No I/O, no
network: a page is one self-contained HTML file (inline SVG and styles given
as attributes, so it also reads where a notebook viewer strips ``<style>``),
and a person opens it in any browser.  The picture always fits what holds it:
on a page, the window (scaled down to its width and height, with a small
inline script for pan and zoom that the fit does not need); in a notebook, the
cell's width.  It is never drawn larger than its natural size.

The drawing is built from :func:`plan_data`, a list of plain dicts (one per
task, upstream first) that ``daskflow preview --json`` also prints, so the
picture and the data never disagree.  Layout is layered by depth: a task's
column is one more than the deepest task it requires (data flows left to
right), and tasks within a column are ordered by the mean row of their
neighbours (a few barycentre sweeps) to keep edges short.  Text is set in a
monospace font so box widths can be computed without font metrics.
"""

from __future__ import annotations

import html
import math

from .plan import Plan

__all__ = ["STATUSES", "plan_data", "layout", "svg", "page", "fragment", "Drawing", "draw",
           "graph_html", "why_html", "result_html"]

# status -> (label, fill, stroke, dashed)
STATUSES = {
    "fresh": ("fresh", "#dcf2dc", "#2e7d32", False),
    "ran": ("built in this run", "#b9e4b9", "#1b5e20", False),
    "run": ("will run", "#ffe9c4", "#d98200", False),
    "failed": ("failed", "#fbd0cc", "#c62828", False),
    "blocked": ("not run: upstream failed", "#ececec", "#757575", True),
    "external": ("external", "#dae6fa", "#1f5fbf", False),
    "missing": ("external: missing", "#f4dcf7", "#8e24aa", True),
}
_TEXT = "#1a1a1a"
_FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_SIZE, _LINE = 12, 16  # font size and line height (px)
_CHAR, _CHAR_BOLD = 7.3, 8.0  # width of one character at 12px, and bold at 13px (monospace: 0.6em)
_PAD, _MIN_CHARS, _MAX_CHARS = 10, 18, 44
_COL_GAP, _ROW_GAP, _MARGIN, _VIRTUAL = 70, 22, 20, 6
_SUB_GAP, _WRAP_FROM = 24, 12  # gap between the runs of a wrapped column; boxes before wrapping
_MAX_PARAM_LINES, _MAX_REASON_LINES, _REASON_CHARS = 5, 5, 34


def plan_data(plan: Plan, result=None) -> list[dict]:
    """One dict per task of ``plan``, upstream first: what the picture and ``--json`` show.

    Keys: ``key``, ``task`` (repr), ``family``, ``params`` (name -> text, the
    significant ones), ``inherited`` (the names among them passed up from the
    task's own upstream by ``@requires``/``@inherits``: the same parameter as
    a direct upstream task's), ``status`` (a key of :data:`STATUSES`),
    ``reasons`` (dicts with ``kind`` and ``message``), ``deps`` (keys) and
    ``target``.
    Given the :class:`~daskflow.RunResult` of a run, the tasks it built read
    ``ran``, those that failed ``failed`` (with the error as reason) and those
    not run ``blocked``.
    """
    targets = {n.key for n in plan.targets}
    outcome = _outcomes(result)
    out = []
    for node in plan.nodes.values():
        task = node.task
        defs = type(task)._param_defs
        status = node.status
        reasons = [{"kind": r.kind, "message": r.message, **r.data} for r in node.reasons]
        if task in outcome:
            status, reasons = outcome[task]
        elif status != "run":
            reasons = [r for r in reasons if r["kind"] == "missing-external"]
        params = task.significant_params()
        upstream = [type(d.task)._param_defs for d in node.deps]
        out.append({
            "key": node.key, "task": repr(task), "family": node.family,
            "params": {k: defs[k].serialize(v) for k, v in params.items()},
            "inherited": [k for k in params if any(u.get(k) is defs[k] for u in upstream)],
            "status": status, "reasons": reasons, "deps": [d.key for d in node.deps],
            "target": node.key in targets,
        })
    return out


def _outcomes(result) -> dict:
    if result is None:
        return {}
    out = {t: ("ran", []) for t in result.ran}
    for f in result.failed:
        out[f.task] = ("failed", [{"kind": "failed", "message": f"{type(f.exception).__name__}: {f.exception}"}])
    for t in result.upstream_failed:
        out[t] = ("blocked", [{"kind": "upstream-failed", "message": "an upstream task failed"}])
    return out


# -- layout ----------------------------------------------------------------------------------
def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _wrap(text: str, width: int, lines: int) -> list[str]:
    words, out, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    out = [_fit(x, width) for x in out]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = _fit(out[-1] + " …", width) if len(out[-1]) < width else out[-1][:-1] + "…"
    return out


def _box_lines(node: dict) -> list[tuple[str, str]]:
    """(role, text) of each line of a box: family, parameters, status, reasons."""
    inherited = node.get("inherited", [])
    params = [f"{k}={v}" for k, v in node["params"].items() if k not in inherited]
    if len(params) > _MAX_PARAM_LINES:
        params = params[:_MAX_PARAM_LINES - 1] + [f"… {len(params) - _MAX_PARAM_LINES + 1} more"]
    if inherited:  # shown on the upstream box that declares them; the tooltip has them all
        params.append(f"+ {len(inherited)} inherited: {', '.join(inherited)}")
    reasons = [r["message"] for r in node["reasons"]]
    natural = max([len(node["family"]) + 2, len(STATUSES[node["status"]][0]) + 2]
                  + [len(p) for p in params] + [min(len(r), _REASON_CHARS) for r in reasons])
    width = min(max(natural, _MIN_CHARS), _MAX_CHARS)
    lines = [("family", _fit(node["family"], width))]
    lines += [("param", _fit(p, width)) for p in params]
    lines.append(("status", STATUSES[node["status"]][0]))
    left = _MAX_REASON_LINES
    for reason in reasons:  # each reason on its own line(s), the first ones first
        if left <= 0:
            lines[-1] = ("reason", _fit(lines[-1][1] + " …", width))
            break
        wrapped = _wrap(reason, width, min(left, 2))
        lines += [("reason", x) for x in wrapped]
        left -= len(wrapped)
    return lines


def layout(nodes: list[dict]) -> dict:
    """Where everything goes: ``{"boxes": {key: (x, y, w, h, lines)}, "edges": [(dep, key,
    waypoints)], "width", "height"}``.  An edge that spans several columns passes through a
    reserved gap in each column between (a virtual node per column, as in Sugiyama's method),
    so it never runs under a box; ``waypoints`` are the (x, y) where it enters and leaves them.
    """
    by_key = {n["key"]: n for n in nodes}
    layer: dict[str, int] = {}
    for n in nodes:  # upstream first, so every dep already has its layer
        layer[n["key"]] = 1 + max((layer[d] for d in n["deps"] if d in layer), default=-1)
    preds: dict[str, list[str]] = {k: [] for k in by_key}
    chains = []
    for n in nodes:
        for d in n["deps"]:
            if d not in by_key:
                continue
            chain = [d] + [f"\0{d}\0{n['key']}\0{i}" for i in range(layer[d] + 1, layer[n["key"]])]
            for v, i in zip(chain[1:], range(layer[d] + 1, layer[n["key"]])):
                layer[v], preds[v] = i, [chain[chain.index(v) - 1]]
            preds[n["key"]].append(chain[-1])
            chains.append((d, n["key"], chain[1:]))
    succs: dict[str, list[str]] = {k: [] for k in preds}
    for k, ps in preds.items():
        for p in ps:
            succs[p].append(k)
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for k in preds:  # real nodes in plan order, then each edge's virtual nodes
        columns[layer[k]].append(k)
    for _ in range(3):  # barycentre sweeps: forward by predecessors, backward by successors
        for cols, nbrs in ((columns[1:], preds), (columns[-2::-1], succs)):
            for col in cols:
                rank = {k: i for c in columns for i, k in enumerate(c)}
                col.sort(key=lambda k: _mean([rank[x] for x in nbrs[k]], rank[k]))
    boxes, gaps, x, heights = {}, {}, _MARGIN, []
    for col in columns:
        sized = {}
        for key in col:
            if key in by_key:
                lines = _box_lines(by_key[key])
                width = max(len(t) * (_CHAR_BOLD if role == "family" else _CHAR) for role, t in lines)
                sized[key] = (width + 2 * _PAD, len(lines) * _LINE + 2 * _PAD - 2, lines)
            else:
                sized[key] = (0, _VIRTUAL, None)
        width = max((w for w, _, _ in sized.values()), default=0)
        wraps = _wraps([h for _, h, lines in sized.values() if lines is not None], width) \
            if all(lines is not None for _, _, lines in sized.values()) else 1
        rows = math.ceil(len(col) / wraps) if col else 0
        tall = 0.0
        for j in range(wraps):  # a tall column of tasks is set in several side by side
            y = 0.0
            for key in col[j * rows:(j + 1) * rows]:
                w, h, lines = sized[key]
                (boxes if lines is not None else gaps)[key] = [x + j * (width + _SUB_GAP), y, width, h, lines]
                y += h + _ROW_GAP
            tall = max(tall, y - _ROW_GAP)
        heights.append(tall)
        x += wraps * width + (wraps - 1) * _SUB_GAP + _COL_GAP
    tallest = max(heights, default=0)
    for col, height in zip(columns, heights):
        for key in col:  # centre each column vertically
            (boxes.get(key) or gaps[key])[1] += _MARGIN + (tallest - height) / 2
    edges = []
    for dep, key, virtual in chains:
        points = []
        for v in virtual:
            gx, gy, gw, gh, _ = gaps[v]
            points += [(gx, gy + gh / 2), (gx + gw, gy + gh / 2)]
        edges.append((dep, key, points))
    return {"boxes": {k: tuple(v) for k, v in boxes.items()}, "edges": edges,
            "width": math.ceil(x - _COL_GAP + _MARGIN) if columns else 2 * _MARGIN,
            "height": math.ceil(tallest + 2 * _MARGIN)}


def _wraps(heights: list, width: float) -> int:
    """How many side-by-side runs a column of boxes of these heights is set in.

    One up to ``_WRAP_FROM`` boxes; beyond, as many as give the column the
    shape of a landscape window (height about 0.6 of width), so a fan-in of
    200 tasks is a block, not a strip 30,000 pixels tall.  The edges from the
    runs on the left pass under the boxes on their right (drawn first).
    """
    if len(heights) <= _WRAP_FROM or width <= 0:
        return 1
    row = sum(heights) / len(heights) + _ROW_GAP
    return max(1, min(len(heights), round(math.sqrt(len(heights) * row / (0.6 * (width + _SUB_GAP))))))


def _mean(values, default):
    return sum(values) / len(values) if values else default


# -- SVG and HTML ----------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _tooltip(node: dict) -> str:
    lines = [node["task"], STATUSES[node["status"]][0]]
    lines += [f"- {r['message']}" for r in node["reasons"]]
    return "\n".join(lines)


def svg(nodes: list[dict], standalone: bool = False, fit: str = "width") -> str:
    """The DAG as an ``<svg>`` element: one ``<g class="dfv-node dfv-<status>">`` per task.

    ``fit="width"`` scales it down to the width of what holds it (a notebook
    cell); ``fit="box"`` scales it down to fit both the width and the height of
    what holds it (the page's view); never above its natural size.
    """
    lay = layout(nodes)
    boxes = lay["boxes"]
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    w, h = lay["width"], lay["height"]
    if standalone:
        size = f'width="{w}" height="{h}"'
    elif fit == "box":
        size = f'width="100%" height="100%" style="max-width:{w}px;max-height:{h}px;display:block;margin:auto"'
    else:
        size = f'width="{w}" height="{h}" style="max-width:100%;height:auto"'
    out = [f'<svg{ns} class="dfv-graph" {size} viewBox="0 0 {w} {h}" preserveAspectRatio="xMidYMin meet" '
           f'role="img" font-family="{_FONT}" font-size="{_SIZE}">',
           '<defs><marker id="dfv-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666"/>'
           '</marker></defs>']
    for dep, key, waypoints in lay["edges"]:
        x1, y1, w1, h1, _ = boxes[dep]
        x2, y2, _, h2, _ = boxes[key]
        points = [(x1 + w1, y1 + h1 / 2), *waypoints, (x2 - 1, y2 + h2 / 2)]
        d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
        for i, ((sx, sy), (ex, ey)) in enumerate(zip(points, points[1:])):
            if i % 2:  # across a column, through its reserved gap
                d += f" L{ex:.1f},{ey:.1f}"
            else:  # between columns: an S-curve
                mid = (sx + ex) / 2
                d += f" C{mid:.1f},{sy:.1f} {mid:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
        out.append(f'<path class="dfv-edge" data-from="{_e(dep)}" data-to="{_e(key)}" d="{d}" '
                   f'fill="none" stroke="#666" stroke-width="1.3" marker-end="url(#dfv-arrow)"/>')
    for n in nodes:
        x, y, w, h, lines = boxes[n["key"]]
        label, fill, stroke, dashed = STATUSES[n["status"]]
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        width = 3 if n["target"] else 1.5
        out.append(f'<g class="dfv-node dfv-{n["status"]}" data-key="{_e(n["key"])}" '
                   f'data-family="{_e(n["family"])}" data-status="{n["status"]}">'
                   f'<title>{_e(_tooltip(n))}</title>'
                   f'<rect class="dfv-box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>')
        ty = y + _PAD + _SIZE
        for role, text in lines:
            style = {"family": ' font-weight="bold" font-size="13"',
                     "status": f' font-weight="bold" fill="{stroke}"',
                     "reason": ' font-style="italic" fill="#444"'}.get(role, "")
            fill_attr = "" if "fill=" in style else f' fill="{_TEXT}"'
            out.append(f'<text class="dfv-{role}" x="{x + _PAD:.1f}" y="{ty:.1f}"{fill_attr}{style}>'
                       f'{_e(text)}</text>')
            ty += _LINE
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


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
