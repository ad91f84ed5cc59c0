// Sends events to waggle with the official libhoney-js client and prints a
// JSON summary of the per-event responses. Driven by TestLibhoneyJS
// (events_libhoney_test.go) through environment variables:
//   API_HOST, WRITE_KEY, DATASET, COUNT, BASE_TIME_MS, BAD_KEY.
"use strict";
const Libhoney = require("libhoney");

const apiHost = process.env.API_HOST;
const count = Number(process.env.COUNT);
const base = Number(process.env.BASE_TIME_MS);

function client(writeKey) {
  return new Libhoney({
    apiHost,
    writeKey,
    dataset: process.env.DATASET,
    batchSizeTrigger: 50,
    batchTimeTrigger: 10,
  });
}

function collect(hny, into) {
  hny.on("response", (queue) => {
    for (const r of queue.splice(0, queue.length)) {
      into.push(r);
    }
  });
}

async function main() {
  const good = [];
  const bad = [];
  const hny = client(process.env.WRITE_KEY);
  collect(hny, good);
  hny.add({ "service.name": "libhoney-test" });
  for (let i = 0; i < count; i++) {
    const ev = hny.newEvent();
    ev.add({
      i,
      name: `event ${i}`,
      "duration_ms": i + 0.5,
      even: i % 2 === 0,
      nested: { a: i, b: [1, "two"] },
      nothing: null,
    });
    ev.timestamp = new Date(base + i);
    ev.metadata = i;
    ev.send();
  }
  // One pre-sampled event carries its sample rate through.
  const pre = hny.newEvent();
  pre.add({ i: -1, name: "presampled" });
  pre.timestamp = new Date(base - 1000);
  pre.sampleRate = 7;
  pre.metadata = -1;
  pre.sendPresampled();
  await hny.flush();

  const wrong = client(process.env.BAD_KEY);
  collect(wrong, bad);
  const ev = wrong.newEvent();
  ev.add({ i: 0 });
  ev.send();
  await wrong.flush();

  const statuses = {};
  for (const r of good) {
    statuses[r.status_code] = (statuses[r.status_code] || 0) + 1;
  }
  process.stdout.write(
    JSON.stringify({
      statuses,
      responses: good.length,
      errors: good.filter((r) => r.error).map((r) => String(r.error)),
      badKeyStatuses: bad.map((r) => r.status_code),
    }) + "\n",
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
