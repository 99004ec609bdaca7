// Keeps an upload's OCR status and text current while its job runs, without a page reload.
(function () {
  const root = document.getElementById("upload");
  if (!root || root.dataset.final === "true") return;
  const el = (id) => document.getElementById(id);

  function show(state) {
    const status = el("ocr-status");
    status.textContent = state.ocr_status_display;
    status.className = "status status-" + state.ocr_status;
    el("ocr-text").textContent = state.ocr_text;
    el("ocr-error").textContent = state.ocr_error;
    el("ocr-error").hidden = !state.ocr_error;
    if (state.job) el("ocr-progress").value = state.job.progress;
    el("ocr-progress-message").textContent = state.job && !state.final ? state.job.progress_message : "";
    el("ocr-progress").hidden = state.final;
    root.dataset.final = String(state.final);
  }

  async function poll(delay) {
    try {
      const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        show(state);
        if (state.final) return;
        delay = 1000;
      }
    } catch (err) {
      delay = Math.min(delay * 2, 10000); // the server is unreachable: back off, keep trying
    }
    setTimeout(() => poll(delay), delay);
  }
  setTimeout(() => poll(1000), 1000);
})();
