// The learn API's addresses (app/routers/learn.py states the contract). Fetching goes
// through ../api.js; images are plain <img> addresses the browser loads itself.

import { deleteJSON, getBlob, getJSON, postForm, postJSON } from "../api.js";

const BASE = "/api/learn";
const runUrl = (run) => `${BASE}/runs/${encodeURIComponent(run)}`;

export const recipes = () => getJSON(`${BASE}/recipes`);
export const create = (options) => postJSON(`${BASE}/runs`, options);
export const summary = (run) => getJSON(runUrl(run));
export const reset = (run) => postJSON(`${runUrl(run)}/reset`, {});
export const view = (run, image = 0, opts) => getJSON(`${runUrl(run)}/view?image=${image}`, opts);

/** `n` steps; the curve points after step `since`, and the view when `withView`. */
export const steps = (run, n, since, withView = true) =>
  postJSON(`${runUrl(run)}/steps`, { steps: n, since, view: withView });

/** Forget a run on the server; a run already gone (404) is fine. */
export async function remove(run) {
  try {
    await deleteJSON(runUrl(run));
  } catch (err) {
    if (err.status !== 404) throw err;
  }
}

export const onnxUrl = (run) => `${runUrl(run)}/model.onnx`;
export const codeUrl = (run, framework) => `${runUrl(run)}/code?framework=${framework}`;
export const imageUrl = (dataset, i) => `${BASE}/datasets/${encodeURIComponent(dataset)}/images/${i}`;

export const onnx = (run) => getBlob(onnxUrl(run));
/** Upload a model to the classify page's store (POST /api/models); answers its card. */
export const uploadModel = (fields) => postForm("/api/models", fields);

const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** `fn()`, again after a pause while the server answers 503 (its heavy-work slots busy). */
export async function retrying(fn, tries = 6) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (err.status !== 503 || i >= tries) throw err;
      await wait(500 * i);
    }
  }
}
