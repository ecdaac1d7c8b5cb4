// One state object per page, mirrored to the URL's query string so that a shared
// link or a reload shows the same view. Values are typed by their defaults.

export function createState(defaults, { onChange } = {}) {
  const params = new URLSearchParams(window.location.search);
  const state = { ...defaults };
  for (const [key, def] of Object.entries(defaults)) {
    if (!params.has(key)) continue;
    state[key] = parseLike(params.get(key), def);
  }

  function write() {
    const out = new URLSearchParams();
    // Presenter mode (static/js/present.js) is how the page is shown, not its state: kept.
    if (new URLSearchParams(window.location.search).get("present") === "1") out.set("present", "1");
    for (const [key, def] of Object.entries(defaults)) {
      const v = state[key];
      if (JSON.stringify(v) === JSON.stringify(def)) continue;
      out.set(key, serialise(v));
    }
    const query = out.toString();
    const url = window.location.pathname + (query ? `?${query}` : "") + window.location.hash;
    window.history.replaceState(null, "", url);
  }

  return {
    get: (key) => state[key],
    all: () => ({ ...state }),
    set(patch) {
      Object.assign(state, patch);
      write();
      if (onChange) onChange({ ...state }, patch);
    },
    defaults: { ...defaults },
  };
}

function serialise(v) {
  if (Array.isArray(v) || (v && typeof v === "object")) return JSON.stringify(v);
  return String(v);
}

function parseLike(text, def) {
  try {
    if (typeof def === "number") {
      const n = Number(text);
      return Number.isFinite(n) ? n : def;
    }
    if (typeof def === "boolean") return text === "true" || text === "1";
    if (Array.isArray(def) || (def && typeof def === "object")) {
      const v = JSON.parse(text);
      return Array.isArray(def) === Array.isArray(v) ? v : def;
    }
    return text;
  } catch {
    return def;
  }
}
