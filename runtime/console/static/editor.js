// The scene editor: YAML in a textarea, checked by the server's scene compiler as you
// type; its file:line field: errors are marked on their line (gutter and highlight) and
// listed below. Apply hands the text to the running session.

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

export class SceneEditor {
  // validate(text) -> {ok, issues, summary}; apply(text) -> result (rejects with issues)
  constructor(root, { validate, apply, onApplied = () => {} }) {
    this.validate = validate;
    this.apply = apply;
    this.onApplied = onApplied;
    this.seq = 0;
    this.issues = [];
    this.ok = true;
    this.gutter = el("div", "gutter");
    this.backdrop = el("pre", "backdrop");
    this.backdrop.setAttribute("aria-hidden", "true");
    this.text = el("textarea", "code");
    this.text.id = "scene-yaml";
    this.text.spellcheck = false;
    this.text.wrap = "off";
    this.text.setAttribute("aria-label", "scene YAML");
    const code = el("div", "code-wrap");
    code.append(this.backdrop, this.text);
    const box = el("div", "editor");
    box.append(this.gutter, code);
    this.status = el("span", "editor-status");
    this.applyButton = el("button", "primary", "Apply to session");
    this.applyButton.id = "apply-scene";
    this.revertButton = el("button", "", "Revert");
    const bar = el("div", "editor-bar");
    bar.append(this.status, this.revertButton, this.applyButton);
    this.list = el("ul", "issues");
    root.append(box, this.list, bar);

    this.timer = null;
    this.text.addEventListener("input", () => {
      this.render();
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), 150);
    });
    this.text.addEventListener("scroll", () => {
      this.gutter.scrollTop = this.backdrop.scrollTop = this.text.scrollTop;
      this.backdrop.scrollLeft = this.text.scrollLeft;
    });
    this.applyButton.addEventListener("click", () => this.applyNow());
    this.revertButton.addEventListener("click", () => this.setText(this.original));
  }

  setText(yaml) {
    this.original = yaml;
    this.text.value = yaml;
    this.issues = [];
    this.render();
    this.check();
  }

  // A save or an apply checks the text itself: a check still pending or in flight would
  // otherwise land after it and replace its status ("saved …") with "valid".
  cancelCheck() {
    clearTimeout(this.timer);
    this.seq++;
  }

  async check() {
    const seq = ++this.seq;
    const text = this.text.value;
    try {
      const result = await this.validate(text);
      if (seq !== this.seq) return; // a newer edit is being checked
      this.show(result.issues, result.ok, result.ok ? "valid" : "");
    } catch (error) {
      if (seq === this.seq) this.show(error.issues || [], false, error.message);
    }
  }

  async applyNow() {
    this.cancelCheck();
    this.applyButton.disabled = true;
    this.status.textContent = "applying…";
    try {
      const result = await this.apply(this.text.value);
      this.original = this.text.value;
      this.show([], true, "applied to the session");
      this.onApplied(result);
    } catch (error) {
      this.show(error.issues || [], false, error.message || "not applied");
    }
  }

  show(issues, ok, message) {
    this.issues = issues;
    this.ok = ok;
    const errors = issues.filter((i) => i.severity === "error").length;
    this.status.textContent = errors ? `${errors} error${errors > 1 ? "s" : ""}` : message;
    this.status.className = "editor-status " + (errors ? "bad" : "good");
    this.applyButton.disabled = !ok;
    this.list.replaceChildren(...issues.map((i) => {
      const li = el("li", `issue ${i.severity}`, i.text);
      if (i.line) {
        li.dataset.line = i.line;
        li.addEventListener("click", () => this.goto(i.line));
      }
      return li;
    }));
    this.render();
  }

  render() {
    const lines = this.text.value.split("\n");
    const marks = new Map();
    for (const i of this.issues) {
      if (!i.line) continue;
      const m = marks.get(i.line) || { severity: "warning", text: [] };
      if (i.severity === "error") m.severity = "error";
      m.text.push(i.text);
      marks.set(i.line, m);
    }
    this.gutter.replaceChildren(...lines.map((_, n) => {
      const m = marks.get(n + 1);
      const d = el("div", m ? `ln ${m.severity}` : "ln", String(n + 1));
      d.dataset.line = n + 1;
      if (m) d.title = m.text.join("\n");
      return d;
    }), el("div", "ln", " "));
    this.backdrop.replaceChildren(...lines.map((line, n) => {
      const m = marks.get(n + 1);
      return el("div", m ? `bl ${m.severity}` : "bl", line || " ");
    }));
  }

  goto(line) {
    const lines = this.text.value.split("\n");
    let at = 0;
    for (let n = 0; n < line - 1 && n < lines.length; n++) at += lines[n].length + 1;
    this.text.focus();
    this.text.setSelectionRange(at, at + (lines[line - 1] || "").length);
  }
}
