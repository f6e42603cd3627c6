// The campaign page, live: every 2 s while it sends, read live.json and update the numbers,
// the states, the errors, why it waits, and which controls show. No framework.
"use strict";

(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const FINAL = new Set(["sent", "cancelled", "failed"]);
  const slot = (name) => root.querySelector(`[data-live="${name}"]`);
  const number = (n) => Number(n).toLocaleString("en");

  function row(state, n) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = state;
    const td = document.createElement("td");
    td.className = "num";
    td.textContent = number(n);
    tr.append(th, td);
    return tr;
  }

  function show(data) {
    const state = slot("state");
    state.textContent = data.state;
    state.className = `state state-${data.state}`;
    slot("reason").textContent = data.reason || "";
    const waiting = slot("waiting");
    waiting.hidden = !data.waiting;
    waiting.textContent = data.waiting
      ? `Waiting for the mail relay since ${data.waiting.since.slice(0, 19).replace("T", " ")} UTC: ${data.waiting.reason}` : "";
    slot("done").textContent = number(data.done);
    slot("recipients").textContent = number(data.recipients);
    slot("rate").textContent = data.send_rate_per_second == null ? "–" : data.send_rate_per_second;
    const bar = document.getElementById("bar");
    bar.max = Math.max(data.recipients, 1);
    bar.value = data.done;
    slot("counts").replaceChildren(...Object.entries(data.counts).filter(([, n]) => n).map(([s, n]) => row(s, n)));
    const errors = data.last_errors.map((e) => {
      const li = document.createElement("li");
      li.textContent = `${e.email} ${e.state} ${e.code || ""} ${e.reply || ""}`;
      return li;
    });
    if (!errors.length) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = "None.";
      errors.push(li);
    }
    slot("errors").replaceChildren(...errors);
    document.querySelectorAll("[data-control]").forEach((form) => {
      form.hidden = !data.can[form.dataset.control];
    });
    const none = document.querySelector("[data-control-none]");
    if (none) none.hidden = Object.values(data.can).some(Boolean);
    root.dataset.state = data.state;
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      if (response.ok) {
        const data = await response.json();
        show(data);
        if (FINAL.has(data.state) && data.done === data.recipients) return;
      }
    } catch (_) { /* the next poll tries again */ }
    window.setTimeout(poll, 2000);
  }

  window.setTimeout(poll, 2000);
})();
