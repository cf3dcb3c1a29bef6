package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// idPage answers HTTP and WebSocket messages with its ID and its stored note.
type idPage struct{ st *object.State }

func (p *idPage) say() string {
	note, _, _ := object.GetJSON[string](p.st.Storage(), "note")
	return p.st.ID().String() + " " + note
}

func (p *idPage) ServeHTTP(w http.ResponseWriter, r *http.Request) { io.WriteString(w, p.say()) }

func (p *idPage) OnMessage(ctx context.Context, ws *object.WebSocket, m object.Message) error {
	return ws.SendText(p.say())
}

func registerIDPage(t *testing.T, rt *objecttest.Runtime, name string, opts ...object.Option) *object.Namespace[idPage] {
	t.Helper()
	ns, err := object.Register(rt.Runtime, name, func(ctx context.Context, st *object.State) (*idPage, error) {
		return &idPage{st: st}, nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestObjectsAddressedByID: a namespace registered with AddressableByID reaches an
// object by its ID over HTTP and WebSocket (/parties/<ns>/id:<hex>), a unique ID's
// object as well as a named one's; an address that is no ID of the namespace
// answers 400 and creates nothing; with ExistingOnly an unknown ID answers 404; a
// namespace without the option takes "id:..." as a name.
func TestObjectsAddressedByID(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	docs := registerIDPage(t, rt, "docs", object.AddressableByID())
	kept := registerIDPage(t, rt, "kept", object.AddressableByID(), object.ExistingOnly())
	named := registerIDPage(t, rt, "named")
	base := "http://" + serveEndpoints(t, rt, docs, kept, named)
	ctx := context.Background()

	unique := docs.NewUniqueID()
	err := docs.RunLocal(ctx, docs.Get(unique), func(ctx context.Context, p *idPage) error {
		return object.PutJSON(p.st.Storage(), "note", "unique")
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := object.IDPrefix + unique.String()
	want := unique.String() + " unique"
	if code, body := getBody(t, base+objecttest.PartyPath("docs", byID)+"/any/path"); code != http.StatusOK || body != want {
		t.Fatalf("GET by ID: %d %q, want 200 %q", code, body, want)
	}
	c := dialOK(t, base, "docs", byID)
	if got := roundTrip(t, c, "hi"); got != want {
		t.Fatalf("socket by ID: %q, want %q", got, want)
	}

	// A named object is the same object by its name's ID.
	roomID := docs.IDFromName("room")
	_, byName := getBody(t, base+objecttest.PartyPath("docs", "room"))
	if code, body := getBody(t, base+objecttest.PartyPath("docs", object.IDPrefix+roomID.String())); code != http.StatusOK || body != byName || !strings.HasPrefix(body, roomID.String()) {
		t.Fatalf("room by ID: %d %q; by name %q", code, body, byName)
	}

	files := objectFiles(t, rt.Dir, "docs")
	for _, bad := range []string{
		"id:",
		"id:" + strings.Repeat("g", 64),
		"id:" + strings.ToUpper(unique.String()),
		"id:" + unique.String()[:63],
		"id:" + unique.String() + "0",
		"id:" + named.NewUniqueID().String(), // minted by another namespace
	} {
		code, body := getBody(t, base+objecttest.PartyPath("docs", bad))
		if code != http.StatusBadRequest || !strings.Contains(body, "invalid ID") {
			t.Errorf("GET %q: %d %q, want 400 invalid ID", bad, code, body)
		}
		if code := dialStatus(objecttest.PartyURL(base, "docs", bad, "")); code != http.StatusBadRequest {
			t.Errorf("dial %q: %d, want 400", bad, code)
		}
	}
	if n := objectFiles(t, rt.Dir, "docs"); n != files {
		t.Errorf("bad IDs made files: %d, then %d", files, n)
	}

	unknown := object.IDPrefix + kept.NewUniqueID().String()
	if code, _ := getBody(t, base+objecttest.PartyPath("kept", unknown)); code != http.StatusNotFound {
		t.Errorf("GET unknown ID of an ExistingOnly namespace: %d, want 404", code)
	}
	if code := dialStatus(objecttest.PartyURL(base, "kept", unknown, "")); code != http.StatusNotFound {
		t.Errorf("dial unknown ID of an ExistingOnly namespace: %d, want 404", code)
	}
	if n := objectFiles(t, rt.Dir, "kept"); n != 0 {
		t.Errorf("ExistingOnly namespace has %d files", n)
	}

	asName := object.IDPrefix + named.NewUniqueID().String()
	if code, body := getBody(t, base+objecttest.PartyPath("named", asName)); code != http.StatusOK || !strings.HasPrefix(body, named.IDFromName(asName).String()) {
		t.Errorf("without AddressableByID, %q is a name: %d %q", asName, code, body)
	}
}

func dialOK(t *testing.T, base, ns, name string) *websocket.Conn {
	t.Helper()
	c, resp, err := objecttest.DialParty(context.Background(), base, ns, name, "")
	if err != nil {
		status := ""
		if resp != nil {
			status = fmt.Sprintf(" (%d)", resp.StatusCode)
		}
		t.Fatalf("dial %s: %v%s", objecttest.PartyURL(base, ns, name, ""), err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
