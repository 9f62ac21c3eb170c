"""The DAG drawn as SVG: the data of each task, the layout, the ``<svg>`` element.

Imports ``plan`` only (for :func:`plan_data`); everything here is pure: plain
data in, text out.  The drawing is built from :func:`plan_data`, a list of
plain dicts (one per task, upstream first) that ``daskflow preview --json``
also prints, so the picture and the data never disagree.  Layout is layered by
depth: a task's column is one more than the deepest task it requires (data
flows left to right), and tasks within a column are ordered by the mean row of
their neighbours (a few barycentre sweeps) to keep edges short; a tall column
is set in several runs side by side.  Text is set in a monospace font so box
widths can be computed without font metrics.  Pages and notebook displays
built on it are in ``daskflow.viz``.
"""

from __future__ import annotations

import html
import math

from .plan import Plan

__all__ = ["STATUSES", "plan_data", "layout", "svg"]

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
