// The meeting timer: counts up from the meeting's start every second, corrected for the device's
// clock (the server says what time it was when it rendered). The colour follows
// issues.meetings.agenda.timer_state: "ok" under 10 minutes, "closing" up to 15, "over" beyond.
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const stateOf = (seconds, closing, over) => (seconds < closing ? "ok" : seconds <= over ? "closing" : "over");
  const tick = () => {
    document.querySelectorAll(".timer[data-started-ms]").forEach((timer) => {
      if (!timer.dataset.offset) timer.dataset.offset = String(Number(timer.dataset.nowMs) - Date.now());
      const now = Date.now() + Number(timer.dataset.offset);
      const seconds = Math.max(0, Math.floor((now - Number(timer.dataset.startedMs)) / 1000));
      const clock = timer.querySelector(".clock");
      if (clock) clock.textContent = `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;
      const state = stateOf(seconds, Number(timer.dataset.closingS), Number(timer.dataset.overS));
      ["ok", "closing", "over"].forEach((name) => timer.classList.toggle(`timer-${name}`, name === state));
    });
  };
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();
