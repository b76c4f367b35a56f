// The cashier's live parts: the countdown, polling for the result, the channel form posted at
// once, and the delayed return to the merchant. The page works without them.
(function () {
  "use strict";
  var countdown = document.getElementById("countdown");
  if (countdown) {
    var expireAt = Number(countdown.getAttribute("data-expire-at-ms"));
    var tick = function () {
      var left = Math.max(0, Math.floor((expireAt - Date.now()) / 1000));
      countdown.textContent = countdown.getAttribute("data-remaining") + " " +
        Math.floor(left / 60) + " " + countdown.getAttribute("data-minutes") + " " +
        (left % 60) + " " + countdown.getAttribute("data-seconds");
      if (left === 0) {
        clearInterval(timer);
        if (main && main.hasAttribute("data-poll")) { location.reload(); }
      }
    };
    var main = document.getElementById("cashier");
    var timer = setInterval(tick, 1000);
    tick();
  }
  var page = document.getElementById("cashier");
  if (page && page.hasAttribute("data-poll")) {
    var tradeNo = page.getAttribute("data-trade-no");
    var every = Number(page.getAttribute("data-poll")) || 2000;
    var poll = function () {
      fetch("/cashier/" + encodeURIComponent(tradeNo) + "/status", { cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.paid) {
            location.assign("/cashier/" + encodeURIComponent(tradeNo) + "/result" + location.search);
          } else if (s && s.status !== page.getAttribute("data-status")) {
            location.reload();
          } else {
            setTimeout(poll, every);
          }
        })
        .catch(function () { setTimeout(poll, every); });
    };
    setTimeout(poll, every);
  }
  // WeChat's browser pays a JSAPI trade through its JS bridge with the signed parameters.
  var jsapi = document.getElementById("jsapi-pay");
  if (jsapi) {
    jsapi.addEventListener("click", function () {
      var params = JSON.parse(jsapi.getAttribute("data-params"));
      if (window.WeixinJSBridge) {
        window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {});
      }
    });
  }
  var form = document.getElementById("auto-post");
  if (form) { form.submit(); }
  var back = document.querySelector("#return-link[data-redirect-ms]");
  if (back) {
    setTimeout(function () { location.assign(back.href); }, Number(back.getAttribute("data-redirect-ms")));
  }
})();
