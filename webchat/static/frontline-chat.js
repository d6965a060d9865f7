/*
 * Frontline web chat: a chat widget for a company's site, talking to Rasa's socketio
 * channel. Plain JavaScript (ES2017), no dependencies, nothing fetched from elsewhere.
 *
 * Embed it with one tag; it reads config.json next to itself:
 *     <script src="https://chat.example.com/frontline-chat.js" defer></script>
 *
 * Parts:
 *   1. protocol: Engine.IO v4 / Socket.IO v5 packets (what python-socketio 5 speaks)
 *   2. SocketClient: one WebSocket, heartbeats, reconnection with backoff
 *   3. Store: the session token and transcript in sessionStorage (or localStorage), so
 *      a page reload resumes the same conversation. The token is the secret the
 *      server issued for this conversation: only a page holding it can continue it.
 *   4. ChatWidget: the window (notice, "talk to a person", quick replies, composer)
 *
 * Text from the assistant or an agent is only ever inserted as text (textContent),
 * never as HTML; links become <a> elements only for http(s) URLs.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- 1. protocol

  var ENGINE = { open: "0", close: "1", ping: "2", pong: "3", message: "4", noop: "6" };
  var SOCKET = { connect: "0", disconnect: "1", event: "2", ack: "3", connectError: "4" };
  var ENGINE_NAMES = { 0: "open", 1: "close", 2: "ping", 3: "pong", 4: "message", 5: "upgrade", 6: "noop" };
  var SOCKET_NAMES = { 0: "connect", 1: "disconnect", 2: "event", 3: "ack", 4: "connect_error" };

  /** The WebSocket URL of a socket.io server: http(s) becomes ws(s). */
  function socketUrl(base, path) {
    var url = new URL(base, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var cleanPath = "/" + String(path || "/socket.io/").replace(/^\/+|\/+$/g, "") + "/";
    url.pathname = url.pathname.replace(/\/+$/, "") + cleanPath;
    url.search = "?EIO=4&transport=websocket";
    url.hash = "";
    return url.toString();
  }

  /** Splits an Engine.IO text packet: "4hello" -> {type: "message", data: "hello"}. */
  function decodeEnginePacket(text) {
    var type = ENGINE_NAMES[text.charAt(0)];
    if (!type) {
      throw new Error("not an Engine.IO packet");
    }
    var data = text.slice(1);
    if (type === "open") {
      data = JSON.parse(data);
    }
    return { type: type, data: data };
  }

  /**
   * Parses a Socket.IO packet (the data of an Engine.IO "message"):
   * <type>[<namespace>,][<ack id>][<JSON>], e.g. '2["bot_uttered",{"text":"Hi"}]'.
   */
  function decodeSocketPacket(text) {
    var type = SOCKET_NAMES[text.charAt(0)];
    if (!type) {
      throw new Error("not a Socket.IO packet");
    }
    var rest = text.slice(1);
    if (/^\d+-/.test(rest)) {
      throw new Error("binary Socket.IO packets are not supported");
    }
    var namespace = "/";
    if (rest.charAt(0) === "/") {
      var comma = rest.indexOf(",");
      namespace = comma === -1 ? rest : rest.slice(0, comma);
      rest = comma === -1 ? "" : rest.slice(comma + 1);
    }
    var ackMatch = /^\d+/.exec(rest);
    var id = null;
    if (ackMatch) {
      id = Number(ackMatch[0]);
      rest = rest.slice(ackMatch[0].length);
    }
    var data = rest ? JSON.parse(rest) : null;
    return { type: type, namespace: namespace, id: id, data: data };
  }

  /** The Engine.IO text frame of a Socket.IO event: '42["user_uttered",{...}]'. */
  function encodeEvent(name, payload, namespace) {
    var prefix = namespace && namespace !== "/" ? namespace + "," : "";
    return ENGINE.message + SOCKET.event + prefix + JSON.stringify([name, payload]);
  }

  /** The Engine.IO text frame connecting to a namespace: "40" or "40/chat,". */
  function encodeConnect(namespace) {
    var prefix = namespace && namespace !== "/" ? namespace + "," : "";
    return ENGINE.message + SOCKET.connect + prefix;
  }

  // ---------------------------------------------------------------- 2. SocketClient

  /**
   * A socket.io client over one WebSocket. Calls handlers.onConnect() once the
   * namespace is joined, handlers.onEvent(name, data) for each event, and
   * handlers.onStatus("connecting" | "connected" | "offline") when that changes.
   * Reconnects after a drop, waiting 0.5 s, 1 s, 2 s ... up to 15 s (with jitter).
   */
  function SocketClient(url, handlers, options) {
    this.url = url;
    this.handlers = handlers;
    this.namespace = (options && options.namespace) || "/";
    this.ws = null;
    this.connected = false;
    this.stopped = false;
    this.attempt = 0;
    this.heartbeat = null;
    this.retryTimer = null;
  }

  SocketClient.prototype.open = function () {
    var self = this;
    self.stopped = false;
    self.handlers.onStatus(self.attempt === 0 ? "connecting" : "reconnecting");
    var ws;
    try {
      ws = new WebSocket(self.url);
    } catch (error) {
      self.scheduleReconnect();
      return;
    }
    self.ws = ws;
    ws.onmessage = function (event) {
      if (typeof event.data === "string") {
        self.receive(event.data);
      }
    };
    ws.onclose = function () {
      if (self.ws === ws) {
        self.dropped();
      }
    };
    ws.onerror = function () {
      // onclose follows and reconnects
    };
  };

  SocketClient.prototype.receive = function (text) {
    var packet;
    try {
      packet = decodeEnginePacket(text);
    } catch (error) {
      return; // not for us
    }
    this.alive(packet.type === "open" ? packet.data : null);
    if (packet.type === "open") {
      this.ws.send(encodeConnect(this.namespace));
    } else if (packet.type === "ping") {
      this.ws.send(ENGINE.pong);
    } else if (packet.type === "close") {
      this.ws.close();
    } else if (packet.type === "message") {
      this.receiveSocketPacket(packet.data);
    }
  };

  SocketClient.prototype.receiveSocketPacket = function (text) {
    var packet;
    try {
      packet = decodeSocketPacket(text);
    } catch (error) {
      return;
    }
    if (packet.namespace !== this.namespace) {
      return;
    }
    if (packet.type === "connect") {
      this.connected = true;
      this.attempt = 0;
      this.handlers.onStatus("connected");
      this.handlers.onConnect();
    } else if (packet.type === "connect_error" || packet.type === "disconnect") {
      this.ws.close();
    } else if (packet.type === "event" && Array.isArray(packet.data) && packet.data.length) {
      this.handlers.onEvent(packet.data[0], packet.data[1]);
    }
  };

  /** The server pings every pingInterval; silence for pingInterval + pingTimeout is a drop. */
  SocketClient.prototype.alive = function (openData) {
    var self = this;
    if (openData) {
      self.pingInterval = openData.pingInterval || 25000;
      self.pingTimeout = openData.pingTimeout || 20000;
    }
    if (!self.pingInterval) {
      return;
    }
    clearTimeout(self.heartbeat);
    self.heartbeat = setTimeout(function () {
      if (self.ws) {
        self.ws.close();
      }
    }, self.pingInterval + self.pingTimeout);
  };

  SocketClient.prototype.emit = function (name, payload) {
    if (!this.connected || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.ws.send(encodeEvent(name, payload, this.namespace));
    return true;
  };

  SocketClient.prototype.dropped = function () {
    this.connected = false;
    this.ws = null;
    clearTimeout(this.heartbeat);
    if (!this.stopped) {
      this.scheduleReconnect();
    }
  };

  SocketClient.prototype.scheduleReconnect = function () {
    var self = this;
    self.handlers.onStatus("offline");
    var delay = Math.min(15000, 500 * Math.pow(2, self.attempt)) * (0.75 + Math.random() / 2);
    self.attempt += 1;
    clearTimeout(self.retryTimer);
    self.retryTimer = setTimeout(function () {
      self.open();
    }, delay);
  };

  SocketClient.prototype.close = function () {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.heartbeat);
    if (this.ws) {
      var ws = this.ws;
      this.ws = null;
      this.connected = false;
      ws.close();
    }
  };

  // ---------------------------------------------------------------- 3. Store

  var MAX_MESSAGES = 200;

  /**
   * The conversation as the page remembers it: {sessionId (the server's session token),
   * conversationId, open, messages, outbox}.
   * The outbox holds what the customer sent while offline, until it has gone out.
   */
  function Store(kind, key) {
    this.key = key;
    try {
      this.storage = kind === "local" ? window.localStorage : window.sessionStorage;
      this.storage.getItem(key);
    } catch (error) {
      this.storage = null; // storage blocked: the chat works, a reload starts afresh
    }
    this.state = this.read();
  }

  Store.prototype.read = function () {
    var empty = { sessionId: null, conversationId: null, open: false, messages: [], outbox: [] };
    if (!this.storage) {
      return empty;
    }
    try {
      var state = JSON.parse(this.storage.getItem(this.key) || "null");
      if (state && Array.isArray(state.messages)) {
        return {
          sessionId: state.sessionId || null,
          conversationId: state.conversationId || null,
          open: !!state.open,
          messages: state.messages,
          outbox: Array.isArray(state.outbox) ? state.outbox : [],
        };
      }
    } catch (error) {
      // a damaged entry: start afresh
    }
    return empty;
  };

  Store.prototype.save = function () {
    if (this.state.messages.length > MAX_MESSAGES) {
      this.state.messages = this.state.messages.slice(-MAX_MESSAGES);
    }
    if (this.storage) {
      try {
        this.storage.setItem(this.key, JSON.stringify(this.state));
      } catch (error) {
        // storage full: keep going in memory
      }
    }
  };

  Store.prototype.clear = function () {
    this.state = {
      sessionId: null,
      conversationId: null,
      open: this.state.open,
      messages: [],
      outbox: [],
    };
    this.save();
  };

  // ---------------------------------------------------------------- 4. ChatWidget

  var URL_RE = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  /** Text with its http(s) links made clickable; everything else stays plain text. */
  function richText(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    String(text).replace(URL_RE, function (url, offset) {
      fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = element("a", null, url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      fragment.appendChild(link);
      last = offset + url.length;
      return url;
    });
    fragment.appendChild(document.createTextNode(String(text).slice(last)));
    return fragment;
  }

  function ChatWidget(config) {
    this.config = config;
    this.store = new Store(config.storage, "frontline-chat:v1:" + config.socketUrl);
    this.sessionReady = false;
    this.build();
    this.renderAll();
    this.socket = new SocketClient(socketUrl(config.socketUrl, config.socketPath), {
      onConnect: this.requestSession.bind(this),
      onEvent: this.onEvent.bind(this),
      onStatus: this.setStatus.bind(this),
    });
    this.socket.open();
  }

  ChatWidget.prototype.build = function () {
    var self = this;
    var config = self.config;
    var root = element("div", "fl-chat");
    root.setAttribute("data-state", "connecting");

    var launcher = element("button", "fl-launcher", "Chat with us");
    launcher.type = "button";
    launcher.setAttribute("aria-controls", "fl-chat-panel");
    launcher.addEventListener("click", function () {
      self.setOpen(!self.store.state.open);
    });

    var panel = element("section", "fl-panel");
    panel.id = "fl-chat-panel";
    panel.setAttribute("aria-label", config.title);

    var header = element("header", "fl-header");
    var heading = element("div", "fl-heading");
    heading.appendChild(element("h2", "fl-title", config.title));
    heading.appendChild(element("span", "fl-badge", "Automated assistant"));
    var close = element("button", "fl-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Minimise the chat");
    close.addEventListener("click", function () {
      self.setOpen(false);
    });
    header.appendChild(heading);
    header.appendChild(close);

    var notice = element("div", "fl-notice");
    notice.setAttribute("role", "note");
    notice.appendChild(element("p", null, config.notice));
    var human = element("button", "fl-human", "Talk to a person");
    human.type = "button";
    human.addEventListener("click", function () {
      self.send(config.humanPayload, "Talk to a person");
    });
    notice.appendChild(human);

    var log = element("ol", "fl-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Conversation");

    var status = element("p", "fl-status");
    status.setAttribute("aria-live", "polite");

    var form = element("form", "fl-composer");
    var input = element("textarea", "fl-input");
    input.rows = 1;
    input.maxLength = 2000;
    input.placeholder = "Type your message";
    input.setAttribute("aria-label", "Your message");
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
    var sendButton = element("button", "fl-send", "Send");
    sendButton.type = "submit";
    form.appendChild(input);
    form.appendChild(sendButton);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (text) {
        self.send(text, text);
        input.value = "";
      }
    });

    var footer = element("div", "fl-footer");
    var restart = element("button", "fl-restart", "Start a new conversation");
    restart.type = "button";
    restart.addEventListener("click", function () {
      self.restart();
    });
    footer.appendChild(restart);

    panel.appendChild(header);
    panel.appendChild(notice);
    panel.appendChild(log);
    panel.appendChild(status);
    panel.appendChild(form);
    panel.appendChild(footer);
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);

    self.root = root;
    self.panel = panel;
    self.launcher = launcher;
    self.log = log;
    self.status = status;
    self.input = input;
    self.setOpen(self.store.state.open, true);
  };

  ChatWidget.prototype.setOpen = function (open, initial) {
    this.store.state.open = !!open;
    this.root.classList.toggle("fl-open", !!open);
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    this.launcher.textContent = open ? "Close chat" : "Chat with us";
    if (!initial) {
      this.store.save();
      if (open) {
        this.input.focus();
        this.scrollToEnd();
      }
    }
  };

  ChatWidget.prototype.setStatus = function (state) {
    this.root.setAttribute("data-state", state);
    var texts = {
      connecting: "Connecting\u2026",
      reconnecting: "Reconnecting\u2026",
      offline: "Connection lost. Reconnecting\u2026",
      connected: "",
    };
    this.status.textContent = texts[state] || "";
    this.status.hidden = state === "connected";
    if (state !== "connected") {
      this.sessionReady = false;
    }
  };

  ChatWidget.prototype.requestSession = function () {
    this.socket.emit("session_request", { session_id: this.store.state.sessionId });
  };

  ChatWidget.prototype.onEvent = function (name, data) {
    if (name === "session_confirm") {
      // {session_id: token, conversation_id} (a bare string from Rasa's own channel).
      var sessionId = typeof data === "string" ? data : data && data.session_id;
      if (this.store.state.sessionId && sessionId !== this.store.state.sessionId) {
        // The server did not resume the old session: say so rather than pretend.
        this.add({ from: "system", text: "A new conversation has started." });
      }
      this.store.state.sessionId = sessionId;
      this.store.state.conversationId =
        (data && typeof data === "object" && data.conversation_id) || sessionId;
      this.store.save();
      this.sessionReady = true;
      this.flush();
    } else if (name === "bot_uttered" && data && typeof data === "object") {
      this.receive(data);
    }
  };

  /** A message from the assistant (or from an agent, or a refusal of the channel). */
  ChatWidget.prototype.receive = function (data) {
    var message = { from: "bot", text: typeof data.text === "string" ? data.text : "" };
    if (data.error) {
      message.from = "system";
    } else if (data.sender === "agent") {
      message.from = "agent";
      message.agentName = String(data.agent_name || "Support team").slice(0, 64);
    }
    var replies = Array.isArray(data.quick_replies) ? data.quick_replies : data.buttons;
    if (Array.isArray(replies) && replies.length) {
      message.quickReplies = replies
        .filter(function (reply) {
          return reply && typeof reply.title === "string" && typeof reply.payload === "string";
        })
        .slice(0, 10)
        .map(function (reply) {
          return { title: reply.title, payload: reply.payload };
        });
    }
    if (message.text || message.quickReplies) {
      this.add(message);
    }
  };

  /** Sends text (or a button's payload), showing the customer what they chose. */
  ChatWidget.prototype.send = function (payload, shown) {
    this.retireQuickReplies();
    this.store.state.outbox.push(payload);
    this.add({ from: "user", text: shown });
    this.flush();
  };

  ChatWidget.prototype.flush = function () {
    var outbox = this.store.state.outbox;
    while (this.sessionReady && outbox.length) {
      var sent = this.socket.emit("user_uttered", {
        message: outbox[0],
        session_id: this.store.state.sessionId,
      });
      if (!sent) {
        return;
      }
      outbox.shift();
      this.store.save();
    }
  };

  ChatWidget.prototype.add = function (message) {
    message.at = Date.now();
    this.store.state.messages.push(message);
    this.store.save();
    this.render(message, this.store.state.messages.length - 1);
    this.scrollToEnd();
  };

  /** Buttons answer the message they came with: once the customer moves on, they go. */
  ChatWidget.prototype.retireQuickReplies = function () {
    var changed = false;
    this.store.state.messages.forEach(function (message) {
      if (message.quickReplies && !message.used) {
        message.used = true;
        changed = true;
      }
    });
    if (changed) {
      this.store.save();
      var groups = this.log.querySelectorAll(".fl-quick-replies");
      for (var i = 0; i < groups.length; i += 1) {
        groups[i].parentNode.removeChild(groups[i]);
      }
    }
  };

  ChatWidget.prototype.renderAll = function () {
    var self = this;
    self.log.textContent = "";
    self.store.state.messages.forEach(function (message, index) {
      self.render(message, index);
    });
    self.scrollToEnd();
  };

  ChatWidget.prototype.render = function (message, index) {
    var self = this;
    var previous = index > 0 ? self.store.state.messages[index - 1] : null;
    var item = element("li", "fl-msg fl-from-" + message.from);
    var sameSpeaker =
      previous && previous.from === message.from && previous.agentName === message.agentName;
    if (!sameSpeaker && message.from !== "user" && message.from !== "system") {
      var label =
        message.from === "agent" ? message.agentName + " \u00b7 human agent" : "Assistant (automated)";
      item.appendChild(element("span", "fl-speaker", label));
    }
    if (message.text) {
      var bubble = element("p", "fl-bubble");
      bubble.appendChild(richText(message.text));
      item.appendChild(bubble);
    }
    if (message.quickReplies && message.quickReplies.length && !message.used) {
      var group = element("div", "fl-quick-replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested answers");
      message.quickReplies.forEach(function (reply) {
        var button = element("button", "fl-quick-reply", reply.title);
        button.type = "button";
        button.setAttribute("data-payload", reply.payload);
        button.addEventListener("click", function () {
          self.send(reply.payload, reply.title);
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    self.log.appendChild(item);
  };

  ChatWidget.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  /** Forgets this conversation on this device and starts a new session. */
  ChatWidget.prototype.restart = function () {
    this.store.clear();
    this.renderAll();
    this.sessionReady = false;
    if (this.socket.connected) {
      this.requestSession();
    }
  };

  // ---------------------------------------------------------------- start-up

  var script = document.currentScript;
  var base = script && script.src ? new URL(".", script.src).toString() : window.location.href;

  function ensureStyles() {
    if (!document.querySelector('link[href$="frontline-chat.css"]')) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = new URL("frontline-chat.css", base).toString();
      document.head.appendChild(link);
    }
  }

  var widget = null;

  function start(config) {
    if (widget) {
      return widget;
    }
    ensureStyles();
    widget = new ChatWidget(config);
    return widget;
  }

  window.FrontlineChat = {
    protocol: {
      socketUrl: socketUrl,
      decodeEnginePacket: decodeEnginePacket,
      decodeSocketPacket: decodeSocketPacket,
      encodeEvent: encodeEvent,
      encodeConnect: encodeConnect,
    },
    start: start,
    /** The current conversation's session token (null before the first connection). */
    sessionId: function () {
      return widget ? widget.store.state.sessionId : null;
    },
    /** The current conversation's id, as agents see it (null before the first connection). */
    conversationId: function () {
      return widget ? widget.store.state.conversationId : null;
    },
  };

  if (!(script && script.hasAttribute("data-manual"))) {
    fetch(new URL("config.json", base).toString(), { credentials: "omit" })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error("config.json answered " + answer.status);
        }
        return answer.json();
      })
      .then(function (config) {
        if (document.readyState === "loading") {
          document.addEventListener("DOMContentLoaded", function () {
            start(config);
          });
        } else {
          start(config);
        }
      })
      .catch(function (error) {
        if (window.console) {
          window.console.error("Frontline chat could not start:", error);
        }
      });
  }
})();
