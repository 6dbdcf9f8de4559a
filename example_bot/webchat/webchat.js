/*
 * Starts rasa-webchat against the Rasa server with the handover channel.
 * The server defaults to port 5005 on this page's host; `?server=<url>` picks
 * another (the browser tests use it). `?customer=<id>` chats as that account of
 * accounts.yml; without it, each browser tab is one of the demo customers
 * (customers.json, served by demo.py), kept across reloads.
 */
(function () {
  "use strict";
  var RASA_PORT = "5005";
  var CUSTOMER_KEY = "demo_customer_id";
  var params = new URLSearchParams(window.location.search);
  var socketUrl = params.get("server") ||
    window.location.protocol + "//" + window.location.hostname + ":" + RASA_PORT;

  function start(customerId) {
    window.WebChat.default({
      socketUrl: socketUrl,
      socketPath: "/socket.io/",
      // Who the customer is: the account lookup reads it at session start.
      customData: { language: "en", customer_id: customerId },
      params: { storage: "session" },
      initPayload: "/greet",
      title: "Streamly support",
      subtitle: "Our assistant, and a person when you need one",
      inputTextFieldHint: "Type a message…",
      embedded: true,
      showMessageDate: true,
      withRules: false
    }, document.getElementById("webchat"));
  }

  function pick(ids) {
    var kept = window.sessionStorage.getItem(CUSTOMER_KEY);
    if (kept && ids.indexOf(kept) !== -1) {
      return kept;
    }
    var chosen = ids[Math.floor(Math.random() * ids.length)];
    window.sessionStorage.setItem(CUSTOMER_KEY, chosen);
    return chosen;
  }

  if (params.get("customer")) {
    start(params.get("customer"));
    return;
  }
  window.fetch("customers.json")
    .then(function (answer) { return answer.json(); })
    .then(function (ids) { start(pick(ids)); });
}());
