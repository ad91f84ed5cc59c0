// "Save" in the query builder: the query becomes a saved query (a Honeycomb
// query annotation) and, optionally, a panel of a board (new or existing).
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api";
import { href } from "../router";
import { relayout } from "../pages/Boards";

export function SaveQuery(props: { dataset: string; spec: Record<string, unknown>; disabled?: boolean }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [boardID, setBoardID] = useState("");
  const [newBoard, setNewBoard] = useState("");
  const [boards, setBoards] = useState<api.Board[] | null>(null);
  const [err, setErr] = useState("");
  const [done, setDone] = useState<{ name: string; board?: api.Board } | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!open) return;
    setDone(null); setErr("");
    api.boards().then(setBoards).catch(() => setBoards([]));
    setTimeout(() => first.current?.focus(), 0);
  }, [open]);
  const save = async (e: Event) => {
    e.preventDefault();
    e.stopPropagation(); // the builder's form around it must not run

    setErr("");
    try {
      const spec = { ...props.spec };
      const q = await api.createQuery(props.dataset, spec);
      const a = await api.createAnnotation(props.dataset, { name: name.trim(), query_id: q.id });
      let b: api.Board | undefined;
      if (boardID === "new" && newBoard.trim()) b = await api.createBoard({ name: newBoard.trim() });
      else if (boardID && boardID !== "new") b = await api.board(boardID);
      if (b) {
        const panel: api.Panel = { type: "query", query_panel: { dataset: props.dataset, query_id: q.id, query_annotation_id: a.id } };
        b = await api.updateBoard({ ...b, panels: relayout([...(b.panels || []), panel]) });
      }
      setDone({ name: a.name, board: b });
    } catch (e: any) { setErr(e.message); }
  };
  return (
    <>
      <button type="button" disabled={props.disabled} onClick={() => setOpen(!open)} aria-expanded={open} data-testid="save-query">Save…</button>
      {open && (
        <div class="popover" role="dialog" aria-label="Save query" onKeyDown={(e) => { if (e.key === "Escape") setOpen(false); }}>
          {done ? <>
            <p role="status">Saved “{done.name}”{done.board ? <> to <a href={href("/boards/" + done.board.id)} data-testid="saved-board-link">{done.board.name}</a></> : ""}.</p>
            <button type="button" onClick={() => setOpen(false)}>Close</button>
          </> : <form onSubmit={save} class="stack-form">
            <label class="field">Name <input ref={first} value={name} required maxLength={320} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
            <label class="field">Add to board
              <select value={boardID} onChange={(e) => setBoardID((e.target as HTMLSelectElement).value)}>
                <option value="">(no board)</option>
                {(boards || []).map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
                <option value="new">New board…</option>
              </select>
            </label>
            {boardID === "new" && <label class="field">New board name <input value={newBoard} required onInput={(e) => setNewBoard((e.target as HTMLInputElement).value)} /></label>}
            {err && <p role="alert" class="error">{err}</p>}
            <div class="row"><button type="submit" class="primary">Save query</button><button type="button" onClick={() => setOpen(false)}>Cancel</button></div>
          </form>}
        </div>
      )}
    </>
  );
}
