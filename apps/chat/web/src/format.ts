// Inline formatting of chat messages: `code`, **bold**, *italic* or _italic_,
// ~~strike~~, bare links (https://…, www.…) and [label](https://…) links.
// The text is parsed into tokens, never into HTML: every piece of user text
// reaches the DOM as a text node, and a link's href is set only when the URL's
// scheme is http, https or mailto (a javascript: or data: link stays text).

/** One piece of a formatted message. */
export type Token =
  | { t: "text"; text: string }
  | { t: "code"; text: string }
  | { t: "link"; href: string; label: string }
  | { t: "strong" | "em" | "del"; children: Token[] };

const patterns = new RegExp(
  [
    /`(?<code>[^`\n]+)`/.source,
    /\[(?<label>[^\]\n]{1,300})\]\((?<target>[^()\s]{1,2000})\)/.source,
    /(?<url>\b(?:https?:\/\/|www\.)[^\s<>"'`]+)/.source,
    /\*\*(?<strong>(?=\S)[^\n]*?\S)\*\*/.source,
    /~~(?<del>(?=\S)[^\n]*?\S)~~/.source,
    /(?<![\w*])\*(?<em1>(?=[^\s*])[^*\n]*?[^\s*])\*(?![\w*])/.source,
    /(?<![\w_])_(?<em2>(?=[^\s_])[^_\n]*?[^\s_])_(?![\w_])/.source,
  ].join("|"),
  "giu",
);

/**
 * safeHref returns the URL a link may point to, or null: http, https and
 * mailto only; "www.example.com" means https.
 */
export function safeHref(raw: string): string | null {
  const candidate = /^www\./i.test(raw) ? "https://" + raw : raw;
  let u: URL;
  try {
    u = new URL(candidate);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "mailto:") return null;
  return u.href;
}

/** splitURL cuts trailing punctuation off a bare URL ("see https://x.org/a." ends at "a"), keeping balanced parentheses. */
function splitURL(raw: string): [string, string] {
  let end = raw.length;
  for (;;) {
    const c = raw[end - 1];
    if (c && ".,;:!?'\"*_~".includes(c)) {
      end--;
      continue;
    }
    if (c === ")") {
      const s = raw.slice(0, end);
      if ((s.match(/\(/g) ?? []).length < (s.match(/\)/g) ?? []).length) {
        end--;
        continue;
      }
    }
    return [raw.slice(0, end), raw.slice(end)];
  }
}

/** MAX_DEPTH bounds nesting (**_~~a~~_**), so no message makes the parser recurse deeply. */
const MAX_DEPTH = 4;

/** parseInline turns message text into tokens. Adjacent text is merged. */
export function parseInline(text: string, depth = 0): Token[] {
  const out: Token[] = [];
  const pushText = (s: string) => {
    if (!s) return;
    const last = out[out.length - 1];
    if (last?.t === "text") last.text += s;
    else out.push({ t: "text", text: s });
  };
  if (depth >= MAX_DEPTH) {
    pushText(text);
    return out;
  }
  const re = new RegExp(patterns.source, patterns.flags);
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const g = m.groups ?? {};
    pushText(text.slice(at, m.index));
    at = m.index + m[0].length;
    if (g["code"] !== undefined) {
      out.push({ t: "code", text: g["code"] });
    } else if (g["target"] !== undefined) {
      const href = safeHref(g["target"]);
      if (href) out.push({ t: "link", href, label: g["label"]! });
      else pushText(m[0]); // an unsafe link is shown as the text it was
    } else if (g["url"] !== undefined) {
      const [url, tail] = splitURL(g["url"]);
      const href = safeHref(url);
      if (href && url) out.push({ t: "link", href, label: url });
      else pushText(url);
      pushText(tail);
    } else {
      const inner = g["strong"] ?? g["del"] ?? g["em1"] ?? g["em2"] ?? "";
      const t = g["strong"] !== undefined ? "strong" : g["del"] !== undefined ? "del" : "em";
      out.push({ t, children: parseInline(inner, depth + 1) });
    }
  }
  pushText(text.slice(at));
  return out;
}

/** renderTokens builds the DOM of tokens; text only ever becomes text nodes. */
export function renderTokens(tokens: Token[]): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const tok of tokens) {
    switch (tok.t) {
      case "text":
        frag.append(tok.text);
        break;
      case "code": {
        const c = document.createElement("code");
        c.textContent = tok.text;
        frag.append(c);
        break;
      }
      case "link": {
        const a = document.createElement("a");
        a.href = tok.href;
        a.textContent = tok.label;
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow ugc";
        frag.append(a);
        break;
      }
      default: {
        const e = document.createElement(tok.t);
        e.append(renderTokens(tok.children));
        frag.append(e);
      }
    }
  }
  return frag;
}

/** formatMessage is the formatted DOM of a message's text. */
export function formatMessage(text: string): DocumentFragment {
  return renderTokens(parseInline(text));
}
