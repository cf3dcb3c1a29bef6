// The game's wire frames as the page sees them (see the README's Protocol), and
// what the page does when the server closes its socket.

export interface WirePlayer { n: number; id: string; name: string; color: number; lat: number; lng: number; h: number; score: number }
export interface WireItem { n: number; lat: number; lng: number; v: number }
/** One row of the all-time leaderboard; id is the player's public id. */
export interface Score { id: string; name: string; best: number; total: number }

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
