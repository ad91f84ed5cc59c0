// A virtualised table: only the rows in view (plus a margin) are in the
// DOM, so 1,000+ groups scroll smoothly. Rows are keyboard-focusable;
// Enter activates one (e.g. adds the group as a filter).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export interface Col<T> { key: string; label: string; render: (row: T) => ComponentChildren; numeric?: boolean;
  /** CSS flex of the column (default 1: equal widths). */ flex?: string; }

const ROW = 30;

export function VirtualTable<T>(props: {
  rows: T[]; cols: Col<T>[]; height?: number; onRow?: (row: T) => void; rowTitle?: string; label: string;
  rowClass?: (row: T, i: number) => string;
}) {
  const h = props.height ?? 360;
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / ROW) - 10);
  const last = Math.min(props.rows.length, Math.ceil((top + h) / ROW) + 10);
  const visible = props.rows.slice(first, last);
  return (
    <div class="vtable" role="table" aria-label={props.label} aria-rowcount={props.rows.length + 1}>
      <div class="vrow vhead" role="row">
        {props.cols.map((c) => <div role="columnheader" class={"vcell" + (c.numeric ? " num" : "")} key={c.key} style={c.flex ? { flex: c.flex } : undefined}>{c.label}</div>)}
      </div>
      <div class="vbody" style={{ height: Math.min(h, props.rows.length * ROW + 2) + "px" }} onScroll={(e) => setTop((e.target as HTMLElement).scrollTop)}>
        <div style={{ height: props.rows.length * ROW + "px", position: "relative" }}>
          {visible.map((r, k) => {
            const i = first + k;
            return (
              <div role="row" aria-rowindex={i + 2} class={"vrow" + (props.onRow ? " clickable" : "") + " " + (props.rowClass?.(r, i) || "")} key={i}
                style={{ position: "absolute", top: i * ROW + "px", left: 0, right: 0, height: ROW + "px" }}
                tabIndex={props.onRow ? 0 : undefined} title={props.onRow ? props.rowTitle : undefined}
                onClick={() => props.onRow?.(r)} onKeyDown={(e) => { if (e.key === "Enter") props.onRow?.(r); }}>
                {props.cols.map((c) => <div role="cell" class={"vcell" + (c.numeric ? " num" : "")} key={c.key} style={c.flex ? { flex: c.flex } : undefined}>{c.render(r)}</div>)}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
