"""The book video's picture timeline, without Dagster (used by ``e3_assets.video.book``).

``slide_timeline`` turns chapter marks, illustration placements and a max-hold setting into
contiguous stills ``(image, start, end)`` covering the whole book:

* each chapter opens on its own picture: its first illustration when that is placed at the
  chapter's start (within ``min_slide``), else the chapter's title card until the first one;
* an illustration shows from its placement until the next picture or the chapter's end;
* no still is held longer than ``max_hold`` where there is something to change to: a long span is
  cut into equal parts that alternate its picture with the chapter's other pictures and title card
  (a chapter without pictures alternates its title card with ``cover``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

MAX_HOLD_S = 180.0  # longest still where there is another picture to change to
MIN_SLIDE_S = 1.0  # shorter picture spans are merged into their neighbours
SCENE_FILE = re.compile(r"^scene-(\d{3})-(\d+)-[0-9a-f]+\.png$")


@dataclass(frozen=True)
class Mark:
    """A chapter on the book's timeline (seconds), with the title card it opens on."""

    title: str
    start: float
    end: float
    card: Path | None = None


@dataclass(frozen=True)
class Placement:
    """An illustration of chapter ``chapter`` (index into the marks) at ``position`` 0-1 in it."""

    chapter: int
    position: float
    image: Path


@dataclass(frozen=True)
class Still:
    image: Path
    start: float
    end: float


def scene_positions(prompts: dict) -> dict[tuple[int, int], float]:
    """(chapter_index, scene number in chapter) -> position 0-1 in the chapter."""
    scenes = prompts.get("scenes") or []
    per_chapter: dict[int, int] = {}
    keyed = []
    for s in scenes:
        ch = int(s["chapter_index"])
        n = int(s.get("scene_index", per_chapter.get(ch, 0)))
        per_chapter[ch] = max(per_chapter.get(ch, 0), n + 1)
        keyed.append((ch, n, s.get("position")))
    out = {}
    for ch, n, pos in keyed:
        if isinstance(pos, (int, float)) and 0 <= pos <= 1:
            out[(ch, n)] = float(pos)
        else:  # spread evenly; the first scene opens the chapter
            out[(ch, n)] = n / per_chapter[ch]
    return out


def placements(images: list[Path], positions: dict[tuple[int, int], float],
               chapter_of: dict[int, int]) -> list[Placement]:
    """Placements of ``scene-CCC-N-hash.png`` files; ``chapter_of`` maps a parsed chapter index to
    its m4b chapter number (chapters without narration have none: their pictures are left out)."""
    out = []
    for path in images:
        m = SCENE_FILE.match(Path(path).name)
        if not m:
            continue
        ch, n = int(m[1]) - 1, int(m[2]) - 1
        if ch in chapter_of:
            out.append(Placement(chapter_of[ch], positions.get((ch, n), 0.0), Path(path)))
    return out


def _split(image: Path, a: float, b: float, alternates: list[Path], max_hold: float,
           following: Path | None) -> list[Still]:
    """[a, b) showing ``image``, cut into parts of <= max_hold alternating with ``alternates``
    (never ending on ``following``, the picture after b, which would hide that change)."""
    alts = [p for p in dict.fromkeys(alternates) if p != image]
    if b - a <= max_hold or not alts:
        return [Still(image, a, b)]
    k = math.ceil((b - a) / max_hold - 1e-9)
    if k % 2 == 0 and alts[(k // 2 - 1) % len(alts)] == following:
        k += 1  # end on the span's own picture instead
    step = (b - a) / k
    out = []
    for j in range(k):
        img = image if j % 2 == 0 else alts[(j // 2) % len(alts)]
        out.append(Still(img, a + j * step, b if j == k - 1 else a + (j + 1) * step))
    return out


def slide_timeline(marks: list[Mark], places: list[Placement], *, max_hold: float = MAX_HOLD_S,
                   cover: Path | None = None, min_slide: float = MIN_SLIDE_S) -> list[Still]:
    """Contiguous stills over the chapters (see the module docstring); ``cover`` stands in for a
    mark without a card. Consecutive stills of the same picture are joined while <= max_hold."""
    out: list[Still] = []
    for c, mark in enumerate(marks):
        s, e = mark.start, mark.end
        if e - s <= 0:
            continue
        card = mark.card or cover
        pics = sorted((p for p in places if p.chapter == c), key=lambda p: (p.position, p.image.name))
        anchors: list[tuple[float, Path]] = []
        for p in pics:
            t = s + min(1.0, max(0.0, p.position)) * (e - s)
            if t - s < min_slide:
                t = s  # placed at the opening: the chapter opens on it
            if anchors:
                t = max(t, anchors[-1][0] + min_slide)  # too close to the one before: a little later
            if anchors and t > e - min_slide:
                continue  # no room left to be seen
            anchors.append((min(t, max(s, e - min_slide)), p.image))
        if card is not None and (not anchors or anchors[0][0] > s):
            anchors.insert(0, (s, card))
        elif anchors:
            anchors[0] = (s, anchors[0][1])
        else:
            continue  # nothing to show at all: the previous still goes on (first one: an error upstream)
        chapter_pics = [im for _, im in anchors if im != card]
        following = [im for _, im in anchors[1:]] + [None]
        for i, (t, image) in enumerate(anchors):
            end = anchors[i + 1][0] if i + 1 < len(anchors) else e
            if image == card:
                alts = chapter_pics or ([cover] if cover is not None else [])
            else:  # its card and the pictures already seen (latest first), before the ones to come
                k = chapter_pics.index(image)
                alts = ([card] if card is not None else []) + chapter_pics[:k][::-1] + chapter_pics[k + 1:]
            out.extend(_split(image, t, end, alts, max_hold, following[i]))
    joined: list[Still] = []
    for st in out:
        if joined and joined[-1].image == st.image and st.end - joined[-1].start <= max_hold:
            joined[-1] = Still(st.image, joined[-1].start, st.end)
        elif joined and joined[-1].end < st.start:  # a chapter with nothing to show: keep the last
            joined[-1] = Still(joined[-1].image, joined[-1].start, st.start)
            joined.append(st)
        else:
            joined.append(st)
    if joined and marks:
        joined[-1] = Still(joined[-1].image, joined[-1].start, max(joined[-1].end, marks[-1].end))
    return joined


def clip_timeline(stills: list[Still], start: float, end: float, min_slide: float = MIN_SLIDE_S) -> list[Still]:
    """The stills inside [start, end), cut to it; a sliver shorter than ``min_slide`` joins its neighbour."""
    out: list[Still] = []
    for st in stills:
        a, b = max(st.start, start), min(st.end, end)
        if b <= a:
            continue
        if out and b - a < min_slide:
            out[-1] = Still(out[-1].image, out[-1].start, b)
        elif out and out[-1].end - out[-1].start < min_slide:
            out[-1] = Still(st.image, out[-1].start, b)
        else:
            out.append(Still(st.image, a, b))
    return out
