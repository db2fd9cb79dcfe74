// The blend drawn live: prompt weights (stacked, 0-100 %) over the last minutes of the
// stream, with the right edge at what is being heard now.

const KEEP_S = 600; // history kept for the widest window

const COLORS = ["#4e9af1", "#f1a14e", "#5cc98b", "#e05d6f", "#a57cf0", "#e6d15a", "#4ed0d6",
  "#f07cc0", "#9aa5b1", "#8fd14f"];

export class BlendChart {
  constructor(canvas, legend, { windowS = 120 } = {}) {
    this.canvas = canvas;
    this.legend = legend;
    this.windowS = windowS;
    this.points = []; // {t: stream seconds, w: {name: weight}}, in time order
    this.colors = new Map();
    this.now = 0;
  }

  // A blend that applies from stream second `t` on (bridge "blend" messages).
  add(t, blend) {
    const w = {};
    for (const { name, weight } of blend) {
      w[name] = weight;
      if (!this.colors.has(name)) this.colors.set(name, COLORS[this.colors.size % COLORS.length]);
    }
    while (this.points.length && this.points[this.points.length - 1].t >= t) this.points.pop();
    this.points.push({ t, w });
    const keepFrom = t - KEEP_S;
    let drop = 0;
    while (drop + 1 < this.points.length && this.points[drop + 1].t < keepFrom) drop++;
    if (drop) this.points.splice(0, drop);
  }

  at(t) {
    let lo = 0, hi = this.points.length - 1, found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid].t <= t) {
        found = this.points[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found ? found.w : {};
  }

  current() {
    return this.at(this.now);
  }

  draw(now) {
    this.now = now;
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const width = c.clientWidth, height = c.clientHeight;
    if (c.width !== Math.round(width * dpr)) c.width = Math.round(width * dpr);
    if (c.height !== Math.round(height * dpr)) c.height = Math.round(height * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.strokeStyle = "rgba(255,255,255,0.12)";
    g.beginPath();
    for (const f of [0.25, 0.5, 0.75]) {
      g.moveTo(0, height * f);
      g.lineTo(width, height * f);
    }
    g.stroke();
    const names = [...this.colors.keys()];
    const col = 2, span = this.windowS;
    for (let x = 0; x < width; x += col) {
      const w = this.at(now - span + (x / width) * span);
      let y = height;
      for (const name of names) {
        const h = (w[name] || 0) * height;
        if (h <= 0) continue;
        g.fillStyle = this.colors.get(name);
        g.fillRect(x, y - h, col, h);
        y -= h;
      }
    }
    g.font = "11px system-ui, sans-serif";
    const label = span >= 60 ? `-${span / 60} min` : `-${span} s`;
    for (const [text, x] of [[label, 4], ["now", width - 28], ["100 %", 4]]) {
      const y = text === "100 %" ? 13 : height - 5;
      g.fillStyle = "rgba(20,23,28,0.75)";
      g.fillRect(x - 2, y - 11, g.measureText(text).width + 4, 14);
      g.fillStyle = "rgba(255,255,255,0.7)";
      g.fillText(text, x, y);
    }
    this.drawLegend(this.at(now));
  }

  drawLegend(w) {
    const items = [...this.colors.entries()].map(([name, color]) => {
      const pct = ((w[name] || 0) * 100).toFixed(0);
      return { name, color, pct, weight: (w[name] || 0).toFixed(3) };
    });
    const key = items.map((i) => i.name + i.pct).join("|");
    if (key === this.legendKey) return;
    this.legendKey = key;
    this.legend.replaceChildren(...items.map((i) => {
      const li = document.createElement("li");
      li.dataset.name = i.name;
      li.dataset.weight = i.weight;
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = i.color;
      li.append(sw, `${i.name} ${i.pct} %`);
      return li;
    }));
  }
}
