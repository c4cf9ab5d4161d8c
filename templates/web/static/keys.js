// Keyboard shortcuts and select-all for the review pages: progressive enhancement only.
// Every action here is also a link or a button that works without JavaScript; the page's
// Content-Security-Policy allows this same-origin file and nothing inline.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr"));
  var current = -1;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function mark(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    var link = rows[current].querySelector("a.subject");
    if (link) { link.focus({ preventScroll: true }); }
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (help) { help.open = !help.open; }
  }

  // After "approve and next" the answer is the next message: show its own address, so a reload
  // or a bookmark opens it rather than re-posting the decision.
  var around = document.querySelector("nav.around[data-canonical]");
  if (around && window.location.pathname !== around.getAttribute("data-canonical").split("?")[0]) {
    window.history.replaceState(null, "", around.getAttribute("data-canonical"));
  }

  // Select all on this page, without reloading (the link reloads with every box ticked).
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("click", function (event) {
      event.preventDefault();
      var boxes = document.querySelectorAll("table.queue input[name=ids]");
      var tick = Array.prototype.some.call(boxes, function (box) { return !box.checked; });
      Array.prototype.forEach.call(boxes, function (box) { box.checked = tick; });
    });
  }

  // Enter on the reason list rejects and opens the next message.
  var reason = document.querySelector("#reject-form select[name=reason_key]");
  if (reason) {
    reason.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && reason.value) {
        event.preventDefault();
        click("#reject-next");
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    var onQueue = rows.length > 0;
    if (key === "?") { toggleHelp(); }
    else if (key === "j") { if (onQueue) { mark(current + 1); } else { click("#next-item"); } }
    else if (key === "k") { if (onQueue) { mark(current - 1); } else { click("#prev-item"); } }
    else if (key === "x" && onQueue && current >= 0) {
      var box = rows[current].querySelector("input[name=ids]");
      if (box) { box.checked = !box.checked; }
    }
    else if (key === "o" && onQueue && current >= 0) { click("tr.current a.subject"); }
    else if (key === "a") { if (!click("#approve-next") && onQueue) { click("#bulk-approve"); } }
    else if (key === "r") {
      var list = document.querySelector("#reject-form select[name=reason_key]") ||
                 document.querySelector("#queue-form fieldset select[name=reason_key]");
      if (list) { list.focus(); }
    }
    else { return; }
    event.preventDefault();
  });
}());
