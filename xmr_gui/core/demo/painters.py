"""How the demo world's things are drawn: one painter per label, on a SIZE × SIZE canvas, far to near.

A painter takes the canvas and the scene's random generator, so the same seed draws the same picture.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from PIL import ImageDraw

SIZE = 160
HORIZON = 0.55


def jitter(rng: random.Random, colour: tuple[int, int, int], amount: int = 25) -> tuple[int, int, int]:
    r, g, b = (max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)
    return r, g, b


def paint_sky(d: ImageDraw.ImageDraw, r: random.Random, base: tuple[int, int, int]) -> None:
    for y in range(int(SIZE * HORIZON) + 1):
        t = y / (SIZE * HORIZON)
        d.line([(0, y), (SIZE, y)], fill=tuple(int(c * (0.8 + 0.3 * t)) for c in base))


def ground(colour: tuple[int, int, int], top: float = HORIZON, bottom: float = 1.0) -> Callable[..., None]:
    def draw(d: ImageDraw.ImageDraw, r: random.Random) -> None:
        d.rectangle([0, int(SIZE * top), SIZE, int(SIZE * bottom)], fill=jitter(r, colour, 15))

    return draw


def _sea(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    ground((40, 90, 170), HORIZON, 0.78)(d, r)
    for _ in range(6):
        x, y = r.randint(0, SIZE), r.randint(int(SIZE * HORIZON) + 4, int(SIZE * 0.76))
        d.arc([x, y, x + 18, y + 6], 180, 360, fill=(200, 225, 255), width=1)


def _sun(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y, s = r.randint(15, SIZE - 35), r.randint(8, 35), r.randint(12, 20)
    d.ellipse([x, y, x + s, y + s], fill=(255, 215, 40))
    for a in range(0, 360, 45):
        cx, cy = x + s / 2, y + s / 2
        d.line(
            [
                cx + s * 0.7 * math.cos(math.radians(a)),
                cy + s * 0.7 * math.sin(math.radians(a)),
                cx + s * math.cos(math.radians(a)),
                cy + s * math.sin(math.radians(a)),
            ],
            fill=(255, 215, 40),
            width=2,
        )


def _moon(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y, s = r.randint(15, SIZE - 35), r.randint(8, 30), r.randint(14, 20)
    d.ellipse([x, y, x + s, y + s], fill=(245, 240, 200))
    d.ellipse([x + s // 3, y - 2, x + s + s // 3, y + s - 2], fill=(15, 20, 50))


def _stars(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(15, 30)):
        x, y = r.randint(0, SIZE), r.randint(0, int(SIZE * HORIZON) - 5)
        d.point([(x, y), (x + 1, y), (x, y + 1)], fill=(255, 255, 230))


def _cloud(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(1, 3)):
        x, y = r.randint(0, SIZE - 40), r.randint(5, int(SIZE * 0.3))
        c = jitter(r, (240, 240, 245), 10)
        for dx, dy, s in ((0, 6, 16), (10, 0, 20), (24, 5, 16)):
            d.ellipse([x + dx, y + dy, x + dx + s + 6, y + dy + s * 0.7], fill=c)


def _rain(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(70):
        x, y = r.randint(-10, SIZE), r.randint(0, SIZE)
        d.line([x, y, x + 4, y + 10], fill=(170, 185, 215), width=1)


def _mountain(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    base = int(SIZE * HORIZON)
    for _ in range(r.randint(1, 3)):
        x, w, h = r.randint(-20, SIZE - 30), r.randint(50, 90), r.randint(35, 60)
        peak = (x + w / 2, base - h)
        d.polygon([(x, base), peak, (x + w, base)], fill=jitter(r, (110, 100, 95), 15))
        d.polygon(
            [peak, (peak[0] - w * 0.15, base - h * 0.7), (peak[0] + w * 0.15, base - h * 0.7)], fill=(250, 250, 255)
        )


def _lake(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    ground((80, 150, 70))(d, r)
    d.ellipse(
        [r.randint(-30, 10), int(SIZE * 0.6), r.randint(SIZE - 10, SIZE + 30), int(SIZE * 0.95)],
        fill=jitter(r, (50, 110, 180), 15),
    )


def _snow(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    ground((240, 245, 250))(d, r)
    for _ in range(40):
        x, y = r.randint(0, SIZE), r.randint(0, SIZE)
        d.ellipse([x, y, x + 2, y + 2], fill=(255, 255, 255))


def _road(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    top = int(SIZE * 0.8)
    d.rectangle([0, top, SIZE, SIZE], fill=(70, 70, 75))
    for x in range(r.randint(0, 10), SIZE, 24):
        d.rectangle([x, top + 9, x + 12, top + 12], fill=(240, 240, 240))


def paint_building(d: ImageDraw.ImageDraw, r: random.Random, night: bool = False) -> None:
    x = r.randint(-10, 20)
    while x < SIZE:
        w, h = r.randint(22, 36), r.randint(45, 85)
        top = int(SIZE * 0.8) - h
        d.rectangle([x, top, x + w, int(SIZE * 0.8)], fill=jitter(r, (40, 45, 60) if night else (150, 150, 160), 20))
        for wy in range(top + 5, int(SIZE * 0.8) - 6, 9):
            for wx in range(x + 4, x + w - 4, 8):
                lit = (250, 220, 110) if night and r.random() < 0.6 else (60, 80, 110) if not night else (30, 30, 40)
                d.rectangle([wx, wy, wx + 3, wy + 4], fill=lit)
        x += w + r.randint(2, 12)


def _house(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, w = r.randint(10, SIZE - 60), r.randint(34, 46)
    base = int(SIZE * 0.82)
    d.rectangle([x, base - w * 0.8, x + w, base], fill=jitter(r, (220, 200, 160), 20))
    d.polygon([(x - 5, base - w * 0.8), (x + w / 2, base - w * 1.4), (x + w + 5, base - w * 0.8)], fill=(170, 50, 40))
    d.rectangle([x + w * 0.4, base - w * 0.4, x + w * 0.6, base], fill=(100, 60, 30))


def _tree(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(1, 4)):
        x, base, h = r.randint(0, SIZE - 20), r.randint(int(SIZE * 0.78), int(SIZE * 0.95)), r.randint(35, 55)
        d.rectangle([x + 7, base - h * 0.4, x + 12, base], fill=(100, 65, 30))
        d.ellipse([x - 6, base - h, x + 26, base - h * 0.3], fill=jitter(r, (40, 130, 50), 20))


def _flower(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(4, 10)):
        x, y = r.randint(0, SIZE - 6), r.randint(int(SIZE * 0.82), SIZE - 6)
        d.line([x + 3, y + 3, x + 3, y + 9], fill=(30, 110, 30))
        d.ellipse([x, y, x + 6, y + 6], fill=r.choice([(230, 40, 80), (250, 200, 40), (200, 80, 220), (255, 255, 255)]))


def _lamp(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(1, 2)):
        x = r.randint(5, SIZE - 10)
        d.rectangle([x, int(SIZE * 0.5), x + 2, int(SIZE * 0.85)], fill=(50, 50, 50))
        d.ellipse([x - 4, int(SIZE * 0.5) - 6, x + 6, int(SIZE * 0.5) + 3], fill=(255, 240, 150))


def _boat(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y = r.randint(5, SIZE - 45), int(SIZE * r.uniform(0.6, 0.7))
    d.polygon([(x, y), (x + 40, y), (x + 32, y + 9), (x + 7, y + 9)], fill=(120, 60, 30))
    d.polygon([(x + 19, y - 28), (x + 19, y - 2), (x + 36, y - 2)], fill=(250, 250, 250))


def _car(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y = r.randint(0, SIZE - 40), int(SIZE * 0.83)
    c = r.choice([(200, 30, 30), (30, 60, 200), (240, 200, 20), (30, 30, 30), (230, 230, 230)])
    d.rounded_rectangle([x, y, x + 38, y + 12], 3, fill=c)
    d.rounded_rectangle([x + 8, y - 8, x + 28, y + 2], 3, fill=c)
    d.ellipse([x + 4, y + 8, x + 13, y + 17], fill=(20, 20, 20))
    d.ellipse([x + 25, y + 8, x + 34, y + 17], fill=(20, 20, 20))


def _dog(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y = r.randint(5, SIZE - 35), int(SIZE * r.uniform(0.8, 0.86))
    c = jitter(r, (140, 90, 40), 30)
    d.ellipse([x, y, x + 24, y + 11], fill=c)
    d.ellipse([x + 18, y - 7, x + 30, y + 4], fill=c)
    for lx in (x + 3, x + 18):
        d.rectangle([lx, y + 8, lx + 3, y + 16], fill=c)


def _person(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    for _ in range(r.randint(1, 3)):
        x, y = r.randint(5, SIZE - 15), int(SIZE * r.uniform(0.66, 0.74))
        d.ellipse([x, y, x + 9, y + 9], fill=(235, 190, 150))
        d.rectangle([x + 1, y + 10, x + 8, y + 26], fill=r.choice([(200, 30, 30), (40, 60, 160), (40, 140, 60)]))
        d.line([x + 2, y + 26, x, y + 36], fill=(30, 30, 30), width=2)
        d.line([x + 7, y + 26, x + 9, y + 36], fill=(30, 30, 30), width=2)


def _umbrella(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    x, y = r.randint(5, SIZE - 35), int(SIZE * r.uniform(0.55, 0.62))
    d.pieslice([x, y, x + 32, y + 26], 180, 360, fill=r.choice([(230, 40, 40), (250, 180, 20), (40, 160, 220)]))
    d.line([x + 16, y + 13, x + 16, y + 34], fill=(40, 40, 40), width=2)


def _bird(d: ImageDraw.ImageDraw, r: random.Random) -> None:
    # 18 px wide, 3 px strokes: the demo model sees the scene at 64 px, where the first birds (10 px, 2 px strokes)
    # were under a pixel thick and "bird" was the one label a query could not find (P@10 0.2-0.7 by seed).
    for _ in range(r.randint(1, 4)):
        x, y = r.randint(5, SIZE - 23), r.randint(10, int(SIZE * 0.4))
        d.line([x, y, x + 9, y + 7, x + 18, y], fill=(25, 25, 25), width=3)


DRAW: dict[str, Callable[[ImageDraw.ImageDraw, random.Random], None]] = {
    "stars": _stars,
    "sun": _sun,
    "moon": _moon,
    "cloud": _cloud,
    "rain": _rain,
    "mountain": _mountain,
    "sea": _sea,
    "lake": _lake,
    "sand": ground((225, 200, 130), 0.76),
    "grass": ground((70, 150, 60)),
    "snow": _snow,
    "road": _road,
    "house": _house,
    "tree": _tree,
    "flower": _flower,
    "lamp": _lamp,
    "boat": _boat,
    "car": _car,
    "dog": _dog,
    "person": _person,
    "umbrella": _umbrella,
    "bird": _bird,
}
