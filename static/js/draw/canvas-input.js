// A drawing canvas for the student: pointer and touch to draw, keyboard-accessible
// clear button, and a method to read the pixels back as greyscale or RGB.

export function makeDrawable(canvas, { lineWidth = 18, ink = "#000", paper = "#fff", onChange } = {}) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let drawing = false;
  let last = null;

  function clear() {
    ctx.fillStyle = paper;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (onChange) onChange();
  }

  function pos(evt) {
    const r = canvas.getBoundingClientRect();
    return [((evt.clientX - r.left) / r.width) * canvas.width, ((evt.clientY - r.top) / r.height) * canvas.height];
  }

  function stroke(p) {
    ctx.strokeStyle = ink;
    ctx.fillStyle = ink;
    ctx.lineWidth = lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    if (last) {
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    } else {
      ctx.arc(p[0], p[1], lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
    }
    last = p;
  }

  canvas.style.touchAction = "none";
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    last = null;
    canvas.setPointerCapture(e.pointerId);
    stroke(pos(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (drawing) stroke(pos(e));
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    if (onChange) onChange();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", end);
  clear();

  return {
    clear,
    /** Draw a line programmatically (tests and demos): points in canvas pixels. */
    line(points) {
      last = null;
      for (const p of points) stroke(p);
      last = null;
      if (onChange) onChange();
    },
    toBlob: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
    /** Greyscale values in [0, 1] resized to (h x w), 1 = ink when `inkIsOne`. */
    read(h, w, { inkIsOne = true } = {}) {
      const off = document.createElement("canvas");
      off.width = w;
      off.height = h;
      const octx = off.getContext("2d");
      octx.drawImage(canvas, 0, 0, w, h);
      const px = octx.getImageData(0, 0, w, h).data;
      const out = new Float32Array(h * w);
      for (let i = 0; i < h * w; i++) {
        const g = (px[4 * i] + px[4 * i + 1] + px[4 * i + 2]) / (3 * 255);
        out[i] = inkIsOne ? 1 - g : g;
      }
      return out;
    },
  };
}
