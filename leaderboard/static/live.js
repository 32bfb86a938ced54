// Live updates, as a progressive enhancement: every data-poll-ms (15 s) the page asks the server for its
// own URL with the ETag it last saw; on 304 nothing changes, on 200 the status banners and
// the main content are swapped in place. Without JavaScript the page is complete as served.
(function () {
  "use strict";
  var every = Number(document.body && document.body.dataset.pollMs) || 15000;
  var etag = null;
  function setLive(state, text) {
    document.body.dataset.live = state;
    var el = document.getElementById("live");
    if (el) el.textContent = text;
  }
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    ["status", "content"].forEach(function (id) {
      var fresh = doc.getElementById(id), old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    });
  }
  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(location.href, { headers: headers, cache: "no-store" })
      .then(function (r) {
        if (r.status === 304) return null;
        if (!r.ok) throw new Error("HTTP " + r.status);
        etag = r.headers.get("ETag");
        return r.text();
      })
      .then(function (html) {
        if (html !== null) swap(html);
        setLive("on", "live: checked " + new Date().toLocaleTimeString());
      })
      .catch(function () {
        setLive("offline", "server unreachable: showing the last data received");
      })
      .then(function () { setTimeout(poll, every); });
  }
  if (!window.fetch || !window.DOMParser) return;
  document.addEventListener("DOMContentLoaded", function () {
    setLive("on", "live updates on");
    setTimeout(poll, every);
  });
})();
