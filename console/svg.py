"""Pictures drawn as inline SVG on the server: a node's neighbourhood in the policy graph, and the
dashboard's bar and line charts. No script, no library; every label is escaped. Sizes are in
pixels and fit the console's content column at 1366×768."""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import quote

from markupsafe import Markup, escape

PALETTE = {"document": "#6b7a8f", "clause": "#8e6c8a", "department": "#2a7ab0", "service_item": "#2f9e6e",
           "qualification": "#d08c1f", "industry": "#a0522d", "district": "#5a8f29", "item": "#0b3d6e",
           "condition": "#7d7d7d"}
KIND_NAMES = {"document": "政策文件", "clause": "条款", "department": "部门", "service_item": "办事事项",
              "qualification": "资质", "industry": "行业", "district": "地区", "item": "政策事项", "condition": "共用条件"}
EDGE_NAMES = {"issued_by": "发布", "has_clause": "含条款", "implements": "依据", "targets_industry": "面向行业",
              "targets_qualification": "面向资质", "targets_district": "面向地区", "handled_via": "办理事项",
              "handled_by": "受理部门", "supersedes": "取代", "amends": "修订", "exclusive_with": "就高不重复"}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def neighbourhood(center: str, center_kind: str, neighbours: Sequence[dict[str, str]], *,
                  link_prefix: str = "/console/policy/nodes/", width: int = 760, height: int = 460) -> Markup:
    """The node in the middle and each neighbour on a circle around it, grouped by kind, each a
    link to its own page; the edge is labelled with the relation."""
    cx, cy = width / 2, height / 2
    radius_x, radius_y = width / 2 - 120, height / 2 - 50
    ordered = sorted(neighbours, key=lambda n: (n["node_kind"], n["kind"], n["name"]))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(center)} 的关联关系">']
    spots = []
    for n, neighbour in enumerate(ordered):
        angle = -math.pi / 2 + 2 * math.pi * n / max(len(ordered), 1)
        spots.append((cx + radius_x * math.cos(angle), cy + radius_y * math.sin(angle), neighbour))
    for x, y, neighbour in spots:
        parts.append(f'<line x1="{cx:.0f}" y1="{cy:.0f}" x2="{x:.0f}" y2="{y:.0f}" stroke="#b8c4ce" stroke-width="1.5"/>')
        mx, my = (cx + x) / 2, (cy + y) / 2
        relation = EDGE_NAMES.get(neighbour["kind"], neighbour["kind"])
        parts.append(f'<text x="{mx:.0f}" y="{my:.0f}" font-size="11" fill="#616e7c" text-anchor="middle">'
                     f'{escape(relation)}</text>')
    for x, y, neighbour in spots:
        colour = PALETTE.get(neighbour["node_kind"], "#555")
        label = _short(neighbour["name"], 14)
        parts.append(f'<a href="{escape(link_prefix + quote(neighbour["id"], safe=":"))}"><g>'
                     f'<title>{escape(KIND_NAMES.get(neighbour["node_kind"], ""))}：{escape(neighbour["name"])}</title>'
                     f'<circle cx="{x:.0f}" cy="{y:.0f}" r="7" fill="{colour}"/>'
                     f'<text x="{x:.0f}" y="{y + 20:.0f}" font-size="12" fill="#1f2933" text-anchor="middle">'
                     f'{escape(label)}</text></g></a>')
    parts.append(f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="12" fill="{PALETTE.get(center_kind, "#0b3d6e")}"/>')
    parts.append(f'<text x="{cx:.0f}" y="{cy - 18:.0f}" font-size="14" font-weight="600" fill="#0b3d6e" '
                 f'text-anchor="middle">{escape(_short(center, 24))}</text>')
    if not ordered:
        parts.append(f'<text x="{cx:.0f}" y="{cy + 36:.0f}" font-size="12" fill="#616e7c" text-anchor="middle">'
                     '尚无已发布的关联</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 560,
              bar_height: int = 22, label_width: int = 170) -> Markup:
    """Horizontal bars, largest first as given, each with its value at its end."""
    height = 30 + bar_height * max(len(bars), 1) + 10
    top = max((value for _, value in bars), default=0) or 1
    room = width - label_width - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="13" font-weight="600" fill="#1f2933">{escape(title)}</text>']
    for n, (label, value) in enumerate(bars):
        y = 30 + n * bar_height
        length = max(1.0, room * value / top)
        parts.append(f'<text x="{label_width - 8}" y="{y + bar_height * 0.65:.0f}" font-size="12" fill="#3e4c59" '
                     f'text-anchor="end"><title>{escape(label)}</title>{escape(_short(label, 13))}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{bar_height - 6}" fill="#2a7ab0"/>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.65:.0f}" font-size="12" '
                     f'fill="#1f2933">{escape(_number(value))}{escape(unit)}</text>')
    if not bars:
        parts.append('<text x="0" y="46" font-size="12" fill="#616e7c">所选时间内没有数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, width: int = 560,
               height: int = 220) -> Markup:
    """One line per series over the same x labels (days), with a legend and the y maximum marked."""
    left, right, top, bottom = 40, 10, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for values in series.values() for v in values), default=0) or 1
    colours = ["#2a7ab0", "#d08c1f", "#2f9e6e", "#b42318", "#8e6c8a", "#6b7a8f"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="13" font-weight="600" fill="#1f2933">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#b8c4ce"/>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="11" fill="#616e7c" text-anchor="end">{_number(peak)}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" fill="#616e7c" text-anchor="end">0</text>']

    def x_at(n: int) -> float:
        return left + (plot_w * n / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    step = max(1, math.ceil(len(labels) / 8))  # at most about eight dates under the axis
    for n in range(0, len(labels), step):
        parts.append(f'<text x="{x_at(n):.0f}" y="{height - 18}" font-size="11" fill="#616e7c" text-anchor="middle">'
                     f'{escape(labels[n][5:] if len(labels[n]) == 10 else labels[n])}</text>')
    for index, (name, values) in enumerate(series.items()):
        colour = colours[index % len(colours)]
        points = " ".join(f"{x_at(n):.1f},{top + plot_h - plot_h * v / peak:.1f}" for n, v in enumerate(values))
        if len(values) == 1:
            parts.append(f'<circle cx="{x_at(0):.1f}" cy="{top + plot_h - plot_h * values[0] / peak:.1f}" r="3" fill="{colour}"/>')
        elif values:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_x = left + index * 110
        parts.append(f'<rect x="{legend_x}" y="{height - 10}" width="10" height="3" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 6}" font-size="11" fill="#3e4c59">{escape(name)}</text>')
    if not labels:
        parts.append(f'<text x="{left}" y="{top + 20}" font-size="12" fill="#616e7c">所选时间内没有数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
