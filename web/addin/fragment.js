// Runs before Office.js (which replaces history.replaceState): a development token handed over
// in the address as `#token=…` moves to session storage and out of the address bar.
(function () {
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  try {
    sessionStorage.setItem("journaliser.token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  } catch (e) {
    location.hash = "";
  }
})();
