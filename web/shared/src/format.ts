// Wording helpers: plurals that read right.

const rules = new Intl.PluralRules("en");

/**
 * plural returns "<n> <word>" with the word in the right number, e.g.
 * plural(1, "player") is "1 player", plural(2, "player") "2 players";
 * pass other for irregular plurals: plural(3, "person", "people").
 */
export function plural(n: number, one: string, other = one + "s"): string {
  return `${n} ${rules.select(n) === "one" ? one : other}`;
}
