//go:build chaos

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/chaostest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestChaos types Yjs edits into a few documents while the server is killed with
// SIGKILL and restarted (make chaos). Each edit is a standalone Yjs update (one
// insert of a unique token, as a fresh Yjs client at clock 0); it is acknowledged
// when the server relays it to another socket of the document, which it does only
// after the update is durable in the document's log. At the end the document text
// must contain every acknowledged token exactly once, and no token twice.
func TestChaos(t *testing.T) {
	bin := objecttest.BuildBinary(t, ".")
	chaostest.Run(t, chaostest.Config{Name: "collab-editor", Binary: bin}, editorChaos{})
}

const (
	chaosDocs   = 2
	chaosWindow = 4 // edits in flight per worker
)

type editorChaos struct{}

func chaosDoc(i int) string { return fmt.Sprintf("chaos-%d", i%chaosDocs) }

// chaosToken matches the tokens the workers insert: "[e<run>.<worker>.<seq>]".
var chaosToken = regexp.MustCompile(`\[e\d+\.\d+\.\d+\]`)

func (editorChaos) dial(ctx context.Context, url, doc string) (*websocket.Conn, error) {
	c, _, err := objecttest.DialParty(ctx, url, "document", doc, "")
	return c, err
}

// chaosEdit is a y-websocket sync update ([0, 2, varbytes update]) whose Yjs update
// inserts token at the start of the text "content" as client (clock 0, no
// origins, empty delete set), so it is valid on its own and in any order.
func chaosEdit(client uint64, token string) []byte {
	var u []byte
	u = append(u, 1, 1) // one client, one struct
	u = appendUint(u, client)
	u = append(u, 0)    // clock 0
	u = append(u, 4)    // info: String content, no origins: parent info follows
	u = append(u, 1, 7) // parent is a root type named by a 7-byte key
	u = append(u, "content"...)
	u = appendUint(u, uint64(len(token)))
	u = append(u, token...)
	u = append(u, 0) // empty delete set
	return syncFrame(syncUpdate, u)
}

// Load runs one writer and one observer socket on a document: the writer sends
// edits (at most chaosWindow unacknowledged), the observer acknowledges every
// token the server relays to it (from any worker).
func (ec editorChaos) Load(ctx context.Context, w *chaostest.Worker) error {
	doc := chaosDoc(w.ID)
	obs, err := ec.dial(ctx, w.URL, doc)
	if err != nil {
		return err
	}
	defer obs.Close()
	wr, err := ec.dial(ctx, w.URL, doc)
	if err != nil {
		return err
	}
	defer wr.Close()
	stop := context.AfterFunc(ctx, func() { obs.Close(); wr.Close() })
	defer stop()
	slots := make(chan struct{}, chaosWindow)
	mine := fmt.Sprintf("[e%d.%d.", w.Run, w.ID)
	go func() { // the writer's own frames (the server's step 1) are not needed
		for {
			if _, _, err := wr.ReadMessage(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wr.Close()
		for {
			_, b, err := obs.ReadMessage()
			if err != nil {
				return
			}
			if len(b) < 2 || b[0] != msgSync || b[1] == syncStep1 {
				continue
			}
			for _, tok := range chaosToken.FindAll(b, -1) {
				w.Ack(string(tok))
				if strings.HasPrefix(string(tok), mine) {
					select {
					case <-slots:
					default:
					}
				}
			}
		}
	}()
	for i := 0; i < 1<<20 && ctx.Err() == nil; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
			return nil // the server is gone
		}
		tok := fmt.Sprintf("%s%d]", mine, i)
		// A client id of its own per edit, unique over the whole run, far above the
		// small ids real Yjs clients pick; below 2^53 as lib0 requires.
		client := uint64(1)<<45 | uint64(w.Run)<<28 | uint64(w.ID)<<20 | uint64(i)
		w.Sent(tok)
		wr.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := wr.WriteMessage(websocket.BinaryMessage, chaosEdit(client, tok)); err != nil {
			return err
		}
	}
	return nil
}

// Check reads each document's text from the restarted server and counts tokens.
func (editorChaos) Check(ctx context.Context, in *chaostest.CheckInput) (chaostest.Result, error) {
	count := map[string]int{}
	for d := range chaosDocs {
		req, _ := http.NewRequestWithContext(ctx, "GET", in.URL+objecttest.PartyPath("document", chaosDoc(d))+"/text", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return chaostest.Result{}, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return chaostest.Result{}, err
		}
		if resp.StatusCode != 200 {
			return chaostest.Result{}, fmt.Errorf("text of %s: %s %s", chaosDoc(d), resp.Status, b)
		}
		for _, tok := range chaosToken.FindAll(b, -1) {
			count[string(tok)]++
		}
	}
	var res chaostest.Result
	for _, tok := range in.Acked {
		if count[tok] == 0 {
			res.Lost++
			res.Examples = append(res.Examples, "lost "+tok)
		}
	}
	sent := map[string]bool{}
	for _, tok := range in.Acked {
		sent[tok] = true
	}
	for _, tok := range in.Pending {
		sent[tok] = true
	}
	for tok, n := range count {
		if n > 1 {
			res.Duplicated++
			res.Examples = append(res.Examples, fmt.Sprintf("%s ×%d", tok, n))
		} else if !sent[tok] {
			res.Duplicated++ // present but never sent: the text is corrupt
			res.Examples = append(res.Examples, "unknown "+tok)
		}
	}
	if len(res.Examples) > 10 {
		res.Examples = res.Examples[:10]
	}
	return res, nil
}
