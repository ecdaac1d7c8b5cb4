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

// ---------------------------------------------------------------- numbers and shapes
// ConvLab's one number formatter: a true minus sign (U+2212), never "−0", never "e-4"
// (powers of ten are written 1.2×10⁻⁷), and within a table one number of decimals for
// every value (fmtAll). Shapes are written as the course writes them, height×width×channels,
// with "×" (U+00D7). Every page should use these; the numbers themselves come from the API.

export const MINUS = "\u2212";
export const TIMES = "\u00d7";
const SUPERSCRIPT = { "-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074",
  5: "\u2075", 6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079" };

/** "-0.000" -> "0.000", then "-" -> "−". */
function signed(text) {
  const s = /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
  return s.replace("-", MINUS);
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

function missing(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : `${MINUS}∞`;
  return null;
}

/** x with `sig` significant digits as a power of ten: 1.2e-7 -> "1.2×10⁻⁷". */
export function sci(x, sig = 3) {
  const gap = missing(x);
  if (gap) return gap;
  const [mantissa, exponent] = x.toExponential(Math.max(0, sig - 1)).split("e");
  const power = String(Number(exponent)).replace(/[-0-9]/g, (c) => SUPERSCRIPT[c]);
  return `${signed(trimZeros(mantissa))}${TIMES}10${power}`;
}

/**
 * One number for a student: up to `digits` decimals, trailing zeros removed. A non-zero
 * value too small for `digits` (at least 1) decimals keeps three significant digits
 * (0.000123), written out down to 10⁻⁶; beyond that, and from a million up, a power of ten.
 */
export function fmt(x, digits = 3) {
  const gap = missing(x);
  if (gap) return gap;
  const ax = Math.abs(x);
  if (ax >= 1e6) return sci(x, 3);
  if (digits > 0 && ax !== 0 && ax < 10 ** -digits) return ax < 1e-6 ? sci(x, 3) : signed(trimZeros(x.toPrecision(3)));
  return signed(trimZeros(x.toFixed(digits)));
}

/**
 * The numbers of one table or column: every value with the same number of decimals, enough
 * for `sig` significant digits of the largest (at most 6), so −0.175 sits beside 0.000,
 * never beside 1e-4. From a million up each value is a power of ten.
 */
export function fmtAll(values, sig = 3) {
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  const top = Math.max(0, ...finite.map(Math.abs));
  if (top >= 1e6) return values.map((v) => (Math.abs(v) >= 1e6 ? sci(v, sig) : fmt(v)));
  const decimals = top === 0 ? 0 : Math.min(6, Math.max(0, sig - 1 - Math.floor(Math.log10(top))));
  return values.map((v) => missing(v) ?? signed(v.toFixed(decimals)));
}

/** 1234567 -> "1,234,567"; −12 with a true minus. */
export function int(n) {
  return signed(Number(n).toLocaleString("en-US"));
}

/**
 * A tensor's shape as the course writes it, height×width×channels: the API's (C, H, W)
 * [6, 28, 28] -> "28×28×6"; an (N, C, H, W) batch drops N; (H, W) -> "28×28"; (N) -> "N".
 */
export function shape(dims) {
  const d = dims.length === 4 ? dims.slice(1) : dims;
  if (d.length === 3) return `${d[1]}${TIMES}${d[2]}${TIMES}${d[0]}`;
  return d.map((v) => int(v)).join(TIMES);
}

/** A sentence from the server written as pages write numbers: sizes with "×" ("3x3" ->
 * "3×3", "55x55x96" -> "55×55×96") and a negative number with a true minus ("-1" -> "−1");
 * an operator between spaces ("6 - 3") is left as it is. */
export function prose(text) {
  // A suspended hyphen ("Caltech-101 and -256", "ResNet-18 or -34") stays a hyphen.
  return String(text ?? "").replace(/(\d)x(?=\d)/g, `$1${TIMES}`)
    .replace(/(?<!\w-\d+ (?:and|or))(^|[\s(])-(?=\d)/g, `$1${MINUS}`);
}

const NAMED = "(?:width|height|depth|[A-Z])";
const NAMED_TIMES = new RegExp(`\\b(${NAMED}) x (?=${NAMED}\\b)`, "g");
const E_NOTATION = /(?<![\w.])\d+(?:\.\d+)?e[-+]?\d+(?![\w.])/g;

/**
 * A sentence or formula from the server (the API keeps ASCII) written as the pages write
 * maths: what {@link prose} does, and a binary minus between spaces and "*" as true signs
 * ("(6 - 3 + 2*0)/1 + 1" -> "(6 − 3 + 2×0)/1 + 1"), a product of named sizes with ×
 * ("width x height x depth", "F x F"), a factor "3.1x" as "3.1×", a power "7^2" as "7²",
 * "1e-8" as "1×10⁻⁸" ({@link sci}) and "->" as "→". Every page shows server text through this.
 */
export function formula(text) {
  const ascii = String(text ?? "")
    .replace(E_NOTATION, (m) => sci(Number(m), m.split(/e/i)[0].replace(/\D/g, "").replace(/^0+/, "").length || 1))
    .replace(/\s*->\s*/g, " → ")
    .replace(NAMED_TIMES, `$1 ${TIMES} `)
    .replace(/(\d)x(?!\w)/g, `$1${TIMES}`)
    .replace(/\^(\d+)/g, (_, d) => [...d].map((c) => SUPERSCRIPT[c]).join(""));
  return prose(ascii).replace(/ - /g, ` ${MINUS} `).replace(/\s*\*\s*/g, TIMES);
}

/** A window or filter size: 3 -> "3×3", (3, 5) -> "3×5". */
export function square(h, w = h) {
  return `${h}${TIMES}${w}`;
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
