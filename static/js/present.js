// Presenter mode, for a teacher at a projector: ?present=1 (or the header's button) gives
// larger type, no header, footer or navigation, and each view sized to one screen
// (html.present in main.css). The flag is kept in links to other ConvLab pages; the
// "Exit presenter mode" button or Esc leaves it.
//
// A classic script loaded in <head>: it marks <html> before the first paint, so the page
// never flashes its normal layout, then wires the buttons once the document is parsed.
(() => {
  const FLAG = "present";
  const root = document.documentElement;
  const url = () => new URL(window.location.href);
  const isOn = () => url().searchParams.get(FLAG) === "1";

  root.classList.toggle("present", isOn());

  /** A same-site page link (not a file under /static, the OpenAPI JSON, or another site). */
  function isPageLink(a) {
    const href = a.getAttribute("href");
    if (!href || href.startsWith("#") || a.hasAttribute("download")) return false;
    let target;
    try {
      target = new URL(a.href, window.location.href);
    } catch {
      return false;
    }
    return target.origin === window.location.origin
      && !target.pathname.startsWith("/static/") && !target.pathname.startsWith("/api/")
      && target.pathname !== "/openapi.json";
  }

  /** Add (or drop) the flag on a page link, leaving its other parameters and hash. */
  function mark(a, on) {
    if (!isPageLink(a)) return;
    const target = new URL(a.href, window.location.href);
    if (on) target.searchParams.set(FLAG, "1");
    else target.searchParams.delete(FLAG);
    a.setAttribute("href", target.pathname + target.search + target.hash);
  }

  function set(on) {
    const next = url();
    if (on) next.searchParams.set(FLAG, "1");
    else next.searchParams.delete(FLAG);
    window.history.replaceState(window.history.state, "", next.pathname + next.search + next.hash);
    apply(on);
    const focus = document.getElementById(on ? "present-exit" : "present-toggle");
    if (focus) focus.focus();
  }

  function apply(on) {
    root.classList.toggle("present", on);
    const toggle = document.getElementById("present-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", String(on));
    for (const a of document.querySelectorAll("a[href]")) mark(a, on);
    window.dispatchEvent(new Event("resize")); // canvases and plots that size to their box
  }

  function wire() {
    const toggle = document.getElementById("present-toggle");
    const exit = document.getElementById("present-exit");
    if (toggle) toggle.addEventListener("click", () => set(!isOn()));
    if (exit) exit.addEventListener("click", () => set(false));
    // Links a page adds later get the flag when followed.
    document.addEventListener("click", (e) => {
      const a = e.target instanceof Element ? e.target.closest("a[href]") : null;
      if (a && isOn()) mark(a, true);
    }, true);
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || !isOn() || e.defaultPrevented) return;
      const t = e.target;
      if (t instanceof Element && t.closest("input, select, textarea, [contenteditable], dialog")) return;
      set(false);
    });
    if (isOn()) apply(true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
