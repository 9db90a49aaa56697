// Gatehouse's pages as people use them, in headless Chromium (Debian's), driven by Playwright:
// an admin signs in and invites in the console (by email, and by identifier: the access code),
// turns the invitation link on, uploads an Excel file and downloads the report; an invitee opens the emailed link and signs up; an employee signs up with an
// access code and signs in with `uid:domain`; a French browser sees French pages; a forgotten
// password is reset; the pages fit a phone; people sign in to an application through OpenID
// Connect (the example relying party in examples/relying-party, openid-client underneath: it
// verifies the ID token against the JWKS, the nonce, PKCE and `iss`), an employee as `uid:domain`
// and a guest as a guest; second factors (browser/second_factors.mjs) and passkeys (browser/passkeys.mjs). Every page visited is screenshotted (target/browser/*.png) and checked with
// axe-core: a serious or critical violation fails the run.
//
//   GATEHOUSE_BIN=target/debug/gatehouse-local node browser/stories.mjs
//
// It starts the local run itself (own port, own data folder) and stops it at the end.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { secondFactorStories } from "./second_factors.mjs";
import { passkeyStories } from "./passkeys.mjs";

const RELYING_PARTY = resolve("examples/relying-party/app.mjs");

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BIN = resolve(process.env.GATEHOUSE_BIN ?? "target/debug/gatehouse-local");
const ARTIFACTS = resolve(process.env.GATEHOUSE_BROWSER_ARTIFACTS ?? "target/browser");
const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";
const PASSWORD = "browsers are patient creatures";

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** The local run, its printed lines kept (the links of the emails it "sends"). `host`: the name
 * its pages are visited at (`localhost` for passkeys: browsers refuse an IP address as a
 * relying party); the tests' own requests go to the address it listens on (`api`). */
async function startGatehouse({ host = "127.0.0.1" } = {}) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), "gatehouse-browser-"));
  const base = `http://${host}:${port}`;
  const listening = `http://127.0.0.1:${port}`;
  const lines = [];
  const child = spawn(BIN, [], {
    env: {
      ...process.env,
      GATEHOUSE_ADDR: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: base,
      GATEHOUSE_DATA_DIR: data,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
      GATEHOUSE_CLEANUP_EVERY_SECS: "0",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => lines.push(...chunk.split("\n")));
  }
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${listening}/openapi.json`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`gatehouse-local exited:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    api: listening,
    lines,
    stop() {
      child.kill();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The example relying party, registered with Gatehouse as a confidential client. */
async function startRelyingParty(base, admin) {
  const port = await freePort();
  const registered = await api(base, "POST", "/clients", admin.token, {
    name: "Example app",
    type: "confidential",
    redirect_uris: [`http://127.0.0.1:${port}/callback`],
  });
  const lines = [];
  const child = spawn(process.execPath, [RELYING_PARTY], {
    env: {
      ...process.env,
      GATEHOUSE_ISSUER: `${base}/demo`,
      CLIENT_ID: registered.client_id,
      CLIENT_SECRET: registered.client_secret,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => lines.push(...chunk.split("\n")));
  }
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !lines.some((l) => l.startsWith("example app on")); i++) {
    if (child.exitCode !== null) throw new Error(`the example app exited:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => child.kill() };
}

async function api(base, method, path, token, body) {
  const response = await fetch(`${base}/v1/orgs/demo${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** The newest link the local run printed for a message to `email`. */
function mailedLink(gatehouse, email) {
  for (let i = gatehouse.lines.length - 1; i > 0; i--) {
    const link = gatehouse.lines[i].match(/link: (\S+)/);
    if (link && gatehouse.lines.slice(Math.max(0, i - 2), i).some((l) => l.includes(`to ${email}`))) {
      return link[1];
    }
  }
  throw new Error(`no link printed for ${email}`);
}

const results = [];
let failures = 0;

function expect(condition, what) {
  if (!condition) throw new Error(`expected: ${what}`);
}

/** Screenshot and accessibility check of the page as it is now. */
async function check(page, name) {
  await page.waitForLoadState("load");
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await page.addScriptTag({ content: AXE });
  const report = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }),
  );
  const serious = report.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = report.violations.filter((v) => !serious.includes(v));
  results.push({ page: name, url: page.url(), screenshot: path, serious: serious.length, minor: minor.map((v) => v.id) });
  if (serious.length) {
    throw new Error(
      `${name}: axe found ${serious.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target).join(", ")}`).join("; ")}`,
    );
  }
}

/** Through the sign-in page as the bootstrap admin, to the welcome page. */
async function signInAsAdmin(page, base) {
  await page.goto(`${base}/demo/sign-in`);
  await page.getByLabel("Email or identifier").fill("admin@example.com");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/demo/welcome`);
}

// While working on some stories: GATEHOUSE_BROWSER_ONLY=passkey runs those whose name has the
// word, and says which it left out (scripts/test never sets it).
const ONLY = process.env.GATEHOUSE_BROWSER_ONLY;

async function story(name, browser, run, contextOptions = {}) {
  if (ONLY && !name.includes(ONLY)) {
    console.log(`left  ${name} (GATEHOUSE_BROWSER_ONLY=${ONLY})`);
    return;
  }
  // bypassCSP lets the test inject axe-core; the pages themselves are served with their CSP.
  const context = await browser.newContext({ bypassCSP: true, locale: "en-GB", ...contextOptions });
  const page = await context.newPage();
  // Script errors, and any stylesheet, script or image that did not load. (A page answered
  // with an error status, say 410 for a used link, is logged by Chromium as a failed load: that
  // is the page working as meant, so documents are left to each story's checks.)
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text());
  });
  // A story that makes a script's request fail on purpose says so first, once per request:
  // page.expectRefusal(path, status).
  const expectedRefusals = [];
  page.expectRefusal = (path, status) => expectedRefusals.push({ path, status });
  page.on("response", (r) => {
    if (r.request().resourceType() !== "document" && r.status() >= 400) {
      const path = new URL(r.url()).pathname;
      const expected = expectedRefusals.findIndex((e) => e.path === path && e.status === r.status());
      if (expected >= 0) expectedRefusals.splice(expected, 1);
      else consoleErrors.push(`${r.status()} for ${r.url()}`);
    }
  });
  // A load cut short because the page moved on (ERR_ABORTED) is the browser's normal business.
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") consoleErrors.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  try {
    await run(page);
    expect(consoleErrors.length === 0, `no script errors, got ${consoleErrors.join(" | ")}`);
    console.log(`ok    ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL  ${name}\n      ${e.message.split("\n").join("\n      ")}`);
    await page.screenshot({ path: join(ARTIFACTS, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

// Screenshots of this run only.
rmSync(ARTIFACTS, { recursive: true, force: true });
const gatehouse = await startGatehouse();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const { base } = gatehouse;

try {
  const admin = await api(base, "POST", "/sign-in", null, { identifier: "admin@example.com", password: PASSWORD });

  await story("an admin signs in", browser, async (page) => {
    await page.goto(`${base}/demo/sign-in`);
    await check(page, "sign-in");
    await page.getByLabel("Email or identifier").fill("admin@example.com");
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForSelector("#summary");
    expect((await page.textContent("#summary")).includes("The identifier or the password is wrong."), "a wrong password is said so");
    expect(await page.evaluate(() => document.activeElement?.id === "summary"), "the error summary takes the focus");
    await check(page, "sign-in-wrong-password");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    expect((await page.textContent("h1")) === "You are signed in", "the welcome page");
    await check(page, "welcome");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${base}/demo/sign-in`);
  });

  await story("an admin invites by email in the console", browser, async (page) => {
    await api(base, "POST", "/groups", admin.token, { name: "Design" });
    await page.goto(`${base}/demo/sign-in`);
    await page.getByLabel("Email or identifier").fill("admin@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "Open the administration" }).click();
    await page.waitForURL(`${base}/demo/admin/invitations`);
    await check(page, "console-invitations-empty");
    await page.getByRole("link", { name: "Invite", exact: true }).click();
    await page.waitForURL(`${base}/demo/admin/invite`);
    await check(page, "console-invite");
    // Everyone is said, not offered: members join it anyway.
    expect(await page.getByText("Members join Everyone in any case", { exact: false }).isVisible(), "the default group is said");
    expect((await page.getByLabel("Everyone").count()) === 0, "the default group is not a choice");
    await page.getByLabel("Email address").fill("alice@example.com");
    await page.getByLabel("First name").fill("Alice");
    await page.getByLabel("Last name").fill("Liddell");
    await page.getByLabel("Design").check();
    await page.getByLabel("Personal message (optional)").fill("Welcome to the team!");
    await page.getByRole("button", { name: "Invite", exact: true }).click();
    await page.waitForSelector(".notice");
    expect((await page.textContent(".notice")).includes("the email went to alice@example.com"), "the invitation is sent");
    await check(page, "console-invited");
    await page.getByRole("link", { name: "Invitations", exact: true }).click();
    await page.waitForURL(`${base}/demo/admin/invitations`);
    expect((await page.textContent("tbody")).includes("alice@example.com"), "listed");
    await check(page, "console-invitations");
    await page.getByRole("link", { name: "Alice Liddell" }).click();
    await page.waitForURL(/\/demo\/admin\/invitations\/[0-9a-f]{32}$/);
    await check(page, "console-invitation");
  });

  await story("an admin turns on the invitation link and copies it", browser, async (page) => {
    await signInAsAdmin(page, base);
    await page.goto(`${base}/demo/admin/settings`);
    await check(page, "console-settings");
    await page.getByLabel("Anyone may register", { exact: false }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForSelector(".notice");
    await page.getByLabel("Maximum registrations (optional)").fill("50");
    await page.getByRole("button", { name: "Make a new link" }).click();
    await page.waitForSelector("#link-url");
    const url = await page.inputValue("#link-url");
    expect(url.startsWith(`${base}/demo/join?token=`), `the link is shown: ${url}`);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await page.getByRole("button", { name: "Copy" }).click();
    await page.waitForSelector("#link-url-copied:has-text('Copied.')");
    await check(page, "console-settings-link");
    // A visitor with the link registers.
    await page.goto(url);
    await check(page, "join");
    await page.getByLabel("Email address").fill("vera@example.com");
    await page.getByLabel("First name").fill("Vera");
    await page.getByLabel("Last name").fill("Visitor");
    await page.getByRole("button", { name: "Send me the link" }).click();
    await page.waitForSelector("text=Check your inbox");
    await check(page, "join-sent");
    await page.goto(`${base}/demo/admin/users`);
    await check(page, "console-users");
  });

  await story("an admin uploads an Excel file and downloads the report", browser, async (page) => {
    await signInAsAdmin(page, base);
    await page.goto(`${base}/demo/admin/imports`);
    await check(page, "console-imports");
    // The template, downloaded as the link offers it.
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download the template" }).click();
    const template = await download;
    expect(template.suggestedFilename() === "gatehouse-invitations.xlsx", "the template's name");
    // A file with two people, written by openpyxl as Excel users' tools do (the test script's
    // Python), else the template as it is (its example rows are then skipped).
    let file = readFileSync(await template.path());
    let expected = "Done: 2 rows; 0 invited, 2 skipped, 0 failed.";
    const python = process.env.GATEHOUSE_TEST_PYTHON;
    if (python) {
      const out = join(ARTIFACTS, "upload.xlsx");
      execFileSync(python, [
        "-c",
        "import openpyxl,sys; b=openpyxl.Workbook(); s=b.active; s.append(['Email','First name','Last name','Groups']); s.append(['carol@example.com','Carol','Row','Design']); s.append(['dan@example.com','Dan','Row','']); b.save(sys.argv[1])",
        out,
      ]);
      file = readFileSync(out);
      expected = "Done: 2 rows; 2 invited, 0 skipped, 0 failed.";
    }
    await page.getByRole("button", { name: "Start an import" }).click();
    await page.waitForURL(/\/demo\/admin\/imports\/[0-9a-f]{32}$/);
    await check(page, "console-import-waiting");
    await page.getByLabel("The filled-in file", { exact: false }).setInputFiles({
      name: "people.xlsx",
      mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      buffer: file,
    });
    await page.getByRole("button", { name: "Upload and import" }).click();
    await page.waitForSelector(`#import-status:has-text("${expected}")`, { timeout: 30000 });
    await check(page, "console-import-done");
    const report = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download the report" }).click();
    const saved = await report;
    expect(readFileSync(await saved.path()).subarray(0, 2).toString() === "PK", "the report is an xlsx");
  });

  await story("an invitee opens the emailed link and signs up", browser, async (page) => {
    const link = mailedLink(gatehouse, "alice@example.com");
    await page.goto(link);
    expect((await page.textContent(".lead")).includes("Ada Admin invited you to join Demo Organisation."), "who invites to what");
    await check(page, "sign-up");
    const password = page.locator("#password");
    await password.fill("short");
    expect((await page.textContent("#password-count")) === "5 of 12 characters", "the length is counted as it is typed");
    await password.fill("alice in wonderland");
    expect((await page.textContent("#password-count")) === "12 characters minimum ✓", "the minimum is reached");
    expect((await page.textContent("#password-warn")).includes("contains your name"), "the name rule is said before sending");
    await check(page, "sign-up-password-has-name");
    await password.fill("short");
    await page.getByRole("button", { name: "Create my account" }).click();
    await page.waitForSelector("#password-error");
    expect((await password.getAttribute("aria-invalid")) === "true", "the field is marked invalid");
    await check(page, "sign-up-password-too-short");
    await page.getByLabel("Show password").check();
    expect((await password.getAttribute("type")) === "text", "the password can be shown");
    await password.fill("through the looking glass");
    await page.getByRole("button", { name: "Create my account" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    expect((await page.textContent(".lead")).includes("Alice Liddell (alice@example.com)"), "signed in as Alice");
    await page.goto(link);
    expect((await page.textContent("h1")) === "You already have an account", "a used link says so");
    await check(page, "sign-up-link-used");
  });

  await story("an employee signs up with an access code, then signs in with uid:domain", browser, async (page) => {
    await api(base, "PATCH", "/settings", admin.token, { sign_up_without_email: true });
    // The admin invites by identifier in the console and reads the access code off the page.
    await signInAsAdmin(page, base);
    await page.goto(`${base}/demo/admin/invite`);
    // Only the field "How" names is shown.
    expect(await page.getByLabel("Email address").isVisible(), "by email: the email field");
    expect(!(await page.getByLabel("Identifier (letters and digits", { exact: false }).isVisible()), "by email: no identifier field");
    await page.getByLabel("By identifier", { exact: false }).check();
    expect(!(await page.getByLabel("Email address").isVisible()), "by identifier: no email field");
    await page.getByLabel("Identifier (letters and digits", { exact: false }).fill("E1234");
    await page.getByLabel("First name").fill("Emma");
    await page.getByLabel("Last name").fill("Ployee");
    await page.getByRole("button", { name: "Invite", exact: true }).click();
    await page.waitForSelector("#access-code");
    const code = (await page.textContent("#access-code")).trim();
    await check(page, "console-invited-by-identifier");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${base}/demo/sign-in`);
    await page.getByRole("link", { name: "Have an access code? Sign up with it" }).click();
    await page.waitForURL(`${base}/demo/sign-up/code`);
    await check(page, "sign-up-code");
    await page.getByLabel("Access code").fill(code.toLowerCase());
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForSelector("#identifier");
    expect((await page.textContent("#identifier")) === "E1234:demo", "the identifier is shown");
    await check(page, "sign-up-code-identifier");
    await page.locator("#password").fill("clockwork orange juice");
    await page.getByRole("button", { name: "Create my account" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email or identifier").fill("E1234:demo");
    await page.getByLabel("Password").fill("clockwork orange juice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    expect((await page.textContent(".lead")).includes("(E1234:demo)"), "signed in with the identifier");
  });

  await story(
    "a French browser sees French pages",
    browser,
    async (page) => {
      await page.goto(`${base}/demo/sign-in`);
      expect((await page.getAttribute("html", "lang")) === "fr", "lang=fr");
      expect((await page.textContent("h1")) === "Se connecter à Demo Organisation", "a French title");
      await check(page, "sign-in-fr");
      await page.goto(`${base}/demo/forgot-password`);
      await check(page, "forgot-password-fr");
      await page.getByRole("link", { name: "English" }).click();
      expect((await page.textContent("h1")) === "Forgot your password?", "switched to English");
    },
    { locale: "fr-FR" },
  );

  await story("a forgotten password is reset by email", browser, async (page) => {
    await page.goto(`${base}/demo/forgot-password`);
    await check(page, "forgot-password");
    await page.getByLabel("Email address").fill("alice@example.com");
    await page.getByRole("button", { name: "Send me the link" }).click();
    await page.waitForSelector("text=Check your inbox");
    await check(page, "forgot-password-sent");
    await page.goto(mailedLink(gatehouse, "alice@example.com"));
    await check(page, "reset-password");
    await page.locator("#password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Save the new password" }).click();
    await page.waitForSelector("text=Your password is changed");
    await check(page, "reset-password-done");
  });

  const app = await startRelyingParty(base, admin);
  try {
    await story("people sign in to an application through OpenID Connect", browser, async (page) => {
      await page.goto(`${app.url}/`);
      await page.getByRole("link", { name: "Sign in with Gatehouse" }).click();
      await page.waitForURL((u) => u.pathname === "/demo/oidc/authorize");
      expect((await page.textContent("main")).includes("to continue to Example app"), "the page names the application");
      await check(page, "oidc-sign-in");
      await page.getByLabel("Email or identifier").fill("admin@example.com");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${app.url}/callback?**`);
      expect((await page.textContent("h1")) === "Signed in as admin@example.com", `the app knows who: ${await page.textContent("body")}`);
      expect((await page.textContent("#who")).includes("admin of demo"), "role and organisation");
      // Signed in at Gatehouse already: straight back, no page.
      await page.goto(`${app.url}/login`);
      await page.waitForURL(`${app.url}/callback?**`);
      expect((await page.textContent("h1")) === "Signed in as admin@example.com", "again without a password");
      await page.getByRole("link", { name: "Refresh the tokens" }).click();
      await page.waitForURL(`${app.url}/refresh`);
      expect((await page.textContent("h1")) === "Signed in as admin@example.com", "the refreshed tokens verify");
    });

    await story("an employee and a guest sign in to the application as who they are", browser, async (page) => {
      // The employee of the access-code story signs in with uid:domain; a guest joins by email.
      await api(base, "POST", "/invitations", admin.token, {
        email: "guest@example.com",
        role: "guest",
        first_name: "Gus",
        last_name: "Guest",
      });
      const token = new URL(mailedLink(gatehouse, "guest@example.com")).searchParams.get("token");
      await api(base, "POST", "/sign-up/email", null, { token, password: "kettles boil at dawn" });
      for (const [identifier, password, username, role] of [
        ["E1234:demo", "clockwork orange juice", "E1234:demo", "member"],
        ["guest@example.com", "kettles boil at dawn", "guest@example.com", "guest"],
      ]) {
        await page.context().clearCookies();
        await page.goto(`${app.url}/login`);
        await page.getByLabel("Email or identifier").fill(identifier);
        await page.getByLabel("Password").fill(password);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL(`${app.url}/callback?**`);
        expect((await page.textContent("h1")) === `Signed in as ${username}`, `${identifier}: ${await page.textContent("body")}`);
        expect((await page.textContent("#who")).includes(`${role} of demo`), `${identifier} is a ${role}`);
      }
    });
  } finally {
    app.stop();
  }

  await story(
    "the pages fit a phone",
    browser,
    async (page) => {
      await api(base, "POST", "/invitations", admin.token, {
        email: "phone@example.com",
        role: "member",
        first_name: "Pat",
        last_name: "Mobile",
      });
      for (const [name, url] of [
        ["phone-sign-up", mailedLink(gatehouse, "phone@example.com")],
        ["phone-sign-in", `${base}/demo/sign-in`],
      ]) {
        await page.goto(url);
        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        expect(fits, `${name}: no sideways scrolling at 375 px`);
        await check(page, name);
      }
    },
    { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true },
  );

  for (const [width, height, suffix] of [
    [1280, 800, ""],
    [390, 844, "-phone"],
  ]) {
    await story(
      `an admin registers an application in the console at ${width} px`,
      browser,
      async (page) => {
        await signInAsAdmin(page, base);
        await page.goto(`${base}/demo/admin/applications`);
        await check(page, `console-applications${suffix}`);
        const form = page.locator(`form[action="/demo/admin/applications"]`);
        await form.getByLabel("Name people see when signing in").fill(`Console app ${width}`);
        await form.getByLabel("Redirect URIs", { exact: false }).fill(`https://console-${width}.example/callback`);
        await form.getByRole("button", { name: "Register" }).click();
        await page.waitForSelector("#client-secret");
        expect((await page.inputValue("#client-secret")).length >= 43, "the secret is shown once");
        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        expect(fits, `no sideways scrolling at ${width} px`);
        await check(page, `console-applications-registered${suffix}`);
      },
      { viewport: { width, height }, isMobile: width < 600, hasTouch: width < 600 },
    );
  }

  // Every console page (and one of each detail page, and one's own account) at a desktop's and
  // a phone's width: no sideways scrolling, axe clean, a screenshot.
  for (const [width, height, prefix] of [
    [1280, 800, "desktop"],
    [390, 844, "phone"],
  ]) {
    await story(
      `the console fits a ${prefix}`,
      browser,
      async (page) => {
        await signInAsAdmin(page, base);
        const pages = ["admin/invitations", "admin/invite", "admin/imports", "admin/users", "admin/activity", "admin/settings"];
        for (const part of pages) {
          await page.goto(`${base}/demo/${part}`);
          if (part === "admin/invitations" || part === "admin/imports" || part === "admin/users") {
            // The first detail page listed, visited after the list.
            const first = await page.locator(`table a[href^="/demo/${part}/"]`).first().getAttribute("href");
            pages.push(first.slice("/demo/".length));
          }
        }
        pages.push("account", "account/password");
        for (const part of pages) {
          await page.goto(`${base}/demo/${part}`);
          const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
          expect(fits, `${part}: no sideways scrolling at ${width} px`);
          const name = part.replace(/^admin\//, "").replace(/\/[0-9a-f]{32}$/, "-one").replace(/\//g, "-");
          await check(page, `${prefix}-console-${name}`);
        }
      },
      { viewport: { width, height }, isMobile: width < 600, hasTouch: width < 600 },
    );
  }

  for (const [width, height, suffix] of [
    [1280, 800, ""],
    [390, 844, "-phone"],
  ]) {
    await story(
      `an admin reads the activity, filters it and downloads it at ${width} px`,
      browser,
      async (page) => {
        await signInAsAdmin(page, base);
        await page.goto(`${base}/demo/admin/activity`);
        const kinds = await page.locator("table code").allTextContents();
        expect(kinds.includes("invitation.created") && kinds.includes("user.signed_in"), `the story so far: ${kinds}`);
        await check(page, `console-activity${suffix}`);
        await page.getByLabel("What").selectOption("user.signed_in");
        await page.getByRole("button", { name: "Show" }).click();
        await page.waitForURL(/type=user\.signed_in/);
        const filtered = await page.locator("table code").allTextContents();
        expect(filtered.length > 0 && filtered.every((k) => k === "user.signed_in"), `only sign-ins: ${filtered}`);
        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        expect(fits, `no sideways scrolling at ${width} px`);
        await check(page, `console-activity-filtered${suffix}`);
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Download as Excel" }).click(),
        ]);
        expect(download.suggestedFilename() === "gatehouse-activity.xlsx", `the file: ${download.suggestedFilename()}`);
      },
      { viewport: { width, height }, isMobile: width < 600, hasTouch: width < 600, acceptDownloads: true },
    );
  }

  /** Someone invited as `role` and signed up through the API: their email, id and session. */
  async function invitee(email, first_name, role) {
    await api(base, "POST", "/invitations", admin.token, { email, role, first_name, last_name: "Person" });
    const token = new URL(mailedLink(gatehouse, email)).searchParams.get("token");
    const signed = await api(base, "POST", "/sign-up/email", undefined, { token, password: PASSWORD });
    return { email, id: signed.user.id, token: signed.token };
  }

  /** A member invited and signed up through the API. */
  async function member(email, first_name) {
    return invitee(email, first_name, "member");
  }

  for (const [width, height, suffix] of [
    [1280, 800, ""],
    [390, 844, "-phone"],
  ]) {
    await story(
      `an admin manages a person from their page at ${width} px`,
      browser,
      async (page) => {
        const person = await member(`quinn${width}@example.com`, `Quinn${width}`);
        await signInAsAdmin(page, base);
        await page.goto(`${base}/demo/admin/users`);
        await page.getByLabel("Name or email begins with").fill(`quinn${width}`);
        await page.getByRole("button", { name: "Show" }).click();
        await page.waitForURL(/q=quinn/);
        expect((await page.locator("tbody tr").count()) === 1, "the search finds Quinn alone");
        await check(page, `console-users-filtered${suffix}`);
        await page.getByRole("link", { name: `Quinn${width} Person` }).click();
        await page.waitForURL(`${base}/demo/admin/users/${person.id}`);
        await check(page, `console-person${suffix}`);
        await page.getByLabel("Change the role").selectOption("guest");
        await page.getByRole("button", { name: "Change the role" }).click();
        await page.waitForSelector("text=is now guest");
        await page.getByRole("button", { name: "Deactivate…" }).click();
        await page.waitForSelector("text=Yes, deactivate");
        await check(page, `console-person-deactivate-confirm${suffix}`);
        await page.getByRole("button", { name: "Yes, deactivate" }).click();
        await page.waitForSelector("text=is deactivated and signed out everywhere");
        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        expect(fits, `no sideways scrolling at ${width} px`);
        await check(page, `console-person-deactivated${suffix}`);
        await page.getByRole("button", { name: "Reactivate" }).click();
        await page.waitForSelector("text=may sign in again");
        await page.getByRole("button", { name: "Erase…" }).click();
        await page.waitForSelector("text=Yes, erase");
        await check(page, `console-person-erase-confirm${suffix}`);
        await page.getByRole("button", { name: "Yes, erase" }).click();
        await page.waitForSelector("text=is erased");
        await check(page, `console-person-erased${suffix}`);
      },
      { viewport: { width, height }, isMobile: width < 600, hasTouch: width < 600 },
    );
  }

  await story("a person changes their email and confirms it from the mailed link", browser, async (page) => {
    const person = await member("rosa@example.com", "Rosa");
    await page.goto(`${base}/demo/sign-in`);
    await page.getByLabel("Email or identifier").fill(person.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    await page.getByRole("link", { name: "My account" }).click();
    await page.waitForURL(`${base}/demo/account`);
    await check(page, "account");
    await page.getByLabel("New email address").fill("rosa.new@example.com");
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByRole("button", { name: "Send a confirmation link" }).click();
    await page.waitForSelector("text=a link to confirm it is on its way");
    await check(page, "account-email-sent");
    await page.goto(mailedLink(gatehouse, "rosa.new@example.com"));
    expect((await page.textContent(".lead")).includes("rosa.new@example.com"), "the page names the new address");
    await check(page, "email-change-confirm");
    await page.getByRole("button", { name: "Confirm this address" }).click();
    await page.waitForSelector("text=Your email address is changed");
    await check(page, "email-change-done");
  });

  await story("an expired, withdrawn or mangled link explains itself", browser, async (page) => {
    const bob = await api(base, "POST", "/invitations", admin.token, {
      email: "bob@example.com",
      role: "guest",
      first_name: "Bob",
      last_name: "Builder",
    });
    await api(base, "DELETE", `/invitations/${bob.id}`, admin.token);
    await page.goto(mailedLink(gatehouse, "bob@example.com"));
    expect((await page.textContent("h1")) === "This invitation was withdrawn", "withdrawn");
    await check(page, "sign-up-link-withdrawn");
    await page.goto(`${base}/nowhere/sign-in`);
    await check(page, "organisation-not-found");
  });

  // The emails as mail programs show them: the HTML part rendered at a desktop's and a phone's
  // width, in light and dark mode, checked with axe, with no sideways scrolling on the phone.
  await story("the emails read well on a desktop and a phone", browser, async (page) => {
    await api(base, "POST", "/invitations", admin.token, {
      email: "mail.en@example.com", role: "member", first_name: "Hana", last_name: "Mail",
      message: "Welcome aboard!\nWe start on Monday.",
    });
    await api(base, "POST", "/invitations", admin.token, {
      email: "mail.fr@example.com", role: "guest", first_name: "Zoé", last_name: "Courrier", language: "fr",
      message: "Bienvenue\u202f! On commence lundi.",
    });
    await fetch(`${base}/v1/orgs/demo/password-reset`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "admin@example.com" }),
    });
    for (const [to, name] of [
      ["mail.en@example.com", "email-invitation-en"],
      ["mail.fr@example.com", "email-invitation-fr"],
      ["admin@example.com", "email-password-reset"],
    ]) {
      const mail = await (await fetch(`${base}/_local/outbox?to=${encodeURIComponent(to)}`)).json();
      expect(mail.from === "Demo Organisation", `${name} comes from the organisation, got ${mail.from}`);
      for (const [width, scheme] of [[1280, "light"], [390, "light"], [390, "dark"]]) {
        await page.setViewportSize({ width, height: 800 });
        await page.emulateMedia({ colorScheme: scheme });
        await page.setContent(mail.html, { waitUntil: "load" });
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${name} fits ${width} px`);
        const button = page.locator(`a[href="${mail.link}"]`).first();
        expect(await button.isVisible(), `${name}: the button is shown`);
        await check(page, `${name}-${width}${scheme === "dark" ? "-dark" : ""}`);
      }
    }
    const en = await (await fetch(`${base}/_local/outbox?to=mail.en%40example.com`)).json();
    expect(en.reply_to === "admin@example.com", `a reply reaches the inviter, got ${en.reply_to}`);
  });

  await secondFactorStories({
    story, check, expect, browser, base, admin, api, member, invitee, password: PASSWORD,
  });
  await passkeyStories({ story, check, expect, browser, startGatehouse, api, mailedLink, password: PASSWORD });
} finally {
  await browser.close();
  gatehouse.stop();
}

console.log(`\n${results.length} pages checked with axe-core; screenshots in ${ARTIFACTS}`);
for (const r of results) {
  console.log(`  ${r.page.padEnd(28)} serious ${r.serious}  minor ${r.minor.join(",") || "-"}  ${r.screenshot}`);
}
if (failures) {
  console.log(`${failures} stor${failures === 1 ? "y" : "ies"} failed`);
  process.exit(1);
}
