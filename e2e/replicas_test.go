package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/anomaly"
)

// TestScraperOverTwoReplicas: two gateways sharing Redis count a
// principal's distinct target users together (a HyperLogLog updated in the
// guard's one round trip), so a scraper with a stolen service token,
// spreading random ids over both replicas from ten addresses at 40/s each,
// is flagged after about the 1,500 distinct users one replica would flag it
// at, not after twice as many.
func TestScraperOverTwoReplicas(t *testing.T) {
	guards := scenarioGuards(t, 2)
	shared := t.TempDir() // keys, CA and policy, as replicas share a data folder
	replicas := []*scenario{newScenarioOn(t, shared, guards[0]), newScenarioOn(t, shared, guards[1])}
	tok := replicas[0].token(t, "frontend", "service")
	order := rand.New(rand.NewPCG(4, 4)).Perm(10_000_000)
	const threshold, limit = 1500, 4000
	var sent, flaggedAt, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range botnetIPs {
		wg.Go(func() {
			// Each address stays under the pre-auth limit (50/s), or the
			// flood detector would flag the addresses first.
			tick := time.NewTicker(time.Second / 40)
			defer tick.Stop()
			for ; flaggedAt.Load() == 0; <-tick.C {
				n := sent.Add(1)
				if n > limit {
					return
				}
				sc := replicas[n%2]
				if code := sc.get(fmt.Sprintf("127.0.3.%d", w+1), "/recommend/"+strconv.Itoa(order[n]+1), tok); code != http.StatusOK {
					refused.Add(1)
					continue
				}
				for _, r := range replicas {
					if _, ok := r.alertFor(anomaly.KindExtraction, func(a anomaly.Alert) bool { return a.Subject == "frontend" }); ok {
						flaggedAt.CompareAndSwap(0, n)
					}
				}
			}
		})
	}
	wg.Wait()
	got := flaggedAt.Load()
	t.Logf("two replicas: flagged after %d requests, %d refused (threshold %d distinct users)", got, refused.Load(), threshold)
	if got < threshold*95/100 || got > threshold*105/100 {
		t.Fatalf("flagged after %d requests over two replicas, want within 5%% of %d (one replica's count)", got, threshold)
	}
}
