// The web dashboard in a real headless Chromium against a running cluster (started by
// tests/integration/dashboard_test.cpp, which passes LLORCH_URL, LLORCH_API_TOKEN, LLORCH_POOL
// and LLORCH_SCREENSHOT). The page is opened once and never reloaded: everything it shows after
// the token comes from its GET /v2/events stream.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const url = process.env.LLORCH_URL;
const token = process.env.LLORCH_API_TOKEN;
const poolId = process.env.LLORCH_POOL;
const screenshot = process.env.LLORCH_SCREENSHOT;
const auth = { Authorization: "Bearer " + token, "Content-Type": "application/json" };

let browser, page;

before(async () => {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => { await browser?.close(); });

async function submit(maxTokens) {
  const r = await fetch(url + "/v2/tasks", {
    method: "POST", headers: auth,
    body: JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: maxTokens,
                           temperature: 0, seed: 7, ignore_eos: true }),
  });
  const text = await r.text();
  assert.equal(r.status, 202, text);
  return JSON.parse(text).task_id;
}

async function taskState(id) {
  const r = await fetch(url + "/v2/tasks/" + id, { headers: auth });
  return (await r.json()).state;
}

test("the page asks for the token, then shows the cluster live", async () => {
  await page.goto(url + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#login:not([hidden])", { timeout: 20000 });
  // A wrong token is refused, with the daemon's reason, and asked for again.
  await page.type("#token", "not-the-token-0123456789");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(
    () => document.querySelector("#login-error").textContent.includes("refused"),
    { timeout: 20000 });
  await page.type("#token", token);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector(`#pools tr[data-pool-id="${poolId}"][data-state="ready"]`,
                             { timeout: 30000 });
  await page.waitForSelector('#conn[data-state="live"]');
  // A marker that a reload would wipe: everything below must arrive without one.
  await page.evaluate(() => { window.__no_reload = true; });
});

test("a task started through the API appears and leaves live", async () => {
  // Warm figures for the charts: a few short tasks first.
  for (let i = 0; i < 3; i++) {
    const id = await submit(64);
    for (let k = 0; k < 200 && (await taskState(id)) !== "completed"; k++)
      await new Promise((r) => setTimeout(r, 50));
  }
  // A few seconds of figures on the charts (one point a second).
  await page.waitForFunction(() => {
    const l = document.querySelector("#chart-ttft polyline");
    return l && l.getAttribute("points").split(" ").length >= 4;
  }, { timeout: 30000 });
  const id = await submit(3500);
  const row = `#tasks tr[data-task-id="${id}"]`;
  await page.waitForSelector(row, { timeout: 30000 });
  // Its tokens climb while it runs (the stats event every second).
  await page.waitForFunction((sel) => {
    const r = document.querySelector(sel);
    return r && Number(r.children[4].textContent) > 0;
  }, { timeout: 30000 }, row);
  await page.waitForFunction(() => document.querySelector("#tps").textContent !== "–",
                             { timeout: 30000 });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  const r = await fetch(url + "/v2/tasks/" + id + "/cancel", { method: "POST", headers: auth });
  assert.equal(r.status, 204);
  await page.waitForSelector(row, { hidden: true, timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__no_reload), true, "the page was reloaded");
});

test("the drain button drains the pool and its state changes on the page", async () => {
  // Found and clicked in one step in the page: the live table re-renders its rows, and a handle
  // taken before a re-render clicks a detached node.
  await page.waitForFunction((id) => {
    const b = document.querySelector(`#pools tr[data-pool-id="${id}"] button[title^="No new tasks"]`);
    if (!b) return false;
    b.click();
    return true;
  }, { timeout: 30000 }, poolId);
  await page.waitForFunction((id) => {
    const r = document.querySelector(`#pools tr[data-pool-id="${id}"]`);
    return r && (r.dataset.state === "draining" || r.dataset.state === "offline");
  }, { timeout: 30000 }, poolId);
  const status = await page.$eval("#action-status", (e) => e.textContent);
  assert.match(status, /drain pool .*: done/);
  assert.equal(await page.evaluate(() => window.__no_reload), true, "the page was reloaded");
});
