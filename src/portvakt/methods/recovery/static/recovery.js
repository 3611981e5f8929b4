// The print button works only with JavaScript, so it is shown only then.
"use strict";
(function () {
  var button = document.getElementById("print-codes");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
