// A small history-API router: the URL is the app's state (path + query).
import { useEffect, useState } from "preact/hooks";

const BASE = "/ui";

export interface Route { path: string; params: URLSearchParams; }

function current(): Route {
  let p = location.pathname;
  if (p.startsWith(BASE)) p = p.slice(BASE.length);
  if (p === "") p = "/";
  return { path: p, params: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function navigate(to: string, replace = false) {
  const url = BASE + to;
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  listeners.forEach((l) => l());
}

export function href(to: string) { return BASE + to; }

export function useRoute(): Route {
  const [r, setR] = useState(current);
  useEffect(() => {
    const l = () => setR(current());
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  return r;
}

// onLinkClick makes an <a href> navigate without reloading.
export function onLinkClick(e: MouseEvent) {
  const a = (e.target as HTMLElement).closest("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !u.pathname.startsWith(BASE + "/") && u.pathname !== BASE) return;
  e.preventDefault();
  navigate(u.pathname.slice(BASE.length) + u.search);
}
