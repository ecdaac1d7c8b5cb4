// The options form, built from GET /api/learn/recipes: one labelled control per option,
// with the API's bounds and choices (the menus never list what the server would refuse).

import { title as activationTitle } from "../registry.js";
import { el, formula as said, int } from "../util.js";

/** The options a student sets, in the order shown (the rest keep the server's defaults). */
export const SHOWN = ["recipe", "dataset", "optimizer", "learning_rate", "batch_size", "l2",
  "dropout", "activation", "batchnorm", "residual", "augment", "seed"];

const LABELS = {
  recipe: "Network", dataset: "Data set", optimizer: "Optimiser", learning_rate: "Learning rate",
  batch_size: "Batch size", l2: "L2 weight decay", dropout: "Dropout rate", activation: "Activation",
  batchnorm: "Batch normalisation", residual: "Residual block", augment: "Augmentation", seed: "Seed",
};
const CHOICE_TEXT = {
  optimizer: { sgd: "SGD", momentum: "SGD with momentum", adam: "Adam" },
  augment: { none: "None", shift: "Random shifts", flip: "Horizontal flips", "shift+flip": "Shifts and flips" },
};

/** What a choice is called: recipes and data sets by their API titles, activations by the registry's. */
function choiceText(name, value, catalogue) {
  if (name === "recipe") return (catalogue.recipes.find((r) => r.name === value) || {}).title || value;
  if (name === "dataset") return (catalogue.datasets.find((d) => d.name === value) || {}).title || value;
  if (name === "activation") return activationTitle(value);
  return (CHOICE_TEXT[name] || {})[value] || value;
}

export function label(name) {
  return LABELS[name] || name.replace(/_/g, " ");
}

/** The value an option starts with for `recipe`: the recipe's own default, else the option's. */
export function defaultFor(catalogue, recipe, name) {
  const r = catalogue.recipes.find((x) => x.name === recipe);
  if (name === "dataset") return r ? r.dataset : catalogue.options.dataset.choices[0];
  if (r && r.defaults && name in r.defaults) return r.defaults[name];
  return catalogue.options[name].default;
}

/** Is `value` allowed for option `name`? (The server checks too; this keeps the URL honest.) */
export function valid(catalogue, name, value) {
  const spec = catalogue.options[name];
  if (!spec) return false;
  if (spec.kind === "choice") return spec.choices.includes(value);
  if (spec.kind === "bool") return typeof value === "boolean";
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  if (spec.kind === "int" && !Number.isInteger(value)) return false;
  return value >= spec.min && value <= spec.max;
}

/** Every shown option's value: the network `recipe`'s defaults, then the changes in `opts`
 * that the API would accept. */
export function optionValues(catalogue, recipe, opts) {
  const out = {};
  for (const name of SHOWN) {
    if (!catalogue.options[name]) continue;
    const mine = opts[name];
    out[name] = name === "recipe" ? recipe : valid(catalogue, name, mine) ? mine : defaultFor(catalogue, recipe, name);
  }
  return out;
}

/** Server text as the pages write it: util.formula, the one translation. */
export { said };

/** "Title: summary" of the network `recipe`, or "" when the catalogue has none of that name. */
export function recipeNote(catalogue, recipe) {
  const r = catalogue.recipes.find((x) => x.name === recipe);
  return r ? said(`${r.title}: ${r.summary || r.note}`) : "";
}

/** What the page says when the URL names a network the server does not have (null when it has it). */
export function unknownRecipeText(catalogue, name) {
  if (!name || catalogue.recipes.some((r) => r.name === name)) return null;
  const fallback = catalogue.recipes.find((r) => r.name === catalogue.options.recipe.default);
  return `There is no network called “${name}” on this server; showing “${fallback ? fallback.title : catalogue.options.recipe.default}” instead.`;
}

/** What the MNIST training set is (all of a data folder, or the shipped subset), or null. */
export function trainingSize(catalogue) {
  const mnist = catalogue.datasets.find((d) => d.name === "mnist");
  if (!mnist || typeof mnist.train !== "number") return null;
  return mnist.source === "full"
    ? `all ${int(mnist.train)} MNIST training images it has`
    : `a shipped subset of ${int(mnist.train)} MNIST training images (no data folder is set)`;
}

function control(name, spec, catalogue) {
  const id = `opt-${name}`;
  const help = spec.help ? el("span", { class: "hint", id: `${id}-help` }, said(spec.help)) : null;
  const described = help ? `${id}-help` : undefined;
  if (spec.kind === "bool") {
    return el("div", { class: "field ln-check", dataset: { option: name } },
      el("label", { for: id }, el("input", { type: "checkbox", id, name, "aria-describedby": described }), ` ${label(name)}`),
      help);
  }
  let input;
  if (spec.kind === "choice") {
    input = el("select", { id, name, "aria-describedby": described },
      spec.choices.map((c) => el("option", { value: c }, choiceText(name, c, catalogue))));
  } else {
    input = el("input", {
      type: "number", id, name, min: spec.min, max: spec.max, required: true,
      step: spec.kind === "int" ? 1 : "any", inputmode: spec.kind === "int" ? "numeric" : "decimal",
      "aria-describedby": described,
    });
  }
  const bounds = spec.kind === "int" || spec.kind === "float" ? ` (${spec.min}–${spec.max})` : "";
  return el("div", { class: "field", dataset: { option: name } },
    el("label", { for: id }, label(name), bounds ? el("span", { class: "hint" }, bounds) : null),
    input, help);
}

/**
 * Build the controls into `node`; `onChange(name, value)` fires when the student commits a
 * valid value (an invalid number is marked and reported, not sent).
 * Returns {set(values), get(), input(name)}.
 */
export function buildOptions(node, catalogue, { onChange, onInvalid }) {
  node.replaceChildren(...SHOWN.filter((n) => catalogue.options[n]).map((n) => control(n, catalogue.options[n], catalogue)));
  node.setAttribute("aria-busy", "false");
  const input = (name) => node.querySelector(`#opt-${name}`);

  function read(name) {
    const spec = catalogue.options[name];
    const box = input(name);
    if (spec.kind === "bool") return box.checked;
    if (spec.kind === "choice") return box.value;
    return box.value.trim() === "" ? NaN : Number(box.value);
  }

  for (const name of SHOWN) {
    const box = input(name);
    if (!box) continue;
    box.addEventListener("change", () => {
      const value = read(name);
      const ok = valid(catalogue, name, value);
      box.setAttribute("aria-invalid", String(!ok));
      if (!ok) {
        const spec = catalogue.options[name];
        onInvalid(`${label(name)} must be ${spec.kind === "int" ? "a whole number" : "a number"} from ${spec.min} to ${spec.max}.`);
        return;
      }
      onChange(name, value);
    });
  }

  return {
    input,
    set(values) {
      for (const [name, value] of Object.entries(values)) {
        const box = input(name);
        if (!box) continue;
        if (typeof value === "boolean") box.checked = value;
        else box.value = String(value);
        box.setAttribute("aria-invalid", "false");
      }
    },
  };
}
