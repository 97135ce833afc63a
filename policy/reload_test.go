package policy

import (
	"context"
	"errors"
	"sync"
	"testing"
)

const blocklistEdit = "package reelguard.authz\n\ndeny contains \"blocked_ip\" if input.principal.client_ip == \"203.0.113.66\"\n"

func TestReloadKeepsLastGoodPolicy(t *testing.T) {
	ctx := context.Background()
	e, dir := newTestEngine(t)
	good := e.Status()
	own := request("user", "42", "GET", "recommend", "42")

	edits := []struct {
		name, file, body string
		wantErr          error
	}{
		{"syntax error", "authz.rego", "package reelguard.authz\n\nallow if {\n", ErrCompile},
		{"veto that fails the tests", "maintenance.rego", "package reelguard.authz\n\ndeny contains \"maintenance\" if true\n", ErrTestsFailed},
	}
	for _, edit := range edits {
		t.Run(edit.name, func(t *testing.T) {
			writeFile(t, dir, edit.file, edit.body)
			t.Cleanup(func() { removeOrRestore(t, dir, edit.file) })
			if _, err := e.Reload(ctx); !errors.Is(err, edit.wantErr) {
				t.Fatalf("Reload = %v, want %v", err, edit.wantErr)
			}
			st := e.Status()
			if st.LastError == nil || st.Revision != good.Revision || !st.LoadedAt.Equal(good.LoadedAt) {
				t.Fatalf("Status after a rejected edit = %+v, want revision %s kept and last_error set", st, good.Revision)
			}
			if d, err := e.Decide(ctx, own); err != nil || !d.Allow {
				t.Fatalf("last good policy not in force: %+v, %v", d, err)
			}
		})
	}

	// Undoing the bad edits clears the error without a new revision.
	if _, err := e.Reload(ctx); err != nil {
		t.Fatalf("Reload after undoing the edits: %v", err)
	}
	if st := e.Status(); st.LastError != nil || st.Revision != good.Revision {
		t.Fatalf("Status after undo = %+v, want revision %s and no error", st, good.Revision)
	}
}

func TestReloadAppliesGoodEdit(t *testing.T) {
	ctx := context.Background()
	e, dir := newTestEngine(t)
	before := e.Status()
	blocked := request("user", "42", "GET", "recommend", "42")
	blocked.Principal.ClientIP = "203.0.113.66"

	writeFile(t, dir, "authz.rego", "package reelguard.authz\n\nallow if {\n") // rejected first
	if _, err := e.Reload(ctx); err == nil {
		t.Fatal("Reload accepted a syntax error")
	}
	removeOrRestore(t, dir, "authz.rego")
	writeFile(t, dir, "local/blocklist.rego", blocklistEdit)
	if _, err := e.Reload(ctx); err != nil {
		t.Fatalf("Reload of a good edit: %v", err)
	}
	st := e.Status()
	if st.LastError != nil || st.Revision == before.Revision || st.LoadedAt.Before(before.LoadedAt) {
		t.Fatalf("Status after a good edit = %+v (before %+v)", st, before)
	}
	d, err := e.Decide(ctx, blocked)
	if err != nil || d.Allow || d.Reason != "blocked_ip" {
		t.Fatalf("Decide after the edit = %+v, %v; want a blocked_ip denial", d, err)
	}
}

func TestReloadUnchangedIsNoop(t *testing.T) {
	e, _ := newTestEngine(t)
	before := e.Status()
	if _, err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := e.Status(); after.Revision != before.Revision || !after.LoadedAt.Equal(before.LoadedAt) || after.LastError != nil {
		t.Fatalf("Status after a no-op reload = %+v, want %+v", after, before)
	}
}

func TestReloadCancelledRecordsNothing(t *testing.T) {
	e, dir := newTestEngine(t)
	writeFile(t, dir, "local/blocklist.rego", blocklistEdit)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Reload(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reload with a cancelled context = %v, want context.Canceled", err)
	}
	if st := e.Status(); st.LastError != nil {
		t.Fatalf("a cancelled reload blamed the edit: %s", *st.LastError)
	}
}

// removeOrRestore undoes a test's write: the embedded copy of a default
// file, or removal of any other.
func removeOrRestore(tb testing.TB, dir, name string) {
	tb.Helper()
	src, err := defaultSource()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range src.Files {
		if f.Name == name {
			writeFile(tb, dir, name, string(f.Data))
			return
		}
	}
	removeFile(tb, dir, name)
}

// TestDecideDuringReload: under -race, decisions never see a half-swapped
// policy and never fail while edits go live.
func TestDecideDuringReload(t *testing.T) {
	ctx := context.Background()
	e, dir := newTestEngine(t)
	in := request("service", "frontend", "GET", "recommend", "43")
	in.Principal.ClientIP = "203.0.113.66"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Decide(ctx, in)
				if err != nil || (d.Reason != "allowed" && d.Reason != "blocked_ip") {
					t.Errorf("Decide during reload = %+v, %v", d, err)
					return
				}
			}
		})
	}
	for i := range 4 {
		if i%2 == 0 {
			writeFile(t, dir, "local/blocklist.rego", blocklistEdit)
		} else {
			removeFile(t, dir, "local/blocklist.rego")
		}
		if _, err := e.Reload(ctx); err != nil {
			t.Errorf("Reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
}
