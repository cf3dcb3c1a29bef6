// The game's wire frames as the page sees them (see the README's Protocol), and
// what the page does when the server closes its socket.

export interface WirePlayer { n: number; id: string; name: string; color: number; lat: number; lng: number; h: number; score: number }
export interface WireItem { n: number; lat: number; lng: number; v: number }
/** One row of the all-time leaderboard; id is the player's public id. */
export interface Score { id: string; name: string; best: number; total: number }

/** The first frame of a game socket (protocol.go's Welcome); a snapshot and the leaderboard follow. */
export interface Welcome {
  type: "welcome"; session: string; id: string; uid?: string; you: number; spectator: boolean;
  tickRate: number; capacity: number; speed: number; pickup: number;
}
/** The whole world, sent when a socket connects. */
export interface Snapshot { type: "snapshot"; tick: number; ts: number; players: WirePlayer[]; items: WireItem[]; spectators: number }
/** What changed since the previous tick (Delta); an empty list is left out. */
export interface Tick {
  type: "tick"; tick: number; ts: number; at: number;
  /** [n, lat, lng, heading] of players that moved. */
  p?: [number, number, number, number][];
  j?: WirePlayer[]; l?: number[];
  /** [n, score] of players who scored. */
  s?: [number, number][];
  i?: WireItem[]; t?: number[]; a?: string[]; sp?: number;
}
export interface Leaderboard { type: "leaderboard"; top: Score[] }
export interface ErrorFrame { type: "error"; code: string; message: string }
/** The template room's frames (/parties/globe/default): one dot per visitor. */
export interface AddMarker { type: "add-marker"; position: { id: string; lat: number; lng: number } }
export interface RemoveMarker { type: "remove-marker"; id: string }
/** Every JSON frame the server sends (besides "pong", the answer to "ping"); testdata/frames.json holds one of each. */
export type ServerFrame = Welcome | Snapshot | Tick | Leaderboard | ErrorFrame | AddMarker | RemoveMarker;
/** A steering frame: heading in degrees, moving 0 or 1, an optional probe echoed in the next tick's a. */
export interface Input { type: "input"; h: number; m: 0 | 1; p?: string }
/** Every JSON frame a client sends (besides "ping"). */
export type ClientFrame = Input;

/** Close codes of a game socket (protocol.go), and the runtime's 1012 and 1013. */
export const Close = {
  Restart: 1012,
  TryAgainLater: 1013,
  RateLimited: 4029,
  BadRequest: 4400,
  Replaced: 4409,
  TooManyFromAddress: 4429,
} as const;

/** What the page does after its socket closed: reconnect or stop, and what it tells the player. */
export interface CloseAdvice {
  reconnect: boolean;
  /** Said to the player (a toast), if anything. */
  message?: string;
}

/**
 * adviceFor decides on a close code. A refusal a retry cannot change stops the
 * socket (a reconnect after 4409 would take the player back from the tab that
 * now has it, and that tab back again, forever); everything else reconnects,
 * with partysocket's backoff.
 */
export function adviceFor(code: number): CloseAdvice {
  switch (code) {
    case Close.Replaced:
      return { reconnect: false, message: "This game continues in another tab or window: this one has stopped." };
    case Close.TooManyFromAddress:
      return { reconnect: false, message: "Too many games are open from your network. Close some and press Play again." };
    case Close.BadRequest:
      return { reconnect: false, message: "The server refused this page's player token. Reload the page to get a new one." };
    case Close.RateLimited:
      return { reconnect: true, message: "Too many moves at once: reconnecting." };
    case Close.TryAgainLater:
      return { reconnect: true, message: "The server is busy: trying again shortly." };
    default:
      return { reconnect: true };
  }
}
