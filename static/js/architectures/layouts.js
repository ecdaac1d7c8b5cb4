// A network's layouts side by side (the paper's and torchvision's): each layout's table
// is fetched from GET /api/architectures/{name}, and the rows are lined up by layer name.
// Every number is the server's.

import { getJSON } from "../api.js";
import { el, int } from "../util.js";
import { said, shapeText } from "./format.js";

let shownFor = null;

/** Fill #layout-compare for detail `d` (hidden when the network has one layout). */
export async function renderLayoutCompare(d) {
  const box = document.getElementById("layout-compare");
  const base = d.layouts.length ? d.layouts[0].name : null;
  if (!base) {
    box.hidden = true;
    shownFor = null;
    return;
  }
  box.hidden = false;
  if (shownFor === base) return;
  shownFor = base;
  const tables = await Promise.all(d.layouts.map((l) => getJSON(`/api/architectures/${encodeURIComponent(l.name)}`)));
  if (shownFor !== base) return; // another network was picked meanwhile
  const names = [];
  for (const t of [...tables].sort((a, b) => b.layers.length - a.layers.length)) {
    for (const r of t.layers) if (!names.includes(r.name)) names.push(r.name);
  }
  const byName = tables.map((t) => Object.fromEntries(t.layers.map((r) => [r.name, r])));
  const head = el("thead", {},
    el("tr", {}, el("th", { scope: "col", rowspan: "2" }, "Layer"),
      ...d.layouts.map((l) => el("th", { scope: "colgroup", colspan: "2" }, said(l.label)))),
    el("tr", {}, ...d.layouts.flatMap(() => [el("th", { scope: "col" }, "Output"), el("th", { scope: "col" }, "Parameters")])));
  const cells = (r) => (r ? [el("td", {}, shapeText(r.output_shape)), el("td", {}, int(r.params))] : [el("td", {}, "–"), el("td", {}, "–")]);
  const body = el("tbody", {},
    el("tr", {}, el("th", { scope: "row" }, "input"), ...tables.flatMap((t) => [el("td", {}, shapeText(t.input_shape)), el("td", {}, "0")])),
    ...names.map((n) => el("tr", {}, el("th", { scope: "row" }, said(n)), ...byName.flatMap((m) => cells(m[n])))));
  const foot = el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, "Total"),
    ...tables.flatMap((t) => [el("td", {}, shapeText(t.output_shape)), el("td", { class: "layout-total" }, int(t.total_params))])));
  document.getElementById("layout-table").replaceChildren(
    el("caption", { class: "sr-only" }, `${d.layouts.length} layouts of the same network, layer by layer`), head, body, foot);
}
