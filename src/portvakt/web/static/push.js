// Portvakt: follow a push request or a device activation over server-sent events and move on
// by ourselves. Without JavaScript the pages refresh and offer a button instead.
(function () {
  "use strict";
  function watch(box, onState) {
    if (!box || !window.EventSource) { return; }
    var source = new EventSource(box.dataset.events);
    source.addEventListener("state", function (message) {
      var data = JSON.parse(message.data);
      if (onState(data) === false) { source.close(); }
    });
  }
  var push = document.getElementById("push");
  watch(push, function (data) {
    if (data.state === push.dataset.state) { return true; }
    if (data.state === "approved") {
      document.getElementById("complete").submit();
    } else {
      window.location.reload();
    }
    return false;
  });
  var activation = document.getElementById("activation");
  watch(activation, function (data) {
    if (data.state === "active") {
      var finish = document.getElementById("finish");
      if (finish) { finish.submit(); } else { window.location.assign(activation.dataset.done || "/account"); }
      return false;
    }
    if (data.state !== activation.dataset.state) { window.location.reload(); return false; }
    return true;
  });
}());
