// The admin console in headless Chromium, as an admin at a desk would use it. Run by
// tests/api/console.rs, which starts the service and reads back what the page did.
//
// Environment: BASE (the service's origin), ADMIN_PASSWORD, PHONE (a new resident's phone, who
// scans into a venue while the occupancy view is open), CHROMIUM (the browser binary),
// SCREENSHOTS (a directory, optional).
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

import { accessible, check, env, shoot } from "./common.mjs";

const BASE = env("BASE");

async function api(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json();
  check(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

// Clicks `button` and returns the file it made the browser download.
async function downloaded(page, button) {
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  return { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
}

const HEADER = "code,name,kind,community,address,gates,households\n";
const GOOD = "GC-S01,东门药店,shop,东门社区,东门路1号,正门,\nGC-M01,东门菜市场,market,东门社区,,东门;西门,\n";
const WITH_BAD_ROW = HEADER + "GC-S01,东门药店,shop,东门社区,东门路1号,正门,\nGC-X01,坏场所,spaceship,东门社区,,正门,\n" +
  "GC-M01,东门菜市场,market,东门社区,,东门;西门,\n";

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
const findings = {};
try {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 }, locale: "zh-CN", acceptDownloads: true,
    // The pages forbid inline scripts; axe-core is injected as one, so the test lifts that.
    bypassCSP: true,
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  // 1. Sign in.
  await page.goto(BASE + "/admin");
  await page.locator("#view-login").waitFor({ state: "visible" });
  check(!(await page.locator("#tabs").isVisible()), "no sections before signing in");
  findings.login = await accessible(page, "sign-in");
  await page.getByLabel("密码 Password").fill("wrong-password");
  await page.getByLabel("用户名 Username").fill("admin");
  await page.getByRole("button", { name: "登录 Sign in" }).click();
  await page.locator("#login-error").filter({ hasText: "登录失败" }).waitFor();
  await page.getByLabel("密码 Password").fill(env("ADMIN_PASSWORD"));
  await page.getByRole("button", { name: "登录 Sign in" }).click();
  await page.locator("#view-venues").waitFor({ state: "visible" });
  for (const tab of ["场所 Venues", "导入 Import", "实时在场 Occupancy", "流调 Trace", "审计 Audit"]) {
    check(await page.getByRole("button", { name: tab }).isVisible(), `an admin sees ${tab}`);
  }

  // 2. Import: a preview names the bad row and writes nothing; the corrected file is imported.
  await page.getByRole("button", { name: "导入 Import" }).click();
  await page.getByLabel("或粘贴 CSV 内容 Or paste CSV").fill(WITH_BAD_ROW);
  await page.getByRole("button", { name: "预览检查 Preview" }).click();
  await page.locator("#import-errors").waitFor({ state: "visible" });
  const summary = await page.locator("#import-summary").textContent();
  check(summary.includes("将新建 2") && summary.includes("有问题 1 行"), `preview summary: ${summary}`);
  const errorRow = await page.locator("#import-errors tbody tr").first().textContent();
  check(errorRow.startsWith("3") && errorRow.includes("kind"), `the bad row is line 3: ${errorRow}`);
  findings.import = await accessible(page, "import preview");
  const token = await page.evaluate(() => sessionStorage.getItem("checkin.staff.token"));
  check((await api("GET", "/api/v1/venues", null, token)).venues.length === 0, "a preview writes nothing");
  await page.getByLabel("选择 CSV 文件 CSV file").setInputFiles({
    name: "venues.csv", mimeType: "text/csv", buffer: Buffer.from(HEADER + GOOD),
  });
  await page.getByRole("button", { name: "导入 Import", exact: true }).last().click();
  await page.locator("#import-summary").filter({ hasText: "已导入" }).waitFor();
  const imported = await page.locator("#import-summary").textContent();
  check(imported.includes("新建 2") && imported.includes("有问题 0 行"), `import summary: ${imported}`);
  check(await page.locator("#import-errors").isHidden(), "no errors listed after a clean import");

  // 3. Venues: search and filters, a poster downloaded, a batch PDF of the filter.
  await page.getByRole("button", { name: "场所 Venues" }).click();
  await page.locator("#venue-table tbody tr").nth(1).waitFor();
  await page.getByLabel("搜索（编号、名称、地址） Search").fill("菜市场");
  check((await page.locator("#venue-table tbody tr").count()) === 1, "the search keeps one venue");
  await page.getByLabel("搜索（编号、名称、地址） Search").fill("");
  await page.getByLabel("类型 Kind").selectOption("shop");
  check((await page.locator("#venue-table tbody tr").count()) === 1, "the kind filter keeps one venue");
  findings.venues = await accessible(page, "venues");
  const png = await downloaded(page, page.getByRole("button", { name: "下载 PNG 海报 GC-S01" }));
  check(png.name === "GC-S01.png", `poster file name: ${png.name}`);
  check(png.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), "a PNG poster");
  const pdf = await downloaded(page, page.getByRole("button", { name: /批量打印/ }));
  check(pdf.name === "posters.pdf" && pdf.bytes.subarray(0, 5).toString() === "%PDF-", `a batch PDF: ${pdf.name}`);
  await page.getByRole("button", { name: "在场名单 Presence GC-S01" }).click();
  await page.locator("#presence-title").filter({ hasText: "共 0 人" }).waitFor();

  // 4. Occupancy: a resident scans in; the count changes without a reload.
  await page.getByRole("button", { name: "实时在场 Occupancy" }).click();
  const shop = page.locator('#occupancy-table tr[data-venue="GC-S01"] td.count');
  await shop.waitFor();
  check((await shop.textContent()) === "0", "nobody inside yet");
  await page.evaluate(() => { window.notReloaded = true; });
  const venues = await api("GET", "/api/v1/venues", null, token);
  const code = venues.venues.find((v) => v.id === "GC-S01").codes[0].code;
  const otp = await api("POST", "/api/v1/auth/otp", { phone: env("PHONE") });
  const resident = await api("POST", "/api/v1/auth/resident", { phone: env("PHONE"), code: otp.dev_code });
  const scan = await api("POST", "/api/v1/scans", { code, direction: "in" }, resident.access_token);
  check(scan.decision === "admitted", `the scan is admitted: ${JSON.stringify(scan)}`);
  await page.waitForFunction(
    () => document.querySelector('#occupancy-table tr[data-venue="GC-S01"] td.count')?.textContent === "1",
    null, { timeout: 15000 });
  check(await page.evaluate(() => window.notReloaded === true), "the page was not reloaded");
  const first = await page.locator("#occupancy-table tbody tr").first().getAttribute("data-venue");
  check(first === "GC-S01", `the fullest venue first: ${first}`);
  await page.getByRole("button", { name: "在场人数 Inside" }).click();
  const firstAscending = await page.locator("#occupancy-table tbody tr").first().getAttribute("data-venue");
  check(firstAscending === "GC-M01", `sorted the other way: ${firstAscending}`);
  await page.getByRole("button", { name: "在场人数 Inside" }).click();
  findings.occupancy = await accessible(page, "occupancy");
  await shoot(page, "admin-occupancy");

  // 5. Trace and audit: the shop's visits, and the presence read above in the audit list.
  await page.getByRole("button", { name: "流调 Trace" }).click();
  await page.getByLabel("查询 Query").selectOption("venue-visits");
  await page.getByLabel("编号（居民或场所） Id").fill("GC-S01");
  await page.getByRole("button", { name: "查询 Search" }).click();
  await page.locator("#trace-summary").filter({ hasText: "共 1 条" }).waitFor();
  const csv = await downloaded(page, page.getByRole("button", { name: "导出 CSV Export" }));
  check(csv.name.endsWith(".csv") && csv.bytes.toString("utf8").includes("GC-S01"), `a CSV export: ${csv.name}`);
  findings.trace = await accessible(page, "trace");
  await page.getByRole("button", { name: "审计 Audit" }).click();
  await page.locator("#audit-table tbody tr").filter({ hasText: "venue.presence" }).first().waitFor();
  findings.audit = await accessible(page, "audit");

  // 6. A tracer sees tracing and nothing else.
  await api("POST", "/api/v1/staff", { username: "tracer1", password: "a-long-password-1", role: "tracer" }, token);
  await page.getByRole("button", { name: "退出登录" }).click();
  await page.locator("#view-login").waitFor({ state: "visible" });
  await page.getByLabel("用户名 Username").fill("tracer1");
  await page.getByLabel("密码 Password").fill("a-long-password-1");
  await page.getByRole("button", { name: "登录 Sign in" }).click();
  await page.locator("#view-trace").waitFor({ state: "visible" });
  for (const tab of ["场所 Venues", "导入 Import", "实时在场 Occupancy", "审计 Audit"]) {
    check(!(await page.getByRole("button", { name: tab }).isVisible()), `a tracer does not see ${tab}`);
  }

  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  console.log(JSON.stringify({ ok: true, minor_findings: findings }));
} finally {
  await browser.close();
}
