"""Every control on every page has an accessible name and can be reached by keyboard."""

from __future__ import annotations

import pytest

from app.routers.pages import NAV

# Controls without a name a screen reader can announce: no <label for>, no wrapping
# <label>, no aria-label / aria-labelledby / title, and (for buttons) no text.
UNNAMED_CONTROLS = """
() => {
  const bad = [];
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    if (el.type === 'hidden' || el.closest('[hidden]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const named =
      (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) ||
      el.closest('label') ||
      el.getAttribute('aria-label') ||
      el.getAttribute('aria-labelledby') ||
      el.getAttribute('title') ||
      (el.tagName === 'BUTTON' && el.textContent.trim());
    if (!named) bad.push(el.outerHTML.slice(0, 120));
  }
  return bad;
}
"""

# Elements that react to clicks but that a keyboard cannot reach. A grid of cells with a
# roving tab stop (one cell tabindex 0, arrow keys move) counts as reachable.
MOUSE_ONLY = """
() => [...document.querySelectorAll('[onclick], [role="button"]')]
  .filter((el) => !['A', 'BUTTON', 'INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)
                  && el.tabIndex < 0)
  .filter((el) => {
    let group = el.parentElement;
    for (let i = 0; group && i < 3; i++, group = group.parentElement) {
      if (group.querySelector('[role="button"][tabindex="0"]') || group.tabIndex >= 0) return false;
    }
    return true;
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""


@pytest.mark.parametrize("path,label", NAV)
def test_every_control_is_labelled(page, live_server, path, label):
    page.goto(live_server + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert page.evaluate(MOUSE_ONLY) == []
    # The first Tab after the skip link lands in the navigation, and focus is visible.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_the_checks_can_fail(page, live_server):
    page.goto(live_server + "/")
    page.evaluate("""() => {
      document.querySelector('main').append(document.createElement('input'));
      const cell = document.createElement('span');
      cell.setAttribute('role', 'button');
      cell.tabIndex = -1;
      document.body.append(cell);
    }""")
    assert len(page.evaluate(UNNAMED_CONTROLS)) == 1
    assert len(page.evaluate(MOUSE_ONLY)) == 1
