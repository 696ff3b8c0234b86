"""Image prompts for a book's illustrations: an offline extractive writer, and an LLM writer.

The extractive writer needs no model. For each scene it takes a window of the chapter, picks the
window's most concrete sentence (people and proper names, places, objects, light and colour, time
of day and season; dialogue and abstract sentences score low), and builds the prompt from that
sentence's own words, the book's setting (its most frequent place words) and its era (from period
cues in the text, else the stated year). Styles, lighting and composition vary per scene, chosen
by a hash of the scene, so prompts differ; the chapter title is never the subject.

A scene is a dict: ``chapter_index``, ``scene_index`` (0-based within the chapter), ``position``
(0-1 within the chapter), ``prompt``, ``negative_prompt``, ``style``, ``source_sentence``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from e3.fsutil import atomic_write_json

NEGATIVE_PROMPT = ("text, letters, watermark, signature, frame, blurry, low quality, deformed hands, "
                   "extra limbs, distorted faces, modern objects, photograph")

PLACES = set("""
harbour harbor quay wharf pier port sea ocean shore beach coast cliff island bay river stream brook lake
pond bridge forest wood woods grove meadow field fields hill hills mountain mountains valley moor heath
desert plain garden orchard park road street lane alley square market town village city castle tower
palace church chapel cathedral abbey inn tavern house cottage hall room chamber kitchen parlour parlor
library study cellar attic stair staircase corridor courtyard gate door window ship boat deck cabin
mast camp tent cave farm barn mill lighthouse station platform prison court fountain ballroom
""".split())
OBJECTS = set("""
lamp lantern candle fire hearth table chair bed desk book letter letters pen ink map sword gun pistol rifle
horse horses carriage cart coach wagon sail sails oar rope anchor wheel clock bell bottle glass cup
tea pipe hat coat cloak dress veil ring crown key chest box basket bread knife flag banner statue
painting mirror piano violin harp dog cat bird birds crow raven flowers roses tree trees branch leaves
""".split())
LIGHT = set("""
light dark darkness shadow shadows sun sunlight moon moonlight star stars starlight glow gleam glimmer
flame flames blaze gold golden silver grey gray white black red crimson scarlet blue green yellow amber
pale bright dim mist misty fog foggy smoke snow rain storm cloud clouds thunder lightning frost ice
""".split())
TIME = set("""
morning dawn sunrise noon midday afternoon evening dusk sunset twilight night midnight winter spring
summer autumn november december january
""".split())
ERA_CUES = [
    (("steamer", "telegraph", "railway", "train", "locomotive", "gaslight", "gas-lamp", "hansom",
      "omnibus", "crinoline"), "Victorian-era, 19th-century"),
    (("motor-car", "motorcar", "automobile", "telephone", "wireless", "aeroplane", "airplane",
      "electric light"), "early 20th-century"),
    (("knight", "castle", "sword", "abbey", "monk", "lord", "squire", "lute"), "medieval"),
    (("musket", "powdered wig", "sedan chair", "tricorn", "angler", "angling"), "17th- or 18th-century"),
]
STYLES = ["oil painting", "watercolour illustration", "gouache book illustration",
          "detailed pen-and-ink drawing with soft watercolour wash", "etching with hand colouring",
          "matte painting in a classic storybook style"]
LIGHTING = ["soft diffused light", "warm lamplight", "cool moonlight", "low golden sunlight",
            "dramatic chiaroscuro", "overcast silver light", "candlelit glow"]
COMPOSITION = ["wide establishing shot", "medium shot", "view from a low angle", "view from above",
               "framed through a doorway", "seen across the water", "close, intimate framing"]

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")
_QUOTED = re.compile(r"[\"“”][^\"“”]*[\"“”]")


def _words(text: str) -> list[str]:
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def _score(sentence: str) -> float:
    words = _words(sentence)
    if len(words) < 6:
        return -5.0
    lower = set(words)
    score = 2.0 * len(lower & PLACES) + 1.5 * len(lower & OBJECTS) + 1.5 * len(lower & LIGHT)
    score += 1.0 * len(lower & TIME)
    proper = [w for w in _WORD.findall(sentence)[1:] if w[0].isupper() and w.lower() not in {"i"}]
    score += 0.5 * min(len(set(proper)), 4)
    quoted = sum(len(q) for q in _QUOTED.findall(sentence))
    if quoted > 0.4 * len(sentence):
        score -= 3.0  # mostly dialogue: says little about what a picture would show
    if len(words) > 60:
        score -= (len(words) - 60) / 10
    return score


def _sentences(text: str, language: str) -> list[str]:
    from e3.books.chunking import split_sentences

    return split_sentences(text, language)  # already stripped, empty ones dropped


def _scene_phrase(sentence: str, max_words: int = 34) -> str:
    """The sentence as a picture description: dialogue removed, trimmed to its concrete part."""
    text = _QUOTED.sub("", sentence)
    text = re.sub(r"\s+", " ", text).strip(" ,;:-—")
    words = text.split()
    if len(words) > max_words:
        # Keep the clause window with the most concrete words.
        best, best_score = 0, -1.0
        for start in range(0, len(words) - max_words + 1, 4):
            window = " ".join(words[start:start + max_words])
            s = _score(window)
            if s > best_score:
                best, best_score = start, s
        words = words[best:best + max_words]
    text = " ".join(words).rstrip(".!?;:,")
    return text[:1].lower() + text[1:] if text[:2] != "I " else text


def book_setting(chapters: Sequence[Any]) -> str | None:
    """The book's most frequent place words, e.g. 'harbour, quay and town'."""
    counts: Counter[str] = Counter()
    for chapter in chapters:
        counts.update(w for w in _words(chapter.text) if w in PLACES)
    top = [w for w, _ in counts.most_common(3)]
    if not top:
        return None
    return top[0] if len(top) == 1 else ", ".join(top[:-1]) + " and " + top[-1]


def book_era(chapters: Sequence[Any], year: int | None) -> str | None:
    text = " ".join(c.text for c in chapters[:40]).lower()
    best, hits = None, 0
    for cues, era in ERA_CUES:
        n = sum(text.count(cue) for cue in cues)
        if n > hits:
            best, hits = era, n
    if best and hits >= 2:
        return best
    if year and year < 1900:
        return f"{(year // 100) + 1}th-century"
    return None


def _pick(options: list[str], *keys: Any) -> str:
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return options[digest[0] % len(options)]


def extractive_scenes(chapters: Sequence[Any], per_chapter: int, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """``per_chapter`` scenes for each chapter with text, from the chapter's own sentences."""
    language = (meta.get("language") or "en").split("-")[0]
    setting = book_setting(chapters)
    era = book_era(chapters, meta.get("year"))
    scenes: list[dict[str, Any]] = []
    for index, chapter in enumerate(chapters):
        sentences = _sentences(chapter.text, language)
        if not sentences:
            continue
        n = max(1, min(per_chapter, len(sentences)))
        for k in range(n):
            lo, hi = k * len(sentences) // n, max((k + 1) * len(sentences) // n, k * len(sentences) // n + 1)
            window = sentences[lo:hi]
            best = max(range(len(window)), key=lambda i: (_score(window[i]), -i))
            sentence = window[best]
            position = (lo + best) / max(1, len(sentences) - 1) if len(sentences) > 1 else 0.0
            style = _pick(STYLES, meta.get("title"), index, k)
            parts = [f"{style} of {_scene_phrase(sentence)}"]
            if setting:
                parts.append(f"setting: {setting}")
            if era:
                parts.append(f"{era} period details")
            parts += [_pick(LIGHTING, sentence, "light"), _pick(COMPOSITION, sentence, "frame"),
                      "rich detail, book illustration"]
            scenes.append({
                "chapter_index": index,
                "scene_index": k,
                "position": round(min(1.0, max(0.0, position)), 4),
                "prompt": ", ".join(parts),
                "negative_prompt": NEGATIVE_PROMPT,
                "style": style,
                "source_sentence": sentence,
            })
    return scenes


def _excerpt(text: str, limit: int = 6000) -> str:
    if len(text) <= limit:
        return text
    third = limit // 3
    middle = len(text) // 2
    return text[:third] + "\n[...]\n" + text[middle - third // 2: middle + third // 2] + "\n[...]\n" + text[-third:]


def llm_scenes(client, chapters: Sequence[Any], per_chapter: int, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The same scenes written by an LLM (JSON mode, validated; LLMError after its retries)."""
    system = (
        "You write prompts for an image generator that illustrates a book. Reply with JSON only: "
        '{"scenes": [{"position": <0..1 where in the chapter the scene happens>, "prompt": "<one '
        'concrete visual description: people, place, objects, light, time of day; no text in the '
        'image>", "negative_prompt": "<what to avoid>", "style": "<art style>"}]}. Describe what the '
        "chapter shows, never just its title. Keep the book's era and setting."
    )
    scenes: list[dict[str, Any]] = []
    for index, chapter in enumerate(chapters):
        if not chapter.text.strip():
            continue
        user = (f"Book: {meta.get('title')} by {meta.get('author') or 'unknown'}"
                f"{', ' + str(meta['year']) if meta.get('year') else ''}.\n"
                f"Chapter: {chapter.title}\nWrite exactly {per_chapter} scene(s), in story order.\n\n"
                f"{_excerpt(chapter.text)}")

        def validate(reply: Any, n: int = per_chapter) -> list[dict[str, Any]]:
            items = reply.get("scenes") if isinstance(reply, dict) else None
            if not isinstance(items, list) or len(items) != n:
                raise ValueError(f"expected {n} scenes in a 'scenes' list")
            out = []
            for item in items:
                prompt = str(item.get("prompt", "")).strip() if isinstance(item, dict) else ""
                if len(prompt) < 15:
                    raise ValueError("every scene needs a descriptive 'prompt'")
                position = float(item.get("position", 0.5))
                if not 0.0 <= position <= 1.0:
                    raise ValueError("'position' must be between 0 and 1")
                out.append({"prompt": prompt, "position": position,
                            "negative_prompt": str(item.get("negative_prompt") or NEGATIVE_PROMPT),
                            "style": str(item.get("style") or "book illustration")})
            return out

        for k, item in enumerate(client.complete_json(system, user, validate)):
            scenes.append({"chapter_index": index, "scene_index": k, "source_sentence": None, **item})
    return scenes


def write_prompts(path: Path, scenes: list[dict[str, Any]], *, provider: str, model: str | None,
                  book_id: str) -> dict[str, Any]:
    """Write ``images/prompts.json`` atomically and return its content."""
    data = {
        "book_id": book_id,
        "provider": provider,
        "model": model,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "scenes": scenes,
    }
    atomic_write_json(path, data)
    return data


def write_book_prompts(paths, book_id: str, per_chapter: int, client=None) -> dict[str, Any]:
    """The book's scene prompts (``paths.image_prompts``): by ``client`` (an LLM) when given, else
    by the offline extractive writer. Returns the written document."""
    from e3.books.store import load_chapters

    meta, chapters = load_chapters(paths)
    if client is not None:
        scenes, provider, model = llm_scenes(client, chapters, per_chapter, meta), "llm", client.model
    else:
        scenes, provider, model = extractive_scenes(chapters, per_chapter, meta), "extractive", None
    return write_prompts(paths.image_prompts, scenes, provider=provider, model=model, book_id=book_id)
