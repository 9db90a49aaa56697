// Passkeys in the browser, made and used by Chromium's virtual authenticator (the DevTools
// protocol's WebAuthn domain: a platform authenticator with resident keys and user verification):
// a person adds a passkey in My account, signs out and signs in with it alone, at a desktop's and
// a phone's width; the organisation requires a second factor of admins and an admin's password is
// then finished by their passkey; and what a careful relying party refuses: a replayed assertion,
// an assertion made at another origin, a credential made for another RP ID, and a cloned
// authenticator whose signature counter goes back. The local run is visited at
// http://localhost:… (browsers refuse an IP address as a relying party's id).

import { createServer } from "node:http";

/** A platform authenticator that holds passkeys and verifies its user, in this page's browser. */
async function authenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    id: authenticatorId,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
  };
}

/** A page of another origin on this machine (same host name, another port). */
async function otherOrigin() {
  const server = createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><html lang=en><title>Another site</title><h1>Another site</h1></html>");
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { port: server.address().port, close: () => server.close() };
}

/** In the page: the browser makes (`create`) or uses (`get`) a credential with `publicKey`. */
async function ceremony(page, kind, publicKey) {
  return page.evaluate(
    async ({ kind, publicKey }) => {
      const credential =
        kind === "create"
          ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) })
          : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey) });
      return credential.toJSON();
    },
    { kind, publicKey },
  );
}

export async function passkeyStories({ story, check, expect, browser, startGatehouse, api, mailedLink, password }) {
  const gatehouse = await startGatehouse({ host: "localhost" });
  const { base } = gatehouse;
  const call = (method, path, token, body) => api(gatehouse.api, method, path, token, body);
  /** The status and problem code (or body) of a request that may be refused. */
  async function attempt(method, path, token, body) {
    const response = await fetch(`${gatehouse.api}/v1/orgs/demo${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }
  try {
    const admin = await call("POST", "/sign-in", null, { identifier: "admin@example.com", password });
    async function member(email, first_name) {
      await call("POST", "/invitations", admin.token, { email, role: "member", first_name, last_name: "Person" });
      const token = new URL(mailedLink(gatehouse, email)).searchParams.get("token");
      const signed = await call("POST", "/sign-up/email", undefined, { token, password });
      return { email, id: signed.user.id, token: signed.token };
    }
    async function signInWithPassword(page, email) {
      await page.goto(`${base}/demo/sign-in`);
      await page.getByLabel("Email or identifier").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
    }

    for (const [width, height, suffix] of [
      [1280, 800, ""],
      [390, 844, "-phone"],
    ]) {
      await story(
        `a person adds a passkey and signs in with it alone at ${width} px`,
        browser,
        async (page) => {
          const person = await member(`pia${width}@example.com`, `Pia${width}`);
          const device = await authenticator(page);
          await signInWithPassword(page, person.email);
          await page.waitForURL(`${base}/demo/welcome`);
          await page.goto(`${base}/demo/account`);
          await page.getByLabel("Name of the new passkey").fill("Work laptop");
          await check(page, `account-passkeys${suffix}`);
          // A password typed is checked (signed in more than 10 minutes ago, it is asked for).
          await page.locator("#passkey_password").fill("not my password");
          page.expectRefusal("/demo/account/passkeys/options", 422);
          await page.getByRole("button", { name: "Add a passkey" }).click();
          await page.waitForSelector("[data-passkey-status]:has-text('The current password is wrong.')");
          expect((await device.credentials()).length === 0, "no passkey made with a wrong password");
          await page.locator("#passkey_password").fill("");
          await page.getByRole("button", { name: "Add a passkey" }).click();
          await page.waitForSelector("text=Your passkey “Work laptop” is added");
          expect((await device.credentials()).length === 1, "the authenticator holds one passkey");
          const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
          expect(fits, `no sideways scrolling at ${width} px`);
          await check(page, `account-passkey-added${suffix}`);
          const listed = await call("GET", `/users/${person.id}/passkeys`, admin.token);
          expect(listed.passkeys.length === 1 && listed.passkeys[0].name === "Work laptop", "the API lists it by name");

          await page.goto(`${base}/demo/welcome`);
          await page.getByRole("button", { name: "Sign out" }).click();
          await page.goto(`${base}/demo/sign-in`);
          await check(page, `sign-in-passkey${suffix}`);
          await page.getByRole("button", { name: "Use a passkey" }).click();
          await page.waitForURL(`${base}/demo/welcome`);
          await page.goto(`${base}/demo/account`);
          await page.waitForSelector("text=last used");
          const used = await call("GET", `/users/${person.id}/passkeys`, admin.token);
          expect(used.passkeys[0].last_used_at, "its last use is kept");
        },
        { viewport: { width, height } },
      );
    }

    await story("a French page offers passkeys in French", browser, async (page) => {
      await page.goto(`${base}/demo/sign-in`);
      await authenticator(page);
      await page.goto(`${base}/demo/sign-in`);
      await page.getByRole("button", { name: "Utiliser une clé d'accès" }).waitFor();
      await check(page, "sign-in-passkey-fr");
    }, { locale: "fr-FR" });

    await story("without WebAuthn the sign-in page shows no passkey button", browser, async (page) => {
      await page.addInitScript(() => { delete window.PublicKeyCredential; });
      await page.goto(`${base}/demo/sign-in`);
      expect(!(await page.getByRole("button", { name: "Use a passkey" }).isVisible()), "the button stays hidden");
      expect(await page.getByRole("button", { name: "Sign in", exact: true }).isVisible(), "the password form is there");
    });

    await story("an admin removes a lost passkey from a person's page", browser, async (page) => {
      const person = await member("lou@example.com", "Lou");
      await authenticator(page);
      await page.goto(`${base}/demo/sign-in`);
      const flow = await call("POST", `/users/${person.id}/passkeys/registration`, person.token, {});
      const credential = await ceremony(page, "create", flow.publicKey);
      await call("POST", `/users/${person.id}/passkeys`, person.token, { flow: flow.flow, credential, name: "Lost phone" });
      await signInWithPassword(page, "admin@example.com");
      await page.waitForURL(`${base}/demo/welcome`);
      await page.goto(`${base}/demo/admin/users/${person.id}`);
      await check(page, "console-person-passkeys");
      await page.getByRole("button", { name: "Remove the passkey Lost phone…" }).click();
      await check(page, "console-remove-passkey-confirm");
      await page.getByRole("button", { name: "Yes, remove it" }).click();
      await page.waitForSelector("text=The passkey of Lou Person is removed.");
      const left = await call("GET", `/users/${person.id}/passkeys`, admin.token);
      expect(left.passkeys.length === 0, "no passkey left");
      const mail = await (await fetch(`${gatehouse.api}/_local/outbox?to=lou%40example.com`)).json();
      expect(JSON.stringify(mail).includes("Lost phone"), "Lou is told which passkey went");
    });

    await story("the policy asks admins for a second factor and a passkey gives it", browser, async (page) => {
      const device = await authenticator(page);
      await page.goto(`${base}/demo/sign-in`);
      // The admin's session is older than the story: the password is asked for.
      const flow = await call("POST", `/users/${admin.user.id}/passkeys/registration`, admin.token, { current_password: password });
      const credential = await ceremony(page, "create", flow.publicKey);
      await call("POST", `/users/${admin.user.id}/passkeys`, admin.token, { flow: flow.flow, credential, name: "Admin key" });
      await call("PATCH", "/settings", admin.token, { mfa_required_for: ["admin"] });
      const step = await call("POST", "/sign-in", null, { identifier: "admin@example.com", password });
      expect(step.mfa_required === true && !step.token, "the password alone opens no session");
      expect(JSON.stringify(step.methods) === '["passkey"]', `the passkey finishes it, got ${JSON.stringify(step.methods)}`);
      await signInWithPassword(page, "admin@example.com");
      await page.getByRole("button", { name: "Use a passkey" }).waitFor();
      expect(!(await page.locator("[data-without-passkeys]").isVisible()), "no 'this browser cannot use passkeys' where it can");
      await check(page, "sign-in-mfa-passkey");
      await page.getByRole("button", { name: "Use a passkey" }).click();
      await page.waitForURL(`${base}/demo/welcome`);
      expect((await device.credentials()).length === 1, "one passkey in the authenticator");
      await call("PATCH", "/settings", admin.token, { mfa_required_for: [] });
    });

    await story("replayed, foreign and cloned passkey assertions are refused", browser, async (page) => {
      const person = await member("rex@example.com", "Rex");
      const device = await authenticator(page);
      await page.goto(`${base}/demo/sign-in`);
      const flow = await call("POST", `/users/${person.id}/passkeys/registration`, person.token, {});
      const created = await ceremony(page, "create", flow.publicKey);
      const added = await call("POST", `/users/${person.id}/passkeys`, person.token, { flow: flow.flow, credential: created, name: "Phone" });
      expect(added.name === "Phone", "registered");
      const reused = await attempt("POST", `/users/${person.id}/passkeys`, person.token, { flow: flow.flow, credential: created, name: "Again" });
      expect(reused.status === 422 && reused.body.code === "invalid_passkey_flow", `a registration flow works once, got ${reused.status} ${reused.body?.code}`);

      // A sign-in, then the same assertion again: its flow is spent; with a new flow, its
      // challenge is not the new one.
      const first = await call("POST", "/sign-in/passkey/options", null, {});
      const assertion = await ceremony(page, "get", first.publicKey);
      const session = await call("POST", "/sign-in/passkey", null, { flow: first.flow, credential: assertion });
      expect(session.token && session.user.id === person.id, "the passkey signs Rex in");
      const replay = await attempt("POST", "/sign-in/passkey", null, { flow: first.flow, credential: assertion });
      expect(replay.status === 401 && replay.body.code === "invalid_passkey_flow", `a replay is refused, got ${replay.status} ${replay.body?.code}`);
      const fresh = await call("POST", "/sign-in/passkey/options", null, {});
      const stale = await attempt("POST", "/sign-in/passkey", null, { flow: fresh.flow, credential: assertion });
      expect(stale.status === 401 && stale.body.code === "invalid_passkey", `an old challenge is refused, got ${stale.status} ${stale.body?.code}`);

      // The same passkey used by a page of another origin (same host, another port).
      const other = await otherOrigin();
      try {
        await page.goto(`http://localhost:${other.port}/`);
        const foreign = await call("POST", "/sign-in/passkey/options", null, {});
        const elsewhere = await ceremony(page, "get", foreign.publicKey);
        const refused = await attempt("POST", "/sign-in/passkey", null, { flow: foreign.flow, credential: elsewhere });
        expect(refused.status === 401 && refused.body.code === "invalid_passkey", `another origin is refused, got ${refused.status} ${refused.body?.code}`);
        // A credential made for another RP ID (the other site's own name).
        await page.goto(`http://other.localhost:${other.port}/`);
        const again = await call("POST", `/users/${person.id}/passkeys/registration`, person.token, {});
        const foreignKey = await ceremony(page, "create", { ...again.publicKey, rp: { ...again.publicKey.rp, id: "other.localhost" } });
        const foreignAdd = await attempt("POST", `/users/${person.id}/passkeys`, person.token, { flow: again.flow, credential: foreignKey, name: "Elsewhere" });
        expect(foreignAdd.status === 422 && foreignAdd.body.code === "invalid_passkey", `another RP ID is refused, got ${foreignAdd.status} ${foreignAdd.body?.code}`);
      } finally {
        other.close();
      }

      // A clone: the same key in an authenticator whose counter is behind the one Gatehouse saw.
      await page.goto(`${base}/demo/sign-in`);
      const [held] = (await device.credentials()).filter((c) => c.rpId === "localhost");
      expect(held.signCount >= 1, `the authenticator counts its signatures, got ${held.signCount}`);
      await device.cdp.send("WebAuthn.removeCredential", { authenticatorId: device.id, credentialId: held.credentialId });
      await device.cdp.send("WebAuthn.addCredential", { authenticatorId: device.id, credential: { ...held, signCount: 0 } });
      const cloned = await call("POST", "/sign-in/passkey/options", null, {});
      const copy = await ceremony(page, "get", cloned.publicKey);
      const refusedCopy = await attempt("POST", "/sign-in/passkey", null, { flow: cloned.flow, credential: copy });
      expect(refusedCopy.status === 401 && refusedCopy.body.code === "invalid_passkey", `a counter that goes back is refused, got ${refusedCopy.status} ${refusedCopy.body?.code}`);
      expect(gatehouse.lines.some((l) => l.includes("signature counter went back")), "and logged");
    });
  } finally {
    gatehouse.stop();
  }
}
