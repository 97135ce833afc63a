package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/reelguard/reelguard/anomaly"
)

// sseKeepAlive is how often an idle alert stream sends a comment, so
// proxies and clients see the connection is alive.
const sseKeepAlive = 15 * time.Second

// Alerts returns the hub the gateway raises its alerts on, for wiring code
// to add sinks and raise alerts of its own (limiter, events, policy).
func (g *Gateway) Alerts() *anomaly.Hub { return g.alerts }

// raise records an alert, logging rather than failing when it is invalid.
func (g *Gateway) raise(a anomaly.Alert) {
	if _, _, err := g.alerts.Raise(a); err != nil {
		g.log.Error("alert not raised", "err", err, "kind", a.Kind)
	}
}

// alertStream serves GET /admin/alerts/stream as server-sent events: the
// recent alerts oldest first, then each new one as it is raised.
func (g *Gateway) alertStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	live := g.alerts.Subscribe(r.Context())
	recent := g.alerts.Recent(0)
	for i := len(recent) - 1; i >= 0; i-- {
		writeEvent(w, recent[i])
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case a, ok := <-live:
			if !ok {
				return
			}
			writeEvent(w, a)
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-r.Context().Done():
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, a anomaly.Alert) {
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "id: %s\nevent: alert\ndata: %s\n\n", a.ID, b)
}
