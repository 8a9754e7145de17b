// The daily QRQC board (issue #5). The board and the TV replace their live part every few
// seconds (htmx polling, see the templates); this script only keeps that honest.
(() => {
  document.documentElement.classList.add("js");

  // The place picker shows the chosen place at once; without JavaScript its button submits.
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-autosubmit]");
    if (form) form.requestSubmit();
  });

  const live = (event) => event.detail && event.detail.elt && event.detail.elt.closest("[data-live-path]");

  // A board in a background tab skips its polls. Checked here, not as an hx-trigger filter:
  // htmx would evaluate the filter as code, which the site's Content-Security-Policy forbids.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const region = live(event);
    if (region && region.hasAttribute("data-pause-hidden") && document.hidden) event.preventDefault();
  });

  // A poll answered by something else than the fragment (the session ran out and the login
  // page came back through the redirect) must not be pasted into the board: reload the page,
  // which then shows the login form.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const region = live(event);
    if (!region) return;
    const answered = new URL(event.detail.xhr.responseURL || location.href, location.href).pathname;
    if (answered !== region.dataset.livePath) {
      event.detail.shouldSwap = false;
      location.reload();
    }
  });

  // A board on the wall that lost the server must say so: its numbers are getting old.
  const offline = (event) => { if (live(event)) document.body.classList.add("offline"); };
  document.addEventListener("htmx:sendError", offline);
  document.addEventListener("htmx:responseError", offline);
  document.addEventListener("htmx:timeout", offline);
  document.addEventListener("htmx:afterSwap", (event) => {
    if (live(event)) document.body.classList.remove("offline");
  });

  // TV mode: a double click (or the remote's OK) toggles full screen where the browser allows it.
  document.addEventListener("dblclick", () => {
    if (!document.body.classList.contains("tv") || !document.documentElement.requestFullscreen) return;
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
})();
