// A chip input with an accessible autocomplete (ARIA combobox + listbox):
// type, pick a suggestion with ↑/↓ and Enter or Tab, Enter adds the item,
// Backspace on an empty input removes the last one.
import { useMemo, useRef, useState } from "preact/hooks";

let seq = 0;

export function TokenInput(props: {
  label: string; items: string[]; onChange: (items: string[]) => void;
  suggest: (text: string) => string[]; placeholder?: string; single?: boolean; testid?: string;
}) {
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const id = useMemo(() => `ti${++seq}`, []);
  const input = useRef<HTMLInputElement>(null);
  const sugg = open ? props.suggest(text).slice(0, 12) : [];
  const add = (v: string) => {
    const t = v.trim();
    if (!t) return;
    props.onChange(props.single ? [t] : [...props.items, t]);
    setText("");
    setActive(0);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" && sugg.length) { e.preventDefault(); setOpen(true); setActive((active + 1) % sugg.length); }
    else if (e.key === "ArrowUp" && sugg.length) { e.preventDefault(); setActive((active - 1 + sugg.length) % sugg.length); }
    else if ((e.key === "Tab" && sugg.length && text) || (e.key === "Enter" && sugg.length && open && sugg[active] !== undefined && sugg[active] !== text.trim() && !e.ctrlKey && !e.metaKey)) {
      e.preventDefault();
      const s = sugg[active];
      // A suggestion that completes a clause is added; one that is a prefix
      // (a column before its operator) is typed in for more.
      if (s.endsWith(" ")) { setText(s); setActive(0); } else add(s);
    } else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
      if (text.trim()) { e.preventDefault(); add(text); }
    } else if (e.key === "Backspace" && !text && props.items.length) {
      props.onChange(props.items.slice(0, -1));
    } else if (e.key === "Escape") setOpen(false);
  };
  return (
    <div class="clause">
      <label for={id} class="clause-label">{props.label}</label>
      <div class="chips" onClick={() => input.current?.focus()}>
        {props.items.map((it, i) => (
          <span class="chip" key={it + i}>
            {it}
            <button type="button" aria-label={`remove ${it} from ${props.label}`} onClick={() => props.onChange(props.items.filter((_, j) => j !== i))}>×</button>
          </span>
        ))}
        <div class="combo">
          <input id={id} ref={input} value={text} placeholder={props.items.length ? "" : props.placeholder}
            role="combobox" aria-expanded={sugg.length > 0} aria-controls={id + "-list"} aria-autocomplete="list"
            aria-activedescendant={sugg.length ? `${id}-o${active}` : undefined} data-testid={props.testid}
            autocomplete="off" spellcheck={false}
            onInput={(e) => { setText((e.target as HTMLInputElement).value); setOpen(true); setActive(0); }}
            onFocus={() => setOpen(true)} onBlur={() => setTimeout(() => setOpen(false), 150)} onKeyDown={onKey} />
          {sugg.length > 0 && (
            <ul id={id + "-list"} role="listbox" class="listbox" aria-label={`${props.label} suggestions`}>
              {sugg.map((s, i) => (
                <li id={`${id}-o${i}`} role="option" aria-selected={i === active} class={i === active ? "active" : ""}
                  onMouseDown={(e) => { e.preventDefault(); if (s.endsWith(" ")) { setText(s); input.current?.focus(); } else add(s); }}>{s}</li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </div>
  );
}
