// The resident's check-in page behind a poster's QR code. Every text is set with textContent.
// The token and the offline queue live in localStorage; scans made without a network are kept
// with their client_time and idempotency_key and sent, once each, when the network returns.
"use strict";

const API = "/api/v1";
const TOKEN = "checkin.token";
const QUEUE = "checkin.queue";
const LANG = "checkin.lang";

const TEXT = {
  zh: {
    brand: "扫码登记", bad_code: "这个二维码不能使用", phone: "手机号", send_code: "获取验证码",
    otp: "验证码", login: "登录", temperature: "体温（°C）", temperature_required: "体温（°C，必填）",
    members: "同行家人（无手机）", in: "进入", out: "离开", logout: "换一个手机号", back: "返回",
    gate: "门岗", admitted: "已通过", denied: "禁止通行", queued: "未联网：未验证，不是通行凭证", refused_later: "联网后被拒绝：",
    direction_in: "进入", direction_out: "离开", fever: "体温异常", not_a_resident: "非本小区居民",
    temperature_required_reason: "请测量体温", sent_code: "验证码已发送",
    bad_phone: "请输入 11 位手机号", bad_temperature: "体温应在 30 到 45 之间",
    need_temperature: "此处需要填写体温", network: "网络不可用，已保存",
    waiting: "待提交：", unregistered: "未登记人员", switch: "English",
    err_invalid_code: "二维码无效或已被篡改", err_code_revoked: "这张海报已更换，请扫描现场的新海报",
    err_code_expired: "二维码已过期，请扫描现场的新二维码", err_code_not_yet_valid: "二维码尚未生效",
    err_unknown_code_format: "这不是本系统的二维码", err_not_found: "场所不存在或已删除",
  },
  en: {
    brand: "Check-in", bad_code: "This code cannot be used", phone: "Mobile number",
    send_code: "Send code", otp: "Code", login: "Sign in", temperature: "Temperature (°C)",
    temperature_required: "Temperature (°C, required)", members: "Family members without a phone",
    in: "Enter", out: "Leave", logout: "Use another number", back: "Back", gate: "Gate",
    admitted: "ADMITTED", denied: "DENIED", queued: "Offline: NOT verified, not a pass", refused_later: "Refused when sent: ",
    direction_in: "in", direction_out: "out", fever: "Fever", not_a_resident: "Not a resident here",
    temperature_required_reason: "Temperature required", sent_code: "Code sent",
    bad_phone: "Enter an 11-digit mobile number", bad_temperature: "Temperature must be 30 to 45",
    need_temperature: "A temperature is required here", network: "No network; saved",
    waiting: "Waiting to send: ", unregistered: "Unregistered", switch: "中文",
    err_invalid_code: "This code is not valid or was tampered with",
    err_code_revoked: "This poster was replaced; scan the new one", err_code_expired: "This code has expired",
    err_code_not_yet_valid: "This code is not valid yet", err_unknown_code_format: "Not a code of this service",
    err_not_found: "No such venue",
  },
};

const ctx = JSON.parse(document.getElementById("context").textContent || "{}");
let lang = localStorage.getItem(LANG) === "en" ? "en" : "zh";
let me = null;
let clockTimer = null;
// What the result screen shows, to redraw it in the other language.
let shown = null;

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key] || key;

function show(view) {
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + view;
  document.body.dataset.view = view;
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").textContent = t("switch");
  $("temperature-label").textContent = t(ctx.temperature_required ? "temperature_required" : "temperature");
  for (const el of document.querySelectorAll(".venue-name")) el.textContent = ctx.venue ? ctx.venue.name : "";
  for (const el of document.querySelectorAll(".gate-line")) el.textContent = ctx.gate ? t("gate") + "：" + ctx.gate : "";
  if (me) $("who").textContent = me.name || t("unregistered");
  renderQueueLine();
}

async function call(method, path, body) {
  const headers = { "content-type": "application/json" };
  const token = localStorage.getItem(TOKEN);
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  return { status: res.status, data };
}

function errorText(answer) {
  return (answer.data && answer.data.error && answer.data.error.message) || "HTTP " + answer.status;
}

// --- sign-in -------------------------------------------------------------------------------

async function sendCode(event) {
  event.preventDefault();
  const phone = $("phone").value.trim();
  if (!/^1\d{10}$/.test(phone)) { $("login-error").textContent = t("bad_phone"); return; }
  $("login-error").textContent = "";
  try {
    const a = await call("POST", "/auth/otp", { phone });
    if (a.status !== 202) { $("login-error").textContent = errorText(a); return; }
    $("login-form").hidden = false;
    $("login-error").textContent = t("sent_code");
    if (a.data && a.data.dev_code) $("otp").value = a.data.dev_code; // demo deployments only
    $("otp").focus();
  } catch (_) { $("login-error").textContent = t("network"); }
}

async function login(event) {
  event.preventDefault();
  try {
    const a = await call("POST", "/auth/resident", { phone: $("phone").value.trim(), code: $("otp").value.trim() });
    if (a.status !== 200) { $("login-error").textContent = errorText(a); return; }
    localStorage.setItem(TOKEN, a.data.access_token);
    await start();
  } catch (_) { $("login-error").textContent = t("network"); }
}

function logout() {
  localStorage.removeItem(TOKEN);
  localStorage.removeItem("checkin.me");
  me = null;
  $("otp-form").reset();
  $("login-form").hidden = true;
  show("login");
}

// --- the person and household ----------------------------------------------------------------

async function loadMe() {
  try {
    const a = await call("GET", "/me");
    if (a.status === 401) { logout(); return false; }
    if (a.status === 200) { me = a.data; localStorage.setItem("checkin.me", JSON.stringify(me)); }
  } catch (_) {
    me = JSON.parse(localStorage.getItem("checkin.me") || "null"); // offline: as last seen
  }
  const box = $("members");
  box.replaceChildren();
  const members = (me && me.household) || [];
  for (const m of members) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = m.resident_id;
    label.append(input, document.createTextNode(m.name || m.resident_id));
    box.append(label);
  }
  $("members-row").hidden = members.length === 0;
  return true;
}

// --- scanning and the offline queue ----------------------------------------------------------

// Each queued scan belongs to the person who made it: it is sent only with that person's token,
// in the order made, and kept until the server gives it a final answer.
function queue() { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); }
function saveQueue(items) { localStorage.setItem(QUEUE, JSON.stringify(items)); }
function mine(items) { return items.filter((i) => me && i.owner === me.resident_id); }

let refusedLater = 0;
let busy = false;

function renderQueueLine() {
  const n = mine(queue()).length;
  let line = n ? t("waiting") + n : "";
  if (refusedLater) line += (line ? " · " : "") + t("refused_later") + refusedLater;
  $("queue-line").textContent = line;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function setBusy(on) {
  busy = on;
  for (const b of document.querySelectorAll("#scan-form button")) b.disabled = on;
}

async function scan(event) {
  event.preventDefault();
  if (busy || !me) return; // one scan per tap
  const direction = (event.submitter && event.submitter.value) || ctx.direction || "in";
  const raw = $("temperature").value.trim();
  const body = { code: ctx.code, direction, client_time: new Date().toISOString(), idempotency_key: newKey() };
  if (raw !== "") {
    const c = Number(raw);
    if (!(c >= 30 && c <= 45)) { $("scan-error").textContent = t("bad_temperature"); return; }
    body.temperature_c = c;
  } else if (ctx.temperature_required && direction === "in") {
    $("scan-error").textContent = t("need_temperature");
    return;
  }
  const members = [...document.querySelectorAll("#members input:checked")].map((i) => ({ resident_id: i.value }));
  if (members.length) body.members = members;
  $("scan-error").textContent = "";
  setBusy(true);
  try {
    // Older scans first: the server applies a person's scans in the order they arrive.
    await flush();
    if (mine(queue()).length) { keep(body); return; }
    let answer;
    try {
      answer = await call("POST", "/scans", body);
    } catch (_) {
      keep(body);
      return;
    }
    if (answer.status === 401) { logout(); return; }
    if (answer.status !== 200) { $("scan-error").textContent = errorText(answer); return; }
    showResult(answer.data);
  } finally {
    setBusy(false);
  }
}

function keep(body) {
  saveQueue([...queue(), { owner: me.resident_id, body }]);
  renderQueueLine();
  showQueued(body.direction);
}

let flushing = null;
function flush() {
  if (!flushing) flushing = sendQueued().finally(() => { flushing = null; });
  return flushing;
}

async function sendQueued() {
  if (!me || !localStorage.getItem(TOKEN)) return;
  for (;;) {
    const next = mine(queue())[0];
    if (!next) break;
    let answer;
    try { answer = await call("POST", "/scans", next.body); } catch (_) { break; }
    // Not final for this scan: no valid token, too many requests, the server unwell. Kept.
    if (answer.status === 401 || answer.status === 429 || answer.status >= 500) break;
    if (answer.status !== 200) refusedLater += 1;
    saveQueue(queue().filter((i) => i.body.idempotency_key !== next.body.idempotency_key));
  }
  renderQueueLine();
}

// --- the result screen -----------------------------------------------------------------------

function reasonText(reason) {
  if (reason === "temperature_required") return t("temperature_required_reason");
  return t(reason);
}

function showResult(a) {
  shown = () => showResult(a);
  const ok = a.decision === "admitted";
  const view = $("view-result");
  view.className = "view result " + (ok ? "admitted" : "denied");
  $("result-word").textContent = t(ok ? "admitted" : "denied");
  $("result-reason").textContent = ok ? t("direction_" + a.direction) : reasonText(a.reason);
  $("result-venue").textContent = a.venue ? a.venue.name : "";
  $("result-detail").textContent = t("gate") + "：" + a.gate;
  $("result-who").textContent = (me && me.name) || t("unregistered");
  const list = $("result-members");
  list.replaceChildren();
  for (const m of a.members || []) {
    const li = document.createElement("li");
    const name = ((me && me.household) || []).find((h) => h.resident_id === m.resident_id);
    li.textContent = (name && name.name ? name.name : m.resident_id) + " · " +
      t(m.decision === "admitted" ? "admitted" : "denied") + (m.reason ? " · " + reasonText(m.reason) : "");
    list.append(li);
  }
  show("result");
  startClock();
}

function showQueued(direction) {
  shown = () => showQueued(direction);
  const view = $("view-result");
  view.className = "view result queued";
  $("result-word").textContent = t("queued");
  $("result-reason").textContent = t("direction_" + direction);
  $("result-venue").textContent = ctx.venue ? ctx.venue.name : "";
  $("result-detail").textContent = t("gate") + "：" + (ctx.gate || "");
  $("result-who").textContent = (me && me.name) || t("unregistered");
  $("result-members").replaceChildren();
  // Not verified by the server: no clock, so it cannot pass for a result at a gate.
  if (clockTimer) clearInterval(clockTimer);
  $("today").textContent = "";
  $("clock").textContent = "";
  $("tick").style.transform = "translateX(-100%)";
  show("result");
}

// Today's date, a clock with moving seconds and a bar that sweeps every second: a screenshot
// cannot fake it.
function startClock() {
  if (clockTimer) clearInterval(clockTimer);
  const tick = () => {
    const now = new Date();
    const locale = lang === "zh" ? "zh-CN" : "en-GB";
    $("today").textContent = now.toLocaleDateString(locale, { month: "long", day: "numeric", weekday: "short" });
    $("clock").textContent = now.toLocaleTimeString(locale, { hour12: false });
    $("tick").style.transform = "translateX(" + (now.getMilliseconds() / 1000) * 900 + "%)";
  };
  tick();
  clockTimer = setInterval(tick, 100);
}

// --- start -----------------------------------------------------------------------------------

async function start() {
  if (ctx.error) {
    $("error-message").textContent = TEXT[lang]["err_" + ctx.error.code] || ctx.error.message;
    show("error");
    return;
  }
  if (!localStorage.getItem(TOKEN)) { show("login"); return; }
  if (!(await loadMe())) return;
  if (ctx.direction) {
    $(ctx.direction === "in" ? "go-out" : "go-in").hidden = true;
  }
  applyLanguage();
  show("scan");
  flush();
}

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem(LANG, lang);
  applyLanguage();
  if (document.body.dataset.view === "result" && shown) shown();
});
$("otp-form").addEventListener("submit", sendCode);
$("login-form").addEventListener("submit", login);
$("scan-form").addEventListener("submit", scan);
$("logout").addEventListener("click", logout);
$("again").addEventListener("click", () => { if (clockTimer) clearInterval(clockTimer); show("scan"); });
window.addEventListener("online", flush);
setInterval(flush, 15000);
applyLanguage();
start();
