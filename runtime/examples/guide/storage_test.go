package guide_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/warrenhq/warren/runtime/object"
)

// Inbox uses both storage APIs of its object's SQLite database: key-value pairs
// and SQL tables. Both join the turn's transaction.
type Inbox struct{ st *object.State }

func NewInbox(ctx context.Context, st *object.State) (*Inbox, error) {
	// Schema migrations belong in the constructor: it runs in a turn of its own.
	// Migrate runs each step once per object, in order (keyed by user_version).
	return &Inbox{st: st}, object.Migrate(st, inboxMigrations...)
}

// inboxMigrations are the schema's versions: append steps, never edit a shipped one.
var inboxMigrations = []object.Migration{
	object.Statements(`CREATE TABLE mail(
		id INTEGER PRIMARY KEY, sender TEXT NOT NULL, subject TEXT NOT NULL)`),
}

type Mail struct{ Sender, Subject string }

// Receive stores a mail in the table and counts it per sender in the KV store.
func (b *Inbox) Receive(ctx context.Context, m Mail) (int64, error) {
	res, err := b.st.SQL().Exec(`INSERT INTO mail(sender, subject) VALUES (?, ?)`, m.Sender, m.Subject)
	if err != nil {
		return 0, err
	}
	key := "count/" + m.Sender
	n, _, err := object.GetJSON[int](b.st.Storage(), key)
	if err != nil {
		return 0, err
	}
	return res.LastInsertID, object.PutJSON(b.st.Storage(), key, n+1)
}

// The RPC methods, listed at Register.
var receive = object.NewMethod("receive", (*Inbox).Receive)
var summary = object.NewMethod("summary", (*Inbox).Summary)

// Summary lists the per-sender counts (a KV prefix scan) and the subjects (a query).
func (b *Inbox) Summary(ctx context.Context, _ struct{}) ([]string, error) {
	var out []string
	entries, err := b.st.Storage().List(object.ListOptions{Prefix: "count/"})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s=%s", e.Key, e.Value))
	}
	rows, err := b.st.SQL().Query(`SELECT subject FROM mail WHERE sender = ? ORDER BY id`, "ann")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, "ann: "+s)
	}
	// Transactions belong to the runtime: user SQL cannot open one.
	if _, err := b.st.SQL().Exec(`BEGIN`); err != nil {
		out = append(out, "BEGIN refused")
	}
	return out, rows.Err()
}

func Example_storage() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	inboxes, err := object.Register(rt, "inbox", NewInbox, object.Methods(receive, summary))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	me := inboxes.GetByName("me@example.com")
	for _, m := range []Mail{{"ann", "hello"}, {"bob", "lunch?"}, {"ann", "re: hello"}} {
		if _, err := receive.Call(ctx, me, m); err != nil {
			log.Fatal(err)
		}
	}
	lines, err := summary.Call(ctx, me, struct{}{})
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println(err)
	// Output:
	// count/ann=2
	// count/bob=1
	// ann: hello
	// ann: re: hello
	// BEGIN refused
	// <nil>
}
