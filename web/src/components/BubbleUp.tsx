// BubbleUp results: for every column, the selection's values against the
// baseline's, columns ranked by how much they differ.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { Region } from "./Heatmap";
import { fmtNum } from "./colors";
import { filterText } from "../query";

export function BubbleUpPanel(props: {
  dataset: string; spec: Record<string, unknown>; column: string; selection: Region;
  onFilter: (f: string) => void; onClear: () => void;
}) {
  const [res, setRes] = useState<api.BubbleResult | null>(null);
  const [err, setErr] = useState("");
  const s = props.selection;
  useEffect(() => {
    setRes(null); setErr("");
    api.bubbleUp(props.dataset, { query: props.spec, column: props.column, selection: s, top_values: 8 })
      .then(setRes).catch((e) => setErr(e.message));
  }, [props.dataset, s.start, s.end, s.min, s.max]);
  return (
    <section aria-label="BubbleUp" class="bubbleup">
      <p class="sel-summary">
        Selection: {new Date(s.start * 1000).toLocaleTimeString()}–{new Date(s.end * 1000).toLocaleTimeString()},{" "}
        {props.column} {fmtNum(s.min)}–{fmtNum(s.max)}
        {res && <> · <span class="sel">{fmtNum(res.selection_count)} selected</span> vs <span class="base">{fmtNum(res.baseline_count)} baseline</span> events · {Math.round(res.took_ms)} ms</>}
        {" "}<button type="button" class="link" onClick={props.onClear}>Clear selection</button>
      </p>
      {err && <p role="alert" class="error">{err}</p>}
      {!res && !err && <p aria-busy="true">Comparing…</p>}
      {res && res.columns.length === 0 && <p class="note">No events in the selection.</p>}
      <ol class="bu-cols" data-testid="bubbleup-columns">
        {res?.columns.filter((c) => c.values.length > 0).map((c) => (
          <li key={c.column} class="bu-col" data-column={c.column}>
            <h3><span class="bu-name">{c.column}</span> <span class="score" title="total variation distance between selection and baseline">difference {(c.score * 100).toFixed(0)}%</span></h3>
            <table class="bu-table">
              <thead><tr><th scope="col">value</th><th scope="col">selection</th><th scope="col">baseline</th></tr></thead>
              <tbody>
                {c.values.map((v, i) => (
                  <tr key={i}>
                    <td><button type="button" class="link" title="Add as a filter" onClick={() => props.onFilter(filterText(c.column, "=", v.value))}>{v.value === null ? "null" : String(v.value)}</button></td>
                    <td><Bar f={v.selection_fraction} cls="sel" /></td>
                    <td><Bar f={v.baseline_fraction} cls="base" /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Bar({ f, cls }: { f: number; cls: string }) {
  return (
    <span class="bar-cell">
      <span class={"bar " + cls} style={{ width: Math.max(1, f * 100) + "%" }} />
      <span class="pct">{(f * 100).toFixed(1)}%</span>
    </span>
  );
}
