// The done page's print button: shown only when JavaScript can press it (without JavaScript
// the browser's own print menu prints the same page, with the print stylesheet).
"use strict";
(function () {
  var button = document.getElementById("print-page");
  if (!button || typeof window.print !== "function") return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
