// Block diagrams of the architectures page, drawn as SVG from the server's rows
// (GET /api/architectures/ideas): the Inception module's four branches and the two
// residual blocks. Each box shows what the engine counted for that layer.

import { int, svgEl } from "../util.js";
import { compact, said, shapeText } from "./format.js";

function arrow(svg, x1, y1, x2, y2, cls = "dg-line") {
  svg.append(svgEl("line", { x1, y1, x2, y2, class: cls, "marker-end": `url(#${svg.id}-arrow)` }));
}

function start(svg, width, height, title, desc) {
  svg.replaceChildren(
    svgEl("title", { id: `${svg.id}-title` }, title),
    svgEl("desc", { id: `${svg.id}-desc` }, desc),
  );
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: `${svg.id}-arrow`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", class: "dg-arrowhead" }));
  defs.append(marker);
  svg.append(defs);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
}

/** A box with up to three centred lines of text; returns its bottom y. */
function box(svg, x, y, w, lines, cls = "dg-box") {
  const h = 10 + lines.length * 14;
  svg.append(svgEl("rect", { x, y, width: w, height: h, rx: 5, class: cls }));
  lines.forEach((t, i) => svg.append(svgEl("text", { x: x + w / 2, y: y + 17 + i * 14, class: i ? "dg-sub" : "dg-label" }, said(t))));
  return y + h;
}

/** The Inception module: `branches` = [{rows: [row, ...], ...}] over `inputShape`, concatenated. */
export function drawInception(svg, inputShape, branches, concatRow) {
  const colW = 104;
  const gap = 8;
  const width = branches.length * (colW + gap) + gap;
  const layerH = 62;
  const top = 52;
  const most = Math.max(...branches.map((b) => b.rows.length));
  const concatY = top + most * layerH + 18;
  const height = concatY + 50;
  start(svg, width, height, "An Inception module with 1×1 bottlenecks",
    `Four branches over a ${shapeText(inputShape)} input: ${branches.map((b) => b.rows.map((r) => said(r.name)).join(" then ")).join("; ")}; concatenated to ${shapeText(concatRow.output_shape)}.`);
  const inW = 150;
  const inBottom = box(svg, (width - inW) / 2, 6, inW, [`input ${shapeText(inputShape)}`], "dg-box dg-io");
  branches.forEach((b, i) => {
    const x = gap + i * (colW + gap);
    const cx = x + colW / 2;
    let y = top;
    arrow(svg, width / 2, inBottom, cx, y - 2);
    b.rows.forEach((r, k) => {
      const cls = r.type === "pool" ? "dg-box dg-pool" : r.name.startsWith("1x1") && k < b.rows.length - 1 ? "dg-box dg-neck" : "dg-box";
      const macs = r.macs ? `${compact(r.macs)} MACs` : "no MACs";
      const bottom = box(svg, x, y, colW, [r.name, shapeText(r.output_shape), macs], cls);
      y += layerH;
      arrow(svg, cx, bottom, cx, k === b.rows.length - 1 ? concatY - 2 : y - 2);
    });
  });
  box(svg, gap, concatY, width - 2 * gap, [`concatenate in depth: ${shapeText(concatRow.output_shape)}`, concatRow.detail], "dg-box dg-io");
}

/** A residual block from its row: the main path's convs, the shortcut and the addition. */
export function drawBlock(svg, row, title) {
  const main = row.children.filter((c) => c.type === "conv" && !c.name.startsWith("downsample"));
  const short = row.children.find((c) => c.type === "identity" || c.name.startsWith("downsample"));
  const add = row.children.find((c) => c.type === "add");
  const w = 176;
  const step = 64;
  const width = w + 96;
  const top = 40;
  const addY = top + main.length * step + 14;
  const height = addY + 58;
  const inShape = short.type === "identity" ? short.output_shape : null;
  start(svg, width, height, title,
    `${main.map((c) => `${said(c.name)}, ${int(c.params)} parameters`).join("; ")}; shortcut: ${short.type === "identity" ? "identity, 0 parameters" : `${said(short.name)}, ${int(short.params)} parameters`}; then add and ReLU.`);
  svg.append(svgEl("text", { x: w / 2, y: 16, class: "dg-label" }, inShape ? `x: ${shapeText(inShape)}` : "x"));
  let y = top;
  arrow(svg, w / 2, 22, w / 2, y - 2);
  main.forEach((c, k) => {
    const relu = k < main.length - 1 ? ", ReLU" : "";
    const bottom = box(svg, 0, y, w, [`${c.name}${relu}`, `${shapeText(c.output_shape)} · BN`, `${int(c.params)} parameters`],
      c.name.includes("1x1") ? "dg-box dg-neck" : "dg-box");
    y += step;
    arrow(svg, w / 2, bottom, w / 2, k === main.length - 1 ? addY - 11 : y - 2);
  });
  svg.append(svgEl("circle", { cx: w / 2, cy: addY, r: 10, class: "dg-add" }));
  svg.append(svgEl("text", { x: w / 2, y: addY + 5, class: "dg-label" }, "+"));
  // The shortcut: from x, down the right side, into the addition.
  const sx = w + 22;
  svg.append(svgEl("path", { d: `M${w / 2} 28 H${sx} V${addY} H${w / 2 + 13}`, class: "dg-line dg-skip", "marker-end": `url(#${svg.id}-arrow)` }));
  const label = short.type === "identity" ? ["identity", "0 params"] : ["1×1 proj.", `${int(short.params)}`];
  label.forEach((t, i) => svg.append(svgEl("text", { x: sx + 4, y: top + 40 + i * 14, class: "dg-side" }, t)));
  svg.append(svgEl("text", { x: w / 2, y: addY + 30, class: "dg-sub" }, `${said(add.detail)}: ${shapeText(add.output_shape)}`));
  svg.append(svgEl("text", { x: w / 2, y: addY + 46, class: "dg-label" }, `${int(row.params)} parameters in all`));
}
