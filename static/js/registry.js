// The engine's registry (GET /api/registry), as the page was rendered with it: every
// activation's name, title, formula, derivative, output range and note. Pages take their
// labels from here, so a new activation needs no script edit.

const node = document.getElementById("registry");
export const REGISTRY = node ? JSON.parse(node.textContent) : { activations: [], layers: [] };

/** The activations the lessons, playground and training page offer, in the registry's order. */
export const LESSON_ACTIVATIONS = REGISTRY.activations.filter((a) => a.lesson);

/** The entry for `name`, or null. */
export function activation(name) {
  return REGISTRY.activations.find((a) => a.name === name) || null;
}

/** How a formula writes the function: its symbol ("σ") where the registry has one, else its title. */
export function symbol(name) {
  const a = activation(name);
  return a ? a.symbol || a.title : name;
}

/** Its title ("ReLU"), or the name itself for one the registry does not list. */
export function title(name) {
  const a = activation(name);
  return a ? a.title : name;
}
