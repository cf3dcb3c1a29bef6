package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// The fork's package-lock.json is cut out of the checkout's: the same package
// versions (and integrity hashes) the template was built and tested with,
// limited to what the fork's own workspaces reach, at the fork's locations. So
// `npm ci` in the fork installs exactly what the checkout has, and with
// npm_config_offline=true it installs from npm's cache alone, with no network.

// lockPackage is one entry of a lockfile v3 "packages" map, kept as raw JSON
// fields in npm's order so that every field npm wrote survives as it was; the
// fields read here are parsed out.
type lockPackage struct {
	raw                  orderedJSON
	Link                 bool
	Resolved             string
	Dependencies         map[string]string
	DevDependencies      map[string]string
	OptionalDependencies map[string]string
	PeerDependencies     map[string]string
	PeerOptional         map[string]bool // names marked optional in peerDependenciesMeta
}

// orderedJSON is a JSON object's members in their order.
type orderedJSON []member

type member struct {
	key string
	val json.RawMessage
}

func (o orderedJSON) get(key string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// set replaces key's value, or adds key after the member named after (at the
// end when there is none).
func (o orderedJSON) set(key string, val json.RawMessage, after string) orderedJSON {
	for i := range o {
		if o[i].key == key {
			o[i].val = val
			return o
		}
	}
	for i := range o {
		if o[i].key == after {
			return append(o[:i+1], append(orderedJSON{{key, val}}, o[i+1:]...)...)
		}
	}
	return append(o, member{key, val})
}

func (o orderedJSON) without(keys ...string) orderedJSON {
	var out orderedJSON
	for _, m := range o {
		if !slices.Contains(keys, m.key) {
			out = append(out, m)
		}
	}
	return out
}

// parseOrdered reads a JSON object keeping the order of its members.
func parseOrdered(b []byte) (orderedJSON, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var o orderedJSON
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, member{t.(string), v})
	}
	return o, nil
}

func parseLockPackage(raw orderedJSON) (*lockPackage, error) {
	p := &lockPackage{raw: raw}
	fields := []struct {
		key string
		dst any
	}{
		{"link", &p.Link}, {"resolved", &p.Resolved},
		{"dependencies", &p.Dependencies}, {"devDependencies", &p.DevDependencies},
		{"optionalDependencies", &p.OptionalDependencies}, {"peerDependencies", &p.PeerDependencies},
	}
	for _, f := range fields {
		if v, ok := raw.get(f.key); ok {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return nil, fmt.Errorf("%s: %w", f.key, err)
			}
		}
	}
	if v, ok := raw.get("peerDependenciesMeta"); ok {
		var meta map[string]struct {
			Optional bool `json:"optional"`
		}
		if err := json.Unmarshal(v, &meta); err != nil {
			return nil, fmt.Errorf("peerDependenciesMeta: %w", err)
		}
		p.PeerOptional = map[string]bool{}
		for k, m := range meta {
			p.PeerOptional[k] = m.Optional
		}
	}
	return p, nil
}

type lockFile struct {
	Name            string                     `json:"name"`
	LockfileVersion int                        `json:"lockfileVersion"`
	Requires        bool                       `json:"requires"`
	Packages        map[string]json.RawMessage `json:"packages"`
}

// edgeKind says how a package is reached, for npm's flags: along a path, dev
// if some edge on it is a devDependency, optional if some edge is optional,
// devOpt if some edge is either, peer if some edge is a peer dependency. Over
// all the paths to a package, a flag holds if it holds on every path.
type edgeKind struct{ dev, optional, devOpt, peer bool }

func (a edgeKind) then(b edgeKind) edgeKind {
	return edgeKind{dev: a.dev || b.dev, optional: a.optional || b.optional, devOpt: a.devOpt || b.devOpt, peer: a.peer || b.peer}
}

func (a edgeKind) and(b edgeKind) edgeKind {
	return edgeKind{dev: a.dev && b.dev, optional: a.optional && b.optional, devOpt: a.devOpt && b.devOpt, peer: a.peer && b.peer}
}

// lockCut builds a fork's lockfile from the checkout's.
type lockCut struct {
	from map[string]*lockPackage // the checkout's packages by location
	// workspaces maps each of the fork's workspace locations to the checkout's
	// location of the same package (e.g. "web" -> "apps/chat/web").
	workspaces map[string]string
	out        map[string]*lockPackage // the fork's packages by (fork) location
	flags      map[string]edgeKind     // accumulated "reachable only via" flags, see visit
	missing    []string
}

// forkLock returns the fork's package-lock.json: root is the fork's root
// package entry ("" in the lock), workspaces the fork's workspace locations
// mapped to the checkout's (their entries are copied, with the names in names),
// checkoutLock the checkout's package-lock.json.
func forkLock(checkoutLock []byte, root orderedJSON, workspaces map[string]string, names map[string]string) ([]byte, error) {
	var lf lockFile
	if err := json.Unmarshal(checkoutLock, &lf); err != nil {
		return nil, fmt.Errorf("package-lock.json: %w", err)
	}
	if lf.LockfileVersion < 2 || lf.Packages == nil {
		return nil, fmt.Errorf("package-lock.json: lockfileVersion %d has no \"packages\" (npm 7 or later writes it)", lf.LockfileVersion)
	}
	c := &lockCut{from: map[string]*lockPackage{}, workspaces: workspaces, out: map[string]*lockPackage{}, flags: map[string]edgeKind{}}
	for loc, b := range lf.Packages {
		raw, err := parseOrdered(b)
		if err != nil {
			return nil, fmt.Errorf("package-lock.json: %q: %w", loc, err)
		}
		p, err := parseLockPackage(raw)
		if err != nil {
			return nil, fmt.Errorf("package-lock.json: %q: %w", loc, err)
		}
		c.from[loc] = p
	}
	rootPkg, err := parseLockPackage(root)
	if err != nil {
		return nil, err
	}
	c.out[""] = rootPkg
	wsLocs := make([]string, 0, len(workspaces))
	for loc := range workspaces {
		wsLocs = append(wsLocs, loc)
	}
	sort.Strings(wsLocs)
	for _, loc := range wsLocs {
		src, ok := c.from[workspaces[loc]]
		if !ok {
			return nil, fmt.Errorf("package-lock.json has no workspace %q: run npm install in the checkout", workspaces[loc])
		}
		name := names[loc]
		ws, _ := parseLockPackage(append(orderedJSON(nil), src.raw...).set("name", mustJSON(name), ""))
		c.out[loc] = ws
		c.out["node_modules/"+name] = &lockPackage{raw: orderedJSON{{"resolved", mustJSON(loc)}, {"link", json.RawMessage("true")}}, Link: true, Resolved: loc}
	}
	// The root reaches the workspaces through links (production edges) and its devDependencies.
	c.visit("", edgeKind{})
	for _, loc := range wsLocs {
		c.visit(loc, edgeKind{})
	}
	if len(c.missing) > 0 {
		sort.Strings(c.missing)
		return nil, fmt.Errorf("package-lock.json lacks %s: run npm install in the checkout", strings.Join(c.missing, ", "))
	}
	return c.encode(lf.Name)
}

// withFlags returns stripped (the entry orig without flags) with flags set to
// true: where orig had them, else after the integrity (or the version), as npm
// writes them.
func withFlags(orig, stripped orderedJSON, flags []string) orderedJSON {
	out := orderedJSON{}
	for _, m := range orig {
		if slices.Contains(flags, m.key) {
			out = append(out, m) // kept in place
		} else if _, ok := stripped.get(m.key); ok {
			out = append(out, m)
		}
	}
	after := "integrity"
	if _, ok := out.get(after); !ok {
		after = "version"
	}
	for _, k := range flags {
		if _, ok := out.get(k); !ok {
			out = out.set(k, json.RawMessage("true"), after)
		}
		after = k
	}
	return out
}

// mustJSON encodes v as npm does: no HTML escaping of <, > and &.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only strings, maps and slices of them are encoded
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// visit walks the dependencies of the fork's package at loc, which is reached
// with flags k (dev: only through devDependencies, and so on), copying every
// package it resolves into c.out and narrowing the flags of those seen before:
// a package's flag stays set only if every way to reach it has it.
func (c *lockCut) visit(loc string, k edgeKind) {
	p := c.out[loc]
	type dep struct {
		name string
		kind edgeKind
	}
	var deps []dep
	add := func(m map[string]string, kind edgeKind, skip map[string]string) {
		for name := range m {
			if _, dup := skip[name]; !dup {
				deps = append(deps, dep{name, kind})
			}
		}
	}
	add(p.Dependencies, edgeKind{}, p.OptionalDependencies)
	add(p.OptionalDependencies, edgeKind{optional: true, devOpt: true}, nil)
	add(p.PeerDependencies, edgeKind{peer: true}, nil)
	if loc == "" || c.workspaces[loc] != "" {
		add(p.DevDependencies, edgeKind{dev: true, devOpt: true}, nil) // only a project's own devDependencies are installed
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].name < deps[j].name })
	for _, d := range deps {
		kind := k.then(d.kind)
		target, ok := c.resolve(loc, d.name)
		if !ok {
			if d.kind.optional || (d.kind.peer && p.PeerOptional[d.name]) {
				continue // an optional dependency the checkout does not have
			}
			if d.kind.peer {
				continue // npm installs missing peers only when the checkout did; it did not
			}
			c.missing = append(c.missing, fmt.Sprintf("%s (needed by %q)", d.name, loc))
			continue
		}
		if c.out[target].Link {
			continue // a workspace: visited as a root
		}
		old, seen := c.flags[target]
		next := kind
		if seen {
			if next = old.and(kind); next == old {
				continue
			}
		}
		c.flags[target] = next
		c.visit(target, next)
	}
}

// resolve finds name as Node does from the fork's location loc: in
// loc/node_modules, then in each enclosing node_modules up to the root. It
// looks in the checkout at the corresponding location and copies the package
// into the fork at the fork's location. ok is false when no package is found.
func (c *lockCut) resolve(loc, name string) (string, bool) {
	for d := loc; ; d = parentPackageDir(d) {
		forkLoc := path.Join(d, "node_modules", name)
		if _, ok := c.out[forkLoc]; ok {
			return forkLoc, true
		}
		if src, ok := c.from[c.checkoutLoc(forkLoc)]; ok && !src.Link {
			c.out[forkLoc] = src
			return forkLoc, true
		} else if ok {
			return "", false // a workspace of the checkout that the fork does not have
		}
		if d == "" {
			return "", false
		}
	}
}

// parentPackageDir is the location Node searches after loc's own node_modules:
// "a/node_modules/b/node_modules/c" -> "a/node_modules/b", "a/node_modules/b" -> "a",
// "web" -> "".
func parentPackageDir(loc string) string {
	i := strings.LastIndex(loc, "/node_modules/")
	if i >= 0 {
		return loc[:i]
	}
	if strings.HasPrefix(loc, "node_modules/") {
		return ""
	}
	return "" // a workspace: the root comes next
}

// checkoutLoc maps a fork location to the checkout's: a workspace prefix
// ("web/...") becomes the template's ("apps/chat/web/...").
func (c *lockCut) checkoutLoc(forkLoc string) string {
	for ws, src := range c.workspaces {
		if forkLoc == ws || strings.HasPrefix(forkLoc, ws+"/") {
			return src + forkLoc[len(ws):]
		}
	}
	return forkLoc
}

// encode writes the lock as npm does: two-space indent, packages sorted by
// location with the root first, the dev/optional/devOptional/peer flags as
// computed for the fork (npm recomputes them, so they must describe it).
func (c *lockCut) encode(name string) ([]byte, error) {
	locs := make([]string, 0, len(c.out))
	for loc := range c.out {
		locs = append(locs, loc)
	}
	sort.Strings(locs) // "" sorts first
	var b bytes.Buffer
	b.WriteString("{\n")
	rootName := mustJSON(c.rootName(name))
	fmt.Fprintf(&b, "  \"name\": %s,\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {", rootName)
	for i, loc := range locs {
		raw := c.out[loc].raw.without("dev", "optional", "devOptional", "peer")
		if f, ok := c.flags[loc]; ok {
			var flags []string
			if f.dev {
				flags = append(flags, "dev")
			}
			if f.optional {
				flags = append(flags, "optional")
			}
			if f.devOpt && !f.dev && !f.optional {
				flags = append(flags, "devOptional")
			}
			if f.peer {
				flags = append(flags, "peer")
			}
			raw = withFlags(c.out[loc].raw, raw, flags)
		}
		var entry bytes.Buffer
		entry.WriteString("{")
		for j, m := range raw {
			if j > 0 {
				entry.WriteString(",")
			}
			var v bytes.Buffer
			if err := json.Indent(&v, m.val, "      ", "  "); err != nil {
				return nil, err
			}
			fmt.Fprintf(&entry, "\n      %s: %s", mustJSON(m.key), v.Bytes())
		}
		entry.WriteString("\n    }")
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %s: %s", mustJSON(loc), entry.Bytes())
	}
	b.WriteString("\n  }\n}\n")
	return b.Bytes(), nil
}

func (c *lockCut) rootName(fallback string) string {
	var n string
	if v, ok := c.out[""].raw.get("name"); ok && json.Unmarshal(v, &n) == nil && n != "" {
		return n
	}
	return fallback
}

// writeForkLock writes dir/package-lock.json for the fork, cut from the checkout's.
func (f *forker) writeForkLock(root orderedJSON, workspaces, names map[string]string) error {
	src, err := os.ReadFile(f.checkout + "/package-lock.json")
	if err != nil {
		return fmt.Errorf("the checkout has no package-lock.json to take the fork's from: %w", err)
	}
	b, err := forkLock(src, root, workspaces, names)
	if err != nil {
		return err
	}
	return writeFile(f.dir+"/package-lock.json", b, 0o644)
}
