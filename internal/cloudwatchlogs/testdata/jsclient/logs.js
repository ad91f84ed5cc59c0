// Drives the AWS SDK for JavaScript v3 CloudWatch Logs client against waggle.
// Run by internal/cloudwatchlogs/jsclient_test.go. The client is built with
// no options, as an app would: the endpoint comes from
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, the credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, the region from AWS_REGION. BASE_TIME_MS is the
// first event's timestamp.
//
// It prints one JSON line with what the client saw.
'use strict';

const {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  GetLogEventsCommand,
  FilterLogEventsCommand,
  DescribeLogStreamsCommand,
  PutRetentionPolicyCommand,
  paginateFilterLogEvents,
} = require('@aws-sdk/client-cloudwatch-logs');

const GROUP = '/js/app';
const N = 300; // events in stream web-1
const base = Number(process.env.BASE_TIME_MS);

function message(i) {
  if (i % 10 === 0) {
    return JSON.stringify({ level: 'ERROR', latency: i, n: i, user: { id: i % 3 } });
  }
  return `line ${i} INFO ok`;
}

async function errorName(p) {
  try {
    await p;
    return 'none';
  } catch (e) {
    return e.name;
  }
}

async function main() {
  const client = new CloudWatchLogsClient({ maxAttempts: 1 });
  const out = {};

  await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  out.duplicateGroup = await errorName(client.send(new CreateLogGroupCommand({ logGroupName: GROUP })));
  out.missingStream = await errorName(client.send(new PutLogEventsCommand({
    logGroupName: GROUP, logStreamName: 'web-1', logEvents: [{ timestamp: base, message: 'x' }],
  })));
  for (const s of ['web-1', 'web-2']) {
    await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: s }));
  }

  // web-1: N events in two batches.
  out.puts = [];
  for (const [lo, hi] of [[0, 200], [200, N]]) {
    const logEvents = [];
    for (let i = lo; i < hi; i++) logEvents.push({ timestamp: base + i * 10, message: message(i) });
    const r = await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'web-1', logEvents }));
    out.puts.push({ token: typeof r.nextSequenceToken, rejected: r.rejectedLogEventsInfo || null });
  }
  // web-2: a too-old event first and a too-new one last are rejected; the
  // three between are stored.
  const now = Date.now();
  const r2 = await client.send(new PutLogEventsCommand({
    logGroupName: GROUP, logStreamName: 'web-2', logEvents: [
      { timestamp: now - 15 * 24 * 3600 * 1000, message: 'WARN too old' },
      { timestamp: base + 1, message: 'WARN disk 80%' },
      { timestamp: base + 2, message: 'WARN disk 90%' },
      { timestamp: base + 3, message: 'ERROR disk full' },
      { timestamp: now + 3 * 3600 * 1000, message: 'WARN too new' },
    ],
  }));
  out.rejected = r2.rejectedLogEventsInfo || null;
  // backfill: 13 days old, inside CloudWatch's 14-day window and the group's
  // (unlimited) retention: stored.
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'backfill' }));
  const old = now - 13 * 24 * 3600 * 1000;
  const r3 = await client.send(new PutLogEventsCommand({
    logGroupName: GROUP, logStreamName: 'backfill', logEvents: [
      { timestamp: old, message: 'backfill 1' },
      { timestamp: old + 1, message: 'backfill 2' },
    ],
  }));
  out.backfillRejected = r3.rejectedLogEventsInfo || null;
  out.backfillTime = old;

  // A group with a 1-day retention rejects a 2-day-old event as expired;
  // widened to 30 days, it stores one.
  const RG = '/js/retention';
  await client.send(new CreateLogGroupCommand({ logGroupName: RG }));
  await client.send(new CreateLogStreamCommand({ logGroupName: RG, logStreamName: 's' }));
  await client.send(new PutRetentionPolicyCommand({ logGroupName: RG, retentionInDays: 1 }));
  const twoDays = now - 2 * 24 * 3600 * 1000;
  const r4 = await client.send(new PutLogEventsCommand({
    logGroupName: RG, logStreamName: 's', logEvents: [
      { timestamp: twoDays, message: 'expired' },
      { timestamp: now - 3600 * 1000, message: 'fresh' },
    ],
  }));
  out.retentionRejected = r4.rejectedLogEventsInfo || null;
  await client.send(new PutRetentionPolicyCommand({ logGroupName: RG, retentionInDays: 30 }));
  const r5 = await client.send(new PutLogEventsCommand({
    logGroupName: RG, logStreamName: 's', logEvents: [{ timestamp: twoDays + 1, message: 'old but kept' }],
  }));
  out.widenedRejected = r5.rejectedLogEventsInfo || null;
  const rf = await client.send(new FilterLogEventsCommand({ logGroupName: RG }));
  out.retentionEvents = rf.events.map((e) => e.message);

  // GetLogEvents forward from the head, 70 a page, until the token repeats.
  const forward = [];
  let token;
  let pages = 0;
  for (;;) {
    const r = await client.send(new GetLogEventsCommand({
      logGroupName: GROUP, logStreamName: 'web-1', startFromHead: true, limit: 70, nextToken: token,
    }));
    pages++;
    for (const e of r.events) forward.push({ t: e.timestamp, m: e.message, ing: e.ingestionTime > 0 });
    if (token !== undefined && r.nextForwardToken === token) break;
    token = r.nextForwardToken;
    if (pages > 50) throw new Error('GetLogEvents does not end');
  }
  out.forward = { pages, count: forward.length, events: forward };
  // GetLogEvents backward from the tail: the newest 25.
  const tail = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'web-1', limit: 25 }));
  out.tail = tail.events.map((e) => e.message);

  // FilterLogEvents: a JSON pattern over the group, 7 a page, through the
  // SDK's paginator.
  const errors = [];
  let filterPages = 0;
  for await (const page of paginateFilterLogEvents({ client }, {
    logGroupName: GROUP, filterPattern: '{ $.level = "ERROR" && $.latency >= 100 }', limit: 7,
  })) {
    filterPages++;
    for (const e of page.events) errors.push({ id: e.eventId, s: e.logStreamName, t: e.timestamp, m: e.message });
  }
  out.jsonFilter = { pages: filterPages, events: errors };
  // A term pattern restricted to one stream.
  const warn = await client.send(new FilterLogEventsCommand({
    logGroupName: GROUP, logStreamNames: ['web-2'], filterPattern: 'WARN',
  }));
  out.termFilter = warn.events.map((e) => ({ s: e.logStreamName, t: e.timestamp, m: e.message }));
  // Everything in the group.
  let all = 0;
  const streams = {};
  for await (const page of paginateFilterLogEvents({ client }, { logGroupName: GROUP, limit: 1000 })) {
    for (const e of page.events) {
      all++;
      streams[e.logStreamName] = (streams[e.logStreamName] || 0) + 1;
    }
  }
  out.all = { count: all, streams };

  const ds = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
  out.streams = ds.logStreams.map((s) => ({
    name: s.logStreamName, first: s.firstEventTimestamp, last: s.lastEventTimestamp,
  }));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
