package anomaly

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rated builds ratings "user:item=value" at t0 plus i seconds.
func rated(tb testing.TB, specs ...string) []Rating {
	tb.Helper()
	out := make([]Rating, 0, len(specs))
	for i, s := range specs {
		var user, item string
		var value int
		colon, eq := -1, -1
		for j, c := range s {
			switch c {
			case ':':
				colon = j
			case '=':
				eq = j
			}
		}
		if colon < 0 || eq < colon {
			tb.Fatalf("bad spec %q", s)
		}
		user, item = s[:colon], s[colon+1:eq]
		value, err := strconv.Atoi(s[eq+1:])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Rating{Time: t0.Add(time.Duration(i) * time.Second), User: user, Movie: item, Rating: value})
	}
	return out
}

func scoreOf(tb testing.TB, rep ProfileReport, user string) ProfileScore {
	tb.Helper()
	for _, p := range rep.Profiles {
		if p.User == user {
			return p
		}
	}
	tb.Fatalf("no profile for %q in %+v", user, rep.Profiles)
	return ProfileScore{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestProfileDeviationFeatures checks RDMA, WDMA, WDA, FMTD and LengthVar
// by hand. Item means: x (5+3+1)/3 = 3 over 3, y (3+1)/2 = 2 over 2,
// z (4+2)/2 = 3 over 2.
func TestProfileDeviationFeatures(t *testing.T) {
	rs := rated(t, "a:x=5", "a:y=3", "b:x=3", "b:y=1", "b:z=4", "c:x=1", "c:z=2")
	rep, err := ScoreProfiles(rs, ProfileConfig{MinProfile: 1, MinOverlap: 2})
	mustNoErr(t, err)
	tests := []struct {
		user                             string
		rdma, wdma, wda, fmtd, lengthVar float64
	}{
		// a: |5-3|/3 + |3-2|/2 = 7/6; WDMA (2/9 + 1/4)/2; max 5 vs 3.
		{"a", 7.0 / 12, (2.0/9 + 1.0/4) / 2, 7.0 / 6, 2, 0},
		// b: 0/3 + 1/2 + 1/2 = 1; WDMA (0 + 1/4 + 1/4)/3; max 4 vs (3+1)/2;
		// length 3 against the median 2.
		{"b", 1.0 / 3, 0.5 / 3, 1, 2, 0.5},
		// c: 2/3 + 1/2 = 7/6; WDMA (2/9 + 1/4)/2; max 2 vs 1.
		{"c", 7.0 / 12, (2.0/9 + 1.0/4) / 2, 7.0 / 6, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			f := scoreOf(t, rep, tc.user).Features
			got := []float64{f.RDMA, f.WDMA, f.WDA, f.FMTD, f.LengthVar}
			want := []float64{tc.rdma, tc.wdma, tc.wda, tc.fmtd, tc.lengthVar}
			for i := range got {
				if !near(got[i], want[i]) {
					t.Errorf("RDMA, WDMA, WDA, FMTD, LengthVar = %v, want %v", got, want)
					break
				}
			}
		})
	}
	if rep.Ratings != 7 || rep.Judged != 3 {
		t.Errorf("ratings %d judged %d, want 7 and 3", rep.Ratings, rep.Judged)
	}
}

// TestProfileDegSimAndResidual: every user's mean is 3; u1 and u2 move
// together (Pearson 1), u3 against both (-1, not a neighbour). With k = 2,
// DegSim is 1/2 for u1 and u2 and 0 for u3. u1 is predicted from u2:
// 3+(4-3) = 4, 3+(2-3) = 2 and 3, off by 1, 1 and 0; u3 has no neighbour
// and is predicted at its mean, off by 2, 2 and 0.
func TestProfileDegSimAndResidual(t *testing.T) {
	rs := rated(t, "u1:a=5", "u1:b=1", "u1:c=3", "u2:a=4", "u2:b=2", "u2:c=3", "u3:a=1", "u3:b=5", "u3:c=3")
	rep, err := ScoreProfiles(rs, ProfileConfig{MinProfile: 1, MinOverlap: 2, Neighbours: 2})
	mustNoErr(t, err)
	tests := []struct {
		user             string
		degSim, residual float64
	}{
		{"u1", 0.5, 2.0 / 3},
		{"u2", 0.5, 2.0 / 3}, // predicted from u1: 3+2 = 5, 3-2 = 1, 3: off by 1, 1, 0
		{"u3", 0, 4.0 / 3},
	}
	for _, tc := range tests {
		f := scoreOf(t, rep, tc.user).Features
		if !near(f.DegSim, tc.degSim) || !near(f.Residual, tc.residual) {
			t.Errorf("%s: DegSim %v Residual %v, want %v and %v", tc.user, f.DegSim, f.Residual, tc.degSim, tc.residual)
		}
	}
	// Below MinOverlap co-rated items there is no similarity at all.
	rep, err = ScoreProfiles(rs, ProfileConfig{MinProfile: 1, MinOverlap: 4, Neighbours: 2})
	mustNoErr(t, err)
	if f := scoreOf(t, rep, "u1").Features; f.DegSim != 0 {
		t.Errorf("DegSim %v with 3 co-rated items and MinOverlap 4, want 0", f.DegSim)
	}
}

// TestScoreProfilesInput: the latest rating of a pair wins, ratings off
// the scale are ignored, and the report does not depend on input order.
func TestScoreProfilesInput(t *testing.T) {
	rs := rated(t, "a:x=1", "a:y=3", "b:x=3", "a:x=5", "b:y=9", "b:y=0", "c:y=3")
	rep, err := ScoreProfiles(rs, ProfileConfig{MinProfile: 1, MinOverlap: 2})
	mustNoErr(t, err)
	if rep.Ratings != 4 {
		t.Errorf("%d ratings scored, want 4 (a:x twice, b:y off the scale)", rep.Ratings)
	}
	// a:x=5 won: x's mean is (5+3)/2 = 4, a deviates by 1 there and 0 on y.
	if f := scoreOf(t, rep, "a").Features; !near(f.WDA, 0.5) || !near(f.FMTD, 2) {
		t.Errorf("a: WDA %v FMTD %v, want 0.5 and 2 (the later rating 5 kept)", f.WDA, f.FMTD)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := append([]Rating(nil), rs...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, err := ScoreProfiles(shuffled, ProfileConfig{MinProfile: 1, MinOverlap: 2})
	mustNoErr(t, err)
	if !reflect.DeepEqual(rep, again) {
		t.Errorf("order changed the report:\n%+v\n%+v", rep, again)
	}
	if _, err := ScoreProfiles(nil, ProfileConfig{}); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestProfileConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ProfileConfig
		ok   bool
	}{
		{"zero", ProfileConfig{}, true},
		{"negative k", ProfileConfig{Neighbours: -1}, false},
		{"overlap 1", ProfileConfig{MinOverlap: 1}, false},
		{"scale", ProfileConfig{MinRating: 5, MaxRating: 5}, false},
		{"negative focus", ProfileConfig{FocusThreshold: -1}, false},
	}
	for _, tc := range tests {
		_, err := ScoreProfiles(nil, tc.cfg)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestRobustScale: median 3, absolute deviations 2 1 0 1 97, MAD 1.
func TestRobustScale(t *testing.T) {
	center, spread := robustScale([]float64{100, 1, 3, 2, 4})
	if center != 3 || !near(spread, madScale) {
		t.Errorf("robustScale = %v, %v, want 3 and %v", center, spread, madScale)
	}
	if _, spread := robustScale([]float64{2, 2, 2}); spread <= 0 {
		t.Errorf("spread %v of identical values, want a positive floor", spread)
	}
}

// tasteData is genuine users with two-factor tastes rating 30-60 of 120
// items, ratings 1-5 around 3 + 1.5·(taste·item) with noise.
func tasteData(seed uint64, users int) []Rating {
	rng := rand.New(rand.NewPCG(seed, 7))
	const items = 120
	vec := func() [2]float64 { return [2]float64{rng.NormFloat64(), rng.NormFloat64()} }
	itemVec := make([][2]float64, items)
	for i := range itemVec {
		itemVec[i] = vec()
	}
	var out []Rating
	for u := range users {
		taste := vec()
		for _, i := range rng.Perm(items)[:30+rng.IntN(31)] {
			dot := (taste[0]*itemVec[i][0] + taste[1]*itemVec[i][1]) / 2
			r := int(math.Round(3 + 1.5*dot + 0.5*rng.NormFloat64()))
			out = append(out, Rating{Time: t0.Add(time.Duration(len(out)) * time.Minute), User: "g" + strconv.Itoa(u),
				Movie: "m" + strconv.Itoa(i), Rating: min(5, max(1, r))})
		}
	}
	return out
}

// pushCampaign is profiles fake users rating target 5 and filler random
// items around the global mean (a random attack).
func pushCampaign(seed uint64, profiles, filler int, target string) []Rating {
	rng := rand.New(rand.NewPCG(seed, 9))
	var out []Rating
	for p := range profiles {
		user := "f" + strconv.Itoa(p)
		out = append(out, Rating{Time: t0, User: user, Movie: target, Rating: 5})
		for _, i := range rng.Perm(120)[:filler] {
			if m := "m" + strconv.Itoa(i); m != target {
				r := int(math.Round(3 + 1.2*rng.NormFloat64()))
				out = append(out, Rating{Time: t0, User: user, Movie: m, Rating: min(5, max(1, r))})
			}
		}
	}
	return out
}

// TestScoreProfilesFlagsCampaign: a random push attack of 15 small
// profiles on 300 genuine users is flagged through the target's focus,
// and few genuine profiles are. Without the campaign the same genuine
// users are hardly flagged at all.
func TestScoreProfilesFlagsCampaign(t *testing.T) {
	genuine := tasteData(3, 300)
	attacked := append(genuine, pushCampaign(4, 15, 20, "m7")...)
	rep, err := ScoreProfiles(attacked, ProfileConfig{})
	mustNoErr(t, err)
	fake, real := countFlagged(rep)
	t.Logf("flagged %d of 15 fake profiles, %d of 300 genuine", fake, real)
	if fake < 9 || real > 3 {
		t.Errorf("flagged %d of 15 fake profiles and %d of 300 genuine: want at least 9 and at most 3", fake, real)
	}
	alone, err := ScoreProfiles(attacked, ProfileConfig{FocusThreshold: math.MaxFloat64})
	mustNoErr(t, err)
	if fakeAlone, _ := countFlagged(alone); fakeAlone >= fake {
		t.Errorf("without the target's focus %d fake profiles flagged, with it %d: the focus adds nothing", fakeAlone, fake)
	}
	if f := scoreOf(t, rep, "f0").Features.TargetFocus; f < 3.5 {
		t.Errorf("the target's focus %v, want at least the default FocusThreshold", f)
	}
	clean, err := ScoreProfiles(genuine, ProfileConfig{})
	mustNoErr(t, err)
	if len(clean.Flagged) > 3 {
		t.Errorf("%d genuine profiles flagged with no attack: %v", len(clean.Flagged), clean.Flagged)
	}
}

// countFlagged counts flagged fake ("f...") and genuine profiles.
func countFlagged(rep ProfileReport) (fake, real int) {
	for _, u := range rep.Flagged {
		if u[0] == 'f' {
			fake++
		} else {
			real++
		}
	}
	return fake, real
}

// BenchmarkScoreProfiles scores 100,000 ratings (about 2,200 users of
// 30-60 ratings over 120 items, some 830 raters an item: dense, so DegSim's
// sampling of MaxRaters is exercised).
func BenchmarkScoreProfiles(b *testing.B) {
	rs := tasteData(5, 2200)
	rs = rs[:min(len(rs), 100_000)]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScoreProfiles(rs, ProfileConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScoreProfiles: any batch scores without panicking, deterministically,
// with every flagged user a judged profile of the batch.
func FuzzScoreProfiles(f *testing.F) {
	f.Add([]byte("a:x=5 a:y=3 b:x=3 b:y=1 b:z=4 c:x=1 c:z=2"), uint8(1))
	f.Add([]byte("u1:a=5 u1:b=1 u1:c=3 u2:a=4 u2:b=2 u2:c=3 u3:a=1 u3:b=5 u3:c=3"), uint8(2))
	f.Add([]byte("a:x=9 a:x=0 :=5 a:=1"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, minProfile uint8) {
		var rs []Rating
		for i, tok := range strings.Fields(string(data)) {
			user, rest, _ := strings.Cut(tok, ":")
			item, value, _ := strings.Cut(rest, "=")
			v, _ := strconv.Atoi(value)
			rs = append(rs, Rating{Time: t0.Add(time.Duration(i)), User: user, Movie: item, Rating: v})
		}
		cfg := ProfileConfig{MinProfile: int(minProfile % 8), MinOverlap: 2, FocusMin: 1}
		rep, err := ScoreProfiles(rs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ScoreProfiles(rs, cfg)
		if err != nil || !reflect.DeepEqual(rep, again) {
			t.Fatalf("not deterministic: %v", err)
		}
		for _, u := range rep.Flagged {
			p := scoreOf(t, rep, u)
			if !p.Flagged || p.Ratings < cfg.withDefaults().MinProfile {
				t.Errorf("flagged %+v", p)
			}
		}
	})
}
