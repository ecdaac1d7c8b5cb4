// The model picker, the model's card, and "bring your own model" (POST /api/models).
// With no ?model= a digit model comes first (a beginner starts with MNIST); the colour
// model is one click away. A ?model= the server does not have is said, not skipped over.

import { deleteJSON, getJSON, postForm } from "../api.js";
import { el, fmt, fmtAll, int, prose, showError } from "../util.js";

/** A model card's sentence as the pages write: sizes with ×, a true minus, → for "->". */
function cardText(text) {
  return prose(text).replace(/\s*->\s*/g, " → ");
}

function accuracyText(card) {
  const m = card.metrics;
  if (!m || typeof m.accuracy !== "number") return null;
  const images = m.images ? ` on ${int(m.images)} held-out validation images` : " on held-out validation images";
  return `${fmt(100 * m.accuracy, 1)}%${images}`;
}

function inputText(spec) {
  const [, c, h, w] = spec.shape;
  const kind = c === 1 ? "grey" : "colour (RGB)";
  const mean = (spec.mean || []).map((v) => fmt(v, 4)).join(", ");
  const std = (spec.std || []).map((v) => fmt(v, 4)).join(", ");
  return `${h}×${w} ${kind}; x = (pixel/255 − ${mean.includes(",") ? `[${mean}]` : mean}) / ${std.includes(",") ? `[${std}]` : std}`;
}

function durationText(seconds) {
  if (typeof seconds !== "number") return null;
  if (seconds < 90) return `${fmt(seconds, 2)} s`;
  if (seconds < 5400) return `${fmt(seconds / 60, 2)} min`;
  return `${fmt(seconds / 3600, 2)} h`;
}

function trainingText(t) {
  if (!t || typeof t.epochs !== "number") return null;
  const time = durationText(t.wall_time_seconds);
  return `${t.epochs} epochs${time ? ` in ${time}` : ""}${t.hardware ? ` on ${t.hardware}` : ""}`;
}

/** Per-class validation accuracy, weakest class first: where the model goes wrong. */
function perClassTable(card) {
  const per = card.metrics && card.metrics.per_class_accuracy;
  if (!per) return null;
  const rows = Object.entries(per).sort((a, b) => a[1] - b[1]);
  const shown = fmtAll(rows.map(([, acc]) => 100 * acc), 3); // one number of decimals for the column
  return el("details", { class: "model-more" },
    el("summary", {}, "Accuracy per class"),
    el("table", { class: "per-class" },
      el("caption", { class: "visually-hidden" }, `Validation accuracy of ${card.title || card.name} per class, weakest first`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "class"), el("th", { scope: "col" }, "accuracy"))),
      el("tbody", {}, rows.map(([name], i) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, `${shown[i]}%`))))));
}

// Shipped models the /learn page can train live (its recipe names), for a "train it yourself" link.
const LEARN_RECIPE = { "mnist-mlp": "keras-mlp", lenet5: "lenet5" };

/** The card of the selected model: what it is, what it was trained on, how good it is. */
export function renderCard(node, card) {
  node.replaceChildren();
  if (!card) return;
  const facts = [];
  const add = (term, value) => { if (value !== null && value !== undefined && value !== "") facts.push(el("dt", {}, term), el("dd", {}, value)); };
  const ds = card.dataset;
  add("Trained on", ds ? `${ds.name}${ds.train_size ? ` (${int(ds.train_size)} images)` : ""}` : card.source === "user" ? "not known (your upload)" : null);
  add("Validation accuracy", accuracyText(card) || (card.source === "user" ? "not measured" : null));
  add("Parameters", typeof card.parameters === "number" ? int(card.parameters) : null);
  add("Multiply-adds", typeof card.multiply_adds === "number" ? `${int(card.multiply_adds)} per image` : null);
  add("Training", trainingText(card.training));
  add("Input", inputText(card.input));
  const classes = card.classes || [];
  add("Classes", `${classes.length}: ${classes.slice(0, 10).join(", ")}${classes.length > 10 ? ", …" : ""}`);
  const more = [
    el("p", { class: "model-title" }, card.title || card.name),
    card.description ? el("p", { class: "small muted model-desc" }, cardText(card.description)) : null,
    LEARN_RECIPE[card.name] && card.source !== "user"
      ? el("p", { class: "small" }, el("a", { href: `/learn?recipe=${LEARN_RECIPE[card.name]}` }, "Train this network yourself, live"))
      : null,
    el("dl", { class: "facts" }, facts),
    perClassTable(card),
    card.notes && card.notes.length
      ? el("details", { class: "model-more" }, el("summary", {}, "Notes from the model card"),
        el("ul", { class: "small" }, card.notes.map((n) => el("li", {}, cardText(n)))))
      : null,
  ];
  const acc = accuracyText(card);
  const first = cardText(card.summary || card.title || card.name);
  node.append(
    el("p", { class: "model-summary" }, first,
      acc ? ` Right on ${acc.replace(/ on .*/, "")} of images it never trained on.` : "",
      card.source === "user" ? el("span", { class: "badge" }, "your model") : null),
    el("details", { class: "model-details" }, el("summary", {}, "Details: layers, training, accuracy"),
      ...more.filter(Boolean)), // append() would write a null as the text "null"
  );
}

// Uploaded models are private: the server never lists them. This browser keeps the
// handles (and titles) of its uploads, and of models opened from a shared link, here.
const SAVED_KEY = "convlab-my-models";

function savedModels() {
  try {
    const list = JSON.parse(localStorage.getItem(SAVED_KEY) || "[]");
    return Array.isArray(list) ? list.filter((m) => m && typeof m.name === "string" && m.name.startsWith("user-")) : [];
  } catch {
    return [];
  }
}

function saveModels(list) {
  try {
    localStorage.setItem(SAVED_KEY, JSON.stringify(list.map(({ name, title }) => ({ name, title }))));
  } catch {
    // storage full or disabled: the models still work for this visit
  }
}

function goneText(gone, replacement) {
  const names = gone.map((m) => `“${m.title || m.name}”`).join(", ");
  const one = gone.length === 1;
  return `${names} ${one ? "is" : "are"} no longer on the server (uploaded models are deleted when nobody has used them for a while, ` +
    `or when someone with the link deletes them), so ${one ? "it was" : "they were"} removed from Your models. Upload it again to use it.` +
    (replacement ? ` Showing “${replacement.title || replacement.name}” instead.` : "");
}

/** A ?model= that is neither shipped nor a saved or shared upload. */
function unknownText(name, replacement) {
  return `There is no model called “${name}” on this server` +
    (name.startsWith("user-") ? " (uploaded models are deleted when nobody has used them for a while)" : "") +
    `; showing “${replacement.title || replacement.name}” instead.`;
}

// The model a beginner starts with: a digit CNN (LeNet-5 first), then any grey model.
const BEGINNER = ["lenet5", "mnist-cnn"];
function firstModel(cards) {
  const shipped = cards.filter((c) => c.source !== "user");
  return BEGINNER.map((n) => shipped.find((c) => c.name === n)).find(Boolean)
    || shipped.find((c) => c.input.channels === "L") || cards[0] || null;
}

/**
 * Fill the <select>, show the card, list "Your models", wire the upload form.
 * `onSelect(card)` runs when the student picks a model (or an upload succeeds, or the
 * selected model is deleted and another takes its place).
 */
export function initModels({ select, cardNode, switchNode, form, mineNode, noteNode, onSelect }) {
  let cards = [];
  const status = form.querySelector("#byo-status");
  const error = form.querySelector("#byo-error");
  const mine = () => cards.filter((c) => c.source === "user");

  function fill(selected) {
    select.replaceChildren();
    const shipped = cards.filter((c) => c.source !== "user");
    const option = (c) => el("option", { value: c.name, selected: c.name === selected }, c.title || c.name);
    if (shipped.length) select.append(el("optgroup", { label: "Trained by ConvLab" }, shipped.map(option)));
    if (mine().length) select.append(el("optgroup", { label: "Your models" }, mine().map(option)));
    select.disabled = cards.length === 0;
    renderMine();
  }

  function renderMine() {
    const list = mineNode.querySelector("ul");
    const user = mine();
    mineNode.hidden = user.length === 0;
    const hours = user.length ? user[0].idle_hours : null;
    mineNode.querySelector(".mine-help").textContent =
      "Kept in this browser only; nobody else can see them. Anyone you give a model's link to can use it" +
      (typeof hours === "number" ? `, and a model unused for ${fmt(hours, 1)} hours is deleted.` : ".");
    list.replaceChildren(...user.map((c) => el("li", {},
      el("span", { class: "mine-title" }, c.title || c.name),
      el("a", { href: `/classify?model=${encodeURIComponent(c.name)}`, "aria-label": `Share link to ${c.title || c.name}` }, "Share link"),
      el("button", { type: "button", class: "small-button", "aria-label": `Delete ${c.title || c.name}`, onclick: () => remove(c) }, "Delete"))));
  }

  function note(text) {
    noteNode.hidden = !text;
    noteNode.textContent = text || "";
  }

  /** GET each saved handle: a 404 means the model expired or was deleted. */
  async function loadMine(selected) {
    const wanted = savedModels();
    if (selected && selected.startsWith("user-") && !wanted.some((m) => m.name === selected)) {
      wanted.push({ name: selected, title: "" }); // a shared link
    }
    const answers = await Promise.all(wanted.map(async (m) => {
      try {
        return { saved: m, card: await getJSON(`/api/models/${encodeURIComponent(m.name)}`) };
      } catch (err) {
        return { saved: m, gone: err.status === 404 };
      }
    }));
    saveModels(answers.filter((a) => !a.gone).map((a) => (a.card ? { name: a.card.name, title: a.card.title } : a.saved)));
    return { found: answers.filter((a) => a.card).map((a) => a.card), gone: answers.filter((a) => a.gone).map((a) => a.saved) };
  }

  /** One click to the other kind of model: the colour-photo net from a digit model, and back. */
  function renderSwitch(card) {
    const grey = card && card.input.channels === "L";
    const other = card && cards.find((c) => c.source !== "user" && c.name !== card.name &&
      (grey ? c.input.channels === "RGB" : c.name === (firstModel(cards) || {}).name));
    switchNode.hidden = !other;
    switchNode.replaceChildren();
    if (!other) return;
    switchNode.append(el("button", { type: "button", class: "small-button", onclick: () => {
      select.value = other.name;
      show(other);
      onSelect(other);
    } }, `${grey ? "Try the colour-photo model" : "Back to the digit model"} (${other.dataset ? other.dataset.name.split(" (")[0] : other.title})`));
  }

  function show(card) {
    renderCard(cardNode, card);
    renderSwitch(card);
  }

  async function load(selected) {
    const [shipped, { found, gone }] = await Promise.all([getJSON("/api/models"), loadMine(selected)]);
    cards = [...shipped.models, ...found];
    const known = cards.find((c) => c.name === selected);
    const pick = known || firstModel(cards);
    fill(pick && pick.name);
    show(pick);
    const goneNow = gone.some((m) => m.name === selected);
    let text = gone.length ? goneText(gone, goneNow ? pick : null) : "";
    if (selected && !known && !goneNow && pick) text = unknownText(selected, pick);
    note(text);
    return pick;
  }

  async function remove(card) {
    try {
      await deleteJSON(`/api/models/${encodeURIComponent(card.name)}`);
    } catch (err) {
      if (err.status !== 404) {
        note(`Could not delete “${card.title}”: ${err.detail || err.message}`);
        return;
      }
    }
    cards = cards.filter((c) => c.name !== card.name);
    saveModels(mine());
    note(`Deleted “${card.title}” from the server.`);
    const wasSelected = select.value === card.name;
    const next = wasSelected ? cards[0] || null : cards.find((c) => c.name === select.value);
    fill(next && next.name);
    if (wasSelected) {
      show(next);
      if (next) onSelect(next);
    }
  }

  select.addEventListener("change", () => {
    const card = cards.find((c) => c.name === select.value);
    show(card);
    onSelect(card);
  });

  form.addEventListener("submit", async (evt) => {
    evt.preventDefault();
    showError(error, null);
    const file = form.querySelector("#byo-file").files[0];
    if (!file) {
      showError(error, new Error("Choose an .onnx file first."));
      return;
    }
    const fields = { file, preprocess: form.querySelector("#byo-preprocess").value };
    const labels = form.querySelector("#byo-labels").files[0];
    if (labels) fields.labels = labels;
    for (const key of ["mean", "std"]) {
      const v = form.querySelector(`#byo-${key}`).value.trim();
      if (v) fields[key] = v;
    }
    const button = form.querySelector("#byo-submit");
    button.disabled = true;
    status.hidden = false;
    status.textContent = "Checking the model: loading it, running it once in onnxruntime and in ConvLab's engine…";
    try {
      const card = await postForm("/api/models", fields);
      cards.push(card);
      saveModels(mine());
      fill(card.name);
      show(card);
      note("");
      status.textContent = `Accepted: ${card.title}. It is selected above and listed under Your models; engine and onnxruntime agree to ${fmt(card.check.max_abs_diff_vs_onnxruntime, 8)}.`;
      onSelect(card);
    } catch (err) {
      status.hidden = true;
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });

  return {
    load,
    card: (name) => cards.find((c) => c.name === name) || null,
    count: () => cards.length,
  };
}
