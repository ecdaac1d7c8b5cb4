// Fetch only: every call to the server goes through here. Errors carry the server's
// sentence (`detail`) so pages can show it to the student as is.

export class ApiError extends Error {
  /** `body`: the whole JSON error, for fields beside `detail` (e.g. an impossible layer's `formula`). */
  constructor(status, detail, body = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

/** fetch, with a failed connection turned into an ApiError the pages can show as is. */
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err; // latestOnly's own cancellation
    throw new ApiError(0, "Could not reach the ConvLab server; check the connection and try again.");
  }
}

async function handle(response) {
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) body = await response.json();
  if (!response.ok) {
    const detail = body && typeof body.detail === "string"
      ? body.detail
      : `The server answered ${response.status}.`;
    throw new ApiError(response.status, detail, body);
  }
  return body;
}

export async function getJSON(url, { signal } = {}) {
  return handle(await send(url, { signal, headers: { accept: "application/json" } }));
}

export async function postJSON(url, payload, { signal } = {}) {
  return handle(await send(url, {
    method: "POST",
    signal,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(payload),
  }));
}

/** DELETE a resource; resolves to null (204) or the JSON body. */
export async function deleteJSON(url, { signal } = {}) {
  return handle(await send(url, { method: "DELETE", signal, headers: { accept: "application/json" } }));
}

/** GET a file (e.g. a sample PNG) as a Blob. */
export async function getBlob(url, { signal } = {}) {
  const response = await send(url, { signal });
  if (!response.ok) await handle(response);
  return response.blob();
}

/** POST multipart form data (uploads); `fields` maps names to Blob/File/string. */
export async function postForm(url, fields, { signal } = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value instanceof Blob && !(value instanceof File)) form.append(name, value, `${name}.png`);
    else form.append(name, value);
  }
  return handle(await send(url, { method: "POST", body: form, signal }));
}

/**
 * Numbered turns, for an update that awaits more than one request: start one with
 * `const turn = turns.next()` and, after each await, `if (!turns.is(turn)) return;`,
 * so an older update never draws over a newer one.
 */
export function turns() {
  let n = 0;
  return { next: () => ++n, is: (turn) => turn === n };
}

/** A tensor as the API expects it: {shape, data} with data flat, row-major. */
export function tensor(shape, data) {
  return { shape, data: Array.from(data) };
}

/**
 * Calls `fn` with the latest arguments only: an older request still in flight is
 * aborted when a newer one starts (sliders fire many times a second), and resolves to
 * undefined. `.cancel()` aborts the one in flight, e.g. when what it would draw on is
 * gone.
 */
export function latestOnly(fn) {
  let controller = null;
  const call = async (...args) => {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    try {
      return await fn(...args, { signal: mine.signal });
    } catch (err) {
      if (err.name === "AbortError") return undefined;
      throw err;
    } finally {
      if (controller === mine) controller = null;
    }
  };
  call.cancel = () => {
    if (controller) controller.abort();
    controller = null;
  };
  return call;
}

/** Decode a feature map sent as {"encoding": "f16-base64", "data", "shape"} to Float32Array. */
export function decodeF16(payload) {
  const bin = atob(payload.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const halves = new Uint16Array(bytes.buffer);
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  return out;
}

function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
