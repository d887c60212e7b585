// siteward fault "layout-shift": a tall promo banner pushed above the content
// shortly after load, the classic late ad/cookie-banner shift (CLS > 0.25).
window.addEventListener("load", function () {
  setTimeout(function () {
    var main = document.getElementById("content");
    if (!main) { return; }
    var banner = document.createElement("div");
    banner.className = "fault-promo";
    banner.setAttribute("data-fault", "layout-shift");
    banner.textContent = "Flash sale! 30% off everything today only. 限时优惠";
    main.parentNode.insertBefore(banner, main);
  }, 400);
});
