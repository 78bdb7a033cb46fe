// The admin console (GET /admin): staff sign in, then see the sections their role allows.
// Every text is set with textContent; the token lives in sessionStorage (gone with the tab).
"use strict";

const API = "/api/v1";
const TOKEN = "checkin.staff.token";
const ROLE = "checkin.staff.role";
const USER = "checkin.staff.user";

const KINDS = {
  residential_compound: "小区", shop: "商店", market: "市场", restaurant: "餐馆", hotel: "宾馆",
  checkpoint: "检查站",
};

const ctx = JSON.parse(document.getElementById("context").textContent || "{}");
const POLL_MS = Math.max(1, Number(ctx.poll_seconds) || 3) * 1000;

const $ = (id) => document.getElementById(id);
let venues = [];
let occupancy = [];
let sortDescending = true;
let pollTimer = null;

// --- calls -----------------------------------------------------------------------------------

function authHeaders(extra) {
  const headers = Object.assign({}, extra);
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers.authorization = "Bearer " + token;
  return headers;
}

async function call(method, path, body, contentType) {
  const headers = authHeaders(body === undefined ? {} : { "content-type": contentType || "application/json" });
  const payload = body === undefined ? undefined : (contentType ? body : JSON.stringify(body));
  const res = await fetch(API + path, { method, headers, body: payload });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401 && path !== "/auth/login") signOut("登录已过期，请重新登录 Signed out");
  return { status: res.status, ok: res.ok, data };
}

function errorText(answer) {
  return (answer.data && answer.data.error && answer.data.error.message) || "HTTP " + answer.status;
}

// Fetches `path` with the token and saves it under `filename` through a Blob link.
async function download(path, filename, accept) {
  say("正在下载 " + filename + " …");
  const res = await fetch(API + path, { headers: authHeaders(accept ? { accept } : {}) });
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    say("下载失败 Download failed: " + errorText({ status: res.status, data }), true);
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  say("已下载 Downloaded " + filename);
}

function say(text, bad) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", Boolean(bad));
}

// --- tables ----------------------------------------------------------------------------------

function cell(row, text, tag) {
  const td = document.createElement(tag || "td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

function fill(tbody, rows, cells) {
  tbody.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const c of cells(r)) cell(tr, c);
    tbody.appendChild(tr);
  }
}

function button(text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "small";
  b.textContent = text;
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "");

// --- sign-in and sections --------------------------------------------------------------------

function sections() {
  const role = sessionStorage.getItem(ROLE);
  return [...document.querySelectorAll(".tab")].filter((b) => b.dataset.role.split(" ").includes(role));
}

function show(view) {
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + view;
  for (const b of document.querySelectorAll(".tab")) b.setAttribute("aria-pressed", String(b.dataset.tab === view));
  document.body.dataset.view = view;
  say("");
  if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  if (view === "venues") loadVenues();
  if (view === "occupancy") { loadOccupancy(); pollTimer = setInterval(loadOccupancy, POLL_MS); }
  if (view === "audit") loadAudit();
}

function start() {
  const token = sessionStorage.getItem(TOKEN);
  $("tabs").hidden = !token;
  $("logout").hidden = !token;
  $("who").textContent = token ? sessionStorage.getItem(USER) + "（" + sessionStorage.getItem(ROLE) + "）" : "";
  if (!token) { show("login"); return; }
  const allowed = sections();
  for (const b of document.querySelectorAll(".tab")) b.hidden = !allowed.includes(b);
  show(allowed.length ? allowed[0].dataset.tab : "none");
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(ROLE);
  sessionStorage.removeItem(USER);
  start();
  if (message) $("login-error").textContent = message;
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const username = $("username").value.trim();
  const a = await call("POST", "/auth/login", { username, password: $("password").value });
  if (!a.ok) { $("login-error").textContent = "登录失败 Sign-in failed: " + errorText(a); return; }
  sessionStorage.setItem(TOKEN, a.data.access_token);
  sessionStorage.setItem(ROLE, a.data.role);
  sessionStorage.setItem(USER, username);
  $("password").value = "";
  say("");
  start();
}

// --- venues ----------------------------------------------------------------------------------

async function loadVenues() {
  const a = await call("GET", "/venues");
  if (!a.ok) { say("场所列表读取失败: " + errorText(a), true); return; }
  venues = a.data.venues;
  const communities = [...new Set(venues.map((v) => v.community).filter(Boolean))].sort();
  const select = $("venue-community");
  const chosen = select.value;
  select.replaceChildren(select.options[0]);
  for (const c of communities) select.appendChild(new Option(c, c));
  select.value = communities.includes(chosen) ? chosen : "";
  renderVenues();
}

function filtered() {
  const q = $("venue-search").value.trim().toLowerCase();
  const kind = $("venue-kind").value;
  const community = $("venue-community").value;
  return venues.filter((v) =>
    (!kind || v.kind === kind) && (!community || v.community === community) &&
    (!q || [v.id, v.name, v.address || ""].some((s) => s.toLowerCase().includes(q))));
}

function renderVenues() {
  const tbody = $("venue-table").tBodies[0];
  tbody.replaceChildren();
  const shown = filtered();
  $("venue-count").textContent = "共 " + shown.length + " 个场所（全部 " + venues.length + " 个）";
  for (const v of shown) {
    const tr = document.createElement("tr");
    cell(tr, v.id);
    cell(tr, v.name);
    cell(tr, KINDS[v.kind] || v.kind);
    cell(tr, v.community || "");
    cell(tr, v.gates.join("、"));
    const td = cell(tr, "");
    td.className = "row-actions";
    td.append(
      button("查看", "查看海报 View poster " + v.id, () => viewPoster(v)),
      button("PNG", "下载 PNG 海报 " + v.id, () => download("/venues/" + enc(v.id) + "/poster.png", v.id + ".png")),
      button("SVG", "下载 SVG 海报 " + v.id, () => download("/venues/" + enc(v.id) + "/poster.svg", v.id + ".svg")),
      button("PDF", "下载 PDF 海报 " + v.id, () => download("/venues/" + enc(v.id) + "/poster.pdf", v.id + ".pdf")),
      button("在场名单", "在场名单 Presence " + v.id, () => showPresence(v)),
      button("换码", "换码 Rotate code " + v.id, () => rotate(v)),
    );
    tbody.appendChild(tr);
  }
}

const enc = encodeURIComponent;

async function viewPoster(v) {
  const res = await fetch(API + "/venues/" + enc(v.id) + "/poster.png", { headers: authHeaders() });
  if (!res.ok) { say("海报读取失败 HTTP " + res.status, true); return; }
  // A data: URL, which the pages' policy allows for images (blob: it does not).
  const blob = await res.blob();
  const img = $("poster-image");
  img.src = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  img.alt = v.name + " 的海报 poster";
  $("poster-title").textContent = "海报 Poster：" + v.name + "（" + v.gates[0] + "）";
  $("poster-panel").hidden = false;
}

async function showPresence(v) {
  const a = await call("GET", "/venues/" + enc(v.id) + "/presence");
  if (!a.ok) { say("在场名单读取失败: " + errorText(a), true); return; }
  $("presence-title").textContent = "在场名单 Presence：" + v.name + "，共 " + a.data.count + " 人";
  fill($("presence-table").tBodies[0], a.data.people, (p) => [p.resident_id, when(p.since)]);
  $("presence-panel").hidden = false;
}

async function rotate(v) {
  if (!window.confirm("换码后 " + v.name + " 的旧海报全部失效，需要重新打印。确定吗？")) return;
  const a = await call("POST", "/venues/" + enc(v.id) + "/codes/rotate");
  if (!a.ok) { say("换码失败: " + errorText(a), true); return; }
  say("已换码 Rotated: " + v.name + "，请下载新海报");
  loadVenues();
}

function batchPrint() {
  const q = new URLSearchParams();
  if ($("venue-community").value) q.set("community", $("venue-community").value);
  if ($("venue-kind").value) q.set("kind", $("venue-kind").value);
  const s = q.toString();
  download("/posters.pdf" + (s ? "?" + s : ""), "posters.pdf");
}

// --- import ----------------------------------------------------------------------------------

async function csvText() {
  const file = $("import-file").files[0];
  return file ? await file.text() : $("import-text").value;
}

async function runImport(dryRun) {
  const text = await csvText();
  const summary = $("import-summary");
  if (!text.trim()) { summary.textContent = "请选择文件或粘贴 CSV 内容 Choose a file or paste CSV"; return; }
  const path = "/" + $("import-kind").value + "/import" + (dryRun ? "?dry_run=true" : "");
  const a = await call("POST", path, text, "text/csv");
  if (!a.ok) { summary.textContent = "导入失败 Import failed: " + errorText(a); return; }
  const r = a.data;
  summary.textContent = (dryRun ? "预览（未写入）Preview, nothing written：将新建 " : "已导入 Imported：新建 ") +
    r.created + "，" + (dryRun ? "将更新 " : "更新 ") + r.updated + "，有问题 " + r.errors.length + " 行";
  const rotated = r.codes_rotated || [];
  if (rotated.length) {
    summary.textContent += "。" + (dryRun ? "将作废" : "已作废") + "这些场所的全部旧码（撤下的出入口又加回），需重新打印 " +
      (dryRun ? "Would revoke" : "Revoked") + " every poster of (a gate taken away came back; print anew): " +
      rotated.join(", ");
  }
  const warnings = r.warnings || [];
  if (warnings.length) summary.textContent += "，请核对 " + new Set(warnings.map((w) => w.line)).size + " 行 (warnings)";
  const rows = r.errors.map((e) => [e.line, e.message])
    .concat(warnings.map((w) => [w.line, "提醒 Warning: " + w.message]));
  fill($("import-errors").tBodies[0], rows, (row) => row);
  $("import-errors").hidden = rows.length === 0;
}

// --- occupancy -------------------------------------------------------------------------------

async function loadOccupancy() {
  const a = await call("GET", "/occupancy");
  if (!a.ok) { say("在场人数读取失败: " + errorText(a), true); return; }
  occupancy = a.data.venues;
  $("occupancy-updated").textContent = "更新于 Updated " + when(a.data.at);
  renderOccupancy();
}

function renderOccupancy() {
  const rows = [...occupancy].sort((a, b) =>
    (sortDescending ? b.count - a.count : a.count - b.count) || a.venue_id.localeCompare(b.venue_id));
  const tbody = $("occupancy-table").tBodies[0];
  tbody.replaceChildren();
  for (const v of rows) {
    const tr = document.createElement("tr");
    tr.dataset.venue = v.venue_id;
    for (const c of [v.venue_id, v.name, KINDS[v.kind] || v.kind, v.community || ""]) cell(tr, c);
    cell(tr, v.count).className = "count";
    tbody.appendChild(tr);
  }
  const total = occupancy.reduce((n, v) => n + v.count, 0);
  $("occupancy-total").textContent = "合计在场 " + total + " 人，" + occupancy.length + " 个场所。";
  $("count-header").setAttribute("aria-sort", sortDescending ? "descending" : "ascending");
}

// --- trace -----------------------------------------------------------------------------------

function tracePath() {
  const what = $("trace-what").value;
  const id = enc($("trace-id").value.trim());
  const q = new URLSearchParams();
  for (const [key, input] of [["from", "trace-from"], ["to", "trace-to"]]) {
    if ($(input).value) q.set(key, new Date($(input).value).toISOString());
  }
  const base = what === "venue-visits" ? "/trace/venues/" + id + "/visits"
    : what === "contacts" ? "/trace/residents/" + id + "/contacts" : "/trace/residents/" + id + "/visits";
  const s = q.toString();
  return { what, path: base + (s ? "?" + s : "") };
}

const VISIT_COLUMNS = [["居民", (v) => v.resident_id], ["场所", (v) => v.venue_id],
  ["进入", (v) => when(v.check_in)], ["离开", (v) => when(v.check_out)], ["结束方式", (v) => v.closed_by || "在场"]];
const CONTACT_COLUMNS = [["居民", (c) => c.resident_id], ["姓名", (c) => c.name], ["电话", (c) => c.phone],
  ["住址", (c) => c.home], ["重叠（分钟）", (c) => Math.round(c.overlap_minutes)],
  ["首次接触", (c) => when(c.first_contact)], ["场所", (c) => c.venues.map((s) => s.venue_id).join("、")]];

async function runTrace(event) {
  event.preventDefault();
  if (!$("trace-id").value.trim()) { $("trace-summary").textContent = "请填写编号 Enter an id"; return; }
  const { what, path } = tracePath();
  const a = await call("GET", path);
  if (!a.ok) { $("trace-summary").textContent = "查询失败: " + errorText(a); $("trace-table").hidden = true; return; }
  const contacts = what === "contacts";
  const rows = contacts ? a.data.contacts : a.data.visits;
  const columns = contacts ? CONTACT_COLUMNS : VISIT_COLUMNS;
  const head = $("trace-table").tHead.rows[0];
  head.replaceChildren();
  for (const [name] of columns) cell(head, name, "th").setAttribute("scope", "col");
  fill($("trace-table").tBodies[0], rows, (r) => columns.map(([, f]) => f(r)));
  $("trace-table").hidden = false;
  $("trace-summary").textContent = "共 " + rows.length + (contacts ? " 名接触者" : " 条到访记录");
}

function traceCsv() {
  if (!$("trace-id").value.trim()) { $("trace-summary").textContent = "请填写编号 Enter an id"; return; }
  const { what, path } = tracePath();
  download(path, what + "-" + $("trace-id").value.trim() + ".csv", "text/csv");
}

// --- audit -----------------------------------------------------------------------------------

async function loadAudit() {
  const a = await call("GET", "/audit");
  if (!a.ok) { say("审计记录读取失败: " + errorText(a), true); return; }
  const records = [...a.data.records].reverse();
  fill($("audit-table").tBodies[0], records,
    (r) => [when(r.at), r.actor, r.role, r.action, r.query, r.format, r.returned]);
}

// --- wiring ----------------------------------------------------------------------------------

for (const [value, name] of Object.entries(KINDS)) $("venue-kind").appendChild(new Option(name, value));
$("login-form").addEventListener("submit", signIn);
$("logout").addEventListener("click", () => signOut(""));
for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => show(b.dataset.tab));
$("venue-filter").addEventListener("submit", (e) => e.preventDefault());
for (const id of ["venue-search", "venue-kind", "venue-community"]) $(id).addEventListener("input", renderVenues);
$("batch-print").addEventListener("click", batchPrint);
// Pasting replaces a chosen file, and choosing a file replaces the pasted text.
$("import-text").addEventListener("input", () => { $("import-file").value = ""; });
$("import-file").addEventListener("change", () => { $("import-text").value = ""; });
$("import-preview").addEventListener("click", () => runImport(true));
$("import-run").addEventListener("click", () => runImport(false));
$("sort-count").addEventListener("click", () => { sortDescending = !sortDescending; renderOccupancy(); });
$("trace-form").addEventListener("submit", runTrace);
$("trace-csv").addEventListener("click", traceCsv);
$("audit-refresh").addEventListener("click", loadAudit);
start();
