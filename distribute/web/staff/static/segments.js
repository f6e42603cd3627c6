// The segment builder: while a rule is typed, ask the server for its count (after suppressions)
// or for the parser's error, and show it under the rule with a caret at the spot.
"use strict";

(function () {
  const form = document.getElementById("segment-form");
  if (!form) return;
  const rule = form.querySelector("textarea[name=rule]");
  const out = document.getElementById("rule-check");
  const url = form.dataset.count;
  let timer = null;
  let asked = 0;

  function show(nodes, invalid) {
    out.replaceChildren(...nodes);
    rule.setAttribute("aria-invalid", invalid ? "true" : "false");
    rule.closest(".field").classList.toggle("has-error", invalid);
  }

  function para(className, text) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = text;  // never innerHTML: rules and values are the user's text
    return p;
  }

  function number(n) {
    return Number(n).toLocaleString("en");
  }

  async function check() {
    const text = rule.value;
    if (!text.trim()) { show([], false); return; }
    const mine = ++asked;
    let response;
    try {
      response = await window.postJSON(url, {rule: text});
    } catch (_) {
      return;  // offline: the form still checks on save
    }
    if (mine !== asked) return;  // a newer request is on its way
    const data = await response.json();
    if (response.ok) {
      const count = para("count", "");
      const figure = document.createElement("span");
      figure.className = "figure";
      figure.textContent = number(data.recipients);
      count.append(figure, ` recipient${data.recipients === 1 ? "" : "s"} (${number(data.matched)} matched, ` +
                   `${number(data.suppressed)} suppressed, ${number(data.inactive)} inactive)`);
      show([count, para("understood", "Understood as: " + data.understood_as)], false);
    } else if (data.error) {
      const nodes = [para("error", data.error.message)];
      if (data.error.source !== null && data.error.source !== undefined) {
        const pre = document.createElement("pre");
        pre.className = "caret";
        pre.setAttribute("aria-hidden", "true");
        pre.textContent = data.error.source + "\n" + " ".repeat(Math.max(0, (data.error.column || 1) - 1)) + "^";
        nodes.push(pre);
      }
      show(nodes, true);
    }
  }

  rule.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  });
  if (rule.value.trim() && !out.textContent.trim()) check();
})();
