// A running import: poll its progress every second, and reload for the report when it ends.
"use strict";

(function () {
  const box = document.getElementById("import-progress");
  if (!box) return;
  const bar = document.getElementById("import-bar");
  const status = document.getElementById("import-status");

  async function poll() {
    let job;
    try {
      const response = await fetch(box.dataset.poll, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      job = await response.json();
    } catch (_) {
      setTimeout(poll, 3000);
      return;
    }
    if (job.state !== "running") { window.location.reload(); return; }
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    status.textContent = `${job.percent}% of ${Number(job.bytes_total).toLocaleString("en")} bytes read`;
    setTimeout(poll, 1000);
  }

  setTimeout(poll, 1000);
})();
