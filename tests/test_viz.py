"""The picture of a workflow: layout, SVG content, and the page as headless Chromium renders it."""

import html
import json
import re
import shutil
import struct
import subprocess
import zlib

import pytest

import daskflow
from cli_project import flow, producer
from cli_project.htmltree import parse
from daskflow.viz import STATUSES, layout, plan_data

EVERY_STATUS = {"fresh", "ran", "run", "failed", "blocked", "external", "missing"}


@pytest.fixture
def drawing(root):
    """One picture holding every status: a failed run's result over a mixed graph."""
    daskflow.run([flow.Typed(n=1), producer.Vendor()], scheduler="sync", progress=False)
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(flow.Report(), scheduler="sync", progress=False)
    targets = [flow.Report(), flow.Typed(n=1), flow.Combine(), flow.Train(do_preprocess=False)]
    return daskflow.draw(targets, result=err.value.result)


def test_every_status_is_drawn_with_its_reason(drawing):
    status = {n["task"]: n["status"] for n in drawing.nodes}
    assert set(status.values()) == EVERY_STATUS
    assert status["Flaky(fail=True)"] == "failed" and status["Report(fail=True)"] == "blocked"
    assert status["GetData()"] == "ran" and status["Typed(n=1, day=datetime.date(2024, 1, 1), tags=(), " \
        "label='<b>x</b> & y')"] == "fresh"
    assert (status["Vendor()"], status["Survey()"], status["Combine()"]) == ("external", "missing", "run")
    reasons = {n["task"]: [r["message"] for r in n["reasons"]] for n in drawing.nodes}
    assert reasons["Flaky(fail=True)"] == ["ValueError: Flaky was told to fail"]
    assert reasons["Preprocess(do_preprocess=False)"][0] == "no output"
    assert reasons["Survey()"][0].startswith("external data missing: nothing committed under")
    assert reasons["GetData()"] == []


def test_layout_flows_left_to_right_without_overlap(drawing):
    lay = layout(drawing.nodes)
    keys = {n["task"]: n["key"] for n in drawing.nodes}
    key = keys.__getitem__
    boxes = lay["boxes"]
    assert set(boxes) == {n["key"] for n in drawing.nodes}
    for n in drawing.nodes:
        x, y, w, h, _ = boxes[n["key"]]
        assert 0 <= x and x + w <= lay["width"] and 0 <= y and y + h <= lay["height"]
        for d in n["deps"]:
            assert boxes[d][0] + boxes[d][2] < x  # every task right of what it requires
    rects = list(boxes.values())
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
    long = [e for e in lay["edges"] if e[2]]
    assert [(e[0], e[1]) for e in long] == [(key("Flaky(fail=True)"), key("Report(fail=True)"))]
    for _, _, waypoints in long:  # an edge across a column runs through a gap, never under a box
        for (xa, y), (xb, _) in zip(waypoints[::2], waypoints[1::2]):
            for bx, by, bw, bh, _ in rects:
                assert bx + bw <= xa or xb <= bx or not by <= y <= by + bh


def test_svg_has_one_labelled_box_per_task(drawing):
    doc = parse(drawing.svg())
    groups = doc.find_all("g", "dfv-node")
    assert len(groups) == len(drawing.nodes)
    by_key = {n["key"]: n for n in drawing.nodes}
    for g in groups:
        node = by_key[g.attrs["data-key"]]
        assert g.classes == ["dfv-node", f"dfv-{node['status']}"]
        rect = g.find_all("rect")[0]
        assert rect.attrs["fill"] == STATUSES[node["status"]][1]
        lines = [t.text() for t in g.find_all("text")]
        assert lines[0] == node["family"]
        assert STATUSES[node["status"]][0] in lines
        for name, value in node["params"].items():
            if name not in node["inherited"]:
                assert f"{name}={value}"[:40] in "\n".join(lines)
        title = g.find_all("title")[0].text()
        assert title.splitlines()[0] == node["task"]
        for reason in node["reasons"]:
            assert f"- {reason['message']}" in title
    edges = doc.find_all("path", "dfv-edge")
    assert len(edges) == sum(len(n["deps"]) for n in drawing.nodes)
    typed = next(g for g in groups if g.attrs["data-family"] == "Typed")
    assert "label=<b>x</b> & y" in [t.text() for t in typed.find_all("text")]  # escaped, shown as text
    assert not doc.find_all("b")


def test_page_is_self_contained(drawing):
    page = drawing.html()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<script>") == 1  # pan and zoom, inline; the fit itself needs no script
    for needle in ("<link", "src=", "http://", "https://", "@import", "url(http", "fetch("):
        assert needle not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert re.findall(r'href="([^"]*)"', page) == []


def test_plan_data_is_what_preview_json_prints(root):
    plan = daskflow.plan.Plan(flow.Train(), explain=True)
    data = plan_data(plan)
    assert [d["family"] for d in data] == ["GetData", "Preprocess", "Train"]
    assert [d["target"] for d in data] == [False, False, True]
    assert data[2]["deps"] == [data[1]["key"]] and data[1]["deps"] == [data[0]["key"]]
    assert json.loads(json.dumps(data)) == data


# -- rendered by a browser ---------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y chromium)")

MEASURE = """<script>
const out = [];
for (const g of document.querySelectorAll('g.dfv-node')) {
  const r = g.querySelector('rect');
  const box = r.getBoundingClientRect();
  out.push({key: g.dataset.key, status: g.dataset.status, fill: getComputedStyle(r).fill,
            box: [box.left, box.top, box.right, box.bottom],
            texts: [...g.querySelectorAll('text')].map(t => {
              const b = t.getBoundingClientRect();
              return [t.textContent, b.left, b.top, b.right, b.bottom]; })});
}
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify({nodes: out, edges: document.querySelectorAll('path.dfv-edge').length});
document.body.appendChild(pre);
</script>"""


def chromium(tmp_path, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _rgb(hex_colour: str) -> tuple:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@needs_chromium
def test_rendered_page_shows_every_box_coloured_and_labelled(drawing, tmp_path):
    """Render the page with a measuring script added; read back what the browser laid out."""
    page = tmp_path / "graph.html"
    page.write_text(drawing.html().replace("</body>", MEASURE + "</body>"))
    r = chromium(tmp_path, "--window-size=1600,1000", "--dump-dom", page.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S)
    assert found, r.stdout[-2000:]
    shown = json.loads(html.unescape(found.group(1)))
    assert shown["edges"] == sum(len(n["deps"]) for n in drawing.nodes)
    by_key = {n["key"]: n for n in drawing.nodes}
    assert sorted(s["key"] for s in shown["nodes"]) == sorted(by_key)
    for s in shown["nodes"]:
        node = by_key[s["key"]]
        assert s["status"] == node["status"]
        assert s["fill"] == "rgb({}, {}, {})".format(*_rgb(STATUSES[node["status"]][1]))
        left, top, right, bottom = s["box"]
        assert right - left > 100 and bottom - top > 30
        assert s["texts"][0][0] == node["family"]
        for text, tl, tt, tr, tb in s["texts"]:  # every label inside its box: nothing cut off
            assert left - 0.5 <= tl and tr <= right + 0.5 and top - 0.5 <= tt and tb <= bottom + 0.5, (
                text, s["box"], (tl, tt, tr, tb))
    boxes = [s["box"] for s in shown["nodes"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def read_png(path):
    """(width, height, rows of RGB tuples) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride, rows, prev = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


@needs_chromium
def test_screenshot_shows_the_status_colours(drawing, tmp_path):
    page, shot = tmp_path / "graph.html", tmp_path / "graph.png"
    drawing.save(page)
    r = chromium(tmp_path, "--window-size=1250,620", f"--screenshot={shot}", page.as_uri())
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    width, height, rows = read_png(shot)
    assert (width, height) == (1250, 620)
    counts = {}
    for row in rows:
        for px in row:
            counts[px] = counts.get(px, 0) + 1
    assert len(counts) > 50  # text, edges and anti-aliasing: not a blank page
    for status in EVERY_STATUS:  # each status's fill covers a box's worth of pixels
        assert counts.get(_rgb(STATUSES[status][1]), 0) > 2000, status


FIT = """<script>
const view = document.querySelector('.dfv-view svg');
const before = view.getAttribute('viewBox');
const nodes = [...document.querySelectorAll('.dfv-view g.dfv-node')].map(g => {
  const b = g.querySelector('rect').getBoundingClientRect();
  return {key: g.dataset.key, family: g.dataset.family, box: [b.left, b.top, b.right, b.bottom],
          texts: [...g.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.top, r.right, r.bottom]; })};
});
const r = view.getBoundingClientRect();
view.dispatchEvent(new WheelEvent('wheel', {deltaY: -400, clientX: r.left + r.width / 2,
                                             clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify({viewport: [innerWidth, innerHeight], nodes, before,
                                  after: view.getAttribute('viewBox')});
document.body.appendChild(pre);
</script>"""


@needs_chromium
@pytest.mark.parametrize("n", [9, 199])
def test_page_fits_a_1400x900_window_at_10_and_200_tasks(root, tmp_path, n):
    from cli_project import shapes

    drawing = daskflow.draw(shapes.Wide(n=n))
    assert len(drawing.nodes) == n + 1
    page = tmp_path / "graph.html"
    page.write_text(drawing.html().replace("</body>", FIT + "</body>"))
    r = chromium(tmp_path, "--window-size=1400,900", "--dump-dom", page.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    shown = json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S).group(1)))
    width, height = shown["viewport"]  # the window's inner size (headless keeps some for its frame)
    assert width == 1400 and 700 <= height <= 900
    assert len(shown["nodes"]) == n + 1
    for s in shown["nodes"]:  # every box, the target at the right edge included, inside the window
        left, top, right, bottom = s["box"]
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, (s["family"], s["box"])
        for text, tl, tt, tr, tb in s["texts"]:
            assert left - 0.5 <= tl and tr <= right + 0.5, (text, s["box"])
    target = next(s for s in shown["nodes"] if s["family"] == "Wide")
    assert target["box"][2] - target["box"][0] > 20  # a box, not a speck
    if n == 9:  # a small graph is drawn at its natural size: readable as it is
        assert target["box"][2] - target["box"][0] > 100
    zoomed = [float(v) for v in shown["after"].split()]
    assert zoomed[2] < [float(v) for v in shown["before"].split()][2]  # the wheel zooms in


def test_boxes_show_own_parameters_and_collapse_inherited_ones(root):
    drawing = daskflow.draw(flow.Train(model="mean", do_preprocess=False))
    train = next(n for n in drawing.nodes if n["family"] == "Train")
    assert train["inherited"] == ["do_preprocess"] and train["params"]["do_preprocess"] == "False"
    groups = {g.attrs["data-family"]: [t.text() for t in g.find_all("text")]
              for g in parse(drawing.svg()).find_all("g", "dfv-node")}
    assert "model=mean" in groups["Train"] and "+ 1 inherited: do_preprocess" in groups["Train"]
    assert not [t for t in groups["Train"] if t.startswith("do_preprocess=")]
    assert "do_preprocess=False" in groups["Preprocess"]  # shown where it is declared


def test_notebook_picture_scales_to_the_cell_width(root):
    fragment = daskflow.draw(flow.Train())._repr_html_()
    svg_tag = re.search(r"<svg[^>]*>", fragment).group(0)
    assert 'style="max-width:100%;height:auto"' in svg_tag and "viewBox=" in svg_tag
    assert "overflow-x" not in fragment
