// Presenter mode, for a teacher at a projector: ?present=1 (or the header's button) gives
// larger type, no header or footer, and each view sized to one screen (html.present in
// main.css). A slim bar at the top lists the pages (the navigation's own links, copied) and
// holds "Exit presenter mode"; the page scrolls in <main> below it, so the bar covers
// nothing. The flag is kept in links to other ConvLab pages; the button or Esc leaves it.
//
// A classic script loaded in <head>: it marks <html> before the first paint, so the page
// never flashes its normal layout, then wires the buttons once the document is parsed.
(() => {
  const FLAG = "present";
  const root = document.documentElement;
  const url = () => new URL(window.location.href);
  const isOn = () => url().searchParams.get(FLAG) === "1";
  // Keys that scroll the page (Space only where it does not press a button).
  const SCROLL_KEYS = new Set(["PageDown", "PageUp", "Home", "End", "ArrowDown", "ArrowUp", " "]);

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

  /** The bar's page menu: the site navigation's links, copied once (the header is hidden). */
  function fillMenu() {
    const menu = document.querySelector("#present-bar .present-pages");
    const nav = document.querySelector(".site-header .nav-list");
    if (!menu || !nav || menu.children.length) return;
    for (const item of nav.children) menu.append(item.cloneNode(true));
    // On a narrow window the menu scrolls sideways: start with this page's entry in sight.
    const current = menu.querySelector('[aria-current="page"]');
    if (current && menu.scrollWidth > menu.clientWidth) {
      const r = current.getBoundingClientRect();
      const m = menu.getBoundingClientRect();
      menu.scrollLeft += r.left - m.left - (m.width - r.width) / 2;
    }
  }

  /** The first element that starts at the top of what the reader sees, to keep it there
      across the switch (the window scrolls in the normal layout, <main> in presenter mode). */
  function topOfView(on) {
    const main = document.getElementById("main");
    if (!main || (on ? window.scrollY < 1 : main.scrollTop < 1)) return null;
    const box = main.getBoundingClientRect();
    const header = document.querySelector(".site-header");
    const top = Math.max(box.top, on && header ? header.getBoundingClientRect().bottom : 0);
    const x = (box.left + box.right) / 2;
    for (let y = top + 2; y < Math.min(top + 300, window.innerHeight); y += 16) {
      const hit = document.elementsFromPoint(x, y)
        .find((e) => e !== main && main.contains(e) && e.getBoundingClientRect().top >= top - 1);
      if (hit) return hit;
    }
    return null;
  }

  function set(on) {
    const keep = topOfView(on);
    const next = url();
    if (on) next.searchParams.set(FLAG, "1");
    else next.searchParams.delete(FLAG);
    window.history.replaceState(window.history.state, "", next.pathname + next.search + next.hash);
    apply(on);
    if (on) window.scrollTo(0, 0); // <main> scrolls now; the window stays at its top
    if (keep) {
      keep.scrollIntoView({ block: "start" });
      const header = on ? null : document.querySelector(".site-header"); // sticky, in the normal layout
      const under = header ? header.getBoundingClientRect().bottom - keep.getBoundingClientRect().top : 0;
      if (under > 0) window.scrollBy(0, -under - 8);
    }
    const focus = document.getElementById(on ? "present-exit" : "present-toggle");
    if (focus) focus.focus({ preventScroll: true });
  }

  function apply(on) {
    root.classList.toggle("present", on);
    if (on) fillMenu();
    const toggle = document.getElementById("present-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", String(on));
    for (const a of document.querySelectorAll("a[href]")) mark(a, on);
    window.dispatchEvent(new Event("resize")); // canvases and plots that size to their box
  }

  /** In presenter mode <main> is what scrolls. With the focus on nothing in particular (the
      body) or in the bar, the browser would send PageDown, Space and the arrows (a
      presentation clicker's keys) to the window, which no longer scrolls: move the focus to
      <main> first, and the browser's own scrolling moves it. */
  function scrollKeysReachMain(e) {
    if (!isOn() || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !SCROLL_KEYS.has(e.key)) return;
    const main = document.getElementById("main");
    const bar = document.getElementById("present-bar");
    const active = document.activeElement;
    const idle = !active || active === document.body || active === root;
    if (!main || !(idle || (bar && bar.contains(active)))) return;
    if (!idle && e.key === " " && active.closest("button")) return; // Space presses the button
    main.focus({ preventScroll: true });
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
    document.addEventListener("keydown", scrollKeysReachMain, true);
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
