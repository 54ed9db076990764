// soberana officer desk: keeps deadline countdowns current. The pages work
// without it; it only refreshes text the server already wrote.
"use strict";
(function () {
  function span(seconds) {
    var abs = Math.abs(seconds);
    if (abs >= 86400) return Math.floor(abs / 86400) + " d " + Math.floor((abs % 86400) / 3600) + " h";
    if (abs >= 3600) return Math.floor(abs / 3600) + " h " + Math.floor((abs % 3600) / 60) + " min";
    return Math.floor(abs / 60) + " min";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var seconds = Math.trunc((Number(el.dataset.deadline) - now) / 1000);
      el.textContent = seconds >= 0
        ? span(seconds) + " " + el.dataset.left
        : el.dataset.overdue + " " + span(seconds);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 30000);
  });
})();
