package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// env is what a run needs prepared before the clock starts.
type env struct {
	pool       *x509.CertPool
	userSubs   []string
	userTokens []string
	ingest     string // token of the slow-body clients
	reader     string // token of the slow readers
}

// results are the per-class statistics of a finished run.
type results struct {
	legit, flood                  *classStats
	slowloris, slowBody, slowRead *classStats
	elapsed                       time.Duration
}

func prepare(ctx context.Context, cfg *config, stderr io.Writer) (*env, error) {
	pool, err := loadCA(cfg.CA)
	if err != nil {
		return nil, err
	}
	e := &env{pool: pool}
	for i := range cfg.Users {
		sub := strconv.Itoa(i + 1)
		if cfg.Role == "service" {
			sub = "loadtest-svc-" + sub
		}
		e.userSubs = append(e.userSubs, sub)
	}
	fmt.Fprintf(stderr, "loadtest: minting %d tokens with %s\n", cfg.Users+2, cfg.GatewayBin)
	if e.userTokens, err = mintAll(ctx, cfg.GatewayBin, cfg.Data, cfg.Role, e.userSubs); err != nil {
		return nil, err
	}
	if cfg.SlowBody > 0 {
		if e.ingest, err = mintToken(ctx, cfg.GatewayBin, cfg.Data, "loadtest-slowbody", "ingest"); err != nil {
			return nil, err
		}
	}
	if cfg.SlowRead > 0 {
		if e.reader, err = mintToken(ctx, cfg.GatewayBin, cfg.Data, "loadtest-slowread", "service"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// execute runs every class side by side for cfg.Duration, then waits up to
// one request timeout for answers still due.
func execute(ctx context.Context, cfg *config, e *env) *results {
	res := &results{
		legit: newClassStats("legitimate"), flood: newClassStats("flood"),
		slowloris: newClassStats("slowloris"), slowBody: newClassStats("slow body"), slowRead: newClassStats("slow read"),
	}
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	legit := newLegit(cfg, e, res.legit)
	legit.warmUp(ctx)
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	b := newBudget(cfg.MaxRequests)
	var reqs, conns sync.WaitGroup
	start := time.Now()
	legit.start(runCtx, reqCtx, b, &reqs)
	flood := newFlood(cfg, e, res.flood)
	flood.start(runCtx, reqCtx, b, &reqs)
	startSlow(runCtx, cfg, e, res, &conns)
	<-runCtx.Done()
	res.elapsed = time.Since(start)
	conns.Wait()
	waitTimeout(&reqs, cfg.Timeout+time.Second)
	cancelReqs()
	closeIdle(legit.clients...)
	closeIdle(flood.clients...)
	return res
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
