// CloudWatch Logs: log groups and their streams, a filter-pattern search
// (CloudWatch's syntax: terms, "quoted phrases", -exclusions, ?alternatives,
// { $.json.selectors }, [space, delimited, fields]) and a live tail that
// polls FilterLogEvents for what arrived since the last event seen.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { VirtualTable, type Col } from "../components/VirtualTable";
import { href, navigate } from "../router";

const WINDOWS: [string, number][] = [["15 minutes", 900], ["1 hour", 3600], ["6 hours", 21600], ["24 hours", 86400], ["7 days", 604800]];
const TAIL_MS = 2000;
const TAIL_KEEP = 2000;

export function LogsPage({ route }: PageProps) {
  const p = route.params;
  const group = p.get("group") || "";
  const stream = p.get("stream") || "";
  const pattern = p.get("q") || "";
  const win = Number(p.get("window") || 3600);
  const [groups, setGroups] = useState<api.LogGroup[] | null>(null);
  const [streams, setStreams] = useState<api.LogStream[] | null>(null);
  const [events, setEvents] = useState<api.LogEvent[] | null>(null);
  const [err, setErr] = useState("");
  const [text, setText] = useState(pattern);
  const [tail, setTail] = useState(false);
  const [paused, setPaused] = useState(false);
  const [more, setMore] = useState<string | undefined>();
  useEffect(() => setText(pattern), [pattern]);

  useEffect(() => { api.logGroups().then((r) => setGroups(r.logGroups || [])).catch((e) => { setGroups([]); setErr(e.message); }); }, []);
  useEffect(() => {
    setStreams(null);
    if (group) api.logStreams(group).then((r) => setStreams(r.logStreams || [])).catch(() => setStreams([]));
  }, [group]);

  const query = (extra: Partial<Parameters<typeof api.filterLogEvents>[0]> = {}) => ({
    logGroupName: group, ...(pattern ? { filterPattern: pattern } : {}), ...(stream ? { logStreamNames: [stream] } : {}),
    startTime: Date.now() - win * 1000, endTime: Date.now() + 60_000, limit: 500, ...extra,
  });
  // Search: newest window, paged by nextToken.
  useEffect(() => {
    if (!group || tail) return;
    setEvents(null); setErr(""); setMore(undefined);
    api.filterLogEvents(query()).then((r) => { setEvents(r.events || []); setMore(r.nextToken); })
      .catch((e) => { setEvents([]); setErr(e.message); });
  }, [group, stream, pattern, win, tail]);

  // Live tail: poll for events at or after the newest seen, drop the ones
  // already shown (same eventId).
  const seen = useRef<{ since: number; ids: Set<string> }>({ since: 0, ids: new Set() });
  useEffect(() => {
    if (!group || !tail) return;
    seen.current = { since: Date.now() - 5 * 60_000, ids: new Set() };
    setEvents([]); setErr("");
    let stop = false;
    let timer = 0;
    const poll = async () => {
      if (stop) return;
      if (!pausedRef.current) {
        try {
          const r = await api.filterLogEvents(query({ startTime: seen.current.since, endTime: Date.now() + 60_000, limit: 1000 }));
          const fresh = (r.events || []).filter((e) => !seen.current.ids.has(e.eventId));
          for (const e of fresh) { seen.current.ids.add(e.eventId); seen.current.since = Math.max(seen.current.since, e.timestamp); }
          if (fresh.length && !stop) setEvents((old) => [...(old || []), ...fresh].slice(-TAIL_KEEP));
        } catch (e: any) { if (!stop) setErr(e.message); }
      }
      if (!stop) timer = window.setTimeout(poll, TAIL_MS);
    };
    poll();
    return () => { stop = true; clearTimeout(timer); };
  }, [group, stream, pattern, tail]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const go = (changes: Record<string, string>) => {
    const q = new URLSearchParams(p);
    for (const [k, v] of Object.entries(changes)) v ? q.set(k, v) : q.delete(k);
    navigate("/logs?" + q.toString());
  };
  const loadMore = () => {
    if (!more) return;
    api.filterLogEvents(query({ nextToken: more })).then((r) => { setEvents((old) => [...(old || []), ...(r.events || [])]); setMore(r.nextToken); })
      .catch((e) => setErr(e.message));
  };
  const shown = tail ? [...(events || [])].reverse() : events || [];
  const cols: Col<api.LogEvent>[] = [
    { key: "t", label: "time", flex: "0 0 220px", render: (e) => <time dateTime={new Date(e.timestamp).toISOString()}>{fmtTime(e.timestamp)}</time> },
    { key: "s", label: "stream", flex: "0 0 180px", render: (e) => <span title={e.logStreamName}>{e.logStreamName}</span> },
    { key: "m", label: "message", flex: "1", render: (e) => <span class="logmsg" title={e.message}>{e.message}</span> },
  ];
  return (
    <div class="logs">
      <h1>Logs {group && <small>{group}{stream ? " / " + stream : ""}</small>}</h1>
      <div class="logs-body">
        <nav class="side" aria-label="Log groups">
          <h2>Log groups</h2>
          {!groups && <p aria-busy="true">Loading…</p>}
          {groups && !groups.length && <p class="note">No log groups yet. Send logs with the CloudWatch Logs API (boto3, watchtower, the AWS CLI).</p>}
          <ul class="plain">
            {(groups || []).map((g) => (
              <li key={g.logGroupName}><a href={href("/logs?group=" + encodeURIComponent(g.logGroupName))} aria-current={g.logGroupName === group ? "page" : undefined}>{g.logGroupName}</a>
                {g.retentionInDays ? <span class="hint"> · {g.retentionInDays} d</span> : null}</li>
            ))}
          </ul>
          {group && <>
            <h2>Streams</h2>
            {!streams && <p aria-busy="true">Loading…</p>}
            <ul class="plain" aria-label="Log streams">
              <li><a href={href("/logs?" + withParam(p, "stream", ""))} aria-current={!stream ? "page" : undefined}>All streams</a></li>
              {(streams || []).map((s) => (
                <li key={s.logStreamName}><a href={href("/logs?" + withParam(p, "stream", s.logStreamName))} aria-current={s.logStreamName === stream ? "page" : undefined}
                  title={s.lastEventTimestamp ? "last event " + fmtTime(s.lastEventTimestamp) : ""}>{s.logStreamName}</a></li>
              ))}
            </ul>
          </>}
        </nav>
        <section class="logs-main" aria-label="Log events">
          {!group ? <p class="note">Pick a log group.</p> : <>
            <form class="row" role="search" aria-label="Filter log events" onSubmit={(e) => { e.preventDefault(); go({ q: text.trim() }); }}>
              <label class="grow">Filter pattern
                <input data-testid="log-filter" value={text} placeholder='ERROR -healthcheck, "exact phrase", { $.level = "error" }, [ip, user, status=5*]'
                  onInput={(e) => setText((e.target as HTMLInputElement).value)} />
              </label>
              <label>Window
                <select value={String(win)} disabled={tail} onChange={(e) => go({ window: (e.target as HTMLSelectElement).value })}>
                  {WINDOWS.map(([l, s]) => <option key={s} value={String(s)}>last {l}</option>)}
                </select>
              </label>
              <button type="submit" class="primary">Search</button>
              <button type="button" aria-pressed={tail} data-testid="live-tail" onClick={() => { setTail(!tail); setPaused(false); }}>{tail ? "Stop tail" : "Live tail"}</button>
              {tail && <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>{paused ? "Resume" : "Pause"}</button>}
            </form>
            {tail && <p class="hint" aria-live="polite">{paused ? "Paused — new lines are not fetched." : `Tailing: polling every ${TAIL_MS / 1000} s, newest first.`} {events ? `${events.length} lines.` : ""}</p>}
            {err && <p role="alert" class="error">{err}</p>}
            {!events && <p aria-busy="true">Searching…</p>}
            {events && (shown.length
              ? <VirtualTable label="Log events" rows={shown} cols={cols} height={560} />
              : <p class="note">{tail ? "Waiting for new lines…" : "No log events match in this window."}</p>)}
            {!tail && more && <button type="button" onClick={loadMore}>Load more</button>}
          </>}
        </section>
      </div>
    </div>
  );
}

function withParam(p: URLSearchParams, k: string, v: string) {
  const q = new URLSearchParams(p);
  v ? q.set(k, v) : q.delete(k);
  return q.toString();
}

export function fmtTime(ms: number) {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
