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
