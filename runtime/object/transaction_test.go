package object_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warrenhq/warren/runtime/object"
	"github.com/warrenhq/warren/runtime/objecttest"
)

// Shop sells from a stock; a failed sale must not cost the rest of the turn.
type Shop struct{ st *object.State }

var errSoldOut = errors.New("sold out")

// order tries each sale in a sub-transaction of its own and reports the ones that
// went through; a sale that fails after writing leaves nothing behind.
var order = object.NewMethod("order", func(s *Shop, ctx context.Context, items []string) ([]string, error) {
	var sold []string
	for _, it := range items {
		err := s.st.Transaction(func() error {
			if _, err := s.st.SQL().Exec(`INSERT INTO sales (item) VALUES (?)`, it); err != nil {
				return err
			}
			if err := s.st.Storage().Put("last", []byte(it)); err != nil {
				return err
			}
			if err := s.st.SetAlarm(time.Now().Add(time.Hour)); err != nil {
				return err
			}
			var stock int
			if err := s.st.SQL().QueryRow(`UPDATE stock SET n = n - 1 WHERE item = ? RETURNING n`, it).Scan(&stock); err != nil {
				return err
			}
			if stock < 0 {
				return errSoldOut // after three writes: all undone
			}
			// A nested sub-transaction that fails is undone alone.
			inner := s.st.Transaction(func() error {
				if err := s.st.Storage().Put("inner", []byte(it)); err != nil {
					return err
				}
				return errors.New("inner refused")
			})
			if inner == nil {
				return errors.New("the inner failure was not returned")
			}
			return nil
		})
		if err == nil {
			sold = append(sold, it)
		} else if !errors.Is(err, errSoldOut) {
			return nil, err
		}
	}
	return sold, nil
})

func (s *Shop) Alarm(ctx context.Context, info object.AlarmInfo) error { return nil }

// TestTransactionRollsBackOnlyItsPart pins issue 15 (sub-transactions): an app could
// not catch a failure inside a turn without losing the whole turn. Now
// State.Transaction rolls back only what its function did (SQL, storage, the alarm),
// nested ones alone, and the turn commits the rest.
func TestTransactionRollsBackOnlyItsPart(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	ns, err := object.Register(rt.Runtime, "shop", func(ctx context.Context, st *object.State) (*Shop, error) {
		_, err := st.SQL().Exec(`CREATE TABLE IF NOT EXISTS sales (item TEXT);
			CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, n INTEGER);
			INSERT OR IGNORE INTO stock VALUES ('pen', 1), ('ink', 0)`)
		return &Shop{st}, err
	}, object.Methods(order))
	if err != nil {
		t.Fatal(err)
	}
	stub := ns.GetByName("s")
	sold, err := order.Call(context.Background(), stub, []string{"ink", "pen", "pen"})
	if err != nil || len(sold) != 1 || sold[0] != "pen" {
		t.Fatalf("sold %v, %v; want [pen]", sold, err)
	}
	var sales int
	var last, inner string
	var alarm bool
	var stock int
	err = ns.RunLocal(context.Background(), stub, func(ctx context.Context, s *Shop) error {
		if err := s.st.SQL().QueryRow(`SELECT count(*) FROM sales`).Scan(&sales); err != nil {
			return err
		}
		if err := s.st.SQL().QueryRow(`SELECT n FROM stock WHERE item = 'pen'`).Scan(&stock); err != nil {
			return err
		}
		b, _, _ := s.st.Storage().Get("last")
		i, _, _ := s.st.Storage().Get("inner")
		last, inner = string(b), string(i)
		_, alarm, err = s.st.GetAlarm()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sales != 1 || stock != 0 || last != "pen" || inner != "" || !alarm {
		t.Fatalf("after the turn: %d sales, pen stock %d, last %q, inner %q, alarm %v; want 1, 0, pen, none, set", sales, stock, last, inner, alarm)
	}
}

// TestTransactionPanicFailsTurn: a panic inside a sub-transaction is not swallowed.
func TestTransactionPanicFailsTurn(t *testing.T) {
	rt := objecttest.New(t, object.Config{})
	boom := object.NewMethodNoArg("boom", func(s *Shop, ctx context.Context) (bool, error) {
		s.st.Transaction(func() error { panic("boom") })
		return true, nil
	})
	ns, err := object.Register(rt.Runtime, "boom", func(ctx context.Context, st *object.State) (*Shop, error) { return &Shop{st}, nil }, object.Methods(boom))
	if err != nil {
		t.Fatal(err)
	}
	var perr *object.PanicError
	if _, err := boom.Call(context.Background(), ns.GetByName("b")); !errors.As(err, &perr) {
		t.Fatalf("a panic in a sub-transaction: %v, want a PanicError", err)
	}
}
