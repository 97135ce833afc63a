package gateway

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWarmPoolServes(t *testing.T) {
	for _, workers := range []int{0, 1, 8} {
		p := newWarmPool(workers)
		h := p.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Path", r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
		}))
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
				if w.Code != http.StatusTeapot || w.Header().Get("X-Path") != "/x" {
					t.Errorf("workers=%d: got %d %q", workers, w.Code, w.Header().Get("X-Path"))
				}
			})
		}
		wg.Wait()
		p.close()
		p.close() // twice is fine
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/after", nil))
		if w.Code != http.StatusTeapot {
			t.Errorf("workers=%d: after close: %d", workers, w.Code)
		}
	}
}

// TestWarmPoolPanicsOnCaller: a handler's panic reaches the request's own
// goroutine (net/http's recovery, and ReverseProxy's ErrAbortHandler,
// depend on it) and the worker survives to serve the next request.
func TestWarmPoolPanicsOnCaller(t *testing.T) {
	p := newWarmPool(1)
	defer p.close()
	h := p.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for range 3 {
		func() {
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Errorf("recovered %v, want http.ErrAbortHandler", v)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
		}()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ok", nil))
		if w.Code != http.StatusNoContent {
			t.Fatalf("after a panic: %d", w.Code)
		}
	}
}

// TestWarmPoolIdleServesInline: with few requests in flight the request's
// own goroutine serves (no hand-off to wake a worker for); when busy, a
// worker does.
func TestWarmPoolIdleServesInline(t *testing.T) {
	var busy atomic.Bool
	p := newWarmPool(2)
	defer p.close()
	p.busy = busy.Load
	var inline bool
	h := p.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		inline = !strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*warmPool).work")
	}))
	for _, b := range []bool{false, true, false} {
		busy.Store(b)
		time.Sleep(10 * time.Millisecond) // let the workers park on the channel
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if inline == b {
			t.Errorf("busy=%v: served inline %v", b, inline)
		}
	}
}
