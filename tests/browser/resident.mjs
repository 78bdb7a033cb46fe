// The resident's page in headless Chromium, as a phone would use it. Run by tests/api/pages.rs, which
// starts the service, makes two shops and reads back what the page did through the API.
//
// Environment: CODE_A and CODE_B (two posters' URLs), PHONE (a new resident's phone),
// CHROMIUM (the browser binary), SCREENSHOTS (a directory, optional).
import { chromium } from "playwright-core";

import { accessible, check, env, shoot } from "./common.mjs";

async function resultWord(page) {
  await page.locator("#view-result").waitFor({ state: "visible" });
  return {
    word: (await page.locator("#result-word").textContent()).trim(),
    cls: await page.locator("#view-result").getAttribute("class"),
    venue: (await page.locator("#result-venue").textContent()).trim(),
    who: (await page.locator("#result-who").textContent()).trim(),
  };
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
const findings = {};
try {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    // The pages forbid inline scripts; axe-core is injected as one, so the test lifts that.
    bypassCSP: true,
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });

  // 1. A first visit: sign in by one-time code (echoed in this test deployment), check in.
  await page.goto(env("CODE_A"));
  await page.locator("#view-login").waitFor({ state: "visible" });
  for (const other of ["#view-scan", "#view-result", "#view-error"]) {
    check(!(await page.locator(other).isVisible()), `${other} is hidden while signing in`);
  }
  findings.login = await accessible(page, "login");
  await page.getByLabel("手机号").fill(env("PHONE"));
  await page.getByRole("button", { name: "获取验证码" }).click();
  await page.locator("#login-form").waitFor({ state: "visible" });
  check((await page.getByLabel("验证码").inputValue()).length === 6, "the echoed code is filled in");
  await page.getByRole("button", { name: "登录" }).click();
  await page.locator("#view-scan").waitFor({ state: "visible" });
  findings.scan = await accessible(page, "scan");
  await page.getByRole("button", { name: "进入" }).click();
  const first = await resultWord(page);
  check(first.word === "已通过" && first.cls.includes("admitted"), `green screen: ${JSON.stringify(first)}`);
  check(first.venue === "东门药店", `venue shown: ${first.venue}`);
  const t1 = await page.locator("#clock").textContent();
  await page.waitForTimeout(1100);
  const t2 = await page.locator("#clock").textContent();
  check(/^\d\d:\d\d:\d\d$/.test(t1) && t1 !== t2, `the clock moves: ${t1} then ${t2}`);
  findings.result = await accessible(page, "result");
  await shoot(page, "resident-admitted");

  // 2. Another poster: the login is remembered; checking in there closes the first visit.
  await page.goto(env("CODE_B"));
  await page.locator("#view-scan").waitFor({ state: "visible" });
  await page.getByRole("button", { name: "进入" }).click();
  const second = await resultWord(page);
  check(second.word === "已通过" && second.venue === "西门超市", `second check-in: ${JSON.stringify(second)}`);

  // 3. English.
  await page.getByRole("button", { name: "English / 中文" }).click();
  check((await page.locator("#result-word").textContent()) === "ADMITTED", "switched to English");
  await page.getByRole("button", { name: "English / 中文" }).click();

  // 4. Offline: two scans are kept, then sent once each when the network returns.
  await page.getByRole("button", { name: "返回" }).click();
  await context.setOffline(true);
  await page.getByRole("button", { name: "离开" }).click();
  const queued = await resultWord(page);
  check(queued.cls.includes("queued"), `offline scan kept: ${JSON.stringify(queued)}`);
  await shoot(page, "resident-queued");
  await page.getByRole("button", { name: "返回" }).click();
  await page.getByRole("button", { name: "进入" }).click();
  await resultWord(page);
  const waiting = await page.evaluate(() => JSON.parse(localStorage.getItem("checkin.queue") || "[]").length);
  check(waiting === 2, `two scans waiting, found ${waiting}`);
  await context.setOffline(false);
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("checkin.queue") || "[]").length === 0, null, { timeout: 20000 });

  // 5. A double tap sends one scan: the buttons wait for the answer.
  await page.getByRole("button", { name: "返回" }).click();
  await page.evaluate(() => {
    const form = document.getElementById("scan-form");
    const out = document.getElementById("go-out");
    form.requestSubmit(out);
    form.requestSubmit(out);
  });
  const left = await resultWord(page);
  check(left.cls.includes("admitted"), `checked out: ${JSON.stringify(left)}`);

  // 6. A code that does not verify gets a page saying so.
  const bad = await page.goto(env("CODE_A") + "x");
  check(bad.status() >= 400 && bad.status() < 500, `a tampered code answers 4xx, got ${bad.status()}`);
  await page.locator("#view-error").waitFor({ state: "visible" });
  findings.error = await accessible(page, "error");
  console.log(JSON.stringify({ ok: true, minor_findings: findings }));
} finally {
  await browser.close();
}
