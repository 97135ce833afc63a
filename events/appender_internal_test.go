package events

import (
	"testing"
	"time"
)

// TestLingerGathersSendsUntilAnAppend: a batch of Send records waits for
// company, and an Append (whose caller waits for the fsync) ends the wait.
func TestLingerGathersSendsUntilAnAppend(t *testing.T) {
	p := &Producer{reqs: make(chan appendReq, 8)}
	send := appendReq{frame: []byte("s"), n: 1}
	appended := appendReq{frame: []byte("a"), n: 1, done: make(chan error, 1)}
	p.reqs <- send
	p.reqs <- send
	p.reqs <- appended
	p.reqs <- send // after the Append: left for the next batch
	timer := time.NewTimer(time.Hour)
	batch, buf := p.linger(timer, []appendReq{send}, []byte("s"))
	if len(batch) != 4 || string(buf) != "sssa" || batch[3].done == nil {
		t.Fatalf("batch of %d (%q), want the three Sends and the Append that ended the wait", len(batch), buf)
	}
	if len(p.reqs) != 1 {
		t.Fatalf("%d requests left queued, want the one after the Append", len(p.reqs))
	}
	if waited(batch[:3]) || !waited(batch) {
		t.Error("waited() does not tell Sends from Appends")
	}

	close(p.reqs)
	batch, buf = p.linger(timer, nil, nil)
	if len(batch) != 1 || string(buf) != "s" {
		t.Fatalf("after close: batch of %d (%q), want the last Send", len(batch), buf)
	}
}
