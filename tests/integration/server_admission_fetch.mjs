// server_admission_fetch.mjs: Node's fetch (undici) POSTs a body larger than
// server.max_body_bytes, TRIES times; prints one status or error code per try.
// Usage: node server_admission_fetch.mjs URL TRIES MEGABYTES
const [url, tries, megabytes] = process.argv.slice(2);
const body = Buffer.alloc(Number(megabytes) << 20, 120);
for (let i = 0; i < Number(tries); i++) {
    try {
        const response = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body});
        await response.text();
        console.log(response.status);
    } catch (error) {
        console.log('error', error.cause?.code ?? error.message);
    }
}
