// The restore page's live progress: polls the JSON endpoint every second, marks each phase
// running or done, and reloads the page once the restore ended so the server shows the outcome.
// A page the server rendered finished (data-finished: succeeded, failed, lost, or any end state
// added later) is not polled: reloading it would only render it finished again, every second.
(function () {
  "use strict";
  var box = document.getElementById("ops-restore-status");
  if (!box || box.dataset.finished !== "false") {
    return;
  }
  function show(data) {
    data.phases.forEach(function (phase) {
      var item = box.querySelector('li[data-phase="' + phase.name + '"]');
      if (item) {
        item.className = phase.state;
        item.querySelector(".ops-restore-detail").textContent = phase.detail;
      }
    });
    if (data.finished) {
      window.location.reload();
    } else {
      window.setTimeout(poll, 1000);
    }
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(show)
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
