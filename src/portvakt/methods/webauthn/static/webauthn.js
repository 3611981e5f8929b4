/* WebAuthn ceremonies for Portvakt's pages: a form with data-ceremony="create" (adding a
   key) or "get" (signing in) runs the browser's ceremony with the options in the JSON script
   named by data-options, and posts the result as JSON in the form's "payload" field. With
   data-auto="1" it starts as the page opens; the button starts it again. */
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: toBytes(c.id), transports: c.transports };
    });
  }

  function creation(options) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(options);
    }
    var o = Object.assign({}, options);
    o.challenge = toBytes(options.challenge);
    o.user = Object.assign({}, options.user, { id: toBytes(options.user.id) });
    o.excludeCredentials = descriptors(options.excludeCredentials);
    return o;
  }

  function requestOptions(options) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(options);
    }
    var o = Object.assign({}, options);
    o.challenge = toBytes(options.challenge);
    o.allowCredentials = descriptors(options.allowCredentials);
    return o;
  }

  function asJSON(cred) {
    if (typeof cred.toJSON === "function") { return cred.toJSON(); }
    var r = cred.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) { response.userHandle = toText(r.userHandle); }
    }
    return {
      id: cred.id, rawId: toText(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  var pending = null; // the conditional (autofill) request, aborted before a modal one

  function run(form, mediation) {
    var status = document.getElementById("ceremony-status");
    var button = form.querySelector("button[type=submit]");
    var options = JSON.parse(document.getElementById(form.dataset.options).textContent);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (status) { status.textContent = form.dataset.failed; }
      return;
    }
    if (pending) { pending.abort(); pending = null; }
    var request = { publicKey: form.dataset.ceremony === "create" ? creation(options) : requestOptions(options) };
    if (mediation) {
      pending = new AbortController();
      request.mediation = mediation;
      request.signal = pending.signal;
    } else if (button) {
      button.disabled = true;
    }
    var ceremony = form.dataset.ceremony === "create"
      ? navigator.credentials.create(request)
      : navigator.credentials.get(request);
    ceremony.then(function (cred) {
      if (!cred) { return; }
      form.elements.payload.value = JSON.stringify(asJSON(cred));
      form.submit();
    }).catch(function (err) {
      if (mediation && err && err.name === "AbortError") { return; } // replaced by a click
      if (status && !mediation) { status.textContent = form.dataset.failed; }
      if (button) { button.disabled = false; if (!mediation) { button.focus(); } }
    });
  }

  document.querySelectorAll("form[data-ceremony]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!form.elements.payload.value) { event.preventDefault(); run(form, null); }
    });
    if (form.dataset.ceremony === "conditional") {
      var button = form.querySelector("button[type=submit]");
      if (!window.PublicKeyCredential) { return; }
      if (button) { button.hidden = false; }
      var available = PublicKeyCredential.isConditionalMediationAvailable;
      if (available) {
        available.call(PublicKeyCredential).then(function (yes) {
          if (yes) { run(form, "conditional"); }
        });
      }
      return;
    }
    if (form.dataset.auto === "1") { run(form, null); }
  });
})();
