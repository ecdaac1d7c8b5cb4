// Numbers as the calculator writes them (the numbers themselves come from the API).

import { bytes, int } from "../util.js";

/** [C, H, W] -> "HxWxC" (the course's order); [N] -> "N". */
export function shapeText(shape) {
  if (!shape) return "–";
  return shape.length === 3 ? `${shape[1]}x${shape[2]}x${shape[0]}` : int(shape[0]);
}

export function memText(n) {
  return `${int(n)} bytes${n >= 1024 ? ` (${bytes(n)})` : ""}`;
}
