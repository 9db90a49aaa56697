// Progressive help on Gatehouse's pages; every form works without it.
(function () {
  "use strict";
  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }
  // The password's length as it is typed, against the organisation's minimum; and a warning,
  // before the form is sent, when it contains a name the server refuses (3 letters or more, as
  // the server counts them: the page's words and the names typed in the same form).
  each("input[data-password][data-min]", function (input) {
    var count = document.getElementById(input.id + "-count");
    var warn = document.getElementById(input.id + "-warn");
    var min = parseInt(input.getAttribute("data-min"), 10) || 0;
    if (!count) return;
    function names() {
      var words = (input.getAttribute("data-avoid") || "").split("\n");
      if (input.form) {
        ["first_name", "last_name"].forEach(function (field) {
          var typed = input.form.elements[field];
          if (typed && typed.value) words.push(typed.value);
        });
      }
      return words.map(function (w) { return w.trim().toLowerCase(); })
        .filter(function (w) { return Array.from(w).length >= 3; });
    }
    function update() {
      var n = Array.from(input.value).length;
      var said = n >= min ? count.getAttribute("data-count-done") : count.getAttribute("data-count");
      count.textContent = n === 0 ? "" : said.replace("{n}", n).replace("{min}", min);
      count.classList.toggle("short", n > 0 && n < min);
      if (warn) {
        var lower = input.value.toLowerCase();
        var named = lower && names().some(function (w) { return lower.indexOf(w) !== -1; });
        warn.textContent = named ? warn.getAttribute("data-warn") : "";
      }
    }
    input.addEventListener("input", update);
    if (input.form) {
      ["first_name", "last_name"].forEach(function (field) {
        var typed = input.form.elements[field];
        if (typed) typed.addEventListener("input", update);
      });
    }
    update();
  });
  // "Show password" boxes.
  each("input[data-show]", function (box) {
    var target = document.getElementById(box.getAttribute("data-show"));
    if (!target) return;
    box.addEventListener("change", function () {
      target.type = box.checked ? "text" : "password";
    });
  });
  // The invite form: the email field or the identifier field, as "How" says.
  var how = document.querySelectorAll("input[name=how]");
  if (how.length) {
    var showChosen = function () {
      var chosen = document.querySelector("input[name=how]:checked");
      each("[data-how-field]", function (field) {
        field.hidden = !!chosen && field.getAttribute("data-how-field") !== chosen.value;
      });
    };
    Array.prototype.forEach.call(how, function (radio) { radio.addEventListener("change", showChosen); });
    showChosen();
  }
  // Errors: the summary takes the focus so that a screen reader reads it first.
  var summary = document.getElementById("summary");
  if (summary) summary.focus();
})();
// "Copy" buttons: the text of the field they name, to the clipboard.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-copied");
    button.addEventListener("click", function () {
      field.select();
      var done = function () { if (status) status.textContent = button.getAttribute("data-copied"); };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
// An import's page: the file goes straight to its upload URL, then the page follows the import.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (form) {
    var status = document.getElementById("upload-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = document.getElementById("file").files[0];
      if (!file) return;
      status.textContent = form.getAttribute("data-uploading");
      fetch(form.getAttribute("data-upload-url"), { method: "PUT", body: file })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          window.location.assign(window.location.pathname + "?uploaded=1");
        })
        .catch(function () {
          status.textContent = form.getAttribute("data-failed");
        });
    });
  }
  var follow = document.querySelector("[data-follow]");
  if (follow) {
    setTimeout(function () { window.location.reload(); }, 1000 * parseInt(follow.getAttribute("data-follow"), 10));
  }
})();
// Passkeys (WebAuthn): buttons and forms marked data-passkey stay hidden unless the browser can
// make and use passkeys. The options come from Gatehouse (data-options, a POST); the browser's
// credential goes back in the form's hidden field `credential`, and the form is sent as any
// other, so the server's answer is an ordinary page. A refused request for options may say why
// (`message`: a password asked for, or wrong); the status line says it instead.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) return;
  Array.prototype.forEach.call(document.querySelectorAll("[data-without-passkeys]"), function (said) {
    said.hidden = true;
  });
  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var kind = form.getAttribute("data-passkey");
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) return;
      event.preventDefault();
      if (status) status.textContent = "";
      if (kind === "register" && !form.reportValidity()) return;
      button.disabled = true;
      var csrf = form.elements.csrf ? form.elements.csrf.value : "";
      var body = "csrf=" + encodeURIComponent(csrf);
      if (form.elements.passkey_password) {
        body += "&passkey_password=" + encodeURIComponent(form.elements.passkey_password.value);
      }
      fetch(form.getAttribute("data-options"), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: body,
        credentials: "same-origin",
      }).then(function (response) {
        if (response.ok) return response.json();
        return response.json().catch(function () { return {}; }).then(function (problem) {
          throw { said: problem.message };
        });
      }).then(function (started) {
        form.elements.flow.value = started.flow;
        return kind === "register"
          ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(started.publicKey) })
          : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey) });
      }).then(function (credential) {
        form.elements.credential.value = JSON.stringify(credential.toJSON());
        form.submit();
      }).catch(function (failure) {
        button.disabled = false;
        if (status) status.textContent = (failure && failure.said) || status.getAttribute("data-failed");
      });
    });
  });
})();
