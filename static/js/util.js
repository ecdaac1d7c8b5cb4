// Small DOM and number helpers shared by the pages.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

const SVG = "http://www.w3.org/2000/svg";

/** svgEl("rect", {x: 1, class: "cell"}, "optional text"): an SVG element. */
export function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** el("div", {class: "x", onclick: fn}, child, "text") */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A number for a student: up to `digits` decimals, trailing zeros removed, -0 shown as 0. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  const ax = Math.abs(x);
  if (ax !== 0 && (ax >= 1e6 || ax < 10 ** -digits)) return x.toExponential(2);
  let s = x.toFixed(digits);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s === "-0" ? "0" : s.replace("-", "−");
}

/** 1234567 -> "1,234,567" */
export function int(n) {
  return Number(n).toLocaleString("en-US");
}

/** Bytes in decimal units with one decimal, as the course counts them (1 MB = 1,000,000
 * bytes, 1 kB = 1,000): VGG16's 15,237,608 float32 values, 60,950,432 bytes, are "61.0 MB". */
export function bytes(n) {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function debounce(fn, ms = 120) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** Show an API error (or clear it when `err` is null) in a `.error` element. */
export function showError(node, err) {
  if (!node) return;
  if (!err) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.hidden = false;
  node.textContent = err.detail || err.message || String(err);
}
