"""axe-core, Deque's accessibility engine (the one browser devtools audits use), run on a
page as it is at that moment. Vendored under vendor/axe-core (see vendor/README.md)."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
# /docs is Swagger UI's markup, not ours: its operation rows put buttons inside a button,
# and its headings skip a level. ConvLab's own wrapper and colours are checked.
SWAGGER_RULES_OFF = {"nested-interactive": {"enabled": False}, "heading-order": {"enabled": False}}


def axe_violations(page, rules: dict | None = None) -> list[str]:
    """Run axe-core on the page as it is now; one line per violated rule, with examples."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)  # evaluated, not a <script>: the pages' CSP allows no inline scripts
    return page.evaluate(
        """async (rules) => {
          const r = await axe.run(document, { resultTypes: ["violations"], rules: rules || {} });
          return r.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length}x): ${v.help}: `
            + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
        }""",
        rules,
    )


def settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
