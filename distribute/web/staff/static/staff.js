// What every staff page shares. No framework: small functions the area scripts call.
"use strict";

// POST JSON to this app with the CSRF token the page carries (Flask-WTF reads X-CSRFToken).
window.postJSON = async function postJSON(url, body) {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
    body: JSON.stringify(body),
  });
  return response;
};

// A button with data-confirm="…" asks before its form is sent.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// A button with data-copy="ID" copies that element's text (a token or link shown once).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(source.value || source.textContent.trim());
    button.textContent = "Copied";
  } catch (_) {
    source.focus();
    if (source.select) source.select();
  }
});
