"""Drawing one synthetic meme with OpenCV: a scene, objects, maybe a hate symbol, the text, then degradation.

``render(spec, text, size)`` turns a recipe from ``synth.generate`` into a BGR uint8 picture. Scenes (park,
office, beach, night city, plain room), objects (face, crowd, cat, dog, coffee, pizza, flag, heart, star, sun)
and hate symbols (sunwheel, crossed hammers, dagger ring — named as in the lexicon) are simple shapes; the text
is classic meme style (upper case, white with a black outline, top and bottom). Positions, sizes, colours,
noise, blur and JPEG-like compression vary with the recipe's seeds, so only a hate symbol in the picture says
anything about the label. Used by ``synth.corpus``; the drawing code is long but one idea (why it is one
module of ~330 lines).
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError

# Colours are BGR (OpenCV's order); the PNGs come out as ordinary RGB images.

SKIN_TONES = ((222, 232, 255), (180, 205, 241), (140, 180, 224), (100, 140, 198), (60, 95, 141), (45, 65, 95))
BRIGHT = ((40, 40, 220), (40, 160, 240), (40, 200, 240), (60, 170, 60), (200, 120, 40), (160, 60, 130),
          (250, 250, 250), (30, 30, 30), (180, 180, 40), (120, 60, 200))


def _jitter(rng: np.random.Generator, colour, amount: int = 18) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _gradient(img: np.ndarray, y0: int, y1: int, top, bottom) -> None:
    if y1 <= y0:
        return
    t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
    band = (1 - t) * np.asarray(top, float) + t * np.asarray(bottom, float)
    img[y0:y1] = band[:, None, :].astype(np.uint8)


def _scene(name: str, rng: np.random.Generator, s: int) -> np.ndarray:
    import cv2

    img = np.zeros((s, s, 3), np.uint8)
    if name == "park":
        horizon = int(s * rng.uniform(0.55, 0.7))
        _gradient(img, 0, horizon, _jitter(rng, (235, 170, 90)), _jitter(rng, (250, 225, 180)))
        _gradient(img, horizon, s, _jitter(rng, (70, 180, 90)), _jitter(rng, (40, 120, 50)))
        if rng.random() < 0.6:
            x = int(s * rng.uniform(0.05, 0.95))
            cv2.rectangle(img, (x - s // 40, horizon - s // 6), (x + s // 40, horizon + s // 40), (30, 60, 100), -1)
            cv2.circle(img, (x, horizon - s // 5), int(s * rng.uniform(0.07, 0.11)), _jitter(rng, (50, 140, 40)), -1)
    elif name == "office":
        img[:] = _jitter(rng, ((200, 220, 230), (190, 190, 190), (230, 210, 190))[int(rng.integers(3))], 20)
        x0, y0 = int(s * rng.uniform(0.05, 0.55)), int(s * rng.uniform(0.08, 0.2))
        cv2.rectangle(img, (x0, y0), (x0 + s // 3, y0 + s // 4), _jitter(rng, (240, 210, 170)), -1)
        cv2.rectangle(img, (x0, y0), (x0 + s // 3, y0 + s // 4), (90, 90, 90), max(1, s // 80))
        desk = int(s * rng.uniform(0.72, 0.82))
        cv2.rectangle(img, (0, desk), (s, s), _jitter(rng, (40, 80, 130)), -1)
    elif name == "beach":
        sea, sand = int(s * rng.uniform(0.4, 0.5)), int(s * rng.uniform(0.6, 0.72))
        _gradient(img, 0, sea, _jitter(rng, (240, 190, 120)), _jitter(rng, (250, 230, 200)))
        _gradient(img, sea, sand, _jitter(rng, (190, 140, 30)), _jitter(rng, (160, 110, 20)))
        _gradient(img, sand, s, _jitter(rng, (150, 210, 235)), _jitter(rng, (120, 190, 220)))
    elif name == "city":
        _gradient(img, 0, s, _jitter(rng, (60, 20, 10), 10), _jitter(rng, (100, 50, 40), 15))
        x = 0
        while x < s:
            w = int(s * rng.uniform(0.1, 0.22))
            top = int(s * rng.uniform(0.3, 0.65))
            cv2.rectangle(img, (x, top), (x + w, s), _jitter(rng, (45, 40, 40), 12), -1)
            step = max(3, s // 20)
            for wy in range(top + step // 2, s - step // 2, step):
                for wx in range(x + step // 3, x + w - step // 2, step):
                    if rng.random() < 0.45:
                        cv2.rectangle(img, (wx, wy), (wx + step // 3, wy + step // 3), (90, 215, 245), -1)
            x += w + int(rng.integers(0, max(2, s // 30)))
    else:  # room
        img[:] = _jitter(rng, BRIGHT[int(rng.integers(len(BRIGHT)))], 30)
        img[:] = (0.55 * img + 0.45 * 200).astype(np.uint8)
        floor = int(s * rng.uniform(0.75, 0.85))
        img[floor:] = (0.7 * img[floor:]).astype(np.uint8)
    return img


def _face(img, rng, cx, cy, r, tone=None) -> None:
    import cv2

    tone = tone if tone is not None else SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    cv2.circle(img, (cx, cy), r, _jitter(rng, tone, 8), -1, cv2.LINE_AA)
    if rng.random() < 0.7:
        hair = _jitter(rng, ((20, 20, 20), (30, 60, 110), (60, 160, 220), (90, 90, 90))[int(rng.integers(4))], 10)
        cv2.ellipse(img, (cx, cy - r // 3), (r, int(r * 0.75)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    eye = max(1, r // 7)
    for dx in (-1, 1):
        cv2.circle(img, (cx + dx * r // 3, cy - r // 6), eye, (20, 20, 20), -1, cv2.LINE_AA)
    mouth = (max(1, r // 2), max(1, r // 4))
    if rng.random() < 0.7:
        cv2.ellipse(img, (cx, cy + r // 5), mouth, 0, 20, 160, (40, 40, 120), max(1, r // 10), cv2.LINE_AA)
    else:
        cv2.line(img, (cx - mouth[0] // 2, cy + r // 2), (cx + mouth[0] // 2, cy + r // 2), (40, 40, 120),
                 max(1, r // 10), cv2.LINE_AA)


def _draw_object(img, name: str, seed: int, slot: int, count: int, s: int):
    """Draw ``name`` (or only place it, for "flag_slot"); returns the centre and size (cx, cy, r)."""
    import cv2

    rng = np.random.default_rng(seed)
    cx = int(s * (0.5 + (slot - (count - 1) / 2) * 0.36 + rng.uniform(-0.08, 0.08)))
    cy = int(s * rng.uniform(0.42, 0.6))
    r = max(4, int(s * rng.uniform(0.13, 0.2) * (0.85 if count > 1 else 1.0)))
    aa = cv2.LINE_AA
    if name == "face":
        _face(img, rng, cx, cy, r)
    elif name == "crowd":
        n = int(rng.integers(3, 8))
        small = max(3, int(r * rng.uniform(0.32, 0.42)))
        for k in range(n):
            row, col = divmod(k, 4)
            x = cx + int((col - 1.5) * small * 2.1 + rng.uniform(-2, 2))
            y = cy + int((row - 0.5) * small * 2.2 + rng.uniform(-2, 2))
            _face(img, rng, x, y, small)
    elif name in ("cat", "dog"):
        fur = _jitter(rng, ((40, 120, 230), (128, 128, 128), (30, 30, 30), (235, 235, 235), (40, 90, 150),
                            (120, 170, 210))[int(rng.integers(6))], 12)
        cv2.ellipse(img, (cx, cy + r // 2), (r, int(r * 0.6)), 0, 0, 360, fur, -1, aa)
        head = (cx + int(r * 0.7 * (1 if rng.random() < 0.5 else -1)), cy - r // 4)
        hr = max(3, int(r * 0.55))
        if name == "cat":
            for dx in (-1, 1):
                ear = np.array([[head[0] + dx * hr // 5, head[1] - hr // 2], [head[0] + dx * hr, head[1] - hr // 3],
                                [head[0] + dx * int(hr * 0.8), head[1] - int(hr * 1.4)]], np.int32)
                cv2.fillPoly(img, [ear], fur, aa)
            cv2.line(img, (cx - r, cy + r // 2), (cx - int(r * 1.4), cy - r // 3), fur, max(2, r // 6), aa)
        else:
            for dx in (-1, 1):
                cv2.ellipse(img, (head[0] + dx * int(hr * 0.8), head[1] + hr // 4), (max(2, hr // 3), hr), 0, 0, 360,
                            _jitter(rng, fur, 30), -1, aa)
        cv2.circle(img, head, hr, fur, -1, aa)
        for dx in (-1, 1):
            cv2.circle(img, (head[0] + dx * hr // 3, head[1] - hr // 6), max(1, hr // 6), (20, 60, 20) if name == "cat"
                       else (20, 20, 20), -1, aa)
        cv2.circle(img, (head[0], head[1] + hr // 4), max(1, hr // 6), (80, 80, 200) if name == "cat" else (10, 10, 10),
                   -1, aa)
    elif name == "coffee":
        body = _jitter(rng, ((245, 245, 245), (40, 40, 200), (180, 100, 40), (60, 150, 60))[int(rng.integers(4))])
        w, h = int(r * 0.8), int(r * 1.0)
        cv2.circle(img, (cx + w, cy), max(2, r // 3), body, max(2, r // 7), aa)
        cv2.rectangle(img, (cx - w, cy - h // 2), (cx + w, cy + h), body, -1)
        cv2.ellipse(img, (cx, cy - h // 2), (w, max(1, r // 6)), 0, 0, 360, (30, 60, 100), -1, aa)
        cv2.ellipse(img, (cx, cy + h), (int(w * 1.5), max(1, r // 5)), 0, 0, 360, _jitter(rng, (220, 220, 220)), -1, aa)
        for dx in (-w // 2, w // 2):
            pts = np.array([[cx + dx + int(np.sin(t) * r / 8), cy - h // 2 - int(t * r / 8)] for t in range(1, 8)],
                           np.int32)
            cv2.polylines(img, [pts], False, (230, 230, 230), max(1, r // 12), aa)
    elif name == "pizza":
        angle = rng.uniform(0, 2 * np.pi)
        tip = (cx + int(r * np.cos(angle)), cy + int(r * np.sin(angle)))
        a, b = angle + np.pi - 0.45, angle + np.pi + 0.45
        c1 = (cx + int(r * np.cos(a)), cy + int(r * np.sin(a)))
        c2 = (cx + int(r * np.cos(b)), cy + int(r * np.sin(b)))
        cv2.fillPoly(img, [np.array([tip, c1, c2], np.int32)], _jitter(rng, (60, 200, 250)), aa)
        cv2.line(img, c1, c2, _jitter(rng, (40, 110, 190)), max(2, r // 4), aa)
        for _ in range(int(rng.integers(2, 5))):
            u, v = rng.uniform(0.15, 0.6), rng.uniform(0.1, 0.9)
            px = int(tip[0] + u * ((1 - v) * (c1[0] - tip[0]) + v * (c2[0] - tip[0])))
            py = int(tip[1] + u * ((1 - v) * (c1[1] - tip[1]) + v * (c2[1] - tip[1])))
            cv2.circle(img, (px, py), max(1, r // 8), (40, 40, 180), -1, aa)
    elif name == "flag":
        width, height = int(r * rng.uniform(1.5, 2.0)), int(r * rng.uniform(0.9, 1.2))
        x0, y0 = cx - width // 2, cy - height // 2 - r // 3
        cv2.line(img, (x0, y0), (x0, y0 + int(height * 2.2)), (90, 90, 90), max(2, s // 60), aa)
        n = int(rng.integers(2, 5))
        colours = [BRIGHT[i] for i in rng.choice(len(BRIGHT), n, replace=False)]
        vertical = rng.random() < 0.5
        for k, colour in enumerate(colours):
            if vertical:
                a, b = x0 + k * width // n, x0 + (k + 1) * width // n
                cv2.rectangle(img, (a, y0), (b, y0 + height), colour, -1)
            else:
                a, b = y0 + k * height // n, y0 + (k + 1) * height // n
                cv2.rectangle(img, (x0, a), (x0 + width, b), colour, -1)
        return x0 + width // 2, y0 + height // 2, max(4, min(width, height) // 2)
    elif name == "heart":
        colour = _jitter(rng, ((60, 40, 220), (160, 120, 250), (90, 30, 180))[int(rng.integers(3))])
        half = max(2, r // 2)
        cv2.circle(img, (cx - half, cy - half // 2), half, colour, -1, aa)
        cv2.circle(img, (cx + half, cy - half // 2), half, colour, -1, aa)
        tri = np.array([[cx - 2 * half, cy - half // 4], [cx + 2 * half, cy - half // 4], [cx, cy + int(1.6 * r)]],
                       np.int32)
        cv2.fillPoly(img, [tri], colour, aa)
    elif name == "star":
        turn = rng.uniform(0, 2 * np.pi / 5)
        radii = [r if k % 2 == 0 else r * 0.42 for k in range(10)]
        angles = [turn + k * np.pi / 5 - np.pi / 2 for k in range(10)]
        pts = [(cx + int(q * np.cos(t)), cy + int(q * np.sin(t))) for q, t in zip(radii, angles)]
        cv2.fillPoly(img, [np.array(pts, np.int32)], _jitter(rng, (40, 210, 250)), aa)
    elif name == "sun":
        colour = _jitter(rng, (40, 215, 255), 12)
        for k in range(int(rng.integers(8, 13))):
            t = k * 2 * np.pi / 12 + rng.uniform(-0.1, 0.1)
            cv2.line(img, (cx + int(r * 0.8 * np.cos(t)), cy + int(r * 0.8 * np.sin(t))),
                     (cx + int(r * 1.3 * np.cos(t)), cy + int(r * 1.3 * np.sin(t))), colour, max(1, r // 8), aa)
        cv2.circle(img, (cx, cy), int(r * 0.7), colour, -1, aa)
    elif name != "flag_slot":
        raise WorkbenchError(f"unknown meme object {name!r}")
    return cx, cy, r


def _draw_symbol(img, name: str, seed: int, where, s: int) -> None:
    """A hate symbol glyph centred at ``where`` = (cx, cy, r), or at a random central place when None."""
    import cv2

    rng = np.random.default_rng(seed)
    if where is None:
        cx, cy = int(s * rng.uniform(0.35, 0.65)), int(s * rng.uniform(0.4, 0.6))
        r = max(6, int(s * rng.uniform(0.16, 0.24)))
    else:
        cx, cy, r = where                # on a flag's cloth (or where a flag would be): at least a readable size
        r = max(6, int(s * 0.11), int(r * rng.uniform(0.85, 1.05)))
    aa = cv2.LINE_AA
    dark = _jitter(rng, (15, 15, 15), 10)
    if name == "sunwheel":
        accent = _jitter(rng, ((200, 200, 200), (30, 30, 170), (60, 160, 200))[int(rng.integers(3))], 12)
        cv2.circle(img, (cx, cy), r, dark, -1, aa)
        turn = rng.uniform(0, np.pi / 6)
        for k in range(12):
            t = turn + k * np.pi / 6
            p1 = (cx + int(r * 0.25 * np.cos(t)), cy + int(r * 0.25 * np.sin(t)))
            p2 = (cx + int(r * 0.65 * np.cos(t)), cy + int(r * 0.65 * np.sin(t)))
            p3 = (cx + int(r * 0.92 * np.cos(t + 0.35)), cy + int(r * 0.92 * np.sin(t + 0.35)))
            cv2.polylines(img, [np.array([p1, p2, p3], np.int32)], False, accent, max(1, r // 12), aa)
        cv2.circle(img, (cx, cy), int(r * 0.45), accent, max(1, r // 14), aa)
        cv2.circle(img, (cx, cy), max(2, r // 5), dark, -1, aa)
        cv2.circle(img, (cx, cy), r, accent, max(1, r // 14), aa)
    elif name == "crossed hammers":
        colour = _jitter(rng, ((20, 20, 20), (20, 20, 140), (70, 70, 70))[int(rng.integers(3))], 10)
        spread = rng.uniform(35, 50)
        for sign in (-1, 1):
            t = np.deg2rad(90 + sign * spread)
            handle = cv2.boxPoints(((cx, cy), (r * 2.1, max(2, r * 0.18)), float(np.rad2deg(t))))
            cv2.fillPoly(img, [handle.astype(np.int32)], colour, aa)
            hx, hy = cx + r * 0.95 * np.cos(t), cy - r * 0.95 * np.sin(t)
            head = cv2.boxPoints(((hx, hy), (r * 0.38, r * 0.8), float(np.rad2deg(t))))
            cv2.fillPoly(img, [head.astype(np.int32)], colour, aa)
    elif name == "dagger ring":
        colour = _jitter(rng, ((20, 20, 20), (20, 20, 150), (40, 40, 90))[int(rng.integers(3))], 10)
        n = int(rng.integers(8, 13))
        cv2.circle(img, (cx, cy), int(r * 0.55), colour, max(1, r // 12), aa)
        turn = rng.uniform(0, 2 * np.pi / n)
        for k in range(n):
            t = turn + k * 2 * np.pi / n
            base, width = r * 0.6, 2 * np.pi / n * 0.3
            tri = [(cx + int(base * np.cos(t - width)), cy + int(base * np.sin(t - width))),
                   (cx + int(base * np.cos(t + width)), cy + int(base * np.sin(t + width))),
                   (cx + int(r * np.cos(t)), cy + int(r * np.sin(t)))]
            cv2.fillPoly(img, [np.array(tri, np.int32)], colour, aa)
    else:
        raise WorkbenchError(f"unknown hate symbol {name!r}")


FONT = 2  # cv2.FONT_HERSHEY_DUPLEX


def _split_text(text: str, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Top and bottom parts: at the first ': ', '? ' or '. ', else in the middle (short texts stay on one side)."""
    for sep in (": ", "? ", ". ", ", "):
        at = text.find(sep)
        if 0 < at < len(text) - 2:
            return [text[:at + 1]], [text[at + 2:]]
    words = text.split()
    if len(words) <= 3:
        return ([text], []) if rng.random() < 0.5 else ([], [text])
    half = (len(words) + 1) // 2
    return [" ".join(words[:half])], [" ".join(words[half:])]


def _wrap(part: str, s: int, scale: float, thick: int) -> list[str]:
    """One line if it fits at a readable scale, else two balanced lines."""
    import cv2

    width = cv2.getTextSize(part, FONT, scale, thick)[0][0]
    words = part.split()
    if width <= 0.94 * s or len(words) < 2:
        return [part]
    best = min(range(1, len(words)), key=lambda k: max(len(" ".join(words[:k])), len(" ".join(words[k:]))))
    return [" ".join(words[:best]), " ".join(words[best:])]


def _overlay_text(img: np.ndarray, text: str, seed: int, s: int) -> None:
    """Classic meme text: upper case, white with a black outline, top and bottom, scaled to fit."""
    import cv2

    rng = np.random.default_rng(seed)
    top, bottom = _split_text(text.upper(), rng)
    base = s / 160 * rng.uniform(0.55, 0.7)
    outline = max(2, int(round(s / 160 * rng.uniform(3.0, 4.0))))
    inner = max(1, outline // 3)
    margin = int(s * rng.uniform(0.02, 0.05))
    for part, at_top in [(p, True) for p in top] + [(p, False) for p in bottom]:
        lines = _wrap(part, s, base, outline)
        scale = base
        for line in lines:
            width = cv2.getTextSize(line, FONT, 1.0, outline)[0][0]
            scale = min(scale, 0.94 * s / max(width, 1))
        height = cv2.getTextSize("A", FONT, scale, outline)[0][1]
        gap = int(height * 1.45)
        y0 = margin + height if at_top else s - margin - outline - gap * (len(lines) - 1)
        for k, line in enumerate(lines):
            width = cv2.getTextSize(line, FONT, scale, outline)[0][0]
            x = int((s - width) / 2 + rng.uniform(-0.02, 0.02) * s)
            x = int(np.clip(x, 1, max(1, s - width - 1)))
            y = y0 + k * gap
            cv2.putText(img, line, (x, y), FONT, scale, (0, 0, 0), outline, cv2.LINE_AA)
            cv2.putText(img, line, (x, y), FONT, scale, (255, 255, 255), inner, cv2.LINE_AA)


def _degrade(img: np.ndarray, seed: int) -> np.ndarray:
    """Mild seeded noise, blur and JPEG-like compression, as re-shared memes have."""
    import cv2

    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.0, 4.0)
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    img = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.4, 0.9))
    if rng.random() < 0.4:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 91))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


def render(spec: dict, text: str, size: int) -> np.ndarray:
    """The meme picture for a recipe and a text, as a BGR uint8 array ``[size, size, 3]`` (OpenCV's order)."""
    img = _scene(spec["scene"], np.random.default_rng(spec["scene_seed"]), size)
    places = {}
    objects = spec["objects"]
    for k, (name, seed) in enumerate(objects):
        places[name] = _draw_object(img, name, seed, k, len(objects), size)
    if spec["symbol"]:
        name, seed, mode = spec["symbol"]
        where = places.get("flag") if mode == "on_flag" else places.get("flag_slot")
        _draw_symbol(img, name, seed, where, size)
    _overlay_text(img, text, spec["text_seed"], size)
    return _degrade(img, spec["post_seed"])

