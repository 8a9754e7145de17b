// Intake form: show only the facts the chosen category's table reads. Hidden fieldsets are
// disabled so their inputs are neither submitted nor sent to the grade preview.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("intake-form");
  if (!form) return;
  const showFacts = () => {
    const chosen = form.querySelector('input[name="category"]:checked');
    form.querySelectorAll("fieldset.facts").forEach((set) => {
      const active = chosen && set.dataset.category === chosen.value;
      set.hidden = !active;
      set.disabled = !active;
    });
  };
  // Offer only the stations of the chosen line; a station of another line is cleared.
  const line = form.querySelector('select[name="line"]');
  const station = form.querySelector('select[name="station"]');
  const showStations = () => {
    if (!line || !station) return;
    station.querySelectorAll("option[data-line]").forEach((option) => {
      option.hidden = option.dataset.line !== line.value;
      if (option.hidden && option.selected) station.value = "";
    });
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "category") showFacts();
    if (event.target.name === "line") showStations();
  });
  showFacts();
  showStations();
  // A second tap on "submit" while the first is on its way must not send twice; the
  // idempotency key makes it harmless on the server, this keeps the button honest.
  form.addEventListener("submit", () => {
    const button = form.querySelector('button[type="submit"]');
    setTimeout(() => { button.disabled = true; }, 0);
  });
  if (window.htmx) htmx.trigger(form, "change");
});

// Escalation countdowns: <span data-deadline-ms data-now-ms> counts down to the next tier,
// corrected for the device's clock, with no reload. When it runs out, "countdown-done"
// bubbles up and the ladder refreshes itself (htmx) once the sweep has fired the tier.
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const tick = () => {
    document.querySelectorAll("[data-deadline-ms]").forEach((el) => {
      if (!el.dataset.offset) el.dataset.offset = String(Number(el.dataset.nowMs) - Date.now());
      const left = Math.round((Number(el.dataset.deadlineMs) - (Date.now() + Number(el.dataset.offset))) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.dueText;
        el.classList.add("overdue");
        // Refresh only soon after the deadline: a stalled sweep must not make the page poll forever.
        if (!el.dataset.done && left > -120) {
          el.dataset.done = "1";
          el.dispatchEvent(new CustomEvent("countdown-done", { bubbles: true }));
        }
        return;
      }
      const hours = Math.floor(left / 3600);
      const minutes = Math.floor((left % 3600) / 60);
      const clock = hours ? `${hours}:${pad(minutes)}:${pad(left % 60)}` : `${minutes}:${pad(left % 60)}`;
      el.textContent = `${el.dataset.prefix} ${clock}`;
    });
  };
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();

// 8D row tables: "Add a row" copies the formset's empty row (its <template>), numbered by the
// TOTAL_FORMS count. Without JavaScript the button stays hidden and each save adds an empty row.
(() => {
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-add-row]").forEach((button) => { button.hidden = false; });
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-add-row]");
    if (!button) return;
    const set = button.closest("[data-formset]");
    const prefix = set.dataset.formset;
    const total = set.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
    const most = Number(set.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`).value);
    const count = Number(total.value);
    if (count >= most) return;
    const row = set.querySelector("template").innerHTML.replaceAll("__prefix__", String(count));
    set.querySelector("tbody").insertAdjacentHTML("beforeend", row);
    total.value = String(count + 1);
  });
})();
