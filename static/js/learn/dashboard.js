// What a run's answers show: its numbers and loss/accuracy curves, the first layer's
// filters, feature maps, the predictions grid and the confusion matrix (with the cell
// opened last kept open as the run goes on). Pure drawing of the API's numbers.

import { el, fmt, int } from "../util.js";
import { drawCell, drawConfusion } from "./confusion.js";
import { drawChart } from "./curves.js";
import * as api from "./run.js";
import { drawFilters, drawMaps, drawPredictions } from "./views.js";

let lastView = null;
let openCell = null; // [true, predicted] of the confusion cell shown
let shown = null; // the run whose view was drawn last

function imageFor(id) {
  return api.imageUrl(shown.config.dataset, id);
}

/** Draw `view`, and the numbers and curves of `run` (`lastStep`: the latest steps answer, or null). */
export function showRun(ui, view, { run, curves, lastStep }) {
  lastView = view;
  shown = run;
  drawNumbers(ui, run, curves, lastStep);
  drawFilters(ui.filters, ui.filtersNote, view.filters);
  drawMaps(ui.maps, view.feature_maps, { image: imageFor(view.feature_maps.image), classes: run.classes });
  drawPredictions(ui.preds, ui.predsSummary, view.predictions, { imageFor, classes: run.classes });
  const onOpen = (t, p) => {
    openCell = [t, p];
    drawConfusion(ui.confusion, lastView.confusion, { classes: shown.classes, open: openCell, onOpen });
    drawCell(ui.cell, lastView.confusion, t, p, { classes: shown.classes, imageFor });
  };
  drawConfusion(ui.confusion, view.confusion, { classes: run.classes, open: openCell, onOpen });
  if (openCell) drawCell(ui.cell, view.confusion, openCell[0], openCell[1], { classes: run.classes, imageFor });
}

function lastOf(list) {
  return list && list.length ? list[list.length - 1] : null;
}

function drawNumbers(ui, run, curves, lastStep) {
  const pct = (v) => (v === null || v === undefined ? "–" : `${fmt(100 * v, 1)}%`);
  ui.stepN.textContent = int(run.step);
  ui.epoch.textContent = run.epoch.toFixed(2); // "0.01", never "5.82e-3": epochs are read as progress
  ui.lr.textContent = fmt(run.config.learning_rate, 6);
  ui.speed.textContent = lastStep ? int(Math.round(lastStep.images_per_second)) : "–";
  ui.loss.textContent = lastStep ? fmt(lastStep.loss, 4) : fmt(lastOf(curves.log_loss), 4);
  ui.trainAcc.textContent = pct(lastStep ? lastStep.train_accuracy : lastOf(curves.log_acc));
  const val = lastOf(curves.val_acc);
  ui.valAcc.replaceChildren(val === null ? "–" : pct(val), el("span", { class: "ln-stat-note" },
    val === null ? ` first at step ${int(run.config.eval_every)}` : ` at step ${int(lastOf(curves.val_step))}`));
  const xMax = Math.max(run.step, 10);
  const size = { width: 520, height: 230 };
  const loss = [{ label: "training", kind: "train", xs: curves.log_step, ys: curves.log_loss }];
  if (curves.val_loss) loss.push({ label: "validation", kind: "val", xs: curves.val_step, ys: curves.val_loss, markers: true });
  drawChart(ui.lossCurve, loss, { ...size, xMax, empty: `No points yet: one every ${run.config.log_every} steps.` });
  drawChart(ui.accCurve, [
    { label: "training", kind: "train", xs: curves.log_step, ys: curves.log_acc },
    { label: "validation", kind: "val", xs: curves.val_step, ys: curves.val_acc, markers: true },
  ], { ...size, xMax, yMin: 0, yMax: 1, yFormat: (v) => `${fmt(100 * v, 0)}%`, empty: `No points yet: one every ${run.config.log_every} steps.` });
}
