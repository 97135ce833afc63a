package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// legit is the legitimate traffic: one client per user, each with its own
// token, connections and source address, at a steady rate within its tier.
type legit struct {
	cfg     *config
	env     *env
	stats   *classStats
	clients []*http.Client
}

func newLegit(cfg *config, e *env, st *classStats) *legit {
	l := &legit{cfg: cfg, env: e, stats: st}
	for i := range cfg.Users {
		proto := cfg.Proto
		if proto == "mixed" {
			proto = []string{"h2", "h1"}[i%2]
		}
		src := cfg.LegitSrc[i%len(cfg.LegitSrc)]
		l.clients = append(l.clients, newClient(proto, src, e.pool, cfg.Timeout, 4))
	}
	return l
}

// warmUp opens each client's connection with one /healthz, not counted, so
// the figures are of a steady state rather than of handshakes.
func (l *legit) warmUp(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range l.clients {
		wg.Go(func() { _, _, _ = do(ctx, c, l.cfg.URL.JoinPath("healthz").String(), "") })
	}
	wg.Wait()
}

func (l *legit) start(runCtx, reqCtx context.Context, b *budget, wg *sync.WaitGroup) {
	interval := time.Duration(float64(time.Second) / l.cfg.Rate)
	for i, c := range l.clients {
		p := &pacer{
			rate: l.cfg.Rate, phase: rand.N(interval), budget: b, slots: make(chan struct{}, 32), wg: wg, reqCtx: reqCtx,
			backlog: func() { l.stats.recordStatus(0, errBacklog, 0) },
		}
		sub, tok := l.env.userSubs[i], l.env.userTokens[i]
		wg.Go(func() {
			p.run(runCtx, func(ctx context.Context) {
				status, d, err := do(ctx, c, l.cfg.URL.JoinPath("recommend", l.target(sub)).String(), tok)
				l.stats.recordStatus(status, err, d)
			})
		})
	}
}

// target is the user whose recommendations a request asks for: a user's
// own, or any of -spread users for a service.
func (l *legit) target(sub string) string {
	if l.cfg.Role == "user" {
		return sub
	}
	return strconv.Itoa(1 + rand.IntN(l.cfg.SpreadIDs))
}
