"""The offline planner for channel videos, and the check for plans an LLM writes.

``plan_channel_video(niche, mood_keywords, target_minutes)`` writes the ``prompts_json`` of seed
004: 20 music prompts (with ``duration_minutes``) and 20 visual prompts, all different, without a
model. It reads the niche and the moods (with the music synthesizer's mood lexicon) to choose the
musical families, then draws, without repeats, from pools of ensembles, forms, keys and tempi
(music) and scenes, light, season, weather, palette and composition (pictures). Track i's music
prompt and picture share a scene, so each pairing belongs together. The prompts state key, mode,
BPM and instruments in the words the built-in synthesizer reads (``e3.video.music``) and the
time-of-day and weather words the offline painter reads (``e3.pictures.painter``), so 20 prompts
become 20 audibly and visibly different tracks and pictures.

Track lengths come from ``e3.studio.track_minutes`` (the one home of the splitter and its limits):
each track is heard for 3-4.5 minutes, the heard parts add up exactly to the target (60-90
minutes), and each length adds its share of the crossfades between tracks (so the rendered video is
not 38 s short). ``validate_plan`` checks a plan from anywhere else (an LLM) against the same rules
and says exactly what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

from e3.errors import E3Error
from e3.studio import MAX_MINUTES, MIN_MINUTES, TRACKS, overlap_shares, planned_total, track_minutes
from e3.studio import TRACK_MAX_MINUTES as TRACK_MAX
from e3.studio import TRACK_MIN_MINUTES as TRACK_MIN


class PlanError(E3Error, ValueError):
    """A plan (or a request for one) breaks the rules; the message says which and how."""


# ------------------------------------------------------------------------------------- vocabulary

_ENSEMBLES = {
    "melancholic": ["solo piano and soft cello", "felt piano over warm pads", "piano with a lonely flute",
                    "cello, piano and distant strings", "music box bells over a warm pad",
                    "nylon guitar and soft strings", "piano and a slow string section", "rhodes and hushed pads"],
    "calm": ["warm pads and gentle bells", "soft piano and airy choir pads", "harp arpeggios over warm pads",
             "kalimba and drifting pads", "celesta and soft strings", "piano and slow evolving pads",
             "glass bells and a warm drone", "flute over soft pads"],
    "elegant": ["string quartet and harpsichord", "strings, piano and light percussion",
                "chamber strings with harp", "solo piano with a string section", "harpsichord and violin",
                "celesta, strings and harp", "piano, cello and violin", "pizzicato strings and harp"],
    "dark": ["low strings and dark choir pads", "deep drone and distant bells", "cello drone with muted piano",
             "dark pads and glass bells", "choir, organ and low strings", "low flute over a dark drone"],
    "upbeat": ["bright synth pads and plucked arpeggios", "marimba, bells and a soft beat",
               "acoustic guitar and light percussion", "electric piano and a shaker groove",
               "glockenspiel and bright pads", "plucked strings and handclap-light drums"],
    "lofi": ["dusty rhodes chords and a lazy beat", "electric piano, vinyl crackle and soft drums",
             "jazzy keys with a mellow flute", "muted guitar and a tape-warm beat", "rhodes, bells and brushed drums",
             "electric piano and a sleepy bass"],
    "celtic": ["celtic harp and tin whistle over a drone", "lute, flute and soft strings",
               "hammered dulcimer and harp", "folk harp and a low string drone", "flute and plucked lute",
               "harp, fiddle-like strings and a bagpipe-style drone"],
    "ethereal": ["shimmering glass pads and bells", "choir pads and celesta", "crystal bells over evolving pads",
                 "airy synth pads and a distant piano", "choir, harp and a slow swell", "glass pads and kalimba"],
    "zen": ["koto and shakuhachi over warm pads", "bamboo flute and soft bells", "koto and a temple-bell drone",
            "plucked koto and airy pads", "shakuhachi and kalimba", "soft bells and a bamboo flute"],
    "epic": ["sweeping strings and choir", "low strings, choir and soft drums", "strings and a heroic flute",
             "choir pads and a rising string section", "cello ostinato and strings"],
}
_FORMS = {
    "melancholic": ["nocturne", "elegy", "reverie", "lament", "romance", "interlude", "ballad"],
    "calm": ["reverie", "lullaby", "meditation", "idyll", "interlude", "prelude", "drift"],
    "elegant": ["waltz", "minuet", "serenade", "prelude", "air", "romance", "pavane", "sarabande"],
    "dark": ["nocturne", "requiem", "invocation", "lament", "procession", "vigil"],
    "upbeat": ["dance", "song", "etude", "promenade", "caprice", "parade"],
    "lofi": ["study loop", "late session", "sketch", "groove", "daydream", "ballad"],
    "celtic": ["air", "jig", "ballad", "pastorale", "lay", "reel"],
    "ethereal": ["reverie", "drift", "hymn", "aurora", "meditation", "prelude"],
    "zen": ["meditation", "garden song", "haiku", "stillness", "tea ceremony", "reverie"],
    "epic": ["overture", "anthem", "procession", "march", "saga", "fanfare"],
}
_QUALITIES = {  # the words e3.video.music reads; pentatonic families name no key letter
    "melancholic": ["minor", "minor", "dorian"], "calm": ["major", "lydian", "major"],
    "elegant": ["major", "major", "mixolydian", "lydian"], "dark": ["phrygian", "minor"],
    "upbeat": ["major", "mixolydian", "lydian"], "lofi": ["dorian", "major", "minor"],
    "celtic": ["dorian", "mixolydian", "minor"], "ethereal": ["lydian", "major"], "zen": ["pentatonic"],
    "epic": ["minor", "dorian"],
}
_LETTERS = ["C", "D", "E", "F", "G", "A", "B", "Bb", "Eb", "F#", "Ab", "C#"]
_MOOD_PHRASES = {
    "melancholic": ["a slow, aching melody", "long, sighing phrases", "a tender, unresolved ending"],
    "calm": ["slow-blooming pads", "an unhurried, breathing pulse", "soft, spacious harmony"],
    "elegant": ["a graceful melody", "poised, courtly phrasing", "refined ornaments"],
    "dark": ["a brooding low register", "slow, shadowed harmonies", "a haunting, distant motif"],
    "upbeat": ["a bright, lilting hook", "a light, buoyant groove", "sparkling arpeggios"],
    "lofi": ["warm, dusty chords", "a laid-back swing", "a hazy, nostalgic hook"],
    "celtic": ["a lilting modal tune", "an old ballad melody", "a drone-rooted folk melody"],
    "ethereal": ["weightless, shimmering harmony", "slow celestial swells", "a floating bell motif"],
    "zen": ["sparse, meditative phrases", "space between the notes", "a calm pentatonic melody"],
    "epic": ["a slowly rising theme", "broad, heroic phrases", "a building, cinematic swell"],
}

_SCENES = {
    "elegant": ["a grand ballroom with crystal chandeliers", "a palace library with gilded shelves",
                "a formal palace garden with fountains", "a marble gallery lined with portraits",
                "a throne room with velvet drapes", "an orangery with tall arched windows",
                "a music room with a harpsichord", "a candlelit banquet hall", "a palace terrace above a lake",
                "a hall of mirrors", "a rose garden with a stone balustrade", "a carriage courtyard of a chateau"],
    "celtic": ["a castle on a misty hill", "a cozy tavern with a stone hearth", "a stone bridge over a river",
               "a village square on market day", "an ancient forest with standing stones", "a monastery cloister",
               "a highland glen with a winding stream", "a fishing harbour below old cottages",
               "a watchtower on a sea cliff", "a moss-covered ruin in a birch wood"],
    "lofi": ["a desk by a rainy window with a warm lamp", "a cozy cafe corner with steaming coffee",
             "a rooftop above the city", "a bedroom with plants and fairy lights", "a library reading room",
             "a view from a train window", "a quiet bookshop alley", "a tram stop on a wet street",
             "a record shop at closing time", "a small apartment kitchen with a kettle"],
    "melancholic": ["a rain-soaked city street", "an apartment window over the city",
                    "an empty railway platform", "a lighthouse above a grey sea", "a lone bench in a park",
                    "a harbour with moored boats", "a country road lined with bare trees",
                    "a lakeside pier", "an old greenhouse", "a quiet cemetery garden with yew trees"],
    "calm": ["a still mountain lake", "a meadow of wildflowers", "a misty pine forest",
             "a waterfall in a mossy gorge", "a quiet beach with gentle waves", "a cottage garden",
             "rolling hills with a lone oak", "a river winding through reeds", "a lavender field",
             "a sheltered cove with clear water"],
    "dark": ["a gothic cathedral nave", "a foggy graveyard with iron gates", "an abandoned manor house",
             "a candlelit crypt", "a moonlit moor", "an old library with hidden doors",
             "a ruined abbey", "a forest of black pines", "a storm-lashed castle", "a cave lit by lanterns"],
    "upbeat": ["a sunny seaside promenade", "a flower market in a town square", "a summer orchard",
               "a sailing harbour with bright boats", "a hillside village with colourful houses",
               "a park with a fountain", "a beach with palm trees", "a vineyard on a sunny slope"],
    "ethereal": ["a nebula above a desert planet", "an aurora over snowy mountains",
                 "an observatory under the stars", "floating islands above the clouds",
                 "a glacier cave of blue ice", "a crystal lake under a starry sky", "a sea of clouds at altitude",
                 "a moonrise over the ocean"],
    "zen": ["a zen garden with raked gravel", "a bamboo grove", "temple steps among maple trees",
            "a koi pond with a wooden bridge", "a tea house in a moss garden", "a mountain shrine in mist",
            "a stone lantern by a stream", "cherry blossom over a river"],
    "epic": ["a mountain pass above the clouds", "a fortress on a cliff", "a valley at the end of a journey",
             "an army of banners on a plain", "a ship on a stormy sea", "ancient ruins on a summit"],
}
_LIGHTS = {  # painter time words: night/moon/candle, dusk/sunset, dawn/morning, noon/sunny
    "bright": ["bright noon sunlight", "a sunny afternoon", "clear midday daylight", "golden afternoon light"],
    "soft": ["soft dawn light with morning mist", "first light of sunrise", "a pale morning glow"],
    "warm": ["warm sunset glow", "golden evening light at sunset", "lantern light at dusk", "twilight blue hour"],
    "night": ["moonlight and stars", "candlelight at night", "a moonlit night", "starlight at midnight"],
}
_MOOD_LIGHT = {"melancholic": ["night", "warm", "soft"], "calm": ["soft", "bright", "warm"],
               "elegant": ["warm", "bright", "night"], "dark": ["night", "night", "warm"],
               "upbeat": ["bright", "bright", "soft"], "lofi": ["night", "warm", "soft"],
               "celtic": ["soft", "warm", "bright"], "ethereal": ["night", "soft", "night"],
               "zen": ["soft", "bright", "warm"], "epic": ["warm", "soft", "bright"]}
_SEASONS = {"spring": ["light drizzle", "clear skies", "drifting clouds", "morning mist"],
            "summer": ["clear skies", "drifting clouds", "a warm haze", "puddles after a summer rain"],
            "autumn": ["light rain", "morning fog", "falling leaves", "low clouds"],
            "winter": ["gentle snowfall", "frost and clear skies", "a snowy hush", "winter fog"]}
_PALETTES = ["gold and ivory", "deep blue and silver", "emerald and amber", "rose and lavender", "teal and copper",
             "crimson and gold", "sepia and cream", "indigo and violet", "sage green and ochre", "turquoise and sand",
             "navy and amber", "olive and bronze"]
_COMPOSITIONS = ["wide establishing shot", "symmetrical composition", "view through an arched window",
                 "low-angle view", "rule-of-thirds composition with a calm foreground", "elevated view",
                 "soft-focus background behind quiet foreground details", "panoramic view",
                 "centred vanishing point", "framed by foliage in the foreground"]
_STYLES = ["painterly digital art", "cinematic matte painting", "soft watercolor", "oil painting",
           "atmospheric concept art", "gouache illustration"]


# ------------------------------------------------------------------------------------- planning

def _hits(text: str) -> dict[str, int]:
    from e3.video.music import PROFILES

    words = re.findall(r"[a-z][a-z'-]*", text.lower().replace("lo-fi", "lofi").replace("lo fi", "lofi"))
    return {name: n for name, prof in PROFILES.items() if (n := sum(1 for w in words if w in prof.words))}


def _families(niche: str, moods: str) -> list[str]:
    """Mood families the niche and the moods speak for, strongest first (the synthesizer's lexicon).

    The niche and the moods weigh the same, whatever their number of words.
    """
    from e3.video.music import PROFILES

    scores: dict[str, float] = {}
    for part in (niche, moods):
        hits = _hits(part)
        total = sum(hits.values())
        for name, n in hits.items():
            scores[name] = scores.get(name, 0.0) + n / total
    ranked = sorted(scores, key=lambda n: (-scores[n], list(PROFILES).index(n)))
    return ranked or ["calm"]


_GENERIC = {"ambience", "ambient", "music", "beats", "sounds", "sound", "dreams", "dream", "vibes", "channel",
            "radio", "mix", "playlist", "atmosphere", "songs", "tunes"}
_SUBJECT_SCENES = ["a wide vista of {s}", "a quiet corner of {s}", "{s} seen from afar", "the heart of {s}",
                   "a winding path through {s}", "{s} reflected in still water", "a hidden glade of {s}",
                   "the edge of {s} at the horizon", "{s} in close, quiet detail", "a sweeping view over {s}"]


def _subject(niche: str) -> str | None:
    """The niche's own subject when the lexicon does not know it ("Underwater Coral Dreams" -> coral)."""
    if _hits(niche):
        return None
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", niche) if w.lower() not in _GENERIC]
    return " ".join(words).lower() or None


def _rng(niche: str, moods: str, target: int, seed: int | None) -> random.Random:
    digest = hashlib.sha256(f"{niche}\x00{moods}\x00{target}\x00{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def split_minutes(target_minutes: int, rng: random.Random, count: int = TRACKS) -> list[float]:
    """``count`` track lengths (hundredths of a minute) from ``e3.studio.track_minutes``, seeded by ``rng``."""
    return track_minutes(int(target_minutes), count=count, seed=rng.getrandbits(64))


def _check_target(target_minutes: Any) -> int:
    if isinstance(target_minutes, bool) or not isinstance(target_minutes, (int, float)) \
            or float(target_minutes) != int(target_minutes):
        raise PlanError(f"target minutes must be a whole number, not {target_minutes!r}")
    if not MIN_MINUTES <= int(target_minutes) <= MAX_MINUTES:
        raise PlanError(f"target {target_minutes} minutes is outside {MIN_MINUTES}-{MAX_MINUTES} "
                        f"(20 tracks of {TRACK_MIN:g}-{TRACK_MAX:g} minutes)")
    return int(target_minutes)


def _title_case(text: str) -> str:
    small = {"a", "an", "the", "of", "and", "in", "on", "by", "with", "over", "at", "to", "above", "below"}
    words = text.split()
    return " ".join(w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _scene_name(scene: str) -> str:
    """A short name for a scene: its head noun phrase without the article ("Palace Library")."""
    head = re.split(r" (?:with|above|over|under|on|in|by|at|of|lined|lit|below|among|through|behind|"
                    r"beneath|from|near|to) ", scene, maxsplit=1)[0]
    head = re.sub(r"^(a|an|the)\s+", "", head)
    return _title_case(head)


def plan_channel_video(niche: str, mood_keywords: str, target_minutes: int, *, seed: int | None = None) -> dict:
    """The offline ``prompts_json`` for one channel video (seed 004's shape), deterministic per seed.

    ``{"music_prompts": [{"order_index", "title", "prompt", "duration_minutes"} x 20],
    "visual_prompts": [{"order_index", "prompt"} x 20]}``: 20 different music prompts (ensemble,
    form, key, BPM, moods) and 20 different 16:9 scenes (place, light, season and weather, palette,
    composition), written from the niche and moods; lengths heard for 3-4.5 minutes each, summing to
    the target, plus their share of the crossfades (``e3.studio.track_minutes``).
    Raises ``PlanError`` for an empty niche or mood, or a target outside 60-90 minutes.
    """
    niche = " ".join((niche or "").split())
    moods = [m.strip() for m in (mood_keywords or "").split(",") if m.strip()]
    if not niche:
        raise PlanError("the plan needs a niche (e.g. \"Royal Court Ambience\")")
    if not moods:
        raise PlanError("the plan needs at least one mood keyword (e.g. \"elegant, classical\")")
    target = _check_target(target_minutes)
    rng = _rng(niche, ", ".join(moods), target, seed)
    families = _families(niche, ", ".join(moods))
    primary = families[0]
    # Most tracks speak the main mood; the others borrow a second one (or a kindred family) for contrast.
    kin = {"elegant": "calm", "melancholic": "calm", "calm": "ethereal", "dark": "melancholic", "upbeat": "calm",
           "lofi": "melancholic", "celtic": "calm", "ethereal": "calm", "zen": "calm", "epic": "dark"}
    secondary = families[1] if len(families) > 1 else kin[primary]
    fams = [primary] * 14 + [secondary] * 6
    rng.shuffle(fams)
    minutes = split_minutes(target, rng)

    def deck(items: list[str]):
        """Draw without repeats until the pool is used up, then reshuffle."""
        pool: list[str] = []
        while True:
            if not pool:
                pool = list(items)
                rng.shuffle(pool)
            yield pool.pop()

    decks: dict[tuple[str, str], Any] = {}

    def draw(kind: str, family: str, table: dict) -> str:
        key = (kind, family)
        if key not in decks:
            decks[key] = deck(table[family])
        return next(decks[key])

    palettes, compositions, styles = deck(_PALETTES), deck(_COMPOSITIONS), deck(_STYLES)
    seasons = deck(list(_SEASONS))
    letters = deck(_LETTERS)
    music, visual = [], []
    seen_m: set[str] = set()
    seen_v: set[str] = set()
    used_titles: set[str] = set()
    subject = _subject(niche)
    subject_scenes = deck([t.format(s=subject) for t in _SUBJECT_SCENES]) if subject else None
    for i, fam in enumerate(fams, start=1):
        for _attempt in range(50):
            scene = draw("scene", fam, _SCENES)
            if subject_scenes is not None and i % 2:  # an unknown niche still shows its own subject
                scene = next(subject_scenes)
            ensemble = draw("ensemble", fam, _ENSEMBLES)
            form = draw("form", fam, _FORMS)
            quality = draw("quality", fam, _QUALITIES)
            lo, hi = _tempo_range(fam)
            bpm = rng.randint(lo, hi)
            if form in ("waltz", "minuet", "jig") and bpm < 80:
                bpm += 24
            key = f"pentatonic, rooted on {next(letters)}" if quality == "pentatonic" else \
                f"{next(letters)} {quality}"
            user_moods = rng.sample(moods, k=min(len(moods), 2))
            phrase = draw("phrase", fam, _MOOD_PHRASES)
            title = _title_case(f"{_scene_name(scene)} {form}")
            if title in used_titles:
                title = _title_case(f"{_scene_name(scene)} {form} {_ROMAN[i - 1]}")
            season = next(seasons)
            weather = rng.choice(_SEASONS[season])
            light = rng.choice(_LIGHTS[rng.choice(_MOOD_LIGHT[fam])])
            article = "an" if form[0] in "aeiou" else "a"
            m_prompt = (f"{title}: {article} {form} for {ensemble} in {key}, {bpm} BPM. "
                        f"{' and '.join(user_moods).capitalize()}, with {phrase}; for {niche}, "
                        f"evoking {scene} in {season}.")
            v_prompt = (f"16:9 background for {niche}: {scene}, {light}, {season} with {weather}, "
                        f"{next(palettes)} palette, {next(compositions)}, {', '.join(moods[:3])} atmosphere, "
                        f"{next(styles)}, no text, no people")
            if m_prompt.casefold() not in seen_m and v_prompt.casefold() not in seen_v:
                break
        else:  # pragma: no cover - the pools are far larger than 20
            raise PlanError("could not write 20 different prompts from the vocabulary")
        seen_m.add(m_prompt.casefold())
        seen_v.add(v_prompt.casefold())
        used_titles.add(title)
        music.append({"order_index": i, "title": title, "prompt": m_prompt, "duration_minutes": minutes[i - 1]})
        visual.append({"order_index": i, "prompt": v_prompt})
    return validate_plan({"music_prompts": music, "visual_prompts": visual}, target)


_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
          "XVII", "XVIII", "XIX", "XX"]


def _tempo_range(family: str) -> tuple[int, int]:
    from e3.video.music import PROFILES

    return PROFILES[family].tempo


# ------------------------------------------------------------------------------------- validation

def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def validate_plan(obj: Any, target_minutes: int) -> dict:
    """Check a plan (a dict, or its JSON text) and return it cleaned and sorted by ``order_index``.

    Rules: exactly 20 music and 20 visual prompts; order_index 1-20, each once, in both lists; every
    prompt a non-empty text, none repeated (ignoring case and spacing); every ``duration_minutes``
    a number; either their sum equals ``target_minutes`` (60-90) within 0.01 with each in 3-4.5, and
    each then gets its share of the crossfades added (``e3.studio.overlap_shares``), or they already
    include it (sum ``planned_total``, each heard part in 3-4.5). Extra keys (a music ``title``) are kept. Raises ``PlanError`` (also a ``ValueError``) naming the first problem,
    written so that an LLM asked to fix its reply knows what to change.
    """
    target = _check_target(target_minutes)
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise PlanError(f"the plan is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise PlanError(f"the plan must be a JSON object, not {type(obj).__name__}")
    out: dict[str, Any] = {}
    for name in ("music_prompts", "visual_prompts"):
        items = obj.get(name)
        if not isinstance(items, list):
            raise PlanError(f"the plan needs a list {name!r} of {TRACKS} items")
        if len(items) != TRACKS:
            raise PlanError(f"{name} has {len(items)} items; it needs exactly {TRACKS}")
        cleaned = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise PlanError(f"{name} item {n} must be an object with order_index and prompt")
            idx = item.get("order_index")
            if isinstance(idx, bool) or not isinstance(idx, int) or not 1 <= idx <= TRACKS:
                raise PlanError(f"{name} item {n}: order_index must be a whole number 1-{TRACKS}, not {idx!r}")
            prompt = item.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise PlanError(f"{name} #{idx}: the prompt is empty")
            clean = {**item, "order_index": idx, "prompt": " ".join(prompt.split())}
            if name == "music_prompts":
                d = item.get("duration_minutes")
                if isinstance(d, bool) or not isinstance(d, (int, float)):
                    raise PlanError(f"music_prompts #{idx}: duration_minutes must be a number, not {d!r}")
                if not TRACK_MIN - 1e-9 <= float(d) <= TRACK_MAX + max(overlap_shares()) / 100 + 1e-9:
                    raise PlanError(f"music_prompts #{idx}: {d} minutes is outside {TRACK_MIN:g}-{TRACK_MAX:g}")
                clean["duration_minutes"] = float(d)
            cleaned.append(clean)
        indexes = sorted(c["order_index"] for c in cleaned)
        if indexes != list(range(1, TRACKS + 1)):
            dupes = sorted({i for i in indexes if indexes.count(i) > 1})
            raise PlanError(f"{name}: order_index must be 1-{TRACKS}, each once (repeated: {dupes})")
        seen: dict[str, int] = {}
        for c in sorted(cleaned, key=lambda c: c["order_index"]):
            key = _norm(c["prompt"])
            if key in seen:
                raise PlanError(f"{name} #{c['order_index']} repeats #{seen[key]}: all {TRACKS} prompts must differ")
            seen[key] = c["order_index"]
        out[name] = sorted(cleaned, key=lambda c: c["order_index"])
    music = out["music_prompts"]
    total = sum(p["duration_minutes"] for p in music)
    shares = [x / 100 for x in overlap_shares(TRACKS)]
    if abs(total - planned_total(target)) <= 0.01 + 1e-9:  # lengths that already hold the crossfades
        heard = [p["duration_minutes"] - x for p, x in zip(music, shares)]
    elif abs(total - target) <= 0.01 + 1e-9:
        heard = [p["duration_minutes"] for p in music]
        for p, x in zip(music, shares):  # generate this much more, for the crossfades to eat
            p["duration_minutes"] = round(p["duration_minutes"] + x, 4)
    else:
        raise PlanError(f"the track lengths add up to {total:.2f} minutes, not the target {target} "
                        f"(without the crossfades)")
    for p, h in zip(music, heard):
        if not TRACK_MIN - 1e-6 <= h <= TRACK_MAX + 1e-6:
            raise PlanError(f"music_prompts #{p['order_index']}: {h:.2f} minutes (without the crossfades) is "
                            f"outside {TRACK_MIN:g}-{TRACK_MAX:g}")
    extra = {k: v for k, v in obj.items() if k not in out}
    return {**extra, **out}
