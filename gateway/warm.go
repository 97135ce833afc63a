package gateway

import (
	"net/http"
	"sync"
)

// warmPool runs requests on long-lived goroutines. HTTP/2 starts a new
// goroutine per stream, with a small stack that every request then grows
// (copying the whole stack each time it doubles): measured under h2load,
// that was about a tenth of the gateway's CPU. A stream's goroutine hands
// its request to an idle worker, whose stack has already grown, and waits;
// when no worker is idle it serves the request itself, so the pool never
// queues or limits anything (the load shedder does that). At low load the
// hand-off costs more than it saves (waking a parked worker is tens of
// microseconds of latency), so with few requests in flight the stream's
// own goroutine serves.
// maxWarmWorkers bounds the pool: enough for the requests a 2-core gateway
// has in flight at saturation, cheap when idle (a few MB of stacks).
const maxWarmWorkers = 256

type warmPool struct {
	jobs chan *warmJob // unbuffered: a send succeeds only into an idle worker
	quit chan struct{}
	once sync.Once
	// busy reports whether enough requests are in flight for the hand-off
	// to pay; nil: always.
	busy func() bool
}

type warmJob struct {
	h        http.Handler
	w        http.ResponseWriter
	r        *http.Request
	panicked any
	done     chan struct{}
}

var warmJobs = sync.Pool{New: func() any { return &warmJob{done: make(chan struct{}, 1)} }}

func newWarmPool(workers int) *warmPool {
	p := &warmPool{jobs: make(chan *warmJob), quit: make(chan struct{})}
	for range workers {
		go p.work()
	}
	return p
}

func (p *warmPool) work() {
	for {
		select {
		case j := <-p.jobs:
			j.run()
			j.done <- struct{}{}
		case <-p.quit:
			return
		}
	}
}

// close stops the workers; requests still arriving are served inline.
func (p *warmPool) close() { p.once.Do(func() { close(p.quit) }) }

// run serves the job, catching a panic so that it is raised again on the
// request's own goroutine, where net/http expects it (ReverseProxy aborts
// a response with http.ErrAbortHandler).
func (j *warmJob) run() {
	defer func() { j.panicked = recover() }()
	j.h.ServeHTTP(j.w, j.r)
}

// handler serves next's requests on the pool's workers.
func (p *warmPool) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j := warmJobs.Get().(*warmJob)
		j.h, j.w, j.r = next, w, r
		if p.busy != nil && !p.busy() {
			j.run()
		} else {
			select {
			case p.jobs <- j:
				<-j.done
			default:
				j.run()
			}
		}
		v := j.panicked
		j.h, j.w, j.r, j.panicked = nil, nil, nil, nil
		warmJobs.Put(j)
		if v != nil {
			panic(v)
		}
	})
}
