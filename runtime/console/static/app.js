// The console's entry point: the API connection, the router (#/ and #/s/ID) and the
// sessions page.

import { Api } from "./api.js";
import { COMPACT_PANELS, openSession } from "./session.js";

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function duration(s) {
  s = Math.floor(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

// ---------------------------------------------------------------- the sessions page
function sessionsPage(root, api, config) {
  const form = el("form", "create");
  form.id = "create-form";
  const scene = el("select");
  scene.id = "create-scene";
  for (const name of config.scenes) scene.append(new Option(name, name));
  const engine = el("select");
  engine.id = "create-engine";
  for (const name of config.engines) engine.append(new Option(name, name));
  engine.value = config.default_engine;
  const create = el("button", "primary", "Create session");
  create.id = "create-session";
  form.append(el("span", "", "Scene"), scene, el("span", "", "Engine"), engine, create);
  const message = el("p", "flash");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    create.disabled = true;
    try {
      const info = await api.call("create", { scene: scene.value, engine: engine.value });
      location.hash = `#/s/${info.session_id}`;
    } catch (error) {
      message.textContent = error.message;
    } finally {
      create.disabled = false;
    }
  });

  const table = el("table", "sessions");
  table.id = "sessions";
  const head = el("tr");
  for (const h of ["Session", "Scene", "Engine", "State", "Uptime", "RTF", "Buffer", "Underruns",
    "Listeners", ""]) head.append(el("th", "", h));
  const body = el("tbody");
  table.append(el("thead"), body);
  table.tHead.append(head);
  const empty = el("p", "muted", "No sessions. Create one above.");
  const side = el("a", "button-link", "Side by side");
  side.id = "side-by-side";
  side.href = "#/compare/";
  side.title = "the ticked sessions (or all) next to each other: meters and event logs";
  side.addEventListener("click", (e) => {
    e.preventDefault();
    const ticked = [...body.querySelectorAll("input.pick:checked")].map((c) => c.value);
    const all = [...body.querySelectorAll("tr")].map((tr) => tr.dataset.session);
    const ids = (ticked.length ? ticked : all).slice(0, 4);
    if (ids.length) location.hash = `#/compare/${ids.join(",")}`;
  });
  root.replaceChildren(el("h1", "", "Sessions"), form, message, table, empty, side);
  const picked = new Set();

  async function refresh() {
    let rows;
    try {
      rows = await api.call("sessions");
    } catch {
      return;
    }
    empty.hidden = rows.length > 0;
    body.replaceChildren(...rows.map((s) => {
      const tr = el("tr");
      tr.dataset.session = s.session_id;
      const link = el("a", "", s.session_id);
      link.href = `#/s/${s.session_id}`;
      const open = el("td");
      const pick = el("input", "pick");
      pick.type = "checkbox";
      pick.value = s.session_id;
      pick.checked = picked.has(s.session_id);
      pick.addEventListener("change", () => (pick.checked ? picked.add(s.session_id)
        : picked.delete(s.session_id)));
      open.append(pick, " ", link);
      const closeCell = el("td");
      const close = el("button", "danger small", "Close");
      close.addEventListener("click", () =>
        api.call("close", { session_id: s.session_id }).then(refresh, (e) => (message.textContent = e.message)));
      closeCell.append(close);
      const state = el("td");
      state.append(el("span", `badge ${s.state}`, s.state));
      tr.append(open, el("td", "", s.scene), el("td", "", s.engine), state,
        el("td", "num", duration(s.uptime_s)), el("td", "num", `${s.rtf.toFixed(1)}×`),
        el("td", "num", `${Math.round(s.buffer_s * 1000)} ms`), el("td", "num", String(s.underruns)),
        el("td", "num", String(s.listeners)), closeCell);
      return tr;
    }));
  }
  refresh();
  const timer = setInterval(refresh, 1000);
  return { close: () => clearInterval(timer) };
}

// -------------------------------------------------------- several sessions side by side
// A column per session (meters, event log, transport); only the first is heard, the
// others' meters still move (their audio is muted, not stopped).
async function compare(root, api, config, ids) {
  const row = el("div", "side-by-side");
  row.id = "compare";
  root.replaceChildren(el("h1", "", "Side by side"), row);
  const pages = [];
  for (const [i, id] of ids.entries()) {
    const column = el("div", "side");
    column.dataset.session = id;
    row.append(column);
    const page = await openSession(column, api, config, id, { panels: COMPACT_PANELS, compact: true });
    if (i > 0) window.cadenzaSessions[id].ctx.player.muted = true;
    pages.push(page);
  }
  return { close: () => pages.forEach((p) => p.close()) };
}

// ------------------------------------------------------------------------ the app
async function main() {
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    // A link carrying the token: keep it like the login page does, drop it from the URL.
    const token = params.get("token");
    localStorage.setItem("cadenza.token", token);
    document.cookie = `cadenza_token=${encodeURIComponent(token)}; path=/; max-age=31536000; samesite=strict`;
    params.delete("token");
    history.replaceState(null, "", `${location.pathname}${params.size ? "?" + params : ""}${location.hash}`);
  }
  const conn = document.getElementById("conn");
  const api = new Api((status) => {
    conn.textContent = status;
    conn.className = `conn ${status}`;
  });
  const config = await api.call("hello");
  document.getElementById("version").textContent = `v${config.version}`;
  const root = document.getElementById("main");
  let page = null;
  async function route() {
    page?.close();
    page = null;
    const m = location.hash.match(/^#\/s\/([\w-]+)/);
    const cmp = location.hash.match(/^#\/compare\/([\w,-]+)/);
    try {
      page = cmp ? await compare(root, api, config, cmp[1].split(",").slice(0, 4))
        : m ? await openSession(root, api, config, m[1]) : sessionsPage(root, api, config);
    } catch (error) {
      root.replaceChildren(el("h1", "", "Not available"), el("p", "flash", error.message),
        Object.assign(el("a", "", "Back to the sessions"), { href: "#/" }));
    }
  }
  window.addEventListener("hashchange", route);
  route();
}

main();
