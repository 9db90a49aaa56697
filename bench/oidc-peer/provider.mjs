// The OpenID Connect benchmark's peer: node oidc-provider (certified; what many pick instead of
// Gatehouse) set up with Gatehouse's flow — the code flow with PKCE S256 required, RS256 (an RSA
// 2048 key), RFC 9068 JWT access tokens of 10 minutes, ID tokens of 15, codes of 60 s, refresh
// tokens that rotate on every use, client_secret_basic — on its default in-memory storage.
//
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… node provider.mjs
//
// One account, "bench", signs in through the provider's development interactions (login, then
// consent once: the grant is remembered for the session).
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "bench-1", alg: "RS256", use: "sig" };
const resource = "https://platform.bench.test";

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "offline_access"],
  claims: {
    openid: ["sub"],
    profile: ["given_name", "family_name", "name", "locale", "preferred_username"],
    email: ["email", "email_verified"],
  },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      given_name: "Bench",
      family_name: "Person",
      name: "Bench Person",
      locale: "en",
      preferred_username: "bench@example.com",
      email: "bench@example.com",
      email_verified: true,
    }),
  }),
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // JWT access tokens (RFC 9068), as Gatehouse issues them, for one resource server.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "openid profile email offline_access",
        audience: resource,
        accessTokenFormat: "jwt",
        accessTokenTTL: 600,
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 900,
    RefreshToken: 30 * 24 * 3600,
    Grant: 90 * 24 * 3600,
    Session: 12 * 3600,
    Interaction: 600,
  },
  // Consent is asked once; later authorizations of the same session reuse the grant.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
});
provider.on("server_error", (_ctx, e) => console.error("server_error", e));
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider on ${issuer}`));
