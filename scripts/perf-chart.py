#!/usr/bin/env python3
"""Draw docs/perf/chart.svg from `bulkwrite bench --json` documents (standard library only).

Usage:
    scripts/perf-chart.py OUT.svg BENCH.json [BENCH.json ...]

Each JSON document is one backend's run (`"backend": "sqlite"` or `"postgresql"`), with one entry
per file size. The chart has two panels against rows (log scale): the insert's median round trip
beside the floor's median time (log scale), and the peak RSS of the server (and of the floor)
with the 128 MiB target.
"""
import json
import math
import sys

WIDTH, HEIGHT = 980, 430
PANEL_W, PANEL_H = 380, 300
LEFT, TOP = 80, 60
GAP = 110
COLOURS = {"sqlite": "#1f77b4", "postgresql": "#d62728"}
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def series(documents):
    """[(label, colour, dashed, [(rows, seconds)], [(rows, MiB)])]"""
    out = []
    for doc in documents:
        if doc.get("format") != 1:
            raise SystemExit(f"unknown bench JSON format {doc.get('format')!r}")
        backend = doc["backend"]
        colour = COLOURS.get(backend, "#555555")
        name = NAMES.get(backend, backend)
        job_t, job_m, floor_t, floor_m = [], [], [], []
        for size in doc["sizes"]:
            rows = size["rows"]
            median = size["median"]
            if median.get("insert_ms") is not None:
                job_t.append((rows, median["insert_ms"] / 1000.0))
            if size.get("max_peak_rss_mib") is not None:
                job_m.append((rows, size["max_peak_rss_mib"]))
            if median.get("floor_ms") is not None:
                floor_t.append((rows, median["floor_ms"] / 1000.0))
            if size.get("max_floor_peak_rss_mib") is not None:
                floor_m.append((rows, size["max_floor_peak_rss_mib"]))
        out.append((f"bulkwrite, {name}", colour, False, job_t, job_m))
        if floor_t or floor_m:
            out.append((f"floor, {name}", colour, True, floor_t, floor_m))
    return out


def nice_log_ticks(lo, hi):
    ticks = []
    e = math.floor(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo * 0.9999 <= v <= hi * 1.0001:
                ticks.append(v)
        e += 1
    return ticks


def fmt_rows(v):
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def fmt_num(v):
    return f"{v:g}" if v >= 1 else f"{v:.2g}"


def panel(x0, title, xs_range, ys_range, ylog, ylabel, lines, idx, extra=None):
    (xlo, xhi), (ylo, yhi) = xs_range, ys_range
    lx = lambda v: x0 + (math.log10(v) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo)) * PANEL_W
    if ylog:
        ly = lambda v: TOP + PANEL_H - (math.log10(v) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo)) * PANEL_H
    else:
        ly = lambda v: TOP + PANEL_H - (v - ylo) / (yhi - ylo) * PANEL_H
    svg = [f'<text x="{x0 + PANEL_W / 2}" y="{TOP - 25}" text-anchor="middle" font-size="15" font-weight="bold">{title}</text>']
    svg.append(f'<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#333"/>')
    for v in nice_log_ticks(xlo, xhi):
        x = lx(v)
        svg.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + PANEL_H}" stroke="#ddd"/>')
        svg.append(f'<text x="{x:.1f}" y="{TOP + PANEL_H + 18}" text-anchor="middle" font-size="12">{fmt_rows(v)}</text>')
    yticks = nice_log_ticks(ylo, yhi) if ylog else [ylo + i * (yhi - ylo) / 5 for i in range(6)]
    for v in yticks:
        y = ly(v)
        svg.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + PANEL_W}" y2="{y:.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{fmt_num(v)}</text>')
    svg.append(f'<text x="{x0 + PANEL_W / 2}" y="{TOP + PANEL_H + 38}" text-anchor="middle" font-size="12">rows in the file</text>')
    svg.append(f'<text transform="translate({x0 - 50},{TOP + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">{ylabel}</text>')
    if extra:
        value, label = extra
        y = ly(value)
        svg.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + PANEL_W}" y2="{y:.1f}" stroke="#2ca02c" stroke-dasharray="2,3"/>')
        svg.append(f'<text x="{x0 + PANEL_W - 4}" y="{y - 4:.1f}" text-anchor="end" font-size="11" fill="#2ca02c">{label}</text>')
    for label, colour, dashed, *data in lines:
        points = sorted(data[idx])
        if not points:
            continue
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        path = " ".join(f"{lx(x):.1f},{ly(y):.1f}" for x, y in points)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in points:
            svg.append(f'<circle cx="{lx(x):.1f}" cy="{ly(y):.1f}" r="3.5" fill="{"white" if dashed else colour}" stroke="{colour}"/>')
            svg.append(f'<text x="{lx(x) + 5:.1f}" y="{ly(y) - 6:.1f}" font-size="10" fill="{colour}">{fmt_num(round(y, 2))}</text>')
    return svg


def chart(documents):
    lines = series(documents)
    rows = [x for line in lines for part in line[3:] for x, _ in part]
    secs = [y for line in lines for x, y in line[3]]
    mib = [y for line in lines for x, y in line[4]] + [128]
    if not rows or not secs:
        raise SystemExit("no sizes in the JSON")
    xr = (min(rows) / 1.3, max(rows) * 1.3)
    tr = (10 ** math.floor(math.log10(min(secs))), 10 ** math.ceil(math.log10(max(secs))))
    step = 50
    mr = (0, step * math.ceil(max(mib) * 1.1 / step))
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>']
    svg += panel(LEFT, "Insert: time (median of runs)", xr, tr, True, "seconds (log scale)", lines, 0)
    svg += panel(LEFT + PANEL_W + GAP, "Peak RSS", xr, mr, False, "MiB", lines, 1, (128, "target 128 MiB"))
    x, y = LEFT, HEIGHT - 22
    for label, colour, dashed, *_ in lines:
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        svg.append(f'<line x1="{x}" y1="{y}" x2="{x + 28}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>')
        svg.append(f'<text x="{x + 34}" y="{y + 4}" font-size="12">{label}</text>')
        x += 200
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    documents = []
    for path in argv[2:]:
        with open(path) as f:
            documents.append(json.load(f))
    with open(argv[1], "w") as f:
        f.write(chart(documents))


if __name__ == "__main__":
    main(sys.argv)
