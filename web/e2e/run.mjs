// Browser test of the web UI against a running waggle (started by
// internal/ui/browser_test.go, which passes what to expect in E2E_EXPECT).
// Drives Debian's headless chromium through playwright-core.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const base = process.env.WAGGLE_URL;
const setupURL = process.env.SETUP_URL;
const expect = JSON.parse(process.env.E2E_EXPECT);
const out = process.env.ARTIFACTS || "test/artifacts/ui";
fs.mkdirSync(out, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "waggle-chromium-"));

// A fresh profile directory (Playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
  viewport: { width: 1400, height: 900 },
});
let failed = 0, passed = 0;
const page = browser.pages()[0] || await browser.newPage();
const consoleErrors = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const reqlog = [];
page.on("request", (r) => { if (r.url().includes("/ui/api/")) reqlog.push(r.method() + " " + r.url().replace(base, "")); });
page.on("response", (r) => { if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
const shot = (name) => page.screenshot({ path: path.join(out, name + ".png"), fullPage: true });
function check(name, ok, detail = "") {
  if (ok) { passed++; console.log("ok   " + name); } else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}

try {
  // 1. Setup link → owner → logged in.
  await page.goto(setupURL);
  await page.getByLabel("Name").fill("Ada Owner");
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByLabel(/^Password/).fill("correct horse battery");
  await shot("01-setup");
  await page.getByRole("button", { name: /Create owner/ }).click();
  await page.waitForURL(/\/ui\/query/);
  await page.getByText("ada@example.com").waitFor();
  check("setup link creates the owner and logs in", true);

  // 2. Log out, then log in with the password.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in to waggle" }).waitFor();
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  check("a wrong password is refused", (await page.getByRole("alert").textContent()).includes("wrong"));
  consoleErrors.length = 0; // the refused login's 401 was expected
  await page.getByLabel("Password").fill("correct horse battery");
  await shot("02-login");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("ada@example.com").waitFor();
  check("login", true);

  // 3. Build COUNT + P95(duration_ms) GROUP BY endpoint and read the table.
  await page.goto(base + "/ui/query");
  await page.getByTestId("dataset-picker").selectOption("shop");
  await page.waitForURL(/ds=shop/);
  const add = async (testid, text) => {
    const input = page.getByTestId(testid);
    await input.fill(text);
    await input.press("Escape");
    await input.press("Enter");
  };
  await add("visualize", "COUNT");
  await add("visualize", "P95(duration_ms)");
  await add("groupby", "endpoint");
  await page.getByTestId("run").click();
  await page.waitForURL(/calc=COUNT/);
  const table = page.getByRole("table", { name: "Query results" });
  await table.getByRole("row").nth(1).waitFor();
  await page.waitForTimeout(300);
  const rows = await table.getByRole("row").evaluateAll((rs) => rs.slice(1).map((r) => Array.from(r.querySelectorAll("[role=cell]")).map((c) => c.textContent)));
  const got = Object.fromEntries(rows.map((r) => [r[0], [Number(r[1].replace(/,/g, "")), Number(r[2].replace(/,/g, ""))]]));
  const want = expect.table;
  check("result table has every endpoint", Object.keys(want).every((k) => got[k]), JSON.stringify(got));
  for (const [ep, [count, p95]] of Object.entries(want)) {
    check(`COUNT and P95 of ${ep}`, got[ep] && got[ep][0] === count && got[ep][1] === p95, `got ${JSON.stringify(got[ep])} want ${JSON.stringify([count, p95])}`);
  }
  check("the URL holds the query", page.url().includes("group=endpoint") && page.url().includes("calc=P95%28duration_ms%29"), page.url());
  await shot("03-query");

  // Clicking a group adds it as a filter.
  const firstEndpoint = rows[0][0];
  await table.getByRole("row").nth(1).click();
  await page.waitForURL(/where=endpoint/);
  check("clicking a row adds its group as a filter", decodeURIComponent(page.url().replace(/\+/g, " ")).includes(`where=endpoint = ${firstEndpoint}`), page.url());

  // A link reproduces the query: reload and the table is back.
  await page.reload();
  await table.getByRole("row").nth(1).waitFor();
  check("reloading the URL reruns the query", (await table.getByRole("row").count()) === 2);

  // 1,000 groups: virtualised table renders quickly with few DOM rows.
  const t0 = Date.now();
  await page.goto(base + "/ui/query?ds=shop&calc=COUNT&group=user_id&limit=1000");
  await table.getByRole("row").nth(1).waitFor();
  const ms = Date.now() - t0;
  const rowcount = Number(await table.getAttribute("aria-rowcount"));
  const domRows = await table.getByRole("row").count();
  check("1,000 groups render virtualised", rowcount === 1001 && domRows < 80 && ms < 5000, `rowcount ${rowcount} dom ${domRows} ${ms} ms`);
  await table.locator(".vbody").evaluate((el) => { el.scrollTop = 15000; });
  await page.waitForTimeout(100);
  const scrolled = await table.getByRole("row").evaluateAll((rs) => rs.map((r) => r.getAttribute("aria-rowindex")).filter(Boolean).map(Number));
  check("scrolling renders the rows in view", Math.max(...scrolled) > 500, String(Math.max(...scrolled)));
  await shot("04-thousand-groups");

  // 4. Heatmap and BubbleUp on the slow region.
  await page.goto(base + "/ui/query?ds=shop&calc=HEATMAP%28duration_ms%29&calc=COUNT");
  const canvas = page.getByTestId("heatmap");
  await canvas.waitFor();
  await page.waitForTimeout(300);
  await shot("05-heatmap");
  const box = await canvas.boundingBox();
  // Plot area: 64 px left, 12 right, 8 top, 26 bottom (Heatmap.tsx).
  const x0 = box.x + 66, x1 = box.x + box.width - 14, yTop = box.y + 9, ph = box.height - 34;
  await page.mouse.move(x0, yTop);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, yTop + ph * 0.2, { steps: 4 });
  await page.mouse.move(x1, yTop + ph * 0.4, { steps: 4 });
  await page.mouse.up();
  const cols = page.getByTestId("bubbleup-columns").locator("li.bu-col");
  await cols.first().waitFor();
  const ranked = await cols.evaluateAll((ls) => ls.map((l) => l.getAttribute("data-column")));
  check("BubbleUp ranks the planted column first", ranked[0] === expect.bubbleup_top, ranked.join(","));
  const topValue = await cols.first().locator("tbody tr").first().locator("td").first().textContent();
  check("its top selected value is the planted one", topValue === expect.bubbleup_value, topValue);
  await shot("06-bubbleup");

  // 5. Traces: search, then the waterfall.
  await page.goto(base + "/ui/traces");
  const traces = page.getByRole("table", { name: "Traces" });
  await traces.getByRole("row").nth(1).waitFor();
  await shot("07-traces");
  // (The error occurrence in the same trace may be listed as its root.)
  await traces.locator(`a[href$="/traces/${expect.trace_id}"]`).first().click();
  const wf = page.getByTestId("waterfall");
  await wf.locator("[role=treeitem]").first().waitFor();
  // The X-Ray segment (ledger) joins the OTel spans under "charge card".
  await wf.locator("[role=treeitem]", { hasText: expect.xray_span }).first().waitFor({ timeout: 10000 }).catch(() => {});
  const all = await wf.locator("[role=treeitem]").evaluateAll((ls) => ls.map((l) => [Number(l.getAttribute("data-depth")), l.getAttribute("data-name"), l.textContent]));
  const xr = all.filter((r) => r[2].includes(expect.xray_span));
  const tree = all.filter((r) => !r[2].includes(expect.xray_span)).map((r) => [r[0], r[1]]);
  check("waterfall span tree", JSON.stringify(tree) === JSON.stringify(expect.trace_tree), JSON.stringify(tree));
  const chargeAt = all.findIndex((r) => r[1] === "charge card");
  check("X-Ray segment in the OTel trace, under its parent span", xr.length === 1 && xr[0][0] === 2 && all.indexOf(xr[0]) > chargeAt, JSON.stringify(all.map((r) => [r[0], r[1]])));
  const errRows = await wf.locator("[role=treeitem].error").evaluateAll((ls) => ls.map((l) => l.getAttribute("data-name")));
  check("errored span marked", JSON.stringify(errRows) === JSON.stringify([expect.trace_error_span]), JSON.stringify(errRows));
  // Keyboard: ArrowDown selects the next span and shows its fields.
  await wf.locator("[role=treeitem]").first().focus();
  await page.keyboard.press("ArrowDown");
  const detail = page.getByRole("complementary", { name: "Span details" });
  check("keyboard moves the selection", (await detail.getByRole("heading").first().textContent()) === expect.trace_tree[1][1]);
  check("trace log lines shown", (await page.getByText(expect.trace_log).count()) > 0);
  await shot("08-trace");

  // Query history lists the queries run, newest first.
  await page.goto(base + "/ui/history");
  await page.locator(".history li").first().waitFor();
  const first = await page.locator(".history li").first().textContent();
  check("query history, newest first", first.includes("HEATMAP(duration_ms)"), first);
  await shot("09-history");

  // 6. Errors: the list, the item with its stack trace, resolving it, the
  // link to the occurrence's trace.
  await page.goto(base + "/ui/errors");
  const items = page.getByRole("table", { name: "Error items" });
  await items.getByRole("link", { name: new RegExp(expect.error_title) }).waitFor();
  await page.waitForTimeout(300);
  check("error item listed with its occurrence count", (await items.locator("tbody tr").first().locator("td.num").textContent()) === "1");
  check("error item has a sparkline", (await items.locator("svg.spark").count()) === 1);
  await shot("10-errors");
  await items.getByRole("link", { name: new RegExp(expect.error_title) }).click();
  await page.locator(".frame").first().waitFor();
  const frames = await page.locator(".frame").evaluateAll((ls) => ls.map((l) => [l.getAttribute("data-in-app"), l.querySelector(".fn").textContent]));
  check("stack trace frames, app frame highlighted", frames.length === 2 && frames[1][0] === "true" && frames[0][0] === "false" && frames[1][1].endsWith("payments.py"), JSON.stringify(frames));
  const traceLink = page.getByTestId("occurrence-trace");
  await traceLink.waitFor();
  check("occurrence links to its trace", (await traceLink.getAttribute("href")).endsWith("/traces/" + expect.trace_id), await traceLink.getAttribute("href"));
  await shot("11-error-item");
  await page.getByRole("button", { name: "Resolve" }).click();
  await page.getByRole("button", { name: "Reactivate" }).waitFor();
  check("resolve changes the status", (await page.getByTestId("item-status").textContent()) === "resolved");
  await page.reload();
  await page.getByTestId("item-status").waitFor();
  check("the status change is kept", (await page.getByTestId("item-status").textContent()) === "resolved");
  await traceLink.click();
  await page.getByTestId("waterfall").locator("[role=treeitem]").first().waitFor();
  check("the trace link opens the waterfall", page.url().includes(expect.trace_id));

  // 7. Logs: the group, a filter-pattern search, the live tail.
  await page.goto(base + "/ui/logs");
  await page.getByRole("link", { name: expect.log_group }).click();
  await page.getByTestId("log-filter").fill(expect.log_pattern);
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/q=ERROR/);
  const logs = page.getByRole("table", { name: "Log events" });
  await logs.getByRole("row").nth(1).waitFor();
  const logRows = await logs.getByRole("row").evaluateAll((rs) => rs.slice(1).map((r) => r.querySelectorAll("[role=cell]")[2].textContent));
  check("filter pattern finds the one line", logRows.length === 1 && logRows[0] === expect.log_line, JSON.stringify(logRows));
  await shot("12-logs-search");
  await page.getByTestId("log-filter").fill("");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("live-tail").click();
  await logs.getByRole("row").nth(20).waitFor();
  check("live tail shows the recent lines", (await logs.getAttribute("aria-rowcount")) === "21", await logs.getAttribute("aria-rowcount"));
  await page.getByRole("button", { name: "Pause" }).click();
  check("live tail pauses", (await page.getByRole("button", { name: "Resume" }).count()) === 1);
  await shot("13-logs-tail");

  // 8. Save a query to a new board; the board renders it.
  await page.goto(base + "/ui/query?ds=shop&calc=COUNT&group=endpoint");
  await table.getByRole("row").nth(1).waitFor();
  await page.getByTestId("save-query").click();
  const dlg = page.getByRole("dialog", { name: "Save query" });
  await dlg.getByLabel("Name").fill("Requests by endpoint");
  await dlg.getByLabel("Add to board").selectOption("new");
  await dlg.getByLabel("New board name").fill("Shop overview");
  await shot("14-save-query");
  await dlg.getByRole("button", { name: "Save query" }).click();
  await page.getByTestId("saved-board-link").click();
  const panel = page.getByTestId("board-panel").first();
  await panel.locator("canvas").first().waitFor();
  check("the board renders the saved query", (await panel.getByRole("heading").textContent()).includes("Requests by endpoint"));
  await page.waitForTimeout(300);
  await shot("15-board");
  await page.goto(base + "/ui/boards?ds=shop");
  await page.getByRole("button", { name: "Requests by endpoint" }).waitFor();
  check("saved query listed", true);

  // 9. API keys: the secret is shown once.
  await page.goto(base + "/ui/settings/keys");
  await page.getByTestId("key-name").fill("ci ingest");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = await page.getByTestId("key-secret").locator("code.secret").textContent();
  check("a new key's secret is shown", secret.length >= 20, secret);
  await page.getByRole("table", { name: "API keys" }).getByText("ci ingest").waitFor();
  await shot("16-keys");
  await page.reload();
  await page.getByRole("table", { name: "API keys" }).getByText("ci ingest").waitFor();
  check("and only once", (await page.getByTestId("key-secret").count()) === 0 && !(await page.content()).includes(secret));
  for (const [tab, name] of [["account", "17-settings-account"], ["users", "18-settings-users"], ["datasets", "19-settings-datasets"]]) {
    await page.goto(base + "/ui/settings/" + tab + "?ds=shop");
    await page.waitForLoadState("networkidle");
    await shot(name);
  }
  await page.goto(base + "/ui/triggers?ds=shop");
  await page.waitForLoadState("networkidle");
  await shot("20-triggers");
  check("no console errors", consoleErrors.length === 0, consoleErrors.join(" | "));

  // 10. SLOs: an SLI derived column (a misspelt column first: the
  // server's error is shown), an SLO on it, its budget against the value
  // computed from the seeded events, a burn alert.
  const slo = expect.slo;
  await page.goto(base + "/ui/slos?ds=shop");
  await page.getByText("No SLOs on this dataset").waitFor();
  await page.getByRole("link", { name: /New derived column/ }).click();
  const dform = page.getByRole("form", { name: "New derived column" });
  await dform.getByLabel("Alias").fill(slo.alias);
  await dform.getByTestId("derived-expression").fill(slo.bad_expression);
  const errsBefore = consoleErrors.length;
  await dform.getByRole("button", { name: "Create derived column" }).click();
  const derr = page.getByTestId("derived-error");
  await derr.waitFor();
  const derrText = await derr.textContent();
  check("an invalid SLI expression shows the server's error", derrText.includes("unknown column") && derrText.includes("duraton_ms"), derrText);
  await shot("21-derived-error");
  await page.waitForTimeout(200);
  consoleErrors.splice(errsBefore); // the refused expression's 400 was expected
  await dform.getByTestId("derived-expression").fill(slo.expression);
  await dform.getByRole("button", { name: "Create derived column" }).click();
  await page.waitForURL(/edit=new&sli=/);
  const sform = page.getByRole("form", { name: "New SLO" });
  await sform.getByLabel("Name").fill(slo.name);
  check("the new derived column is the SLI", (await sform.getByLabel(/^SLI/).inputValue()) === slo.alias);
  await sform.getByLabel("Target").fill(slo.target);
  await sform.getByLabel("Period").selectOption(slo.period);
  await shot("22-slo-form");
  await sform.getByRole("button", { name: "Create SLO" }).click();
  await page.waitForURL(/\/ui\/slos\/[^/?]+$/);
  const budget = page.getByTestId("budget-remaining");
  await budget.waitFor();
  const budgetText = await budget.textContent();
  check("the SLO's budget remaining is the one computed from the events", budgetText === slo.budget, `got ${budgetText} want ${slo.budget}`);
  check("its compliance", (await page.getByTestId("slo-compliance").textContent()) === slo.compliance, await page.getByTestId("slo-compliance").textContent());
  check("its burn rate", (await page.getByTestId("slo-burn").textContent()) === slo.burn, await page.getByTestId("slo-burn").textContent());
  check("its status", (await page.getByTestId("slo-status").textContent()) === "ok");
  await page.getByTestId("budget-chart").locator("canvas").first().waitFor();
  await page.waitForTimeout(300);
  await shot("23-slo");
  await page.getByRole("link", { name: "New burn alert" }).click();
  const bform = page.getByRole("form", { name: "New burn alert" });
  await bform.getByLabel("Exhaustion hours").fill("6");
  await bform.getByLabel("Description").fill("page when the budget runs out within 6 h");
  await bform.getByRole("button", { name: "Save burn alert" }).click();
  const alerts = page.getByRole("table", { name: "Burn alerts" });
  await alerts.getByRole("row").nth(1).waitFor();
  const alertText = await alerts.getByRole("row").nth(1).textContent();
  check("the burn alert is listed", alertText.includes("exhausted within 6 h"), alertText);
  await shot("24-slo-burn-alert");
  await page.goto(base + "/ui/slos?ds=shop");
  const sloRow = page.getByRole("table", { name: "SLOs" }).locator(`tr[data-slo="${slo.name}"]`);
  await sloRow.waitFor();
  const listBudget = await sloRow.getByTestId("budget-remaining").textContent();
  check("the SLO list shows the same budget", listBudget === slo.budget, listBudget);
  await shot("25-slos");
  check("no console errors on the SLO pages", consoleErrors.length === 0, consoleErrors.join(" | "));
} catch (e) {
  failed++;
  console.log("FAIL exception: " + (e && e.stack || e));
  console.log("url: " + page.url());
  console.log("requests: " + reqlog.slice(-12).join(" | "));
  console.log("console errors: " + consoleErrors.join(" | "));
  await shot("99-failure").catch(() => {});
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
