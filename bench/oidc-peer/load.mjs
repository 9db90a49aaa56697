// The OpenID Connect benchmark's load generator: the same flow against Gatehouse and against node
// oidc-provider, side by side, from one process, one provider at a time.
//
//   node load.mjs <gatehouse-local binary>
//
// For each provider: the person signs in once (Gatehouse's hosted page; oidc-provider's login
// and consent interactions); then batches of codes are minted through the authorization endpoint
// with the session (not timed) and exchanged at the token endpoint by CONCURRENCY clients
// (timed: exchanges per second, p50/p99); then each client refreshes its own grant REFRESHES
// times in a row (timed). Peak RSS of each server is read from /proc at the end.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const EXCHANGES = Number(process.env.EXCHANGES ?? 2000);
const BATCH = 250;
const REFRESHES = Number(process.env.REFRESHES ?? 250);
const REDIRECT_URI = "https://app.bench.test/callback";
const PASSWORD = "a benchmark's long passphrase";

const b64url = (buf) => buf.toString("base64url");
const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/** Cookies by name (the flows here need no path or domain rules). */
class Jar {
  cookies = new Map();
  keep(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      if (attrs.some((a) => /max-age=0\b/i.test(a.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

async function call(jar, url, init = {}) {
  const response = await fetch(url, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers ?? {}), cookie: jar.header() },
  });
  jar.keep(response);
  return response;
}

function form(html) {
  const fields = new Map();
  for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields.set(m[1].replaceAll("&#x3a;", ":").replaceAll("&#58;", ":"), m[2].replaceAll("&amp;", "&").replaceAll("&#x2f;", "/"));
  }
  const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
  return { fields, action: action?.replaceAll("&amp;", "&") };
}

function authorizeUrl(issuer, clientId) {
  const verifier = b64url(randomBytes(32));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: "openid profile email offline_access",
    state: b64url(randomBytes(8)),
    nonce: b64url(randomBytes(8)),
    code_challenge: b64url(createHash("sha256").update(verifier).digest()),
    code_challenge_method: "S256",
    prompt: "consent",
  });
  return { params, verifier };
}

/** Follows the provider's own redirects until the one back to the application: its code. */
async function followToCode(jar, base, response) {
  for (let hops = 0; hops < 10; hops++) {
    const location = response.headers.get("location");
    if (!location) throw new Error(`no redirect: ${response.status} ${(await response.text()).slice(0, 300)}`);
    if (location.startsWith(REDIRECT_URI)) {
      const code = new URL(location).searchParams.get("code");
      if (!code) throw new Error(`no code: ${location}`);
      return code;
    }
    response = await call(jar, new URL(location, base).href);
    if (response.status === 200) return { page: await response.text(), url: response.url || location };
  }
  throw new Error("too many redirects");
}

const providers = {
  gatehouse: {
    authorize: (issuer) => `${issuer}/oidc/authorize`,
    token: (issuer) => `${issuer}/oidc/token`,
    /** Signs in through the hosted page: the first code. */
    async signIn(p) {
      const { params, verifier } = authorizeUrl(p.issuer, p.clientId);
      const page = await (await call(p.jar, `${this.authorize(p.issuer)}?${params}`)).text();
      const { fields } = form(page);
      fields.set("identifier", "admin@example.com");
      fields.set("password", PASSWORD);
      const response = await call(p.jar, this.authorize(p.issuer), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(p.issuer).origin },
        body: new URLSearchParams([...fields]),
      });
      return { code: await followToCode(p.jar, p.issuer, response), verifier };
    },
  },
  "oidc-provider": {
    authorize: (issuer) => `${issuer}/auth`,
    token: (issuer) => `${issuer}/token`,
    /** Login and consent through the development interactions: the first code. */
    async signIn(p) {
      const { params, verifier } = authorizeUrl(p.issuer, p.clientId);
      let step = await followToCode(p.jar, p.issuer, await call(p.jar, `${this.authorize(p.issuer)}?${params}`));
      for (const [fill] of [[{ login: "bench", password: "x" }], [{}]]) {
        const { fields, action } = form(step.page);
        for (const [k, v] of Object.entries(fill)) fields.set(k, v);
        const response = await call(p.jar, new URL(action, p.issuer).href, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams([...fields]),
        });
        step = await followToCode(p.jar, p.issuer, response);
        if (typeof step === "string") return { code: step, verifier };
      }
      throw new Error("no code after login and consent");
    },
  },
};

async function mintCode(p) {
  const { params, verifier } = authorizeUrl(p.issuer, p.clientId);
  params.delete("prompt");
  const code = await followToCode(p.jar, p.issuer, await call(p.jar, `${p.kind.authorize(p.issuer)}?${params}`));
  if (typeof code !== "string") throw new Error("the session did not give a code straight away");
  return { code, verifier };
}

async function tokenRequest(p, body) {
  const started = process.hrtime.bigint();
  const response = await fetch(p.kind.token(p.issuer), {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${p.clientId}:${p.clientSecret}`).toString("base64")}`,
    },
    body: new URLSearchParams(body),
  });
  const json = await response.json();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!response.ok) throw new Error(`token ${response.status}: ${JSON.stringify(json)}`);
  return { json, ms };
}

const exchange = (p, { code, verifier }) =>
  tokenRequest(p, { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier });

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timed(tasks) {
  const latencies = [];
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < tasks.length) {
        const task = tasks[next++];
        latencies.push((await task()).ms);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, seconds, latencies };
}

function summary(name, what, runs) {
  const all = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const rate = all.length / seconds;
  console.log(
    `${name.padEnd(14)} ${what.padEnd(10)} ${String(all.length).padStart(5)} in ${seconds.toFixed(2)} s: ${rate.toFixed(0).padStart(5)}/s  p50 ${percentile(all, 0.5).toFixed(2)} ms  p99 ${percentile(all, 0.99).toFixed(2)} ms`,
  );
}

/** The server's CPU time so far (user + system), in seconds. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function peakKib(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmHWM:\s+(\d+)/)[1]);
}

async function waitUp(url, child) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    if (child.exitCode !== null) throw new Error(`${url}: the server exited`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function startGatehouse(binary) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), "gatehouse-oidc-bench-"));
  const child = spawn(resolve(binary), [], {
    env: {
      ...process.env,
      GATEHOUSE_ADDR: `127.0.0.1:${port}`,
      GATEHOUSE_DATA_DIR: data,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
      GATEHOUSE_CLEANUP_EVERY_SECS: "0",
      RUST_LOG: "error",
    },
    stdio: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(`${base}/openapi.json`, child);
  const api = async (path, token, body) =>
    (await fetch(`${base}/v1/orgs/demo${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })).json();
  const admin = await api("/sign-in", null, { identifier: "admin@example.com", password: PASSWORD });
  const client = await api("/clients", admin.token, { name: "Bench", type: "confidential", redirect_uris: [REDIRECT_URI] });
  return {
    issuer: `${base}/demo`,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    child,
    stop: () => {
      child.kill();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

async function startPeer() {
  const port = await freePort();
  const clientId = "bench-client";
  const clientSecret = b64url(randomBytes(32));
  const child = spawn(process.execPath, [resolve(import.meta.dirname, "provider.mjs")], {
    env: { ...process.env, PORT: String(port), CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REDIRECT_URI, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const issuer = `http://127.0.0.1:${port}`;
  await waitUp(`${issuer}/.well-known/openid-configuration`, child);
  return { issuer, clientId, clientSecret, child, stop: () => child.kill() };
}

async function measure(name, server) {
  const p = { ...server, kind: providers[name], jar: new Jar() };
  try {
    const first = await p.kind.signIn(p);
    const sample = await exchange(p, first);
    const parts = sample.json.access_token.split(".").length;
    console.log(`${name.padEnd(14)} access tokens are ${parts === 3 ? "JWTs" : "opaque"}; ID tokens ${JSON.parse(Buffer.from(sample.json.id_token.split(".")[0], "base64url")).alg}`);
    // Warm up.
    for (let i = 0; i < 50; i++) await exchange(p, await mintCode(p));
    const exchanges = [];
    let exchangeCpu = 0;
    for (let done = 0; done < EXCHANGES; done += BATCH) {
      const codes = [];
      for (let i = 0; i < BATCH; i++) codes.push(await mintCode(p));
      const cpuBefore = cpuSeconds(server.child.pid);
      exchanges.push(
        await timed(
          codes.map((c) => () => exchange(p, c)),
        ),
      );
      exchangeCpu += cpuSeconds(server.child.pid) - cpuBefore;
    }
    summary(name, "exchanges", exchanges);
    console.log(`${name.padEnd(14)} server CPU ${((exchangeCpu / EXCHANGES) * 1000).toFixed(2)} ms an exchange (${(EXCHANGES / exchangeCpu).toFixed(0)} a second per core)`);
    // Each client refreshes its own grant (its own sign-in), one refresh after the other.
    const chains = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const own = { ...p, jar: new Jar() };
      const r = await exchange(own, await own.kind.signIn(own));
      chains.push(r.json.refresh_token);
    }
    const latencies = [];
    const refreshCpuBefore = cpuSeconds(server.child.pid);
    const started = process.hrtime.bigint();
    await Promise.all(
      chains.map(async (token) => {
        for (let i = 0; i < REFRESHES; i++) {
          const r = await tokenRequest(p, { grant_type: "refresh_token", refresh_token: token });
          token = r.json.refresh_token;
          latencies.push(r.ms);
        }
      }),
    );
    const refreshes = { count: latencies.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies };
    summary(name, "refreshes", [refreshes]);
    const refreshCpu = cpuSeconds(server.child.pid) - refreshCpuBefore;
    console.log(`${name.padEnd(14)} server CPU ${((refreshCpu / latencies.length) * 1000).toFixed(2)} ms a refresh (${(latencies.length / refreshCpu).toFixed(0)} a second per core)`);
    console.log(`${name.padEnd(14)} peak RSS   ${(peakKib(server.child.pid) / 1024).toFixed(1)} MiB`);
  } finally {
    server.stop();
  }
}

const binary = process.argv[2] ?? "target/release/gatehouse-local";
console.log(`${CONCURRENCY} clients at a time; ${EXCHANGES} exchanges in batches of ${BATCH}; ${REFRESHES} refreshes per client`);
await measure("gatehouse", await startGatehouse(binary));
await measure("oidc-provider", await startPeer());
