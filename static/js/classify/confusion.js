// "Where it goes wrong": the model's confusion matrix on its held-out images, each cell a
// button that lists that (true, predicted) pair's images; every image opens in classify
// (`onOpen(url, item)`, url: GET /api/models/{name}/heldout/{index}.png). Plus the most
// confident mistakes. The counts, probabilities and which images come from the API.

import { latestOnly } from "../api.js";
import { el, fmt, showError } from "../util.js";
import { getWhenReady } from "./filters.js";

const PAGE = 24;

/** The URL of a model's held-out image `index` as a PNG, as the classify page can load it. */
export function heldoutUrl(model, index) {
  return `/api/models/${encodeURIComponent(model)}/heldout/${index}.png`;
}

function imageButton(item, onOpen, text) {
  const differs = item.as_upload.pred !== item.pred;
  const upload = differs ? ` Prepared as an upload, it is answered ${item.as_upload.pred_label} (${fmt(item.as_upload.p, 3)}).` : "";
  const label = `Held-out image ${item.index}: true ${item.true_label}, predicted ${item.pred_label} with probability ${fmt(item.p_pred, 3)} (p of ${item.true_label}: ${fmt(item.p_true, 3)}).${upload} Open in classify:`;
  return el("li", {}, el("button", { type: "button", class: "xd-thumb", title: label,
    onclick: () => onOpen && onOpen(item.url, item) },
  el("span", { class: "sr-only" }, label),
  el("img", { src: item.image, alt: "", width: 56, height: 56, class: "pixels" }),
  el("span", { class: "small" }, text),
  differs ? el("span", { class: "small xd-upload" }, `as upload: ${item.as_upload.pred_label}`) : null));
}

export function initConfusion({ onOpen } = {}) {
  const root = document.getElementById("confusion");
  const table = document.getElementById("cm-matrix");
  const status = document.getElementById("cm-status");
  const error = document.getElementById("cm-error");
  const cellBox = document.getElementById("cm-cell");
  const cellList = document.getElementById("cm-cell-images");
  const more = document.getElementById("cm-more");
  const mistakes = document.getElementById("cm-mistakes");
  let model = "";
  let open = null; // {t, p, offset, count}
  const loadMatrix = latestOnly((url, opts) => getWhenReady(url, { ...opts, onProgress: progress }));
  const loadCell = latestOnly((url, opts) => getWhenReady(url, opts));
  const loadMistakes = latestOnly((url, opts) => getWhenReady(url, opts));

  function progress(body) {
    status.textContent = `${body.what}: ${body.done.toLocaleString("en")} of ${body.total.toLocaleString("en")} (once per server process)…`;
  }

  async function setModel(name) {
    if (name === model) return;
    for (const load of [loadMatrix, loadCell, loadMistakes]) load.cancel();  // the last model's
    model = name;
    open = null;
    table.replaceChildren();
    mistakes.replaceChildren();
    cellBox.hidden = true;
    showError(error, null);
    root.hidden = false;
    const base = `/api/models/${encodeURIComponent(name)}`;
    document.getElementById("cm-source").textContent = "";
    try {
      const panels = await loadMatrix(`${base}/heldout`);
      if (!panels) return;
      document.getElementById("cm-body").hidden = !panels.confusion.available;
      if (!panels.confusion.available) {
        status.textContent = panels.confusion.reason;
        return;
      }
      status.textContent = "Asking for the model's answers on its held-out images…";
      const body = await loadMatrix(`${base}/confusion`);
      if (!body) return;
      renderMatrix(body);
      document.getElementById("cm-source").textContent = sourceText(body);
      status.textContent = "";
      const wrong = await loadMistakes(`${base}/mistakes?limit=12`);
      if (wrong) renderMistakes(wrong);
    } catch (err) {
      status.textContent = "";
      document.getElementById("cm-source").textContent = "";
      showError(error, err);
    }
  }

  function sourceText(body) {
    const s = body.source;
    let text = `Computed from ${s.description}. ${body.correct.toLocaleString("en")} of ${body.images.toLocaleString("en")} right (${fmt(100 * body.accuracy, 1)}%).`;
    if (body.equals_card_matrix === true) text += " The counts equal the model card's matrix.";
    else if (s.card_images) text += ` The model card's matrix counts its ${s.card_images.toLocaleString("en")} held-out images.`;
    return text;
  }

  function renderMatrix(body) {
    const k = body.classes.length;
    const head = el("tr", {}, el("th", { scope: "col", class: "xd-corner" }, "true ↓", el("br"), "pred. →"),
      ...body.classes.map((c) => el("th", { scope: "col" }, c)));
    const rows = body.matrix.map((row, t) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return el("tr", {}, el("th", { scope: "row" }, body.true_classes[t]),
        ...row.map((n, p) => {
          const label = `true ${body.true_classes[t]}, predicted ${body.classes[p]}: ${n} image${n === 1 ? "" : "s"}`;
          const share = n / total; // shading only: how much of the row this cell holds
          const kind = t === p ? "xd-right" : n ? "xd-wrong" : "xd-none";
          return el("td", {}, el("button", {
            type: "button", class: `xd-count ${kind}`, "aria-label": label, title: label,
            style: `--share:${share.toFixed(3)}`, disabled: n === 0 ? true : undefined,
            dataset: { t: String(t), p: String(p) }, onclick: () => showCell(body, t, p, 0),
          }, String(n)));
        }));
    });
    table.replaceChildren(el("caption", { class: "sr-only" }, `Confusion matrix of ${body.model}: ${k} true classes by ${k} predicted classes`),
      el("thead", {}, head), el("tbody", {}, ...rows));
  }

  async function showCell(body, t, p, offset) {
    cellBox.hidden = false;
    const title = document.getElementById("cm-cell-title");
    const n = body.matrix[t][p];
    title.textContent = `True ${body.true_classes[t]}, predicted ${body.classes[p]}: ${n} image${n === 1 ? "" : "s"}${t === p ? " (right)" : ""}, most confident first`;
    for (const b of table.querySelectorAll(".xd-count")) b.setAttribute("aria-pressed", String(b.dataset.t === String(t) && b.dataset.p === String(p)));
    if (offset === 0) cellList.replaceChildren();
    try {
      const cell = await loadCell(`/api/models/${encodeURIComponent(model)}/confusion/${t}/${p}?offset=${offset}&limit=${PAGE}`);
      if (!cell) return;
      cellList.append(...cell.images.map((item) => imageButton(item, onOpen,
        `#${item.index} · p=${fmt(item.p_pred, 4)}`)));
      open = { t, p, offset: offset + cell.images.length, count: cell.count };
      more.hidden = open.offset >= cell.count;
      more.onclick = () => showCell(body, t, p, open.offset);
      if (offset === 0 && !cell.images.length) cellList.append(el("li", { class: "small muted" }, "No images."));
    } catch (err) {
      showError(error, err);
    }
  }

  function renderMistakes(body) {
    if (!body.mistakes.length) {
      mistakes.replaceChildren(el("li", { class: "small muted" }, "No mistakes on these images."));
      return;
    }
    mistakes.replaceChildren(...body.mistakes.map((item) => imageButton(item, onOpen,
      `${item.true_label} → ${item.pred_label} (p=${fmt(item.p_pred, 4)})`)));
  }

  return { setModel };
}
