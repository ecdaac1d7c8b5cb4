// Wide content that scrolls sideways (.scroll-x) must be reachable by keyboard, or a
// keyboard user cannot scroll it (WCAG 2.1.1). A box that overflows gets a tab stop and a
// name (its table's caption, or data-scroll-label); one that fits gets neither, so pages
// have no empty tab stops. Re-checked after the page changes or resizes.

const ADDED = "kbScroll";

function nameFor(box) {
  const caption = box.querySelector("caption");
  const text = box.dataset.scrollLabel || (caption && caption.textContent.trim()) || "Wide content";
  return `${text} (scrolls sideways)`;
}

function update() {
  for (const box of document.querySelectorAll(".scroll-x")) {
    const overflows = box.scrollWidth > box.clientWidth + 1;
    if (overflows && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", nameFor(box));
      box.dataset[ADDED] = "1";
    } else if (!overflows && box.dataset[ADDED]) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
      delete box.dataset[ADDED];
    }
  }
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    update();
  });
}

new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
window.addEventListener("resize", schedule);
schedule();
