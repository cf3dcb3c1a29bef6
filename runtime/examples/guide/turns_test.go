package guide_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/warrenhq/warren/runtime/object"
)

// Account shows what a turn guarantees: its writes commit together or not at all,
// and what it sends out is released only after the commit.
type Account struct {
	st      *object.State
	balance int64
	audit   func(string) // where committed events go (a socket, a log, another system)
}

// The RPC methods, listed at Register.
var transfer = object.NewMethod("transfer", (*Account).Transfer)

func (a *Account) Transfer(ctx context.Context, amount int64) (int64, error) {
	a.balance -= amount
	if err := object.PutJSON(a.st.Storage(), "balance", a.balance); err != nil {
		return 0, err
	}
	// Runs only if this turn's commit is durable; dropped if the turn fails.
	a.st.OnCommit(func() { a.audit(fmt.Sprintf("transferred %d", amount)) })
	if a.balance < 0 {
		// The write above is rolled back, the OnCommit dropped, and the instance
		// reset: the next event rebuilds it from storage, so a.balance is not stale.
		return 0, errors.New("insufficient funds")
	}
	return a.balance, nil
}

func Example_turns() {
	dir, _ := os.MkdirTemp("", "warren-guide")
	defer os.RemoveAll(dir)
	rt, err := object.New(object.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	accounts, err := object.Register(rt, "account", func(ctx context.Context, st *object.State) (*Account, error) {
		b, ok, err := object.GetJSON[int64](st.Storage(), "balance")
		if !ok {
			b = 100 // a new account
		}
		return &Account{st: st, balance: b, audit: func(s string) { fmt.Println("audit:", s) }}, err
	}, object.Methods(transfer))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	acct := accounts.GetByName("alice")
	for _, amount := range []int64{30, 80, 70} {
		b, err := transfer.Call(ctx, acct, amount)
		fmt.Println("balance", b, "error", err)
	}
	// Output:
	// audit: transferred 30
	// balance 70 error <nil>
	// balance 0 error insufficient funds
	// audit: transferred 70
	// balance 0 error <nil>
}
