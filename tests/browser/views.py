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


# Text and controls that a strip of the screen (presenter mode's bar) lies over, scrolling the
# page from top to bottom: whatever scrolls (<main> in presenter mode, else the document) is
# moved half a screen at a time, and at each stop every visible text line (a Range's line
# boxes) and every control, image or canvas outside the strip is tested against the strip's
# box. What an ancestor clips away (scrolled out of <main>, out of a scroll box, visually
# hidden text) does not count; what lies under the strip but is not clipped does.
UNDER_STRIP = """(sel) => {
  const strip = document.querySelector(sel);
  const main = document.querySelector('main');
  const scrolls = (s) => s && s.scrollHeight > s.clientHeight + 1
    && ['auto', 'scroll'].includes(getComputedStyle(s).overflowY);
  const scroller = scrolls(main) ? main : document.scrollingElement;
  const CONTROLS = 'input, select, textarea, button, a[href], canvas, img, svg, video, '
    + '[tabindex]:not([tabindex="-1"]), [role=button], [role=slider], [role=tab], [role=checkbox], '
    + '[role=radio], [role=switch], [role=link], [role=option], [role=spinbutton], [role=gridcell]';
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  // The part of a box the element and its ancestors leave visible (overflow clips, opacity,
  // visibility); an element's own overflow clips its text, not its own box.
  function visible(el, r, own) {
    let box = { left: Math.max(r.left, 0), top: Math.max(r.top, 0),
                right: Math.min(r.right, innerWidth), bottom: Math.min(r.bottom, innerHeight) };
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.visibility === 'hidden' || s.opacity === '0') return null;
      if ((own || a !== el) && (s.overflowX !== 'visible' || s.overflowY !== 'visible')) {
        const c = a.getBoundingClientRect();
        box = { left: Math.max(box.left, c.left), top: Math.max(box.top, c.top),
                right: Math.min(box.right, c.right), bottom: Math.min(box.bottom, c.bottom) };
      }
      if (box.right - box.left <= 1 || box.bottom - box.top <= 1) return null;
    }
    return box;
  }
  const hits = new Map();
  const max = scroller.scrollHeight - scroller.clientHeight;
  const stops = [];
  for (let y = 0; y < max; y += Math.max(scroller.clientHeight / 2, 50)) stops.push(y);
  stops.push(max);
  let stripSeen = true;
  for (const y of stops) {
    scroller.scrollTop = y;
    const bar = strip.getBoundingClientRect();
    if (bar.top < -0.5 || bar.bottom > innerHeight + 0.5 || bar.width < 1) stripSeen = false;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!t.textContent.trim() || !el || strip.contains(el) || el.closest('script, style, template')) continue;
      if (!overlap(el.getBoundingClientRect(), bar)) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      for (const r of range.getClientRects()) {
        const v = overlap(r, bar) && visible(el, r, true);
        if (v && overlap(v, bar)) {
          hits.set(`text "${t.textContent.trim().slice(0, 40)}"`, Math.round(y));
          break;
        }
      }
    }
    for (const el of document.body.querySelectorAll(CONTROLS)) {
      if (strip.contains(el) || el.contains(strip)) continue;
      const r = el.getBoundingClientRect();
      const v = overlap(r, bar) && visible(el, r, false);
      if (v && overlap(v, bar)) {
        const name = el.id ? `#${el.id}` : el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
        hits.set(`control ${name}`, Math.round(y));
      }
    }
  }
  scroller.scrollTop = 0;
  const out = [...hits].map(([what, y]) => `${what} at scroll ${y}`);
  if (!stripSeen) out.unshift(`${sel} left the screen`);
  return out;
}"""


def under_strip(page, strip: str) -> list[str]:
    """What the ``strip`` element (a bar fixed on screen) hides anywhere on the page, from top
    to bottom; also says if the strip itself left the screen. Empty: it covers nothing."""
    return page.evaluate(UNDER_STRIP, strip)


def horizontal_overflow(page) -> float:
    """How far the page is wider than its window: the document's overflow, or (in presenter
    mode, where <main> is what scrolls) <main>'s."""
    return page.evaluate("""() => {
      const m = document.querySelector('main');
      return Math.max(document.documentElement.scrollWidth - window.innerWidth,
                      m ? m.scrollWidth - m.clientWidth : 0);
    }""")
