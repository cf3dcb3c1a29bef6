// Command warren operates a Warren app's objects: on a stopped app's data directory
// (-data DIR), or through the admin API of a running app (-url URL, with the app's
// admin token in WARREN_ADMIN_TOKEN or -token-file).
//
//	warren [-data DIR | -url URL] ls [NAMESPACE] [-prefix P] [-sort name|size|activity] [-limit N] [-cursor C]
//	warren ... inspect NAMESPACE OBJECT
//	warren ... sql [-write] [-max-rows N] NAMESPACE OBJECT QUERY
//	warren ... backup [-ns NAMESPACE [-object OBJECT]] DEST
//	warren ... restore [-ns NAMESPACE [-object OBJECT]] SRC
//	warren ... export [-format json|sqlite] [-o FILE] NAMESPACE OBJECT
//	warren ... rm NAMESPACE OBJECT
//	warren ... bookmark [-at TIME] NAMESPACE OBJECT
//	warren ... restore-bookmark NAMESPACE OBJECT BOOKMARK
//
// OBJECT is an object's name or its 64-hex-digit ID. With -data, DEST and SRC are
// backup folders; with -url they are backup names in the app's backup folder
// (-backup-dir of the app). sql is read-only unless -write: SQLite itself refuses
// writes (a read-only connection). bookmark prints the bookmark of the object's
// state at TIME (RFC 3339, or a duration ago: 15m), or its current one;
// restore-bookmark restores the object to it and prints the bookmark that undoes it.
// Both need the app's point-in-time history (its -history flag). Add -json before
// the command for JSON output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/warrenhq/warren/runtime/admin"
	"github.com/warrenhq/warren/runtime/history"
	"github.com/warrenhq/warren/runtime/object"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "warren:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `Usage: warren [-data DIR | -url URL] [-token-file FILE] [-json] COMMAND [ARGS]

Operates a Warren app's objects: on a stopped app's data directory (-data), or through
the admin API of a running app (-url, token in WARREN_ADMIN_TOKEN or -token-file).

Commands:
  ls [NAMESPACE] [-prefix P] [-sort name|size|activity] [-limit N] [-cursor C]
  inspect NAMESPACE OBJECT
  sql [-write] [-max-rows N] NAMESPACE OBJECT QUERY   (read-only unless -write)
  backup [-ns NAMESPACE [-object OBJECT]] DEST
  restore [-ns NAMESPACE [-object OBJECT]] SRC
  export [-format json|sqlite] [-o FILE] NAMESPACE OBJECT
  rm NAMESPACE OBJECT
  bookmark [-at TIME] NAMESPACE OBJECT             (TIME: RFC 3339 or a duration ago, 15m)
  restore-bookmark NAMESPACE OBJECT BOOKMARK       (prints the bookmark that undoes it)

OBJECT is a name or a 64-hex-digit ID. With -data, DEST and SRC are folders; with -url,
backup names in the app's backup folder.
`

// run parses the global flags, opens the operator and runs one command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("warren", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage) }
	data := fl.String("data", "", "a stopped app's data `directory`")
	base := fl.String("url", os.Getenv("WARREN_URL"), "a running app's `URL` (env WARREN_URL)")
	tokenFile := fl.String("token-file", "", "`file` holding the admin token (default: env WARREN_ADMIN_TOKEN)")
	asJSON := fl.Bool("json", false, "print JSON")
	if err := fl.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return errUsage
	}
	if (*data == "") == (*base == "") {
		return fmt.Errorf("%w: give exactly one of -data DIR (a stopped app) and -url URL (a running app)", errUsage)
	}
	var op admin.Operator
	if *data != "" {
		if fl.Arg(0) == "restore" { // restoring into a new data directory
			if err := os.MkdirAll(*data, 0o755); err != nil {
				return err
			}
		}
		rt, closeAll, err := openDataDir(*data)
		if err != nil {
			return err
		}
		defer closeAll()
		op = admin.Local{RT: rt}
	} else {
		token := os.Getenv("WARREN_ADMIN_TOKEN")
		if *tokenFile != "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				return err
			}
			token = strings.TrimSpace(string(b))
		}
		if token == "" {
			return fmt.Errorf("%w: -url needs the app's admin token in WARREN_ADMIN_TOKEN or -token-file", errUsage)
		}
		op = &admin.Client{BaseURL: *base, Token: token}
	}
	c := &cli{op: op, out: stdout, json: *asJSON}
	cmd, rest := fl.Arg(0), fl.Args()[1:]
	switch cmd {
	case "ls":
		return c.ls(ctx, rest)
	case "inspect":
		return c.inspect(ctx, rest)
	case "sql":
		return c.sql(ctx, rest)
	case "backup", "restore":
		return c.backup(ctx, cmd, rest)
	case "export":
		return c.export(ctx, rest)
	case "rm":
		return c.rm(ctx, rest)
	case "bookmark":
		return c.bookmark(ctx, rest)
	case "restore-bookmark":
		return c.restoreBookmark(ctx, rest)
	}
	fl.Usage()
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// openDataDir opens a stopped app's data directory, with its history when it has
// one (its -history flag: what the CLI writes is kept in it too, and it is never
// swept here, where the app's retention is not known); closeAll closes both. The
// runtime's lock refuses a directory that a running app holds; it is taken once
// before the history is read, so that a running app's history is never touched.
func openDataDir(dir string) (rt *object.Runtime, closeAll func(), err error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("no data directory at %s", dir)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := object.Config{DataDir: dir, IdleTimeout: -1, Logger: log}
	open := func() (*object.Runtime, error) {
		rt, err := object.New(cfg)
		if errors.Is(err, object.ErrLocked) {
			return nil, fmt.Errorf("%s is in use by a running app: operate it through the app's admin API instead, e.g. WARREN_ADMIN_TOKEN=... warren -url http://127.0.0.1:8787 <command> (the app must be started with WARREN_ADMIN_TOKEN)", dir)
		}
		return rt, err
	}
	if rt, err = open(); err != nil {
		return nil, nil, err
	}
	histDir := filepath.Join(dir, ".history")
	if fi, err := os.Stat(histDir); err != nil || !fi.IsDir() {
		return rt, func() { rt.Close() }, nil
	}
	rt.Close()
	hist, err := history.New(history.Config{Dir: histDir, Retention: 100 * 365 * 24 * time.Hour, SweepInterval: -1, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	cfg.History = hist
	if rt, err = open(); err != nil {
		hist.Close()
		return nil, nil, err
	}
	return rt, func() { rt.Close(); hist.Close() }, nil
}

type cli struct {
	op   admin.Operator
	out  io.Writer
	json bool
}

// parse parses a command's flags and checks its positional arguments' count.
func parse(name string, args []string, want int, names string, setup func(*flag.FlagSet)) ([]string, error) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	if setup != nil {
		setup(fl)
	}
	var pos []string
	for { // flags may come before, between or after the arguments
		if err := fl.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
		}
		if fl.NArg() == 0 {
			break
		}
		pos, args = append(pos, fl.Arg(0)), fl.Args()[1:]
	}
	if len(pos) != want && !(want < 0 && len(pos) <= -want) {
		return nil, fmt.Errorf("%w: warren %s %s", errUsage, name, names)
	}
	return pos, nil
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) ls(ctx context.Context, args []string) error {
	var opts object.ObjectListOptions
	pos, err := parse("ls", args, -1, "[NAMESPACE] [-prefix P] [-sort name|size|activity] [-limit N] [-cursor C]", func(fl *flag.FlagSet) {
		fl.StringVar(&opts.Prefix, "prefix", "", "")
		fl.StringVar(&opts.Sort, "sort", "", "")
		fl.IntVar(&opts.Limit, "limit", 0, "")
		fl.StringVar(&opts.Cursor, "cursor", "", "")
	})
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		nss, err := c.op.Namespaces(ctx)
		if err != nil || c.json {
			return errors.Join(err, c.printJSON(nss))
		}
		for _, ns := range nss {
			fmt.Fprintln(c.out, ns)
		}
		return nil
	}
	list, err := c.op.List(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(list)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tLAST ACTIVE\tOPEN\tSOCKETS")
	for _, o := range list.Objects {
		name := o.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%v\t%d\n", name, o.ID, o.Size, o.LastActive.Local().Format(time.DateTime), o.Open, o.Sockets)
	}
	tw.Flush()
	if list.Next != "" {
		fmt.Fprintf(c.out, "more: -cursor %s\n", list.Next)
	}
	return nil
}

func (c *cli) inspect(ctx context.Context, args []string) error {
	pos, err := parse("inspect", args, 2, "NAMESPACE OBJECT", nil)
	if err != nil {
		return err
	}
	d, err := c.op.Inspect(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	return c.printJSON(d)
}

func (c *cli) sql(ctx context.Context, args []string) error {
	var req admin.SQLRequest
	pos, err := parse("sql", args, 3, "[-write] [-max-rows N] NAMESPACE OBJECT QUERY", func(fl *flag.FlagSet) {
		fl.BoolVar(&req.Write, "write", false, "")
		fl.IntVar(&req.MaxRows, "max-rows", 0, "")
	})
	if err != nil {
		return err
	}
	req.Query = pos[2]
	res, err := c.op.SQL(ctx, pos[0], pos[1], req)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	if req.Write {
		fmt.Fprintf(c.out, "%d rows written\n", res.RowsWritten)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			switch x := v.(type) {
			case nil:
				cells[i] = "NULL"
			case map[string]any, object.Blob:
				b, _ := json.Marshal(x)
				cells[i] = string(b)
			default:
				cells[i] = strings.ReplaceAll(fmt.Sprint(x), "\n", `\n`)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	if res.Truncated {
		fmt.Fprintln(c.out, "(truncated: raise -max-rows)")
	}
	return nil
}

func (c *cli) backup(ctx context.Context, cmd string, args []string) error {
	var req admin.BackupRequest
	pos, err := parse(cmd, args, 1, "[-ns NAMESPACE [-object OBJECT]] DIR", func(fl *flag.FlagSet) {
		fl.StringVar(&req.Namespace, "ns", "", "")
		fl.StringVar(&req.Object, "object", "", "")
	})
	if err != nil {
		return err
	}
	req.Name = pos[0]
	var res admin.BackupResponse
	if cmd == "backup" {
		res, err = c.op.Backup(ctx, req)
	} else {
		res, err = c.op.Restore(ctx, req)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	verb := "backed up"
	if cmd == "restore" {
		verb = "restored"
	}
	var bytes int64
	for _, o := range res.Objects {
		bytes += o.Size
	}
	fmt.Fprintf(c.out, "%s %d objects (%d bytes): %s\n", verb, len(res.Objects), bytes, res.Dir)
	return nil
}

func (c *cli) export(ctx context.Context, args []string) error {
	var format, out string
	pos, err := parse("export", args, 2, "[-format json|sqlite] [-o FILE] NAMESPACE OBJECT", func(fl *flag.FlagSet) {
		fl.StringVar(&format, "format", "json", "")
		fl.StringVar(&out, "o", "", "")
	})
	if err != nil {
		return err
	}
	if out == "" {
		if format == "sqlite" {
			return fmt.Errorf("%w: a SQLite export needs -o FILE", errUsage)
		}
		return c.op.Export(ctx, pos[0], pos[1], format, c.out)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := c.op.Export(ctx, pos[0], pos[1], format, f); err != nil {
		f.Close()
		os.Remove(out)
		return err
	}
	return f.Close()
}

func (c *cli) rm(ctx context.Context, args []string) error {
	pos, err := parse("rm", args, 2, "NAMESPACE OBJECT", nil)
	if err != nil {
		return err
	}
	if err := c.op.Delete(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "deleted %s/%s\n", pos[0], pos[1])
	return nil
}

func (c *cli) bookmark(ctx context.Context, args []string) error {
	var atFlag string
	pos, err := parse("bookmark", args, 2, "[-at TIME] NAMESPACE OBJECT", func(fl *flag.FlagSet) {
		fl.StringVar(&atFlag, "at", "", "")
	})
	if err != nil {
		return err
	}
	var at time.Time
	if atFlag != "" {
		if at, err = parseMoment(atFlag, time.Now()); err != nil {
			return err
		}
	}
	res, err := c.op.Bookmark(ctx, pos[0], pos[1], at)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintln(c.out, res.Bookmark)
	return nil
}

// parseMoment reads -at: an RFC 3339 time, or a duration before now (15m, 2h).
func parseMoment(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%w: -at %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (15m)", errUsage, s)
}

func (c *cli) restoreBookmark(ctx context.Context, args []string) error {
	pos, err := parse("restore-bookmark", args, 3, "NAMESPACE OBJECT BOOKMARK", nil)
	if err != nil {
		return err
	}
	res, err := c.op.RestoreBookmark(ctx, pos[0], pos[1], pos[2])
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.out, "restored %s/%s to %s; undo with: warren restore-bookmark %s %s %s\n", pos[0], pos[1], res.Bookmark, pos[0], pos[1], res.Undo)
	return nil
}
