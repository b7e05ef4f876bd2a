// Starts the chat widget (rasa-webchat) in Dutch. The Rasa server's address comes from the page
// (data-config, filled in by web/server.py), so the same script works on any site.
(function () {
  var config = JSON.parse(document.getElementById("webchat-config").getAttribute("data-config"));
  if (!window.WebChat) {
    var note = document.createElement("p");
    note.className = "chat-missing";
    note.textContent = "De chat is nu niet beschikbaar. Bel de praktijk als u een vraag heeft.";
    document.body.appendChild(note);
    return;
  }
  window.WebChat.default({
    selector: "#webchat",
    socketUrl: config.socketUrl,
    socketPath: "/socket.io/",
    initPayload: "/greet",
    customData: { language: "nl" },
    title: "Rugklachten-assistent",
    subtitle: "Informatie, geen diagnose",
    inputTextFieldHint: "Typ hier uw vraag…",
    connectingText: "Even geduld, de chat wordt geopend…",
    showFullScreenButton: true,
    hideWhenNotConnected: false,
    // The widget shows "typing" before each message for up to 3 s; keep it short.
    customMessageDelay: function (message) { return Math.min(1000, 300 + message.length * 3); },
    mainColor: "#0b6e8a",
    userBackgroundColor: "#0b6e8a",
    userTextColor: "#ffffff",
    params: { storage: "local" }
  }, null);

  // Keyboard use: the widget's answer buttons take focus (Tab) but only react to a click;
  // Enter or Space on a focused button chooses it too.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if ((event.key === "Enter" || event.key === " ") && target && target.classList &&
        target.classList.contains("rw-reply")) {
      event.preventDefault();
      target.click();
    }
  });
  // Give the launcher a Dutch name for screen readers.
  new MutationObserver(function () {
    var launcher = document.querySelector(".rw-launcher");
    if (launcher && !launcher.getAttribute("aria-label")) {
      launcher.setAttribute("aria-label", "Open de chat met de rugklachten-assistent");
    }
    document.querySelectorAll(".rw-reply").forEach(function (reply) {
      if (!reply.hasAttribute("tabindex")) { reply.setAttribute("tabindex", "0"); reply.setAttribute("role", "button"); }
    });
  }).observe(document.body, { childList: true, subtree: true });
})();
