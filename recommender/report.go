package recommender

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// ReportConfig sets what BuildReport measures. The zero value works: top
// 10, a quarter of each user's items held out, seed 0, 1000 bootstrap
// resamples, up to DefaultReportUsers users' lists, no demographics, no
// genres and no held-out quality.
type ReportConfig struct {
	K             int     // list length; default DefaultEvalK
	TestFraction  float64 // held out per user for group quality; default DefaultEvalTestFraction
	Seed          int64   // seeds the split, the bootstraps, the samples of users and pairs
	Resamples     int     // bootstrap resamples; default DefaultBootstrapResamples
	MaxUsers      int     // users whose lists are measured; default DefaultReportUsers
	MinGroupUsers int     // a group needs this many held-out users to count in a gap; default DefaultMinGroupUsers
	Users         map[string]UserInfo
	Items         map[string]ItemInfo
	// Retrain trains a model of kind on the training half of the split for
	// the held-out quality (the served model has seen the held-out items).
	// ALS models are instead retrained here with their own recorded
	// hyperparameters, iteration by iteration, for the training curve. Nil:
	// only ALS models get a quality section.
	Retrain func(kind Kind, train []Interaction) (*Model, error)
	// NoCurve skips the ALS retraining (curve and held-out quality) when
	// Retrain is nil, or uses Retrain for ALS too when it is not.
	NoCurve bool
}

// DefaultReportUsers bounds the users whose lists a report measures; more
// are sampled (by a seeded hash of the id, so the sample is stable).
const DefaultReportUsers = 10_000

// ErrBadReportConfig means a ReportConfig field is invalid.
var ErrBadReportConfig = errors.New("bad report config")

func (c ReportConfig) withDefaults() (ReportConfig, error) {
	if c.K < 0 || c.Resamples < 0 || c.MaxUsers < 0 || c.MinGroupUsers < 0 {
		return c, fmt.Errorf("%w: negative K, resamples, users or group size", ErrBadReportConfig)
	}
	c.K = cmp.Or(c.K, DefaultEvalK)
	c.TestFraction = cmp.Or(c.TestFraction, DefaultEvalTestFraction)
	if !(c.TestFraction > 0 && c.TestFraction < 1) {
		return c, fmt.Errorf("%w: test fraction %v is not between 0 and 1", ErrBadReportConfig, c.TestFraction)
	}
	c.Resamples = cmp.Or(c.Resamples, DefaultBootstrapResamples)
	c.MaxUsers = cmp.Or(c.MaxUsers, DefaultReportUsers)
	c.MinGroupUsers = cmp.Or(c.MinGroupUsers, DefaultMinGroupUsers)
	return c, nil
}

// Report is everything `recommender report` shows, as JSON.
type Report struct {
	Generated    time.Time           `json:"generated"`
	Model        ReportModel         `json:"model"`
	Data         ReportData          `json:"data"`
	Demographics *ReportDemographics `json:"demographics,omitempty"`
	Genres       []GenreMix          `json:"genres,omitempty"`
	Quality      *ReportQuality      `json:"quality,omitempty"`
	Diversity    DiversityStats      `json:"diversity"`
	Curve        []CurvePoint        `json:"training_curve,omitempty"`
	Lineage      []LineageEntry      `json:"lineage,omitempty"`
	Retrains     []FeedbackDecision  `json:"retrains,omitempty"`
	// Notes say what was left out and why.
	Notes []string `json:"notes,omitempty"`
}

// ReportModel describes the model reported on.
type ReportModel struct {
	Version    string `json:"version"`
	Kind       Kind   `json:"kind"`
	Candidates int    `json:"candidates"` // items it may recommend (after min-support)
	MinSupport int    `json:"min_support"`
	Meta       Meta   `json:"meta"`
}

// ReportData describes the data and the users measured.
type ReportData struct {
	Interactions int  `json:"interactions"`
	Users        int  `json:"users"`
	Items        int  `json:"items"`
	ListUsers    int  `json:"list_users"` // users whose top-K lists were measured
	Sampled      bool `json:"sampled"`    // ListUsers is a sample of Users
	K            int  `json:"k"`
	// ItemsWithMetadata counts the data's items the item file describes.
	ItemsWithMetadata int `json:"items_with_metadata"`
}

// ReportDemographics compares the data with the user base.
type ReportDemographics struct {
	BaseUsers int          `json:"base_users"`
	Gender    []GroupShare `json:"gender"`
	Age       []GroupShare `json:"age"`
}

// ReportQuality is held-out nDCG@K, overall and by group.
type ReportQuality struct {
	K             int            `json:"k"`
	TestFraction  float64        `json:"test_fraction"`
	Seed          int64          `json:"seed"`
	Resamples     int            `json:"resamples"`
	Trained       Kind           `json:"trained"` // the kind retrained on the training half
	Users         int            `json:"held_out_users"`
	NDCG          GroupQuality   `json:"ndcg"`
	ByGender      []GroupQuality `json:"by_gender,omitempty"`
	ByAge         []GroupQuality `json:"by_age,omitempty"`
	GenderGap     *float64       `json:"gender_gap,omitempty"` // best group's mean minus worst's
	AgeGap        *float64       `json:"age_gap,omitempty"`
	MinGroupUsers int            `json:"min_group_users"`
}

// BuildReport measures m against the interactions in (normally what m was
// trained on): the data's demographics, genre mixes, the diversity of m's
// lists and, by retraining on a per-user split of in, held-out quality by
// group and (for ALS) the training curve. Lineage and Retrains are left
// for the caller, who knows the model root.
func BuildReport(in []Interaction, m *Model, cfg ReportConfig) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(in) == 0 || m == nil {
		return nil, fmt.Errorf("report: %w", ErrNoTestUsers)
	}
	stats := newDataStats(in)
	r := &Report{Model: reportModel(m)}
	r.Data = ReportData{Interactions: len(in), Users: stats.users, Items: len(stats.itemUsers), K: cfg.K}
	var genres func(string) []string
	if cfg.Items != nil {
		idx := NewGenreIndex(cfg.Items)
		genres = idx.Genres
		for item := range stats.itemUsers {
			if idx.Known(item) {
				r.Data.ItemsWithMetadata++
			}
		}
	} else {
		r.note("no item file: genre mixes and calibration left out")
	}
	users := sampleUsers(stats.userIDs, cfg.MaxUsers, cfg.Seed)
	r.Data.ListUsers, r.Data.Sampled = len(users), len(users) < stats.users
	lists := recommendAll(m, users, cfg.K)
	r.Diversity = stats.diversity(users, lists, genres, cfg.Seed)
	if genres != nil {
		r.Genres = reportGenres(cfg.Items, m, lists, genres)
	}
	if cfg.Users != nil {
		r.Demographics = &ReportDemographics{BaseUsers: len(cfg.Users),
			Gender: groupShares(in, cfg.Users, GenderOf(cfg.Users), []string{"F", "M"}),
			Age:    groupShares(in, cfg.Users, AgeBandOf(cfg.Users), AgeBands)}
	} else {
		r.note("no user file: demographics and quality by group left out")
	}
	r.heldOut(in, m, cfg)
	return r, nil
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func reportModel(m *Model) ReportModel {
	return ReportModel{Version: m.Version(), Kind: m.meta.Kind, Candidates: len(m.popular), MinSupport: m.minSupport, Meta: m.Meta()}
}

// reportGenres compares the catalog's, the candidates' and the lists' genres.
func reportGenres(items map[string]ItemInfo, m *Model, lists [][]string, genres func(string) []string) []GenreMix {
	catalog := map[string]float64{}
	for _, id := range slices.Sorted(maps.Keys(items)) {
		addGenres(catalog, items[id].Genres, 1)
	}
	normalize(catalog)
	cands := make([]string, len(m.popular))
	for i, s := range m.popular {
		cands[i] = s.Item
	}
	return genreMix(catalog, GenreDistribution(cands, genres), GenreDistribution(slices.Concat(lists...), genres))
}

// sampleUsers returns all users when at most limit, else the limit with
// the smallest seeded hash of their id; sorted by id.
func sampleUsers(all []string, limit int, seed int64) []string {
	users := slices.Clone(all)
	if len(users) > limit {
		salt := strconv.FormatInt(seed, 10) + "\x00"
		keys := make(map[string]uint64, len(users))
		for _, u := range users {
			keys[u] = stableHash(salt + u)
		}
		slices.SortFunc(users, func(a, b string) int { return cmp.Or(cmp.Compare(keys[a], keys[b]), cmp.Compare(a, b)) })
		users = users[:limit]
	}
	slices.Sort(users)
	return users
}
