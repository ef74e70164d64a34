// sockit's web chat page: an IRC client over the IRCv3 WebSocket extension (text.ircv3.net) to
// the server that served it. Plain JavaScript, no build step. Everything the server or other
// users send is rendered with textContent, never as HTML.
"use strict";

const WANTED_CAPS = ["server-time", "message-tags", "echo-message", "multi-prefix", "batch", "draft/chathistory"];
const PREFIXES = "~&@%+";
const MAX_LINES = 500;
const HISTORY_LINES = 50;

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, nick: "", wantNick: "", registered: false, caps: new Set(), offered: new Set(),
  buffers: new Map(), active: null, retries: 0, retryTimer: null, quitting: false,
};

// --- IRC lines -------------------------------------------------------------------------------

function unescapeTag(v) {
  return v.replace(/\\(.)/g, (_, c) => ({ ":": ";", s: " ", r: "\r", n: "\n" })[c] ?? c);
}

function parse(line) {
  const msg = { tags: {}, prefix: "", command: "", params: [] };
  let rest = line;
  if (rest.startsWith("@")) {
    const sp = rest.indexOf(" ");
    for (const t of rest.slice(1, sp).split(";")) {
      const eq = t.indexOf("=");
      if (eq < 0) msg.tags[t] = "";
      else msg.tags[t.slice(0, eq)] = unescapeTag(t.slice(eq + 1));
    }
    rest = rest.slice(sp + 1).trimStart();
  }
  if (rest.startsWith(":")) {
    const sp = rest.indexOf(" ");
    msg.prefix = rest.slice(1, sp < 0 ? undefined : sp);
    rest = sp < 0 ? "" : rest.slice(sp + 1).trimStart();
  }
  while (rest.length) {
    if (rest.startsWith(":")) { msg.params.push(rest.slice(1)); break; }
    const sp = rest.indexOf(" ");
    if (sp < 0) { msg.params.push(rest); break; }
    msg.params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1).trimStart();
  }
  msg.command = (msg.params.shift() || "").toUpperCase();
  msg.nick = msg.prefix.split("!")[0];
  return msg;
}

function send(line) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(line);
}

const isChannel = (name) => /^[#&+!]/.test(name);
const lower = (s) => s.toLowerCase();

// --- buffers (channels and private conversations) --------------------------------------------

function buffer(name, create = true) {
  const key = lower(name);
  let b = state.buffers.get(key);
  if (!b && create) {
    b = { name, lines: [], users: new Map(), topic: "", unread: 0, joined: false, li: document.createElement("li") };
    b.li.dataset.buffer = name;
    b.li.addEventListener("click", () => show(name));
    state.buffers.set(key, b);
    renderBufferList();
  }
  return b;
}

function dropBuffer(name) {
  const b = buffer(name, false);
  if (!b) return;
  b.li.remove();
  state.buffers.delete(lower(name));
  if (state.active === b) show(state.buffers.size ? [...state.buffers.values()][0].name : null);
}

function renderBufferList() {
  const ul = $("channels");
  for (const b of state.buffers.values()) {
    b.li.replaceChildren();
    const label = document.createElement("span");
    label.textContent = b.name;
    b.li.append(label);
    if (b.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(b.unread);
      b.li.append(badge);
    }
    b.li.classList.toggle("active", b === state.active);
    b.li.classList.toggle("unread", b.unread > 0);
    if (b.li.parentNode !== ul) ul.append(b.li);
  }
}

function renderNicks() {
  const ul = $("nicks");
  ul.replaceChildren();
  const b = state.active;
  if (!b) return;
  const rank = (p) => (p ? PREFIXES.indexOf(p[0]) : PREFIXES.length);
  const list = [...b.users.entries()].sort((x, y) => rank(x[1]) - rank(y[1]) || lower(x[0]).localeCompare(lower(y[0])));
  for (const [nick, prefix] of list) {
    const li = document.createElement("li");
    li.textContent = (prefix ? prefix[0] : "") + nick;
    li.dataset.nick = nick;
    ul.append(li);
  }
}

function show(name) {
  state.active = name ? buffer(name) : null;
  const log = $("log");
  log.replaceChildren();
  if (state.active) {
    state.active.unread = 0;
    for (const l of state.active.lines) log.append(l);
    log.scrollTop = log.scrollHeight;
  }
  $("topic").textContent = state.active ? state.active.topic : "";
  renderBufferList();
  renderNicks();
}

function timeOf(tags) {
  const d = tags && tags.time ? new Date(tags.time) : new Date();
  return isNaN(d) ? new Date() : d;
}

// One line in a buffer: kind is "msg", "action", "notice", "event" or "error".
function addLine(name, kind, nick, text, tags = {}) {
  const b = buffer(name);
  const div = document.createElement("div");
  div.className = "line " + kind + (tags.batch ? " history" : "");
  const t = timeOf(tags);
  const time = document.createElement("time");
  time.className = "time";
  time.dateTime = t.toISOString();
  time.textContent = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  div.append(time);
  if (nick) {
    const n = document.createElement("span");
    n.className = "nick";
    n.textContent = kind === "notice" ? "-" + nick + "-" : nick;
    div.append(n);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.append(body);
  b.lines.push(div);
  if (b.lines.length > MAX_LINES) b.lines.shift().remove();
  if (b === state.active) {
    const log = $("log");
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(div);
    if (atEnd) log.scrollTop = log.scrollHeight;
  } else if (kind !== "event" && !tags.batch) {
    b.unread += 1;
    renderBufferList();
  }
}

function statusLine(text, kind = "event") {
  addLine(state.active ? state.active.name : "server", kind, "", text);
}

// --- the connection --------------------------------------------------------------------------

function setStatus(text, down) {
  $("status").textContent = text;
  $("status").classList.toggle("down", !!down);
}

function connect() {
  clearTimeout(state.retryTimer);
  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(proto + location.host + "/", ["text.ircv3.net"]);
  state.ws = ws;
  state.registered = false;
  state.caps = new Set();
  state.offered = new Set();
  setStatus("connecting");
  ws.onopen = () => {
    send("CAP LS 302");
    send("NICK " + state.wantNick);
    send("USER " + state.wantNick.replace(/[^A-Za-z0-9]/g, "") + "x 0 * :sockit web");
  };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") for (const line of e.data.split(/\r?\n/)) if (line) handle(parse(line));
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    for (const b of state.buffers.values()) { b.users.clear(); }
    renderNicks();
    if (state.quitting) { setStatus("disconnected", true); return; }
    // Exponential backoff with jitter: 1 s, 2 s, 4 s ... at most 60 s.
    const delay = Math.min(60000, 1000 * 2 ** state.retries) * (0.75 + Math.random() / 2);
    state.retries += 1;
    setStatus("reconnecting in " + Math.round(delay / 1000) + " s", true);
    state.retryTimer = setTimeout(connect, delay);
  };
}

function joinedChannels() {
  return [...state.buffers.values()].filter((b) => isChannel(b.name) && b.joined).map((b) => b.name);
}

function saveChannels() {
  localStorage.setItem("sockit.channels", joinedChannels().join(","));
}

function handle(m) {
  const me = (n) => lower(n) === lower(state.nick);
  const p = m.params;
  switch (m.command) {
    case "PING": send("PONG :" + (p[0] || "")); return;
    case "CAP": return handleCap(p);
    case "001": {
      state.nick = p[0];
      state.registered = true;
      state.retries = 0;
      $("me").textContent = state.nick;
      setStatus("connected");
      const chans = joinedChannels();
      const wanted = chans.length ? chans : (localStorage.getItem("sockit.channels") || $("autojoin").value).split(/[ ,]+/);
      for (const c of wanted.filter(isChannel)) send("JOIN " + c);
      return;
    }
    case "433": // nick in use
      if (!state.registered) { state.wantNick += "_"; send("NICK " + state.wantNick); }
      else statusLine("nick " + p[1] + " is in use", "error");
      return;
    case "432": statusLine(p.slice(1).join(": "), "error");
      if (!state.registered) { state.wantNick = "web" + Math.floor(Math.random() * 1000); send("NICK " + state.wantNick); }
      return;
    case "JOIN": {
      const chan = p[0];
      const b = buffer(chan);
      if (me(m.nick)) {
        b.joined = true;
        b.users.clear();  // the NAMES reply follows
        if (state.caps.has("draft/chathistory")) {
          for (const l of b.lines) l.remove();
          b.lines = [];  // the server's history replaces what was shown (a rejoin after a reconnect)
          send("CHATHISTORY LATEST " + chan + " * " + HISTORY_LINES);
        }
        show(chan);
        saveChannels();
      } else {
        addLine(chan, "event", "", m.nick + " joined", m.tags);
      }
      b.users.set(m.nick, "");
      if (b === state.active) renderNicks();
      return;
    }
    case "PART": {
      const b = buffer(p[0], false);
      if (!b) return;
      if (me(m.nick)) { b.joined = false; dropBuffer(p[0]); saveChannels(); return; }
      b.users.delete(m.nick);
      addLine(b.name, "event", "", m.nick + " left" + (p[1] ? " (" + p[1] + ")" : ""), m.tags);
      if (b === state.active) renderNicks();
      return;
    }
    case "KICK": {
      const b = buffer(p[0], false);
      if (!b) return;
      addLine(b.name, "event", "", p[1] + " was kicked by " + m.nick + (p[2] ? " (" + p[2] + ")" : ""), m.tags);
      if (me(p[1])) { b.joined = false; b.users.clear(); saveChannels(); } else b.users.delete(p[1]);
      if (b === state.active) renderNicks();
      return;
    }
    case "QUIT":
      for (const b of state.buffers.values()) {
        if (!b.users.has(m.nick)) continue;
        b.users.delete(m.nick);
        addLine(b.name, "event", "", m.nick + " quit" + (p[0] ? " (" + p[0] + ")" : ""), m.tags);
      }
      renderNicks();
      return;
    case "NICK": {
      const to = p[0];
      if (me(m.nick)) { state.nick = to; state.wantNick = to; localStorage.setItem("sockit.nick", to); $("me").textContent = to; }
      for (const b of state.buffers.values()) {
        if (!b.users.has(m.nick)) continue;
        const prefix = b.users.get(m.nick);
        b.users.delete(m.nick);
        b.users.set(to, prefix);
        addLine(b.name, "event", "", m.nick + " is now known as " + to, m.tags);
      }
      renderNicks();
      return;
    }
    case "353": { // RPL_NAMREPLY: me = #chan :nicks (with multi-prefix, all of a user's prefixes)
      const b = buffer(p[2]);
      for (const entry of (p[3] || "").split(" ").filter(Boolean)) {
        let i = 0;
        while (i < entry.length && PREFIXES.includes(entry[i])) i++;
        b.users.set(entry.slice(i).split("!")[0], entry.slice(0, i));
      }
      if (b === state.active) renderNicks();
      return;
    }
    case "332": setTopic(p[1], p[2] || "", ""); return;
    case "TOPIC": setTopic(p[0], p[1] || "", m.nick, m.tags); return;
    case "PRIVMSG":
    case "NOTICE": {
      let target = p[0];
      const text = p[1] || "";
      const fromServer = !m.prefix || (!m.prefix.includes("!") && m.nick.includes("."));
      if (fromServer && !isChannel(target)) target = "server";
      else if (!isChannel(target)) target = me(m.nick) ? p[0] : m.nick;  // a private message (or our echo)
      if (text.startsWith("\x01ACTION ") || text === "\x01ACTION\x01") {
        addLine(target, "action", m.nick, text.slice(8).replace(/\x01$/, ""), m.tags);
      } else if (text.startsWith("\x01")) {
        return;  // other CTCP
      } else {
        addLine(target, m.command === "NOTICE" ? "notice" : "msg", m.nick, text, m.tags);
      }
      return;
    }
    case "BATCH": return;  // lines of a chathistory batch carry their batch tag and time
    case "ERROR": statusLine(p.join(" "), "error"); return;
    default:
      if (/^[45]\d\d$/.test(m.command)) statusLine(p.slice(1).join(": "), "error");
  }
}

function setTopic(chan, text, by, tags = {}) {
  const b = buffer(chan);
  b.topic = text;
  if (by) addLine(chan, "event", "", by + " set the topic: " + text, tags);
  if (b === state.active) $("topic").textContent = text;
}

function handleCap(p) {
  const sub = (p[1] || "").toUpperCase();
  if (sub === "LS") {
    const more = p[2] === "*";
    const list = more ? p[3] : p[2];
    for (const c of (list || "").split(" ").filter(Boolean)) state.offered.add(c.split("=")[0]);
    if (more) return;
    const want = WANTED_CAPS.filter((c) => state.offered.has(c));
    if (want.length) send("CAP REQ :" + want.join(" "));
    else send("CAP END");
  } else if (sub === "ACK") {
    for (const c of (p[2] || "").split(" ").filter(Boolean)) if (!c.startsWith("-")) state.caps.add(c);
    send("CAP END");
  } else if (sub === "NAK") {
    send("CAP END");
  }
}

// --- what the user types ---------------------------------------------------------------------

function say(target, text) {
  send("PRIVMSG " + target + " :" + text);
  if (!state.caps.has("echo-message")) addLine(target, "msg", state.nick, text);
}

function command(input) {
  const target = state.active ? state.active.name : null;
  if (!input.startsWith("/") || input.startsWith("//")) {
    const text = input.startsWith("//") ? input.slice(1) : input;
    if (!target || target === "server") { statusLine("join a channel first: /join #channel", "error"); return; }
    say(target, text);
    return;
  }
  const sp = input.indexOf(" ");
  const cmd = (sp < 0 ? input.slice(1) : input.slice(1, sp)).toLowerCase();
  const arg = sp < 0 ? "" : input.slice(sp + 1).trim();
  const first = arg.split(" ")[0];
  const after = arg.slice(first.length + 1);
  switch (cmd) {
    case "join": if (first) send("JOIN " + first); return;
    case "part": {
      const chan = isChannel(first) ? first : target;
      const reason = isChannel(first) ? after : arg;
      if (chan && isChannel(chan)) send("PART " + chan + (reason ? " :" + reason : ""));
      else if (chan) dropBuffer(chan);
      return;
    }
    case "me":
      if (target && target !== "server") {
        send("PRIVMSG " + target + " :\x01ACTION " + arg + "\x01");
        if (!state.caps.has("echo-message")) addLine(target, "action", state.nick, arg);
      }
      return;
    case "msg": case "query":
      if (!first) return;
      buffer(first);
      if (after) say(first, after);
      show(first);
      return;
    case "nick": if (first) send("NICK " + first); return;
    case "topic":
      if (target && isChannel(target)) send("TOPIC " + target + (arg ? " :" + arg : ""));
      return;
    case "quit":
      state.quitting = true;
      send("QUIT :" + (arg || "bye"));
      return;
    default:
      statusLine("unknown command /" + cmd + " (known: /join /part /me /msg /nick /topic /quit)", "error");
  }
}

// --- start -----------------------------------------------------------------------------------

function start(nick) {
  state.wantNick = nick;
  state.nick = nick;
  localStorage.setItem("sockit.nick", nick);
  $("login").hidden = true;
  $("chat").hidden = false;
  $("me").textContent = nick;
  connect();
  $("msg").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("nick").value = localStorage.getItem("sockit.nick") || "";
  const saved = localStorage.getItem("sockit.channels");
  if (saved) $("autojoin").value = saved.split(",").join(" ");
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    const nick = $("nick").value.trim().replace(/\s+/g, "_");
    if (!nick) { $("login-error").textContent = "pick a nick"; return; }
    localStorage.setItem("sockit.channels", $("autojoin").value.split(/[ ,]+/).filter(isChannel).join(","));
    start(nick);
  });
  $("send").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("msg").value;
    $("msg").value = "";
    if (input.trim()) command(input);
  });
});
