package main

import (
	"fmt"
	"path/filepath"
	"slices"

	"golang.org/x/mod/modfile"
)

// modulePath returns the module path declared by a go.mod file, or "" if there
// is none.
func modulePath(gomod []byte) string { return modfile.ModulePath(gomod) }

// goMod renames the module and makes every replacement work outside the
// checkout. Warren's own modules (warrenModules) that the template requires are
// replaced with the checkout's folders (absolute paths, so the fork builds
// offline and follows local changes), or, when RuntimeVersion is set, required
// at that version with no replacement. Other local replacements are made
// absolute; the rest are kept.
func (f *forker) goMod(b []byte) ([]byte, error) {
	mf, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		return nil, err
	}
	if err := mf.AddModuleStmt(f.Module); err != nil {
		return nil, err
	}
	for _, r := range slices.Clone(mf.Replace) {
		if _, ok := warrenModules[r.Old.Path]; ok {
			if err := mf.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return nil, err
			}
			continue // set below
		}
		if modfile.IsDirectoryPath(r.New.Path) && !filepath.IsAbs(r.New.Path) {
			dir := filepath.ToSlash(filepath.Join(f.tdir, filepath.FromSlash(r.New.Path)))
			if err := mf.AddReplace(r.Old.Path, r.Old.Version, dir, ""); err != nil {
				return nil, err
			}
		}
	}
	for _, req := range slices.Clone(mf.Require) {
		folder, ok := warrenModules[req.Mod.Path]
		if !ok {
			continue
		}
		if f.RuntimeVersion != "" {
			if err := mf.AddRequire(req.Mod.Path, f.RuntimeVersion); err != nil {
				return nil, fmt.Errorf("require %s %s: %w", req.Mod.Path, f.RuntimeVersion, err)
			}
			continue
		}
		dir := filepath.ToSlash(filepath.Join(f.checkout, folder))
		if err := mf.AddReplace(req.Mod.Path, "", dir, ""); err != nil {
			return nil, err
		}
	}
	mf.Cleanup()
	return modfile.Format(mf.Syntax), nil
}
