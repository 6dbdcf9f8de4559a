/*
 * Starts rasa-webchat against the Rasa server with the handover channel.
 * The server defaults to port 5005 on this page's host; `?server=<url>` picks
 * another (the browser tests use it).
 */
(function () {
  "use strict";
  var RASA_PORT = "5005";
  var params = new URLSearchParams(window.location.search);
  var socketUrl = params.get("server") ||
    window.location.protocol + "//" + window.location.hostname + ":" + RASA_PORT;
  window.WebChat.default({
    socketUrl: socketUrl,
    socketPath: "/socket.io/",
    // Who the customer is (the account lookup reads it): ?customer=alex for a VIP.
    customData: { language: "en", customer_id: params.get("customer") || "dana" },
    params: { storage: "session" },
    initPayload: "/greet",
    title: "Streamly support",
    subtitle: "Our assistant, and a person when you need one",
    inputTextFieldHint: "Type a message…",
    embedded: true,
    showMessageDate: true,
    withRules: false
  }, document.getElementById("webchat"));
}());
