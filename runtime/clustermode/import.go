package clustermode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/warrenhq/warren/runtime/server"
)

// objectFile matches an object's database in a data directory: <ns>/<xx>/<id>.sqlite.
var objectFile = regexp.MustCompile(`^[0-9a-f]{64}\.sqlite$`)

// Import implements server.ClusterImporter: it joins the cluster as f.Node (with its
// embedded server, when -cluster-peers: run it with a stopped node's own flags) and
// imports every object database of dataDir with cluster.Node.Import, one line per
// object on out. Objects already in the cluster with the same content are counted,
// not written; one that fails (a conflict, a corrupt file) does not stop the others,
// and makes Import return an error at the end. Running it again resumes.
func (c Cluster) Import(ctx context.Context, f server.ClusterFlags, dataDir string, out io.Writer, log *slog.Logger) error {
	objects, err := listObjects(dataDir)
	if err != nil {
		return err
	}
	node, _, stopNATS, err := c.joinNode(ctx, f, log) // the same shared settings as Join's
	if err != nil {
		return err
	}
	defer stopNATS()
	defer node.Close()
	work, err := os.MkdirTemp("", "warren-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var imported, present, failed int
	for _, o := range objects {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		did, err := node.Import(ctx, o.namespace, o.id, o.path, work)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(out, "failed   %s/%s: %v\n", o.namespace, o.id, err)
		case did:
			imported++
			fmt.Fprintf(out, "imported %s/%s\n", o.namespace, o.id)
		default:
			present++
			fmt.Fprintf(out, "present  %s/%s (already in the cluster, same content)\n", o.namespace, o.id)
		}
	}
	fmt.Fprintf(out, "%d objects: %d imported, %d already in the cluster, %d failed\n", len(objects), imported, present, failed)
	if failed > 0 {
		return fmt.Errorf("cluster import: %d of %d objects failed (the others are in the cluster; run it again after fixing them)", failed, len(objects))
	}
	return nil
}

type objectRef struct{ namespace, id, path string }

// listObjects lists the object databases of a single-node data directory.
func listObjects(dir string) ([]objectRef, error) {
	var out []objectRef
	nss, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, ns := range nss {
		if !ns.IsDir() {
			continue // the catalogue, the lock
		}
		err := filepath.WalkDir(filepath.Join(dir, ns.Name()), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && objectFile.MatchString(d.Name()) {
				out = append(out, objectRef{namespace: ns.Name(), id: strings.TrimSuffix(d.Name(), ".sqlite"), path: p})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errors.New("cluster import: no object databases in " + dir)
	}
	return out, nil
}
