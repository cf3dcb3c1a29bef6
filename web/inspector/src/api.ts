// Types of the admin API's answers (runtime/admin, runtime/object) and the fetch
// wrapper the inspector uses.

export interface ObjectInfo {
  namespace: string;
  id: string;
  name?: string;
  size: number;
  last_active: string;
  open: boolean;
  sockets: number;
}

export interface ObjectList {
  objects: ObjectInfo[];
  next?: string;
}

export interface Details extends ObjectInfo {
  kv_entries: number;
  tables: { name: string; rows: number }[];
  alarms: { name: string; spec: string; due: string; retries: number }[];
  socket_list: { id: string; tags: string[]; attachment?: unknown; last_seen: string }[];
  metrics?: ObjectMetrics;
  recent: { at: string; turns: number; failed: number; commit_ns: number; error?: string }[];
}

export interface ObjectMetrics {
  namespace: string;
  id: string;
  name?: string;
  turns: number;
  failed_turns: number;
  commits: number;
  messages: number; // WebSocket messages received
  messages_sent: number;
  rows_read: number;
  rows_written: number;
  commit_time_ns: number;
  sockets: number;
  bytes: number;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  truncated?: boolean;
  rows_written?: number;
}

export interface KVPage {
  entries: { key: string; value: unknown; size: number }[];
  next?: string;
}

export interface Stats {
  at: string;
  runtime: Record<string, number>;
  sockets: Record<string, number>;
  top: ObjectMetrics[];
}

/** Bookmark answers GET .../bookmark and POST .../restore-bookmark (runtime/admin's BookmarkResponse). */
export interface Bookmark {
  bookmark: string;
  undo?: string; // after a restore: the bookmark of the state it replaced
  history_bytes?: number;
}

/** ApiError is an error answer of the admin API: its status and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** api calls /_warren/api/<path> with the session cookie and returns its JSON. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { "X-Warren-Admin": "1" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "X-Warren-Admin": "1", "Content-Type": "application/json" };
  }
  const resp = await fetch(`/_warren/api/${path}`, init);
  if (!resp.ok) {
    let msg = resp.statusText;
    try {
      msg = ((await resp.json()) as { error?: string }).error ?? msg;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(resp.status, msg);
  }
  return resp.status === 204 ? (undefined as T) : ((await resp.json()) as T);
}
