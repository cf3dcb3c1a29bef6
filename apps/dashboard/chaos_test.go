//go:build chaos

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/chaostest"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// TestChaos posts batches of events while the server is killed with SIGKILL and
// restarted (make chaos): a 202 acknowledges a batch, and at the end each stream's
// event count must lie between the acknowledged events and the acknowledged plus the
// indeterminate ones (lost below, duplicated above).
func TestChaos(t *testing.T) {
	bin := objecttest.BuildBinary(t, ".")
	chaostest.Run(t, chaostest.Config{Name: "dashboard", Binary: bin}, dashChaos{})
}

const (
	chaosStreams = 2
	chaosBatch   = 10
)

type dashChaos struct{}

func (dashChaos) Load(ctx context.Context, w *chaostest.Worker) error {
	client := &http.Client{Timeout: 3 * time.Second}
	stream := w.ID % chaosStreams
	body := "[" + strings.TrimSuffix(strings.Repeat(`{"name":"chaos","value":1},`, chaosBatch), ",") + "]"
	for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
		op := fmt.Sprintf("s%d/r%d-w%d-%d", stream, w.Run, w.ID, i)
		w.Sent(op)
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+objecttest.PartyPath("stream", fmt.Sprintf("chaos-%d", stream))+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			w.Ack(op)
		} else if resp.StatusCode < 500 {
			return fmt.Errorf("POST: %s", resp.Status)
		}
	}
	return nil
}

func (dashChaos) Check(ctx context.Context, in *chaostest.CheckInput) (chaostest.Result, error) {
	acked, pending := make([]int64, chaosStreams), make([]int64, chaosStreams)
	for _, op := range in.Acked {
		acked[op[1]-'0'] += chaosBatch
	}
	for _, op := range in.Pending {
		pending[op[1]-'0'] += chaosBatch
	}
	var res chaostest.Result
	for s := range chaosStreams {
		req, _ := http.NewRequestWithContext(ctx, "GET", in.URL+objecttest.PartyPath("stream", fmt.Sprintf("chaos-%d", s))+"/query?from=-10m&res=1s", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return res, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return res, fmt.Errorf("query stream %d: %s %s", s, resp.Status, b)
		}
		var q struct {
			Series map[string]struct{ Count []int64 }
		}
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&q); err != nil {
			return res, err
		}
		var total int64
		for _, c := range q.Series["chaos"].Count {
			total += c
		}
		if total < acked[s] {
			res.Lost += int(acked[s] - total)
			res.Examples = append(res.Examples, fmt.Sprintf("stream %d: %d events counted, %d acknowledged", s, total, acked[s]))
		}
		if total > acked[s]+pending[s] {
			res.Duplicated += int(total - acked[s] - pending[s])
			res.Examples = append(res.Examples, fmt.Sprintf("stream %d: %d events counted, at most %d sent", s, total, acked[s]+pending[s]))
		}
	}
	return res, nil
}
