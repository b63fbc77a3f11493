"""Text that collides in a figure (issue 27): one text box over another or over a
legend, tick labels over each other, and tick labels that repeat on one axis (a
colour bar showing "1e-04" three times). Used by ``segsweep.figures.check`` after the
layout is drawn; boxes are in display pixels.
"""

from __future__ import annotations

from itertools import combinations

TOLERANCE = 1.0  # px: an overlap narrower than this, either way, is antialiasing, not a collision


def _upright(t) -> bool:
    """Horizontal or vertical text: its bounding box is its outline (a 45° label's box
    is not, so two such labels may have overlapping boxes and no overlapping glyphs)."""
    return round(t.get_rotation()) % 90 == 0


def _in_view(ax, axis, tick) -> bool:
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    span = (high - low) or 1.0
    return low - 1e-9 * span <= tick <= high + 1e-9 * span


def tick_labels(fig) -> list[list]:
    """The visible tick labels of each axis (x and y of every axes, colour bars too),
    one list per axis, in tick order; labels of ticks outside the view are left out
    (matplotlib keeps stale ones)."""
    out = []
    for ax in fig.axes:
        if not ax.axison:  # image panels: no ticks drawn, whatever the labels say
            continue
        for axis, labels, locs in (
            ("x", ax.get_xticklabels(), ax.get_xticks()),
            ("y", ax.get_yticklabels(), ax.get_yticks()),
        ):
            shown = [
                t
                for t, loc in zip(labels, locs)
                if t.get_visible() and t.get_text().strip() and _in_view(ax, axis, loc)
            ]
            if shown:
                out.append(shown)
    return out


def _hit(a, b) -> bool:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w > TOLERANCE and h > TOLERANCE


def collisions(fig, labels: list) -> list[str]:
    """What collides in ``fig`` (already drawn): ``labels`` (titles, axis labels, legend
    texts) and tick labels, each pair of upright texts; a text over a legend it is not
    part of; repeated tick labels on one axis."""
    problems = []
    ticks = tick_labels(fig)
    unique = {id(t): t for t in [*labels, *(t for axis in ticks for t in axis)]}  # a suptitle is listed twice
    texts = [t for t in unique.values() if _upright(t)]
    boxes = [(t, t.get_window_extent()) for t in texts]
    for (a, ba), (b, bb) in combinations(boxes, 2):
        if _hit(ba, bb):
            problems.append(f"text over text: {a.get_text()!r} and {b.get_text()!r}")
            break
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    for legend in (lg for lg in legends if lg is not None):
        own = {id(t) for t in [*legend.texts, legend.get_title()]}
        frame = legend.get_window_extent()
        hit = next((t for t, box in boxes if id(t) not in own and _hit(box, frame)), None)
        if hit is not None:
            problems.append(f"text over a legend: {hit.get_text()!r}")
    for axis in ticks:
        seen = [t.get_text() for t in axis]
        repeated = sorted({s for s in seen if seen.count(s) > 1})
        if repeated:
            problems.append(f"tick labels repeat on one axis: {repeated[0]!r}")
    return problems
