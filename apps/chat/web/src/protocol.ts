// Wire types of the chat protocol (see apps/chat/README.md). "all", "add" and
// "update" are Cloudflare's durable-chat-template frames; "chat:*" frames are
// Warren's extensions, sent only to clients that connect with ?proto=1.

export interface ChatMessage {
  id: string;
  content: string;
  user: string;
  role: "user" | "assistant";
  seq: number;
  rev: number;
  createdAt: number;
  editedAt?: number;
  deleted?: boolean;
  uid: string;
}

export interface PresenceUser {
  uid: string;
  name: string;
}

/** The limits a proto=1 client is told in chat:welcome (apps/chat/protocol.go, limits.go). */
export interface ChatLimits {
  /** Bytes of one message's text. */
  content: number;
  /** Bytes of a user name. */
  name: number;
  /** Frames a user may send at once, refilled at rate per second. */
  burst: number;
  rate: number;
}

export type ServerFrame =
  | { type: "all"; messages: ChatMessage[]; hasMore: boolean; rev: number }
  | ({ type: "add" | "update" } & ChatMessage)
  | { type: "chat:welcome"; uid: string; name: string; rev: number; limits: ChatLimits }
  | { type: "chat:resume"; messages: ChatMessage[]; rev: number; more: boolean }
  | { type: "chat:history"; messages: ChatMessage[]; hasMore: boolean; before: number }
  | { type: "chat:search"; q: string; messages: ChatMessage[] }
  | { type: "chat:presence"; users: PresenceUser[] }
  | { type: "chat:join" | "chat:leave"; uid: string; name: string; at: number }
  | { type: "chat:typing"; uid: string; name: string; typing: boolean }
  | { type: "chat:error"; code: string; message: string; id?: string; retryAfter?: number };

export type ClientFrame =
  | { type: "add" | "update"; id: string; content: string; user: string; role: "user" }
  | { type: "chat:delete"; id: string }
  | { type: "chat:history"; before: number; limit?: number }
  | { type: "chat:search"; q: string }
  | { type: "chat:typing"; typing: boolean }
  | { type: "chat:resume"; since: number };

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

/** randomID returns n random characters of nanoid's alphabet. */
export function randomID(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += alphabet[b & 63];
  return s;
}

/** Size limits the server enforces (apps/chat/protocol.go), checked before sending. */
export const MAX_CONTENT_BYTES = 4000;
export const MAX_NAME_BYTES = 64;

const encoder = new TextEncoder();

/** utf8Length is the size of s in UTF-8 bytes, as the server counts it. */
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/**
 * isRetryable reports whether sending a refused message again can succeed: a
 * rate limit passes, and so may an error the client does not know; a message
 * that is too large, invalid or not allowed stays refused however often it is sent.
 */
export function isRetryable(code: string | undefined): boolean {
  return code !== "too_large" && code !== "invalid" && code !== "forbidden" && code !== "not_found";
}
