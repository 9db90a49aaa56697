// The passkey benchmark's peer: SimpleWebAuthn's server library (node) checks the very
// assertion Gatehouse's ceremonies check in bench/src/bin/passkey_verify.rs, which writes it
// and runs this script after its own figures:
//
//   node bench/passkey-peer/verify.mjs FIXTURE.json CHECKS
//
// The fixture holds the registration (its credential and challenge) and one assertion (its
// credential and challenge) made by one software authenticator for one origin. The registration
// is checked once for the public key; the assertion is then checked CHECKS times, one at a time,
// with the same rules as Gatehouse's: the origin, the RP ID, user verification required. The
// stored counter given is 0, so checking the same assertion again is not refused as a replay
// (Gatehouse's check is given a passkey whose counter it has not seen move, the same).
import { readFileSync } from "node:fs";
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";

const [fixturePath, checksArg] = process.argv.slice(2);
const checks = Number(checksArg ?? 2000);
const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
const peer = JSON.parse(
  readFileSync(new URL("./node_modules/@simplewebauthn/server/package.json", import.meta.url), "utf8"),
);

const registered = await verifyRegistrationResponse({
  response: fixture.registration.credential,
  expectedChallenge: fixture.registration.challenge,
  expectedOrigin: fixture.origin,
  expectedRPID: fixture.rp_id,
  requireUserVerification: true,
});
if (!registered.verified) throw new Error("the peer refused the registration");
const credential = { ...registered.registrationInfo.credential, counter: 0 };

const micros = (start) => Number(process.hrtime.bigint() - start) / 1000;
const percentiles = (samples) => {
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))];
  return [at(0.5), at(0.95)];
};
const line = (what, samples) => {
  const [p50, p95] = percentiles(samples);
  console.log(
    `  ${what.padEnd(50)} ${String(samples.length).padStart(5)}  p50 ${p50.toFixed(1).padStart(8)} µs  p95 ${p95.toFixed(1).padStart(8)} µs`,
  );
};

const optionTimes = [];
for (let i = 0; i < checks; i++) {
  const began = process.hrtime.bigint();
  await generateAuthenticationOptions({ rpID: fixture.rp_id, userVerification: "required" });
  optionTimes.push(micros(began));
}

const checkTimes = [];
for (let i = 0; i < checks; i++) {
  const began = process.hrtime.bigint();
  const checked = await verifyAuthenticationResponse({
    response: fixture.assertion.credential,
    expectedChallenge: fixture.assertion.challenge,
    expectedOrigin: fixture.origin,
    expectedRPID: fixture.rp_id,
    credential,
    requireUserVerification: true,
  });
  checkTimes.push(micros(began));
  if (!checked.verified) throw new Error("the peer refused the assertion");
}

console.log(`the peer: SimpleWebAuthn ${peer.version} on node ${process.versions.node} (${checks} each; one thread)`);
line("sign-in options (challenge)", optionTimes);
line("assertion: check (ES256, flags, counter)", checkTimes);
console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB`);
