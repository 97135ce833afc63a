package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/reelguard/reelguard/recommender/serve"
)

// canaryFlags are serve's flags for the canary model (issue 9).
type canaryFlags struct {
	dir       string
	share     shareFlag
	accessLog bool
}

func addCanaryFlags(fs *flag.FlagSet) *canaryFlags {
	c := &canaryFlags{share: 0.05}
	fs.StringVar(&c.dir, "canary", "", "candidate model root or version folder served to --canary-share of users (sticky by user id), reloaded like --model; empty: no canary")
	fs.Var(&c.share, "canary-share", "share of users, 0..1, served by the --canary model")
	fs.BoolVar(&c.accessLog, "access-log", false, "log one line per answered recommendation, naming the model version and arm (main or canary)")
	return c
}

// config is serve.Config's canary part.
func (c *canaryFlags) config() serve.CanaryConfig {
	if c.dir == "" {
		return serve.CanaryConfig{}
	}
	return serve.CanaryConfig{Dir: c.dir, Share: float64(c.share)}
}

// shareFlag is a float in 0..1; anything else is refused while parsing.
type shareFlag float64

func (s *shareFlag) String() string { return strconv.FormatFloat(float64(*s), 'g', -1, 64) }

func (s *shareFlag) Set(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return fmt.Errorf("%q is not a share between 0 and 1", v)
	}
	*s = shareFlag(f)
	return nil
}
