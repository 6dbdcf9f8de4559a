/*
 * The agent inbox page of rasa-handover. Vanilla JavaScript, no build step.
 *
 * Talks to the inbox JSON API next to this page ("api/..." relative to it) with
 * the agent's bearer token (kept in sessionStorage, for this tab only), and
 * listens to the server-sent event stream "api/events?ticket=..." to keep the
 * queue and the open conversation live. EventSource cannot send headers, so
 * the page trades the token (in a header) for a ticket that opens one stream
 * within a minute: the token itself never appears in a URL.
 *
 * Everything that comes from a customer, a payload or the server is rendered
 * with textContent: never parsed as markup, never turned into a link.
 */
(function (global) {
  "use strict";

  var TOKEN_KEY = "rasa-handover.inbox.token";
  var API = "api/";
  var EVENT_TYPES = [
    "requested", "queued", "assigned", "accepted", "message",
    "transferred", "resolved", "expired", "failed"
  ];
  var REFRESH_DELAY_MS = 150;
  var RECONNECT_DELAY_MS = 3000;
  var CLOCK_TICK_MS = 15000;
  var SECONDS_PER_MINUTE = 60;
  var MINUTES_PER_HOUR = 60;
  var PERCENT = 100;
  var FOLLOW_THRESHOLD_PX = 80;
  var CLOSED_STATUSES = ["resolved", "expired", "failed"];

  var REASON_LABELS = {
    explicit_request: "Asked for a person",
    low_confidence: "Bot was unsure",
    frustration: "Frustrated",
    regulated_topic: "Regulated topic",
    repeat_loop: "Asked repeatedly"
  };
  var OUTCOME_LABELS = {
    escalation_needed: "a person was needed",
    escalation_not_needed: "the bot could have handled it",
    should_have_come_earlier: "it should have come earlier"
  };
  var ROLE_LABELS = { user: "Customer", customer: "Customer", bot: "Assistant", system: "System" };
  var SENTIMENT_NEGATIVE = -0.05;
  var SENTIMENT_VERY_NEGATIVE = -0.5;
  var SENTIMENT_POSITIVE = 0.05;

  // --- The opening line (mirrored by rasa_handover/inbox/page.py: opening_line). ---

  var ASSISTANT_NAME = "our AI assistant";
  var ANONYMOUS_GREETING = "there";
  var FALLBACK_AGENT_NAME = "your support agent";
  var NO_GOAL_SENTENCE = "I've read your conversation with our assistant.";
  var NEXT_STEPS = {
    explicit_request: "I'll take it from here.",
    frustration: "Sorry it's been frustrating, let's get this sorted now.",
    regulated_topic: "That's one a person should answer, so I'll take it from here.",
    low_confidence: "Let me make sure I understand it right.",
    repeat_loop: "Sorry you had to ask more than once, let's get this sorted now."
  };
  var DEFAULT_NEXT_STEP = "I'll take it from here.";
  var MAX_PROVIDED_FACTS = 3;
  var GOAL_PATTERNS = [
    [/^[^"]*?\bmay want to\s+(.+?)(?:\s*\(the bot was not sure\))?[\s.]*$/i,
      "It looks like you were trying to "],
    [/^[^"]*?\bwants to\s+(.+?)[\s.]*$/i, "I see you were trying to "],
    [/^[^"]*?\bwants\s+(.+?)[\s.]*$/i, "I see you wanted "]
  ];
  var PRONOUNS = [
    [/\bthemselves\b/g, "yourself"],
    [/\btheirs\b/g, "yours"],
    [/\btheir\b/g, "your"],
    [/\bthem\b/g, "you"],
    [/\bthey\b/g, "you"]
  ];

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function asObject(value) {
    return isObject(value) ? value : {};
  }

  function clean(text) {
    return text === null || text === undefined ? "" : String(text).replace(/\s+/g, " ").trim();
  }

  function joinList(items) {
    if (items.length === 1) {
      return items[0];
    }
    return items.slice(0, -1).join(", ") + " and " + items[items.length - 1];
  }

  function goalSentence(goal) {
    var text = typeof goal === "string" ? clean(goal) : "";
    for (var i = 0; i < GOAL_PATTERNS.length; i += 1) {
      var match = GOAL_PATTERNS[i][0].exec(text);
      if (match && match[1].trim()) {
        var phrase = match[1].trim();
        PRONOUNS.forEach(function (pair) { phrase = phrase.replace(pair[0], pair[1]); });
        return GOAL_PATTERNS[i][1] + phrase + ".";
      }
    }
    return NO_GOAL_SENTENCE;
  }

  function customerName(payload) {
    var candidates = [
      asObject(payload.customer).name, payload.customer_name, asObject(payload.account).name
    ];
    for (var i = 0; i < candidates.length; i += 1) {
      if (typeof candidates[i] === "string" && clean(candidates[i])) {
        return clean(candidates[i]);
      }
    }
    return "";
  }

  /**
   * The agent's first message after claiming: greets the customer by name, names
   * the agent, says what the customer was trying to do and what happens next.
   * Never "how can I help?": the customer must not have to re-explain.
   */
  function openingLine(payload, agentName) {
    var data = asObject(payload);
    var summary = asObject(data.summary);
    var agent = typeof agentName === "string" ? clean(agentName) : "";
    var sentences = [
      "Hi " + (customerName(data) || ANONYMOUS_GREETING) + ", I'm " +
        (agent || FALLBACK_AGENT_NAME) + ", picking up from " + ASSISTANT_NAME + ".",
      goalSentence(summary.goal)
    ];
    var provided = Array.isArray(summary.provided) ? summary.provided : [];
    var facts = provided
      .filter(function (fact) { return typeof fact === "string" && clean(fact); })
      .map(clean)
      .slice(0, MAX_PROVIDED_FACTS);
    if (facts.length) {
      sentences.push("I already have the details you gave: " + joinList(facts) + ".");
    }
    var reason = asObject(data.trigger).reason;
    var known = typeof reason === "string" &&
      Object.prototype.hasOwnProperty.call(NEXT_STEPS, reason);
    sentences.push(known ? NEXT_STEPS[reason] : DEFAULT_NEXT_STEP);
    return sentences.join(" ");
  }

  global.HandoverInbox = { openingLine: openingLine };

  // --- Small helpers. ---------------------------------------------------------------

  function byId(id) {
    return document.getElementById(id);
  }

  /** Creates an element; `text` always becomes a text node (never markup). */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function reasonLabel(reason) {
    return Object.prototype.hasOwnProperty.call(REASON_LABELS, reason)
      ? REASON_LABELS[reason] : (reason ? humanise(reason) : "Unknown reason");
  }

  // Why the ticket is here. One without a trigger is the customer's own request
  // for an alternative to waiting: a callback, or a message answered by e-mail.
  function ticketReason(ticket) {
    if (!ticket.reason && ticket.callback) {
      return ticket.callback.kind === "email" ? "Left a message" : "Asked for a callback";
    }
    return reasonLabel(ticket.reason);
  }

  function humanise(name) {
    return String(name).replace(/_/g, " ");
  }

  function percent(value) {
    return typeof value === "number" ? Math.round(value * PERCENT) + "%" : "?";
  }

  function formatValue(value) {
    if (value === null || value === undefined) {
      return "—";
    }
    if (Array.isArray(value)) {
      return value.map(formatValue).join(", ");
    }
    if (typeof value === "object") {
      return JSON.stringify(value);
    }
    return String(value);
  }

  function formatDuration(seconds) {
    var minutes = Math.floor(Math.max(0, seconds) / SECONDS_PER_MINUTE);
    if (minutes < 1) {
      return "under a minute";
    }
    if (minutes < MINUTES_PER_HOUR) {
      return minutes + " min";
    }
    return Math.floor(minutes / MINUTES_PER_HOUR) + " h " + (minutes % MINUTES_PER_HOUR) + " min";
  }

  function since(iso) {
    var start = Date.parse(iso);
    return isNaN(start) ? 0 : (Date.now() - start) / 1000;
  }

  function timeElement(date) {
    var node = el("time", "time");
    if (!isNaN(date.getTime())) {
      node.dateTime = date.toISOString();
      node.textContent = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      node.title = date.toLocaleString();
    }
    return node;
  }

  // --- State. ------------------------------------------------------------------------

  var state = {
    token: null,
    me: null,
    tickets: [],
    callbacks: [],
    seenTickets: null,
    openId: null,
    details: null,
    renderedMessages: null,
    source: null,
    lastEventId: null,
    timers: {},
    busy: {}
  };

  // --- The API. ----------------------------------------------------------------------

  function ApiError(status, message, field) {
    this.status = status;
    this.message = message;
    this.field = field;
  }

  function api(method, path, body) {
    var options = {
      method: method,
      cache: "no-store",
      headers: { Accept: "application/json", Authorization: "Bearer " + state.token }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(API + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) {
          return data;
        }
        var error = new ApiError(response.status, data.error || response.statusText, data.field);
        if (response.status === 401 && path !== "me") {
          signOut("Your token is no longer accepted; sign in again.");
        }
        throw error;
      });
    }, function () {
      throw new ApiError(0, "The inbox cannot be reached. Check your connection.", null);
    });
  }

  function showError(error) {
    byId("error").textContent = error ? (error.message || String(error)) : "";
  }

  function notify(text) {
    byId("notice").textContent = text;
  }

  // --- Signing in and out. -----------------------------------------------------------

  function showSignIn(message) {
    show(byId("session"), false);
    show(byId("workspace"), false);
    show(byId("sign-in"), true);
    byId("sign-in-error").textContent = message || "";
    byId("token").focus();
  }

  function signIn(token) {
    state.token = token;
    return api("GET", "me").then(function (data) {
      try {
        global.sessionStorage.setItem(TOKEN_KEY, token);
      } catch (ignored) {
        // Private mode without storage: the page still works until reloaded.
      }
      state.me = data.agent;
      show(byId("sign-in"), false);
      show(byId("workspace"), true);
      show(byId("session"), true);
      renderMe();
      startLive();
      startClock();
      byId("main").focus();
    }, function (error) {
      state.token = null;
      try {
        global.sessionStorage.removeItem(TOKEN_KEY);
      } catch (ignored) {
        // Nothing stored.
      }
      showSignIn(error.status === 401 ? "That token is not valid." : error.message);
    });
  }

  function signOut(message) {
    stopLive();
    Object.keys(state.timers).forEach(function (name) {
      clearTimeout(state.timers[name]);
      clearInterval(state.timers[name]);
    });
    state.timers = {};
    try {
      global.sessionStorage.removeItem(TOKEN_KEY);
    } catch (ignored) {
      // Nothing stored.
    }
    state.token = null;
    state.me = null;
    state.tickets = [];
    state.callbacks = [];
    state.seenTickets = null;
    state.lastEventId = null;
    closeConversation();
    clear(byId("queue-groups"));
    byId("token").value = "";
    document.title = "Handover inbox";
    showSignIn(message);
  }

  // --- Availability. -----------------------------------------------------------------

  function renderMe() {
    var me = state.me;
    byId("who").textContent = me.name + " · " + me.teams.join(", ");
    show(byId("report"), me.role === "supervisor");
    var toggle = byId("availability");
    toggle.setAttribute("aria-checked", me.online ? "true" : "false");
    toggle.classList.toggle("on", !!me.online);
    show(byId("offline-banner"), !me.online);
    var options = byId("team-options");
    clear(options);
    teamsKnown().forEach(function (team) {
      var option = el("option");
      option.value = team;
      options.appendChild(option);
    });
  }

  function teamsKnown() {
    var teams = {};
    (state.me ? state.me.teams : []).forEach(function (team) { teams[team] = true; });
    state.tickets.forEach(function (ticket) { teams[ticket.team] = true; });
    return Object.keys(teams).sort();
  }

  function setAvailability(online) {
    return api("POST", "agents/me/availability", { online: online }).then(function (data) {
      state.me = data.agent;
      renderMe();
      showError(null);
      notify(online ? "You are online: new conversations can be routed to you." : "You are offline.");
      scheduleQueueRefresh();
    }, showError);
  }

  // --- Live updates (server-sent events). --------------------------------------------

  function startLive() {
    // Remember where the stream stands before reading the queue, so that no
    // change between the two is missed.
    var start = state.lastEventId !== null
      ? Promise.resolve()
      : fetch(API + "health", { cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (data) { state.lastEventId = data.latest_event_id || 0; })
        .catch(function () { state.lastEventId = null; });
    start.then(function () {
      if (state.token) {
        connectEvents();
        refreshQueue();
      }
    });
  }

  function connectEvents() {
    stopLive();
    var token = state.token;
    api("POST", "events/ticket").then(function (data) {
      if (state.token !== token || state.source) {
        return;  // Signed out, or another stream opened, in the meantime.
      }
      openEvents(data.ticket);
    }, function (error) {
      if (error.status !== 401 && state.token) {
        reconnectLater();
      }
    });
  }

  function openEvents(ticket) {
    var url = API + "events?ticket=" + encodeURIComponent(ticket);
    if (state.lastEventId !== null) {
      url += "&last_event_id=" + encodeURIComponent(state.lastEventId);
    }
    var source = new EventSource(url);
    state.source = source;
    source.onopen = function () {
      setLive(true);
      scheduleQueueRefresh();
      // Away after a lost connection (longer than the grace period)? Say so.
      api("GET", "me").then(function (data) {
        state.me = data.agent;
        renderMe();
      }, function () { return null; });
    };
    source.onerror = function () {
      if (state.source !== source) {
        return;
      }
      // The stream ended or broke. Its ticket is used up, so the browser's own
      // retry would be refused: open a new stream with a new ticket, from the
      // last event seen.
      source.close();
      state.source = null;
      setLive(false);
      reconnectLater();
    };
    EVENT_TYPES.forEach(function (type) {
      source.addEventListener(type, onEvent);
    });
  }

  function reconnectLater() {
    clearTimeout(state.timers.reconnect);
    state.timers.reconnect = setTimeout(function () {
      // Check the token first: a 401 signs out (api() does it).
      api("GET", "me").then(function (data) {
        state.me = data.agent;
        renderMe();
        connectEvents();
      }, function (error) {
        if (error.status !== 401 && state.token) {
          reconnectLater();
        }
      });
    }, RECONNECT_DELAY_MS);
  }

  function stopLive() {
    if (state.source) {
      state.source.close();
      state.source = null;
    }
    clearTimeout(state.timers.reconnect);
  }

  function setLive(live) {
    var node = byId("live");
    node.textContent = live ? "Live" : "Reconnecting…";
    node.classList.toggle("off", !live);
  }

  function onEvent(message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (ignored) {
      return;
    }
    if (message.lastEventId) {
      state.lastEventId = Number(message.lastEventId);
    }
    var data = asObject(event.data);
    if (event.type === "assigned" && state.me && data.agent_id === state.me.id) {
      notify("A conversation was assigned to you.");
    }
    scheduleQueueRefresh();
    if (event.ticket_id === state.openId) {
      scheduleOpenRefresh();
    }
  }

  // Coalesces bursts of events into one request; runs again if events came in
  // while a request was under way.
  function schedule(name, run) {
    if (state.timers[name]) {
      return;
    }
    state.timers[name] = setTimeout(function () {
      state.timers[name] = null;
      if (state.busy[name]) {
        state.busy[name] = "again";
        return;
      }
      state.busy[name] = true;
      run().catch(showError).then(function () {
        var again = state.busy[name] === "again";
        state.busy[name] = false;
        if (again) {
          schedule(name, run);
        }
      });
    }, REFRESH_DELAY_MS);
  }

  function scheduleQueueRefresh() {
    schedule("queue", refreshQueue);
  }

  function scheduleOpenRefresh() {
    schedule("open", refreshOpen);
  }

  function startClock() {
    clearInterval(state.timers.clock);
    state.timers.clock = setInterval(function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-since]"), function (node) {
        node.textContent = node.getAttribute("data-prefix") + formatDuration(since(node.getAttribute("data-since")));
      });
    }, CLOCK_TICK_MS);
  }

  // --- The queue. ----------------------------------------------------------------------

  function refreshQueue() {
    if (!state.token) {
      return Promise.resolve();
    }
    return api("GET", "queue").then(function (data) {
      var first = state.seenTickets === null;
      var seen = state.seenTickets || {};
      var fresh = [];
      state.tickets = data.tickets || [];
      state.callbacks = data.callbacks || [];
      state.tickets.concat(state.callbacks).forEach(function (ticket) {
        if (!seen[ticket.id] && !first) {
          fresh.push(ticket);
        }
        seen[ticket.id] = true;
      });
      state.seenTickets = seen;
      if (fresh.length) {
        notify("New conversation: " + fresh.map(function (ticket) {
          return ticketReason(ticket) + " (" + ticket.team + ")";
        }).join("; ") + ".");
      }
      renderQueue();
      renderMe();
    });
  }

  function isMine(ticket) {
    return !!state.me && ticket.agent_id === state.me.id;
  }

  function renderQueue() {
    var groups = [
      ["Yours", state.tickets.filter(isMine)],
      ["Waiting", state.tickets.filter(function (t) { return !t.agent_id; })],
      ["With colleagues", state.tickets.filter(function (t) { return t.agent_id && !isMine(t); })],
      // Ordered by the inbox: the soonest due first.
      ["Callbacks, soonest first", state.callbacks]
    ];
    var container = byId("queue-groups");
    clear(container);
    var waiting = 0;
    groups.forEach(function (group) {
      if (!group[1].length) {
        return;
      }
      var section = el("section", "queue-group");
      var heading = el("h3", null, group[0] + " (" + group[1].length + ")");
      section.appendChild(heading);
      var list = el("ul", "tickets");
      group[1].forEach(function (ticket) {
        if (ticket.status === "waiting" || (isMine(ticket) && ticket.status === "assigned")) {
          waiting += 1;
        }
        list.appendChild(ticketItem(ticket));
      });
      section.appendChild(list);
      container.appendChild(section);
    });
    show(byId("queue-empty"), !state.tickets.length && !state.callbacks.length);
    document.title = (waiting ? "(" + waiting + ") " : "") + "Handover inbox";
  }

  function ticketItem(ticket) {
    var item = el("li");
    var button = el("button", "ticket reason-" + String(ticket.reason || "none").replace(/[^a-z_]/g, ""));
    button.type = "button";
    button.setAttribute("data-ticket-id", String(ticket.id));
    button.setAttribute("data-conversation-id", String(ticket.conversation_id));
    if (ticket.id === state.openId) {
      button.setAttribute("aria-current", "true");
    }
    var top = el("span", "ticket-top");
    top.appendChild(el("span", "ticket-name", ticket.customer_name || "Customer " + shortId(ticket.conversation_id)));
    var reason = el("span", "chip reason", ticketReason(ticket));
    reason.title = "Reason code: " + (ticket.reason || "none");
    top.appendChild(reason);
    button.appendChild(top);
    button.appendChild(el("span", "ticket-meta", [
      ticket.team, ticket.language || "language unknown", ticket.tier
    ].join(" · ")));
    var wait = el("span", "ticket-wait");
    var prefix = statusText(ticket) + " · ";
    wait.setAttribute("data-prefix", prefix);
    wait.setAttribute("data-since", ticket.created_at);
    wait.textContent = prefix + formatDuration(since(ticket.created_at));
    button.appendChild(wait);
    button.addEventListener("click", function () { openTicket(ticket.id, true); });
    item.appendChild(button);
    return item;
  }

  function callbackText(callback) {
    return "Call back " + (callback.when || "as soon as possible") +
      (callback.contact ? " on " + callback.contact : "");
  }

  function shortId(id) {
    return String(id).slice(0, 8);
  }

  function statusText(ticket) {
    switch (ticket.status) {
      case "waiting":
        if (ticket.callback && ticket.callback.kind === "email") {
          return "Reply by email to " + ticket.callback.contact;
        }
        return ticket.queue_position ? "Waiting, #" + ticket.queue_position : "Waiting";
      case "assigned":
        return isMine(ticket) ? "Assigned to you" : "Assigned to " + (ticket.agent_name || "a colleague");
      case "active":
        return isMine(ticket) ? "With you" : "With " + (ticket.agent_name || "a colleague");
      case "callback":
        return callbackText(ticket.callback || {});
      default:
        return humanise(ticket.status);
    }
  }

  // --- One conversation. ---------------------------------------------------------------

  function openTicket(id, moveFocus) {
    if (id === state.openId && state.details) {
      // Already open: keep the draft, just bring it up to date.
      if (moveFocus) {
        byId("conversation-title").focus();
      }
      return refreshOpen().catch(showError);
    }
    state.openId = id;
    state.details = null;
    state.renderedMessages = {};
    showError(null);
    clear(byId("history"));
    clear(byId("live-messages"));
    byId("reply").value = "";
    byId("transfer-panel").open = false;
    byId("resolve-panel").open = false;
    byId("resolve-form").reset();
    renderQueue();
    return api("GET", "tickets/" + id).then(function (details) {
      if (state.openId !== id) {
        return;
      }
      state.details = details;
      renderConversation(details);
      renderIntentChoices(details.intent_choices);
      // The summary first: start at the top.
      scroller().scrollTop = 0;
      if (moveFocus) {
        byId("conversation-title").focus();
      }
    }, showError);
  }

  function refreshOpen() {
    var id = state.openId;
    if (id === null || !state.details) {
      return Promise.resolve();
    }
    return api("GET", "tickets/" + id).then(function (details) {
      if (state.openId !== id) {
        return;
      }
      state.details = details;
      renderTicketFacts(details.ticket, details.events);
      renderActions(details.ticket);
      details.messages.forEach(function (message) {
        appendMessage(byId("live-messages"), message, false);
      });
    });
  }

  // What scrolls the conversation: its own pane on wide screens, else the page.
  function scroller() {
    var pane = byId("conversation-scroll");
    var style = global.getComputedStyle(pane);
    return style.overflowY === "auto" || style.overflowY === "scroll"
      ? pane : document.scrollingElement;
  }

  function closeConversation() {
    state.openId = null;
    state.details = null;
    show(byId("conversation-body"), false);
    show(byId("conversation-empty"), true);
    byId("conversation-title").textContent = "Conversation";
  }

  function renderConversation(details) {
    var ticket = details.ticket;
    var payload = asObject(details.payload);
    show(byId("conversation-empty"), false);
    show(byId("conversation-body"), true);
    byId("conversation-title").textContent =
      (ticket.customer_name || "Customer " + shortId(ticket.conversation_id)) + " — " + ticketReason(ticket);
    renderTicketFacts(ticket, details.events);
    renderSummary(asObject(payload.summary));
    renderTrigger(asObject(payload.trigger), ticket);
    renderIntent(payload.intent);
    renderSentiment(asObject(payload.sentiment));
    renderAccount(payload);
    renderTranscript(payload, details);
    renderActions(ticket);
  }

  // The fallback step that found the ticket's agent, when not its own team.
  function routedVia(ticket, events) {
    var assigned = (Array.isArray(events) ? events : []).filter(function (event) {
      return event.type === "assigned";
    });
    var last = assigned.length ? asObject(assigned[assigned.length - 1].data) : {};
    var step = last.routed_via;
    if (!ticket.agent_id || !step || step === ticket.team || last.agent_id !== ticket.agent_id) {
      return null;
    }
    return "reached " + (step === "any" ? "any agent" : "team " + step) + " by the fallback";
  }

  function renderTicketFacts(ticket, events) {
    var facts = byId("ticket-facts");
    clear(facts);
    [
      statusText(ticket),
      "team " + ticket.team,
      routedVia(ticket, events),
      "language " + (ticket.language || "unknown"),
      ticket.tier + " tier",
      ticket.channel ? "via " + ticket.channel : null,
      "conversation " + ticket.conversation_id,
      "waiting since " + new Date(ticket.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    ].forEach(function (text) {
      if (text) {
        facts.appendChild(el("span", "chip", text));
      }
    });
  }

  function addPair(list, term, value) {
    if (value === null || value === undefined || value === "") {
      return;
    }
    list.appendChild(el("dt", null, term));
    var description = el("dd");
    if (Array.isArray(value)) {
      var items = el("ul", "plain");
      value.forEach(function (entry) { items.appendChild(el("li", null, entry)); });
      description.appendChild(items);
    } else {
      description.textContent = String(value);
    }
    list.appendChild(description);
  }

  function renderSummary(summary) {
    byId("summary-text").textContent =
      summary.text || summary.goal || "No summary was written for this conversation.";
    var details = byId("summary-details");
    clear(details);
    if (Array.isArray(summary.provided) && summary.provided.length) {
      addPair(details, "Already given", summary.provided.map(String));
    }
    if (Array.isArray(summary.tried) && summary.tried.length) {
      addPair(details, "The bot tried", summary.tried.map(String));
    }
    addPair(details, "Written by", summary.summariser);
  }

  function quoted(turn, text) {
    var where = typeof turn === "number" ? "turn " + turn + ": " : "";
    return text ? where + "“" + text + "”" : "";
  }

  // Readable evidence per reason code; keys not explained here are listed as they are.
  function renderTrigger(trigger, ticket) {
    var evidence = asObject(trigger.evidence);
    var used = { text: true, also_fired: true, high_value: true, account_tier: true };
    var list = byId("trigger-evidence");
    clear(list);
    byId("trigger-reason").textContent =
      (trigger.reason ? reasonLabel(trigger.reason) : ticketReason(ticket)) +
      (trigger.reason ? " (" + trigger.reason + ")" : "") +
      (trigger.offered_before ? ", after the bot had offered a person" : "");

    function take(key) {
      used[key] = true;
      return evidence[key];
    }

    switch (trigger.reason) {
      case "explicit_request":
        addPair(list, "Recognised", take("matched") === "phrase"
          ? "the phrase “" + take("phrase") + "”"
          : "intent " + take("intent") + " at " + percent(take("confidence")));
        break;
      case "low_confidence":
        addPair(list, "Kind", humanise(take("kind") || "below floor"));
        addPair(list, "Top intent", take("intent") + " at " + percent(take("confidence")) +
          (evidence.confidence_floor !== undefined
            ? " (floor " + percent(take("confidence_floor")) + ")" : ""));
        if (evidence.runner_up !== undefined) {
          addPair(list, "Runner-up", take("runner_up") + " at " + percent(take("runner_up_confidence")));
        }
        if (evidence.margin !== undefined) {
          addPair(list, "Margin", percent(take("margin")) + " (needs " + percent(take("ambiguity_threshold")) + ")");
        }
        break;
      case "frustration":
        addPair(list, "Signals", (Array.isArray(take("signals")) ? evidence.signals : []).map(function (signal) {
          var entry = asObject(signal);
          return humanise(entry.signal) + (entry.text || entry.turn !== undefined
            ? " — " + quoted(entry.turn, entry.text) : "");
        }));
        addPair(list, "Count", take("signal_count") + " of " + take("required") +
          " needed, within the last " + take("window") + " customer messages");
        break;
      case "regulated_topic":
        addPair(list, "Topic", take("intent"));
        addPair(list, "Team", take("team"));
        if (evidence.condition !== undefined) {
          addPair(list, "Condition", take("condition") +
            (evidence.value !== undefined ? " (value " + formatValue(take("value")) + ")" : ""));
        }
        take("turn");
        break;
      case "repeat_loop":
        addPair(list, "Asked again", take("intent") + ", " + take("count") + " times" +
          (Array.isArray(evidence.turns) ? " (turns " + take("turns").join(", ") + ")" : ""));
        addPair(list, "Stage", humanise(take("stage") || ""));
        if (Array.isArray(evidence.texts)) {
          addPair(list, "Customer wrote", take("texts").map(function (text) { return "“" + text + "”"; }));
        }
        break;
      default:
        break;
    }
    addPair(list, "Message", quoted(trigger.turn, evidence.text));
    if (Array.isArray(evidence.also_fired) && evidence.also_fired.length) {
      addPair(list, "Also fired", evidence.also_fired.map(reasonLabel).join(", "));
    }
    if (evidence.high_value) {
      addPair(list, "High-value account", "yes" + (evidence.account_tier ? " (" + evidence.account_tier + ")" : ""));
    }
    Object.keys(evidence).forEach(function (key) {
      if (!used[key]) {
        addPair(list, humanise(key), formatValue(evidence[key]));
      }
    });
  }

  function renderIntent(intent) {
    var data = asObject(intent);
    byId("latest-intent").textContent = data.name
      ? data.name + " · " + percent(data.confidence) + " confident"
      : "No intent recognised.";
  }

  function renderSentiment(sentiment) {
    var score = sentiment.score;
    var text;
    if (typeof score !== "number") {
      text = "Unknown.";
    } else {
      var word = score <= SENTIMENT_VERY_NEGATIVE ? "Very negative"
        : score < SENTIMENT_NEGATIVE ? "Negative"
          : score > SENTIMENT_POSITIVE ? "Positive" : "Neutral";
      text = word + " (" + score.toFixed(2) + " on −1…1" +
        (typeof sentiment.latest === "number" ? ", latest message " + sentiment.latest.toFixed(2) : "") + ")";
    }
    var signals = Array.isArray(sentiment.frustration_signals) ? sentiment.frustration_signals : [];
    if (signals.length) {
      text += ". Signals: " + signals.map(humanise).join(", ") + ".";
    }
    byId("sentiment").textContent = text;
  }

  function renderAccount(payload) {
    var list = byId("account");
    clear(list);
    var account = asObject(payload.account);
    var customer = asObject(payload.customer);
    var slots = asObject(payload.slots);
    var slotValues = Object.keys(slots).map(function (name) { return slots[name]; });
    if (account.high_value) {
      addPair(list, "High-value account", account.tier || "yes");
    }
    // The customer's e-mail and id, unless a slot already shows them.
    [["E-mail", customer.email], ["Customer id", customer.id]].forEach(function (pair) {
      if (pair[1] && slotValues.indexOf(pair[1]) === -1) {
        addPair(list, pair[0], pair[1]);
      }
    });
    Object.keys(slots).sort().forEach(function (name) {
      addPair(list, name, formatValue(slots[name]));
    });
    if (!list.firstChild) {
      list.appendChild(el("dt", null, "Slots"));
      list.appendChild(el("dd", null, "None set."));
    }
  }

  function renderTranscript(payload, details) {
    var history = byId("history");
    var transcript = Array.isArray(payload.transcript) ? payload.transcript : [];
    transcript.forEach(function (entry) {
      var data = asObject(entry);
      var item = el("li", "msg msg-" + (data.role === "user" ? "customer" : data.role === "bot" ? "bot" : "system"));
      var meta = el("p", "meta");
      meta.appendChild(el("span", "who", ROLE_LABELS[data.role] || humanise(data.role || "system")));
      if (typeof data.timestamp === "number") {
        meta.appendChild(timeElement(new Date(data.timestamp * 1000)));
      }
      var tag = data.intent || data.action;
      if (tag) {
        meta.appendChild(el("span", "tag", tag));
      }
      item.appendChild(meta);
      item.appendChild(el("p", "text", data.text));
      if (Array.isArray(data.buttons) && data.buttons.length) {
        item.appendChild(el("p", "buttons", "Buttons: " + data.buttons.join(" | ")));
      }
      history.appendChild(item);
    });
    var divider = el("li", "msg divider");
    divider.appendChild(el("span", null, "Handed over: " + ticketReason(details.ticket) + " · "));
    divider.appendChild(timeElement(new Date(details.ticket.created_at)));
    history.appendChild(divider);
    details.messages.forEach(function (message) {
      appendMessage(history, message, false);
    });
  }

  // Appends a message once; follows it if the agent was reading the end (or
  // wrote it), and leaves the scroll alone if they were reading further up.
  function appendMessage(list, message, follow) {
    if (state.renderedMessages[message.id]) {
      return;
    }
    state.renderedMessages[message.id] = true;
    var pane = scroller();
    var atEnd = pane.scrollHeight - pane.scrollTop - pane.clientHeight < FOLLOW_THRESHOLD_PX;
    var sender = message.sender === "agent" ? "agent" : message.sender === "customer" ? "customer" : "system";
    var item = el("li", "msg msg-" + sender);
    var meta = el("p", "meta");
    var who = sender === "agent" ? (message.agent_name || "Agent") : ROLE_LABELS[sender];
    meta.appendChild(el("span", "who", who));
    meta.appendChild(timeElement(new Date(message.created_at)));
    item.appendChild(meta);
    item.appendChild(el("p", "text", message.text));
    list.appendChild(item);
    if (follow || (list.id === "live-messages" && atEnd)) {
      pane.scrollTop = pane.scrollHeight;
    }
  }

  function renderActions(ticket) {
    var closed = CLOSED_STATUSES.indexOf(ticket.status) !== -1;
    var mine = isMine(ticket);
    var claimable = !closed && (ticket.status === "waiting" || ticket.status === "callback" ||
      (mine && ticket.status === "assigned"));
    var working = mine && ticket.status === "active";
    var note = byId("closed-note");
    if (closed) {
      note.textContent = humanise(ticket.status).replace(/^./, function (c) { return c.toUpperCase(); }) +
        (ticket.outcome ? ": " + (OUTCOME_LABELS[ticket.outcome] || ticket.outcome) : "") +
        ". The customer is back with the bot.";
    } else if (!mine && ticket.agent_id) {
      note.textContent = (ticket.agent_name || "A colleague") + " is handling this conversation.";
    }
    show(note, closed || (!mine && !!ticket.agent_id));
    show(byId("claim-row"), claimable);
    show(byId("reply-form"), working);
    // A callback is marked done by resolving it with an outcome, unclaimed too.
    show(byId("manage"), working || ticket.status === "callback");
  }

  // --- Actions. --------------------------------------------------------------------------

  function claim() {
    var id = state.openId;
    return api("POST", "tickets/" + id + "/claim").then(function () {
      return refreshOpen();
    }).then(function () {
      var reply = byId("reply");
      if (state.openId === id && !reply.value.trim()) {
        reply.value = openingLine(state.details && state.details.payload, state.me.name);
      }
      showError(null);
      reply.focus();
      reply.setSelectionRange(reply.value.length, reply.value.length);
      scheduleQueueRefresh();
    }).catch(showError);
  }

  function sendReply(event) {
    event.preventDefault();
    var reply = byId("reply");
    var text = reply.value;
    if (!text.trim()) {
      showError({ message: "Write a reply first." });
      reply.focus();
      return;
    }
    var id = state.openId;
    byId("send").disabled = true;
    api("POST", "tickets/" + id + "/reply", { text: text }).then(function (data) {
      if (state.openId === id) {
        reply.value = "";
        appendMessage(byId("live-messages"), data.message, true);
      }
      showError(null);
    }, showError).then(function () {
      byId("send").disabled = false;
    });
  }

  function transfer(event) {
    event.preventDefault();
    var team = byId("transfer-team").value.trim();
    if (!team) {
      showError({ message: "Name the team to transfer to." });
      byId("transfer-team").focus();
      return;
    }
    api("POST", "tickets/" + state.openId + "/transfer", { team: team }).then(function (data) {
      var routing = asObject(data.routing);
      notify("Transferred to " + team + (routing.agent_name
        ? ": " + routing.agent_name + " takes it." : ": waiting in that team's queue."));
      byId("transfer-team").value = "";
      byId("transfer-panel").open = false;
      showError(null);
      scheduleQueueRefresh();
      return refreshOpen();
    }).catch(showError);
  }

  // One click: each outcome is its own submit button; the intent and the note
  // are filled in before it, or not at all.
  function resolve(event) {
    event.preventDefault();
    var form = byId("resolve-form");
    var clicked = event.submitter || form.querySelector("button[name=outcome]:focus");
    var body = {};
    if (clicked && clicked.value) {
      body.outcome = clicked.value;
    }
    var intent = byId("resolve-intent").value.trim();
    if (intent) {
      body.intent = intent;
    }
    var note = byId("resolve-note").value.trim();
    if (note) {
      body.note = note;
    }
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) { button.disabled = true; });
    api("POST", "tickets/" + state.openId + "/resolve", body).then(function () {
      form.reset();
      byId("resolve-panel").open = false;
      showError(null);
      notify("Resolved. The customer is back with the bot.");
      scheduleQueueRefresh();
      return refreshOpen();
    }).catch(showError).then(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) { button.disabled = false; });
    });
  }

  function renderIntentChoices(choices) {
    var list = byId("intent-options");
    clear(list);
    (Array.isArray(choices) ? choices : []).forEach(function (name) {
      var option = document.createElement("option");
      option.value = String(name);
      list.appendChild(option);
    });
  }

  // --- Start. -------------------------------------------------------------------------

  function init() {
    byId("sign-in-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var token = byId("token").value.trim();
      if (!token) {
        byId("sign-in-error").textContent = "Enter your agent token.";
        byId("token").focus();
        return;
      }
      signIn(token);
    });
    byId("report").addEventListener("click", function () {
      // The report is generated now, with the token in a header (never in a
      // URL), and opened from memory in a new tab.
      var tab = global.open("", "_blank");
      api("GET", "report").then(function (data) {
        var page = new global.Blob([data.html], { type: "text/html" });
        var url = global.URL.createObjectURL(page);
        if (tab) {
          tab.location.href = url;
        } else {
          global.location.href = url;
        }
      }, function (error) {
        if (tab) {
          tab.close();
        }
        global.alert("The report could not be generated: " + error.message);
      });
    });
    byId("sign-out").addEventListener("click", function () {
      // Nobody should be routed to an agent who left.
      var leave = state.me && state.me.online
        ? api("POST", "agents/me/availability", { online: false }).catch(function () { return null; })
        : Promise.resolve();
      leave.then(function () { signOut("You are signed out."); });
    });
    byId("availability").addEventListener("click", function () {
      setAvailability(!(state.me && state.me.online));
    });
    byId("go-online").addEventListener("click", function () { setAvailability(true); });
    byId("claim").addEventListener("click", claim);
    byId("reply-form").addEventListener("submit", sendReply);
    byId("reply").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        sendReply(event);
      }
    });
    byId("transfer-form").addEventListener("submit", transfer);
    byId("resolve-form").addEventListener("submit", resolve);
    // An error is about the last thing tried: starting something else clears it.
    byId("reply").addEventListener("input", function () { showError(null); });
    ["transfer-panel", "resolve-panel"].forEach(function (id) {
      byId(id).addEventListener("toggle", function () { showError(null); });
    });
    var token = null;
    try {
      token = global.sessionStorage.getItem(TOKEN_KEY);
    } catch (ignored) {
      token = null;
    }
    if (token) {
      signIn(token);
    } else {
      showSignIn("");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}(window));
