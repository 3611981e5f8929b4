// Portvakt: send the answer to the app at once (OAuth 2.0 Form Post Response Mode). The CSP
// allows no inline script, hence this file; without JavaScript the page shows a button.
(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) { HTMLFormElement.prototype.submit.call(form); }
}());
