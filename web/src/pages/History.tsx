import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import { href } from "../router";
import { fromSpec, timeLabel, toParams } from "../query";

export function HistoryPage() {
  const [h, setH] = useState<api.HistoryEntry[] | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => { api.history().then(setH).catch((e) => setErr(e.message)); }, []);
  return (
    <div>
      <h1>Query history</h1>
      {err && <p role="alert" class="error">{err}</p>}
      {h && !h.length && <p class="note">No queries yet.</p>}
      <ol class="history">
        {h?.map((e) => {
          const q = fromSpec(e.dataset, e.query);
          return (
            <li key={e.id}>
              <a href={href("/query?" + toParams(q).toString())}>
                <strong>{e.dataset}</strong> · {q.calcs.join(", ") || "raw events"}
                {q.where.length > 0 && <> WHERE {q.where.join(" AND ")}</>}
                {q.groupBy.length > 0 && <> GROUP BY {q.groupBy.join(", ")}</>}
              </a>
              <span class="muted"> · {timeLabel(q.time)} · run {new Date(e.created_at).toLocaleString()}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
