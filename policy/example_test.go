package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reelguard/reelguard/policy"
)

func ExampleEngine_Decide() {
	tmp, err := os.MkdirTemp("", "policy-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "policy")
	if _, err := policy.Seed(dir); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	engine, err := policy.NewEngine(ctx, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, target := range []string{"42", "43"} {
		d, err := engine.Decide(ctx, policy.Input{
			Principal: policy.Principal{Sub: "42", Role: "user"},
			Method:    "GET",
			Path:      []string{"recommend", target},
		})
		fmt.Println(target, d.Allow, d.Reason, d.Obligations.Tier, err)
	}
	// Output:
	// 42 true allowed user <nil>
	// 43 false not_own_user user <nil>
}
