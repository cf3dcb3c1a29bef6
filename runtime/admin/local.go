package admin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/warrenhq/warren/runtime/object"
)

// Operator is what the warren CLI does to an app's objects: Local on a data
// directory (or in the app's process, where the API serves it), Client through the
// admin API of a running app. Objects are referred to by name or ID (ref).
type Operator interface {
	Namespaces(ctx context.Context) ([]string, error)
	List(ctx context.Context, ns string, opts object.ObjectListOptions) (object.ObjectList, error)
	Inspect(ctx context.Context, ns, ref string) (object.ObjectDetails, error)
	Delete(ctx context.Context, ns, ref string) error
	SQL(ctx context.Context, ns, ref string, req SQLRequest) (object.QueryResult, error)
	Export(ctx context.Context, ns, ref, format string, w io.Writer) error
	// Backup and Restore take the backup's folder in req.Name: a path for Local, a
	// name under the server's backup folder for Client.
	Backup(ctx context.Context, req BackupRequest) (BackupResponse, error)
	Restore(ctx context.Context, req BackupRequest) (BackupResponse, error)
	// Bookmark returns the bookmark of the object's state at at (its last commit at
	// or before it), or of its last commit when at is zero; RestoreBookmark restores
	// the object to a bookmark and returns the bookmark that undoes it (Undo). Both
	// need the app's history (the -history flag).
	Bookmark(ctx context.Context, ns, ref string, at time.Time) (BookmarkResponse, error)
	RestoreBookmark(ctx context.Context, ns, ref, bookmark string) (BookmarkResponse, error)
}

// Local operates on a runtime in this process.
type Local struct{ RT *object.Runtime }

var _ Operator = Local{}

func (l Local) Namespaces(ctx context.Context) ([]string, error) { return l.RT.Namespaces() }

func (l Local) List(ctx context.Context, ns string, opts object.ObjectListOptions) (object.ObjectList, error) {
	return l.RT.ListObjects(ctx, ns, opts)
}

func (l Local) Inspect(ctx context.Context, ns, ref string) (object.ObjectDetails, error) {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return object.ObjectDetails{}, err
	}
	return l.RT.Inspect(ctx, ns, id)
}

func (l Local) Delete(ctx context.Context, ns, ref string) error {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return err
	}
	return l.RT.DeleteObject(ctx, ns, id)
}

func (l Local) SQL(ctx context.Context, ns, ref string, req SQLRequest) (object.QueryResult, error) {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return object.QueryResult{}, err
	}
	return l.RT.Query(ctx, ns, id, req.Query, object.QueryOptions{Write: req.Write, MaxRows: req.MaxRows})
}

func (l Local) Export(ctx context.Context, ns, ref, format string, w io.Writer) error {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return err
	}
	switch format {
	case "", "json":
		return l.RT.ExportJSON(ctx, ns, id, w)
	case "sqlite":
		return l.RT.ExportSQLite(ctx, ns, id, w)
	}
	return fmt.Errorf("%w: format %q (want json or sqlite)", errBadRequest, format)
}

func (l Local) Backup(ctx context.Context, req BackupRequest) (BackupResponse, error) {
	if req.Object != "" && req.Namespace == "" {
		return BackupResponse{}, fmt.Errorf("%w: an object needs its namespace", errBadRequest)
	}
	var refs []object.ObjectRef
	switch {
	case req.Object != "":
		id, err := l.RT.ParseObject(req.Namespace, req.Object)
		if err != nil {
			return BackupResponse{}, err
		}
		refs = append(refs, object.ObjectRef{Namespace: req.Namespace, ID: id})
	case req.Namespace != "":
		all, err := namespaceObjects(ctx, l.RT, req.Namespace)
		if err != nil {
			return BackupResponse{}, err
		}
		if len(all) == 0 {
			return BackupResponse{}, fmt.Errorf("%w: namespace %q has no objects", object.ErrNotFound, req.Namespace)
		}
		refs = all
	}
	m, err := l.RT.Backup(ctx, req.Name, refs...)
	if err != nil {
		return BackupResponse{}, err
	}
	return BackupResponse{Name: req.Name, Dir: req.Name, Objects: m.Objects}, nil
}

func (l Local) Restore(ctx context.Context, req BackupRequest) (BackupResponse, error) {
	if req.Object != "" && req.Namespace == "" {
		return BackupResponse{}, fmt.Errorf("%w: an object needs its namespace", errBadRequest)
	}
	opts := object.RestoreOptions{Namespace: req.Namespace}
	if req.Object != "" {
		id, err := l.RT.ParseObject(req.Namespace, req.Object)
		if err != nil {
			return BackupResponse{}, err
		}
		opts.ID = &id
	}
	restored, err := l.RT.Restore(ctx, req.Name, opts)
	if err != nil {
		return BackupResponse{}, err
	}
	return BackupResponse{Name: req.Name, Dir: req.Name, Objects: restored}, nil
}

func (l Local) Bookmark(ctx context.Context, ns, ref string, at time.Time) (BookmarkResponse, error) {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return BookmarkResponse{}, err
	}
	var res BookmarkResponse
	if at.IsZero() {
		res.Bookmark, err = l.RT.CurrentBookmark(ctx, ns, id)
	} else {
		res.Bookmark, err = l.RT.BookmarkForTime(ctx, ns, id, at)
	}
	if err != nil {
		return BookmarkResponse{}, err
	}
	res.HistoryBytes, err = l.RT.HistoryUsage(ns, id)
	return res, err
}

func (l Local) RestoreBookmark(ctx context.Context, ns, ref, bookmark string) (BookmarkResponse, error) {
	id, err := l.RT.ParseObject(ns, ref)
	if err != nil {
		return BookmarkResponse{}, err
	}
	undo, err := l.RT.RestoreBookmark(ctx, ns, id, bookmark)
	if err != nil {
		return BookmarkResponse{}, err
	}
	return BookmarkResponse{Bookmark: bookmark, Undo: undo}, nil
}

// namespaceObjects lists every object of ns (through the catalogue, page by page).
func namespaceObjects(ctx context.Context, rt *object.Runtime, ns string) ([]object.ObjectRef, error) {
	var out []object.ObjectRef
	opts := object.ObjectListOptions{Limit: object.MaxListLimit}
	for {
		page, err := rt.ListObjects(ctx, ns, opts)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			id, err := rt.ParseObject(ns, o.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, object.ObjectRef{Namespace: ns, ID: id})
		}
		if page.Next == "" {
			return out, nil
		}
		opts.Cursor = page.Next
	}
}
