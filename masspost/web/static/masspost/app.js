// masspost's own script: tabs, merge-field buttons, the send confirmation, focus on the first error, the
// language switch, the phone's sideways menu and the Copy button of a new API token. No inline script anywhere
// (CSP script-src 'self'); everything works without it too, only less conveniently (all language panels shown, a
// Change button for the language, a Show button for the campaign list's filter, the token copied by hand).
(function () {
  "use strict";

  function tabs(root) {
    var list = root.querySelector('[role="tablist"]');
    if (!list) return;
    var buttons = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function select(tab, focus) {
      buttons.forEach(function (b) {
        var on = b === tab;
        b.setAttribute("aria-selected", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(b.getAttribute("aria-controls"));
        if (panel) panel.hidden = !on;
      });
      if (focus) tab.focus();
    }
    buttons.forEach(function (b, i) {
      b.addEventListener("click", function () { select(b, false); });
      b.addEventListener("keydown", function (e) {
        var next = null;
        if (e.key === "ArrowRight") next = buttons[(i + 1) % buttons.length];
        if (e.key === "ArrowLeft") next = buttons[(i - 1 + buttons.length) % buttons.length];
        if (e.key === "Home") next = buttons[0];
        if (e.key === "End") next = buttons[buttons.length - 1];
        if (next) { e.preventDefault(); select(next, true); }
      });
    });
    // A tab whose panel holds an error opens first.
    var withError = buttons.filter(function (b) {
      var panel = document.getElementById(b.getAttribute("aria-controls"));
      return panel && panel.querySelector(".has-error");
    })[0];
    if (withError) select(withError, false);
  }

  var lastText = null;
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("textarea, input[type=text]")) lastText = e.target;
  });

  document.addEventListener("click", function (e) {
    var insert = e.target.closest && e.target.closest("[data-insert]");
    if (insert) {
      var panel = insert.closest('[role="tabpanel"]');
      var target = lastText && panel && panel.contains(lastText) ? lastText : panel && panel.querySelector("textarea");
      if (!target) return;
      var text = insert.getAttribute("data-insert");
      var start = target.selectionStart || 0, end = target.selectionEnd || 0;
      target.value = target.value.slice(0, start) + text + target.value.slice(end);
      target.focus();
      target.selectionStart = target.selectionEnd = start + text.length;
      target.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    var opener = e.target.closest && e.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) dialog.showModal();
      return;
    }
    var closer = e.target.closest && e.target.closest("[data-close-dialog]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) d.close();
    }
  });

  // Copy: the text of the element named by data-copy, into the clipboard; the outcome said in the button's
  // status element (role="status", so a screen reader announces it). Without the clipboard API (a page not on
  // HTTPS) the text is selected and the browser's own copy command tried.
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status") || "");
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    function said(ok) {
      if (!status) return;
      status.textContent = "";
      // a fresh text each time, so that copying twice is announced twice
      window.setTimeout(function () {
        status.textContent = button.getAttribute(ok ? "data-copied" : "data-copy-failed") || "";
      }, 50);
    }
    function fallback() {
      var ok = false;
      if (source.select) {
        source.focus();
        source.select();
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      }
      said(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { said(true); }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    if (button) copy(button);
  });

  function channelFields(form) {
    var checked = form.querySelector('input[name="channel"]:checked');
    var channel = checked ? checked.value : "sms";
    form.querySelectorAll("[data-channel]").forEach(function (el) {
      var ch = el.getAttribute("data-channel");
      el.hidden = !(channel === "both" || channel === ch);
    });
  }

  // "One message per shared address" follows the purpose (on for marketing) until the user ticks it themselves.
  function purposeDefaults(form, purpose) {
    var box = form.querySelector("input[data-default-marketing]");
    if (box && !box.hasAttribute("data-touched")) {
      box.checked = purpose === "marketing";
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function ready() {
    document.documentElement.classList.add("js");
    document.querySelectorAll(".what").forEach(tabs);
    var form = document.getElementById("bulk");
    if (form) {
      channelFields(form);
      form.addEventListener("change", function (e) {
        if (e.target.name === "channel") channelFields(form);
        if (e.target.name === "purpose") {
          purposeDefaults(form, e.target.value);
          // A marketing SMS carries the opt-out line: the SMS boxes' counters count again.
          document.body.dispatchEvent(new Event("purpose-changed"));
        }
        if (e.target.name === "one_per_address") e.target.setAttribute("data-touched", "1");
      });
    }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    var firstError = document.querySelector('.has-error input, .has-error textarea, .has-error select, [aria-invalid="true"]');
    if (firstError) firstError.focus();
  }

  // The punctuation fix swaps the SMS box: the live count then has a new text to count.
  document.addEventListener("htmx:afterSwap", function (e) {
    var path = e.detail && e.detail.pathInfo && e.detail.pathInfo.requestPath;
    if (path && path.indexOf("/bulk/sms/fix/") !== -1) {
      document.body.dispatchEvent(new Event("fixed"));
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
