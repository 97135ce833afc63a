package main

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// flood is one IP sending -flood-factor times the legitimate rate, with no
// token or a garbage one, over a few connections.
type flood struct {
	cfg     *config
	stats   *classStats
	clients []*http.Client
	next    atomic.Uint64
}

func newFlood(cfg *config, e *env, st *classStats) *flood {
	f := &flood{cfg: cfg, stats: st}
	for range cfg.FloodConns {
		f.clients = append(f.clients, newClient(cfg.FloodProto, cfg.FloodSrc, e.pool, cfg.Timeout, 1))
	}
	return f
}

func (f *flood) start(runCtx, reqCtx context.Context, b *budget, wg *sync.WaitGroup) {
	if f.cfg.floodRate() <= 0 {
		return
	}
	p := &pacer{
		rate: f.cfg.floodRate(), budget: b, slots: make(chan struct{}, 1024), wg: wg, reqCtx: reqCtx,
		backlog: func() { f.stats.recordStatus(0, errBacklog, 0) },
	}
	wg.Go(func() { p.run(runCtx, f.one) })
}

func (f *flood) one(ctx context.Context) {
	c := f.clients[f.next.Add(1)%uint64(len(f.clients))]
	url := f.cfg.URL.JoinPath("recommend", strconv.Itoa(1+rand.IntN(100000))).String()
	status, d, err := do(ctx, c, url, f.token())
	f.stats.recordStatus(status, err, d)
}

// token is empty (-flood-auth none) or a JWT-shaped string that fails
// verification, so each request costs the gateway a parse.
func (f *flood) token() string {
	if f.cfg.FloodAuth == "none" {
		return ""
	}
	var junk [48]byte
	for i := range junk {
		junk[i] = byte(rand.Uint32())
	}
	enc := base64.RawURLEncoding
	return "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9." + enc.EncodeToString(junk[:24]) + "." + enc.EncodeToString(junk[24:])
}
