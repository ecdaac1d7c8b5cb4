"""What a person at a screen sees, measured in the browser: whether elements lie inside the
viewport (one-screen checks), and the contrast ratio of text on its background (WCAG 2.x)."""

from __future__ import annotations

import re

# Each element's box in viewport coordinates, and the viewport's size.
BOXES = """(sels) => ({
  viewport: [window.innerWidth, window.innerHeight],
  boxes: sels.map((s) => {
    const e = document.querySelector(s);
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  }),
})"""

# The element's text colour and the first opaque background behind it.
COLOURS = """(sel) => {
  const e = document.querySelector(sel);
  const fg = getComputedStyle(e).color;
  let n = e, bg = "rgba(0, 0, 0, 0)";
  while (n && n.nodeType === 1) {
    const c = getComputedStyle(n).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(c) && c !== "transparent") { bg = c; break; }
    n = n.parentElement;
  }
  return [fg, bg === "rgba(0, 0, 0, 0)" ? "rgb(255, 255, 255)" : bg];
}"""


def outside_viewport(page, selectors: list[str], margin: float = 0.5) -> list[str]:
    """The selectors whose element is missing or not wholly inside the viewport."""
    got = page.evaluate(BOXES, selectors)
    width, height = got["viewport"]
    bad = []
    for sel, box in zip(selectors, got["boxes"], strict=True):
        if box is None:
            bad.append(f"{sel} (missing)")
            continue
        left, top, right, bottom = box
        if left < -margin or top < -margin or right > width + margin or bottom > height + margin:
            bad.append(f"{sel} at {[round(v) for v in box]} in {width}x{height}")
    return bad


def covered_by(page, selectors: list[str], cover: str) -> list[str]:
    """The selectors whose element the (visible) ``cover`` element overlaps."""
    got = page.evaluate(BOXES, [cover, *selectors])
    box = got["boxes"][0]
    if box is None or box[2] - box[0] == 0:
        return []
    hits = []
    for sel, b in zip(selectors, got["boxes"][1:], strict=True):
        if b and box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]:
            hits.append(sel)
    return hits


def _rgb(css: str) -> tuple[float, float, float]:
    nums = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
    return nums[0], nums[1], nums[2]


def luminance(css: str) -> float:
    """Relative luminance of a CSS rgb()/rgba() colour (WCAG 2.x definition)."""
    def channel(v: float) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS colours, from 1 to 21."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_contrast(page, selector: str) -> float:
    """The contrast ratio of the element's text on the background behind it."""
    fg, bg = page.evaluate(COLOURS, selector)
    return contrast(fg, bg)
