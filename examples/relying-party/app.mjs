// An application that signs people in through Gatehouse: OpenID Connect's code flow with PKCE,
// by openid-client (a certified relying party), which checks the ID token's signature against
// the issuer's JWKS, its issuer, audience, nonce and times, and the `iss` of the response.
//
//   GATEHOUSE_ISSUER=http://127.0.0.1:3000/demo CLIENT_ID=… CLIENT_SECRET=… node app.mjs
//
// Register it first (README, "Signing people into your platform") with the redirect URI
// http://127.0.0.1:4000/callback; then open http://127.0.0.1:4000/.
import { createServer } from "node:http";
import * as oidc from "openid-client";

const issuer = new URL(process.env.GATEHOUSE_ISSUER ?? "http://127.0.0.1:3000/demo");
const port = Number(process.env.PORT ?? 4000);
const here = `http://127.0.0.1:${port}`;
// Plain http is for the local run only (openid-client refuses it unless told).
const local = issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : undefined;
const config = await oidc.discovery(issuer, process.env.CLIENT_ID, process.env.CLIENT_SECRET, undefined, local);

const pending = new Map(); // state → { verifier, nonce } (one per sign-in under way)
let session = null; // the signed-in person's tokens (one visitor: an example)

const page = (res, status, body) =>
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><title>Example app</title>${body}`);
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function signedIn(res, tokens) {
  const claims = tokens.claims();
  const person = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  session = tokens;
  page(res, 200, `<h1>Signed in as ${escape(person.preferred_username)}</h1>
    <p id="who">${escape(person.name ?? "")}, ${escape(claims.role)} of ${escape(claims.org)}</p>
    <pre id="claims">${escape(JSON.stringify({ id_token: claims, userinfo: person }, null, 2))}</pre>
    <p><a href="/refresh">Refresh the tokens</a></p>`);
}

createServer(async (req, res) => {
  const url = new URL(req.url, here);
  try {
    if (url.pathname === "/") {
      page(res, 200, `<h1>Example app</h1><p><a href="/login">Sign in with Gatehouse</a></p>`);
    } else if (url.pathname === "/login") {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      pending.set(state, { verifier, nonce });
      const to = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${here}/callback`,
        scope: "openid profile email offline_access",
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state,
        nonce,
      });
      res.writeHead(302, { location: to.href }).end();
    } else if (url.pathname === "/callback") {
      const state = url.searchParams.get("state");
      const started = pending.get(state);
      pending.delete(state);
      if (!started) return page(res, 400, "<h1>Unknown sign-in</h1>");
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: started.verifier,
        expectedState: state,
        expectedNonce: started.nonce,
      });
      await signedIn(res, tokens);
    } else if (url.pathname === "/refresh" && session) {
      await signedIn(res, await oidc.refreshTokenGrant(config, session.refresh_token));
    } else {
      page(res, 404, "<h1>Not here</h1>");
    }
  } catch (e) {
    page(res, 502, `<h1>Sign-in failed</h1><p id="error">${escape(e.name)}: ${escape(e.message)} ${escape(e.cause?.error ?? "")}</p>`);
  }
}).listen(port, "127.0.0.1", () => console.log(`example app on ${here} (issuer ${issuer.href})`));
