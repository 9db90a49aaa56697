// Second factors in the browser: a person sets up an authenticator app in My account (its QR
// code and key), keeps the recovery codes, signs out and signs in again with the app's code; the
// organisation requires an app of admins and a new admin sets one up at sign-in; an admin removes a
// lost phone's app. The codes come from pyotp (GATEHOUSE_TEST_PYTHON, as scripts/test installs
// it), fed the key the page shows, as a phone's app is. Each page is screenshotted at a desktop's
// and a phone's width and checked with axe.

import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const PYTHON = process.env.GATEHOUSE_TEST_PYTHON ?? resolve(".venv-test/bin/python");

/** The code an app holding `key` shows `ago` seconds before now. */
function appCode(key, ago = 0) {
  return execFileSync(PYTHON, [
    "-c",
    "import sys, time, pyotp; print(pyotp.TOTP(sys.argv[1]).at(int(time.time()) - int(sys.argv[2])))",
    key,
    String(ago),
  ]).toString().trim();
}

/** The key the enrolment page shows, as typed into an app. */
async function shownKey(page) {
  return (await page.textContent("#secret")).replace(/\s+/g, "");
}

export async function secondFactorStories({ story, check, expect, browser, base, admin, api, member, invitee, password }) {
  async function signIn(page, email) {
    await page.goto(`${base}/demo/sign-in`);
    await page.getByLabel("Email or identifier").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  for (const [width, height, suffix] of [
    [1280, 800, ""],
    [390, 844, "-phone"],
  ]) {
    await story(
      `a person sets up an authenticator app and signs in with it at ${width} px`,
      browser,
      async (page) => {
        const person = await member(`tess${width}@example.com`, `Tess${width}`);
        await signIn(page, person.email);
        await page.waitForURL(`${base}/demo/welcome`);
        await page.goto(`${base}/demo/account`);
        await check(page, `account-security${suffix}`);
        await page.locator("#totp_password").fill(password);
        await page.getByRole("button", { name: "Set up an authenticator app" }).click();
        await page.waitForSelector("figure.qr svg");
        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        expect(fits, `no sideways scrolling at ${width} px`);
        await check(page, `totp-enrol${suffix}`);
        const key = await shownKey(page);
        // The code of the step before now: the sign-in below uses this step's.
        await page.getByLabel("Code", { exact: true }).fill(appCode(key, 30));
        await page.getByRole("button", { name: "Verify" }).click();
        await page.waitForSelector("#recovery-codes");
        expect((await page.locator("#recovery-codes li").count()) === 10, "ten recovery codes");
        await check(page, `recovery-codes${suffix}`);
        await page.getByRole("link", { name: "I have kept them: continue" }).click();
        await page.waitForURL(`${base}/demo/account`);
        expect((await page.textContent("main")).includes("Recovery codes left: 10"), "the app is on");
        await page.goto(`${base}/demo/welcome`);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(`${base}/demo/sign-in`);

        await signIn(page, person.email);
        await page.waitForSelector("text=Enter the 6-digit code");
        await check(page, `sign-in-code${suffix}`);
        await page.getByLabel("Code", { exact: true }).fill("000000");
        await page.getByRole("button", { name: "Verify" }).click();
        await page.waitForSelector("#code-error");
        await check(page, `sign-in-code-wrong${suffix}`);
        await page.getByText("Lost your phone? Use a recovery code").click();
        await check(page, `sign-in-recovery-code${suffix}`);
        await page.getByLabel("Code", { exact: true }).fill(appCode(key));
        await page.getByRole("button", { name: "Verify" }).click();
        await page.waitForURL(`${base}/demo/welcome`);
      },
      { viewport: { width, height }, isMobile: width < 600, hasTouch: width < 600 },
    );
  }

  await story("the organisation requires an app of admins and a new admin sets one up at sign-in", browser, async (page) => {
    await api(base, "PATCH", "/settings", admin.token, { mfa_required_for: ["admin"] });
    try {
      // Invitations make members or guests; an admin then makes Gina one.
      const newAdmin = await invitee("gina@example.com", "Gina", "member");
      await api(base, "PATCH", `/users/${newAdmin.id}`, admin.token, { role: "admin" });
      await signIn(page, newAdmin.email);
      await page.waitForSelector("figure.qr svg");
      expect((await page.textContent("h1")) === "Set up an authenticator app", "the enrolment comes first");
      await check(page, "sign-in-enrol");
      const key = await shownKey(page);
      await page.getByLabel("Code", { exact: true }).fill(appCode(key));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForSelector("#recovery-codes");
      await page.getByRole("link", { name: "I have kept them: continue" }).click();
      await page.waitForURL(`${base}/demo/welcome`);
    } finally {
      await api(base, "PATCH", "/settings", admin.token, { mfa_required_for: [] });
    }
  });

  await story("an admin removes the authenticator app of someone who lost their phone", browser, async (page) => {
    const person = await member("lost.phone@example.com", "Lou");
    const started = await api(base, "POST", `/users/${person.id}/totp`, person.token, { current_password: password });
    const key = new URL(started.otpauth_uri).searchParams.get("secret");
    await api(base, "POST", `/users/${person.id}/totp/confirm`, person.token, { code: appCode(key) });
    await page.goto(`${base}/demo/sign-in`);
    await page.getByLabel("Email or identifier").fill("admin@example.com");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/demo/welcome`);
    await page.goto(`${base}/demo/admin/users/${person.id}`);
    await check(page, "console-user-second-factor");
    await page.getByRole("button", { name: "Remove the authenticator app…" }).click();
    await page.waitForSelector("text=Remove the authenticator app of Lou Person?");
    await check(page, "console-remove-totp-confirm");
    await page.getByRole("button", { name: "Yes, remove it" }).click();
    await page.waitForSelector("text=is removed");
    const mail = await (await fetch(`${base}/_local/outbox?to=lost.phone%40example.com`)).json();
    expect(mail.subject.includes("second factor was removed"), `she is told: ${mail.subject}`);
  });
}
