// server_audit.mjs: runs the graphql-http serverAudits (GraphQL over HTTP conformance)
// against a live tvsync-server; prints one line per audit and fails unless all are ok.
// Usage: node server_audit.mjs http://127.0.0.1:PORT/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node server_audit.mjs URL');
  process.exit(2);
}
const audits = serverAudits({ url });
let failures = 0;
for (const audit of audits) {
  const result = await audit.fn();
  if (result.status !== 'ok') {
    failures++;
    let detail = result.reason;
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      detail += ` (HTTP ${result.response.status} ${result.response.headers.get('content-type')}: ${body.slice(0, 200)})`;
    }
    console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${detail}`);
  } else {
    console.log(`ok ${audit.id} ${audit.name}`);
  }
}
console.log(`${audits.length - failures}/${audits.length} audits ok`);
process.exit(failures === 0 && audits.length === 61 ? 0 : 1);
