// The release editor: as the text changes (debounced), ask the server what it understood and
// what the check finds, and post the text into the two preview frames. Nothing is stored.
"use strict";

(function () {
  const editor = document.getElementById("editor");
  if (!editor) return;
  const live = document.getElementById("live-form");
  const status = document.getElementById("live-status");
  const understood = document.getElementById("live-understood");
  const variant = document.getElementById("live-variant");
  const text = editor.querySelector("textarea[name=text]");
  const inputs = {format: editor.querySelector("[name=fmt]"), title: editor.querySelector("[name=title]"),
                  language: editor.querySelector("[name=language]")};
  let timer = null;
  let asked = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    children.forEach((c) => node.append(c));
    return node;
  }

  function values() {
    return {text: text.value, format: inputs.format.value, title: inputs.title.value,
            language: inputs.language.value, variant: variant.value};
  }

  function goToLine(line) {
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  function showError(error) {
    const box = el("div", {class: "unreadable"});
    box.append(el("p", {}, (error.line ? `Line ${error.line}: ` : "") + (error.reason || error.message)));
    if (error.line) {
      const button = el("button", {type: "button"}, `Go to line ${error.line}`);
      button.addEventListener("click", () => goToLine(error.line));
      box.append(button);
    }
    status.replaceChildren(box);
    understood.replaceChildren();
  }

  function showCheck(seen) {
    const check = seen.check;
    const list = el("ul", {class: "findings"});
    check.findings.forEach((f) => {
      const badge = el("span", {class: "badge " + (f.severity === "error" ? "badge-bad" : "badge-warn")}, f.severity);
      list.append(el("li", {class: "finding"}, badge, el("span", {class: "finding-variant"}, f.variant || "both variants"), f.message));
    });
    const summary = check.findings.length
      ? el("p", {class: "check-sum"}, `${check.errors} error(s), ${check.warnings} warning(s)`)
      : el("p", {class: "check-ok"}, "No problems found.");
    status.replaceChildren(summary, list);
    const u = seen.understood;
    const facts = el("dl", {class: "facts"});
    [["Title", u.title], ["Dateline", u.dateline || "none found"], ["Date", u.release_date || "none found"],
     ["Embargo", u.embargo_until ? u.embargo_until.slice(0, 16).replace("T", " ") + " UTC" : "none"],
     ["Language", u.language], ["Media contacts", String(u.contacts.length)],
     ["Call to action", u.cta_url ? `${u.cta_label} — ${u.cta_url}` : "none"]].forEach(([k, v]) => {
      facts.append(el("dt", {}, k), el("dd", {}, v));
    });
    understood.replaceChildren(el("h3", {}, "What was understood"), facts);
  }

  async function refresh() {
    const body = values();
    if (!body.text.trim()) return;
    const mine = ++asked;
    Object.entries(body).forEach(([k, v]) => { live.elements[k].value = v; });
    ["live-desktop", "live-phone"].forEach((target) => { live.target = target; live.submit(); });
    try {
      const response = await window.postJSON(editor.dataset.live, body);
      if (mine !== asked) return;  // an answer to older text
      const seen = await response.json();
      if (!response.ok) { showError(seen.error || {message: "The preview failed."}); return; }
      if (seen.ok) showCheck(seen); else showError(seen.error);
    } catch (_) {
      status.replaceChildren(el("p", {class: "hint"}, "The preview could not reach the server."));
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  }

  text.addEventListener("input", soon);
  Object.values(inputs).forEach((input) => input.addEventListener("change", soon));
  inputs.title.addEventListener("input", soon);
  variant.addEventListener("change", refresh);
  refresh();
})();
