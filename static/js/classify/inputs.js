// Where the image comes from: sample images, an upload (drag and drop or a file picker),
// or a digit drawn on a canvas. Each hands a Blob (an image file) to `onImage`.

import { getBlob, getJSON, latestOnly } from "../api.js";
import { makeDrawable } from "../draw/canvas-input.js";
import { el } from "../util.js";

const GROUPS = [
  ["digits", "Digits (drawn from a font)", (s) => s.name.startsWith("digit-")],
  ["mnist", "MNIST validation images", (s) => s.kind === "mnist"],
  ["cifar10", "CIFAR-10 validation images", (s) => s.kind === "cifar10"],
  ["pictures", "Pictures", (s) => s.kind === "generated" && !s.name.startsWith("digit-")],
  ["course", "Course examples", (s) => s.kind === "course"],
];

export function sampleUrl(name, size = 112) {
  return `/api/samples/${encodeURIComponent(name)}/image.png?size=${size}`;
}

/** The sample a model should start with: a real validation image when there is one. */
export function defaultSample(samples, channels) {
  const kind = channels === "L" ? "mnist" : "cifar10";
  const real = samples.find((s) => s.kind === kind);
  if (real) return real.name;
  return channels === "L" ? "digit-7" : "scene";
}

export function initInputs({ onImage, onTab, onError }) {
  const tabs = ["samples", "upload", "draw"];
  let samples = [];
  let selected = null;
  let channels = "L";

  function showTab(name) {
    for (const t of tabs) {
      document.getElementById(`tab-${t}`).setAttribute("aria-pressed", String(t === name));
      document.getElementById(`pane-${t}`).hidden = t !== name;
    }
    if (onTab) onTab(name);
  }
  for (const t of tabs) document.getElementById(`tab-${t}`).addEventListener("click", () => showTab(t));

  // ----- samples
  const grid = document.getElementById("samples");
  function renderSamples() {
    grid.replaceChildren();
    const order = channels === "L"
      ? ["digits", "mnist", "course", "pictures", "cifar10"]
      : ["cifar10", "pictures", "digits", "mnist", "course"];
    for (const key of order) {
      const [, title, test] = GROUPS.find((g) => g[0] === key);
      const items = samples.filter(test);
      if (!items.length) continue;
      grid.append(el("p", { class: "sample-group", role: "presentation" }, title));
      for (const s of items) {
        const label = s.label ? `${s.title}` : s.title;
        const button = el("button", {
          type: "button", class: "sample", "aria-pressed": String(s.name === selected),
          "aria-label": label, title: label, dataset: { sample: s.name },
          onclick: () => pickSample(s.name),
        }, el("img", { src: sampleUrl(s.name, 56), alt: "", width: 56, height: 56, class: "pixels", loading: "lazy" }));
        grid.append(el("div", { role: "listitem" }, button));
      }
    }
  }

  function markSample(name) {
    selected = name;
    for (const b of grid.querySelectorAll(".sample")) b.setAttribute("aria-pressed", String(b.dataset.sample === name));
  }

  const fetchSample = latestOnly((url, opts) => getBlob(url, opts));
  async function pickSample(name) {
    markSample(name);
    try {
      const blob = await fetchSample(sampleUrl(name, 112));
      if (blob) onImage(blob, { src: "sample", sample: name });
    } catch (err) {
      if (onError) onError(err);
    }
  }

  // ----- upload: drag and drop or the file picker
  const fileInput = document.getElementById("file-input");
  const zone = document.getElementById("dropzone");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file) {
      markSample(null);
      fetchSample.cancel(); // a sample still downloading must not replace this file
      onImage(file, { src: "upload" });
    }
    fileInput.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "dragend"]) zone.addEventListener(type, () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) {
      markSample(null);
      fetchSample.cancel(); // a sample still downloading must not replace this file
      onImage(file, { src: "upload" });
    }
  });

  // ----- draw
  const canvas = document.getElementById("draw-canvas");
  let inked = false;
  // Ink on paper as the playground draws it, and as MNIST digits are: white on black, so a
  // drawing is never "inverted" by the server as if it were a photo of a digit on paper.
  const pad = makeDrawable(canvas, {
    lineWidth: 22,
    ink: "#fff",
    paper: "#000",
    onChange: async () => {
      if (!inked) return;
      markSample(null);
      fetchSample.cancel();
      onImage(await pad.toBlob(), { src: "draw" });
    },
  });
  canvas.addEventListener("pointerdown", () => { inked = true; });
  document.getElementById("draw-clear").addEventListener("click", () => {
    inked = false;
    pad.clear();
  });

  return {
    async load() {
      samples = (await getJSON("/api/samples")).samples;
      renderSamples();
      return samples;
    },
    setChannels(c) {
      channels = c;
      renderSamples();
      const note = document.getElementById("draw-note");
      note.hidden = c === "L";
      note.textContent = c === "L" ? "" : "This model reads colour photos; a drawing works, but it was not trained on digits.";
    },
    pickSample,
    markSample,
    showTab,
    samples: () => samples,
  };
}
