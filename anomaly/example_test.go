package anomaly_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/reelguard/reelguard/anomaly"
)

// The gateway's loop: observe, apply the decision, answer the policy's
// suspicion question.
func ExampleMonitor() {
	mon, err := anomaly.NewMonitor(anomaly.Config{})
	if err != nil {
		panic(err)
	}
	hub := anomaly.NewHub(anomaly.HubConfig{})
	defer func() { _ = hub.Close(context.Background()) }()
	blocks := anomaly.NewBlocks(anomaly.BlocksConfig{})

	ip := netip.MustParseAddr("192.0.2.10")
	start := time.Now()
	for i, target := range []string{"7", "8", "9", "10", "11"} {
		d := mon.ObserveRequest(anomaly.RecRequest{Time: start.Add(time.Duration(i) * time.Second),
			Principal: "7", Role: anomaly.RoleUser, IP: ip, Target: target})
		if _, err := anomaly.Apply(d, hub, blocks); err != nil {
			panic(err)
		}
		fmt.Println(target, d.Action)
	}
	a := hub.Recent(1)[0]
	fmt.Println(a.Kind, a.Severity, a.Subject, a.Evidence["distinct_targets"])
	// Output:
	// 7 none
	// 8 none
	// 9 none
	// 10 none
	// 11 degraded
	// extraction warning 7 4
}
