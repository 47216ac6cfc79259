// The pages' one script, a progressive enhancement: every page works without it.
// - Remembers the reader's time zone (the `tz` cookie), so dates are shown in their own.
// - Moves focus to a form's refusal, so a screen reader announces it.
// - Checks a field inline when the reader leaves it.
// - Follows the reader's notifications live (EventSource): the unread badge counts up, and
//   the notifications page lists each new one at the top.
"use strict";
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var cookie = "tz=" + encodeURIComponent(zone);
    if (zone && document.cookie.split("; ").indexOf(cookie) < 0) {
      document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: dates stay in UTC, as the footer says */ }

  function follow() {
    var badge = document.getElementById("unread-count");
    if (!badge || !window.EventSource) { return; }
    var label = document.getElementById("unread-label");
    var list = document.getElementById("notifications");
    var source = new EventSource("/notifications/stream");
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-live", "on");
    });
    source.addEventListener("error", function () {
      document.documentElement.setAttribute("data-live", "off");
    });
    source.addEventListener("notification", function (event) {
      var item;
      try { item = JSON.parse(event.data); } catch (e) { return; }
      if (list && document.getElementById("n-" + item.notification_id)) { return; }
      var count = parseInt(badge.getAttribute("data-unread") || "0", 10) + 1;
      badge.setAttribute("data-unread", String(count));
      badge.textContent = count.toLocaleString(document.documentElement.lang);
      badge.hidden = false;
      if (label) { label.textContent = " " + label.getAttribute("data-label"); }
      if (!list) { return; }
      var empty = list.querySelector(".empty");
      if (empty) { empty.remove(); }
      var li = document.createElement("li");
      li.className = "card";
      li.id = "n-" + item.notification_id;
      var title = document.createElement("h2");
      title.textContent = item.subject + " ";
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = list.getAttribute("data-new-label");
      title.appendChild(tag);
      var body = document.createElement("p");
      body.className = "body";
      body.textContent = item.body;
      li.appendChild(title);
      li.appendChild(body);
      list.insertBefore(li, list.firstChild);
    });
  }

  // Inline checks: a field the browser finds invalid (empty, too short, not an e-mail
  // address) says so beside itself once the reader leaves it, in the page's language; the
  // service still checks everything when the form is sent.
  function check(field) {
    var id = field.id + "-check";
    var shown = document.getElementById(id);
    if (field.checkValidity()) {
      if (shown) {
        shown.remove();
        var describedBy = (field.getAttribute("aria-describedby") || "").replace(id, "").trim();
        if (describedBy) { field.setAttribute("aria-describedby", describedBy); } else { field.removeAttribute("aria-describedby"); }
        if (!document.getElementById(field.id + "-error")) { field.removeAttribute("aria-invalid"); }
      }
      return;
    }
    if (shown || document.getElementById(field.id + "-error")) { return; }
    var message = document.createElement("p");
    message.className = "error";
    message.id = id;
    message.setAttribute("aria-live", "polite");
    message.textContent = "\u26a0 " + field.getAttribute("data-check");
    field.parentNode.insertBefore(message, field);
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + id).trim());
  }

  document.addEventListener("DOMContentLoaded", function () {
    var refusal = document.getElementById("refusal");
    if (refusal) { refusal.focus(); }
    var fields = document.querySelectorAll("[data-check]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].addEventListener("blur", function (event) { check(event.target); });
      fields[i].addEventListener("input", function (event) {
        if (document.getElementById(event.target.id + "-check")) { check(event.target); }
      });
    }
    follow();
  });
})();
