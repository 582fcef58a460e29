// Independent DKIM verifier for the tests: mailauth (npm), which knows Ed25519
// (RFC 8463), asking the test's Knot server on loopback.
//
// usage: node dkimverify.mjs DNS_IP DNS_PORT < message
// prints one line per signature: "DOMAIN SELECTOR ALGORITHM RESULT [COMMENT]"
import { Resolver } from 'node:dns/promises';
import { createRequire } from 'node:module';

const require = createRequire(new URL('./js/', import.meta.url));
const { dkimVerify } = require('mailauth/lib/dkim/verify');

const [ip, port] = process.argv.slice(2);
if (!port) {
    console.error('usage: node dkimverify.mjs DNS_IP DNS_PORT < message');
    process.exit(2);
}
const dns = new Resolver({ timeout: 3000, tries: 2 });
dns.setServers([`${ip}:${port}`]);

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);

const { results } = await dkimVerify(Buffer.concat(chunks), {
    resolver: (name, rr) => dns.resolve(name, rr),
});
for (const r of results) {
    console.log([r.signingDomain, r.selector, r.algo, r.status.result, r.status.comment ?? ''].join(' '));
}
