package recommender

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// GenreIndex finds an item's genres in a MovieLens item file. MovieLens
// files name movies by number and course logs by slug
// ("the+shawshank+redemption+1994"), so an id the file does not list is
// looked up by its title's slug too: "Shawshank Redemption, The (1994)"
// becomes "the+shawshank+redemption+1994" (a trailing English article
// moves to the front, other runs of non-alphanumerics become '+').
type GenreIndex struct {
	byID, bySlug map[string][]string
}

// NewGenreIndex indexes items by id and by title slug.
func NewGenreIndex(items map[string]ItemInfo) *GenreIndex {
	x := &GenreIndex{byID: make(map[string][]string, len(items)), bySlug: make(map[string][]string, len(items))}
	for id, it := range items {
		x.byID[id] = it.Genres
		if slug := TitleSlug(it.Title); slug != "" {
			x.bySlug[slug] = it.Genres
		}
	}
	return x
}

// Genres returns item's genres, nil when the file does not know it.
func (x *GenreIndex) Genres(item string) []string {
	if g, ok := x.byID[item]; ok {
		return g
	}
	return x.bySlug[item]
}

// Known reports whether the file lists item, by id or slug.
func (x *GenreIndex) Known(item string) bool {
	if _, ok := x.byID[item]; ok {
		return true
	}
	_, ok := x.bySlug[item]
	return ok
}

var (
	titleYearRE    = regexp.MustCompile(`\s*\((\d{4})\)\s*$`)
	titleArticleRE = regexp.MustCompile(`^(.*), (The|A|An)$`)
	nonSlugRE      = regexp.MustCompile(`[^a-z0-9]+`)
)

// TitleSlug is the course-log id of a MovieLens title; "" when nothing of
// it is a letter or digit.
func TitleSlug(title string) string {
	year := ""
	if m := titleYearRE.FindStringSubmatch(title); m != nil {
		year, title = m[1], title[:len(title)-len(m[0])]
	}
	if m := titleArticleRE.FindStringSubmatch(strings.TrimSpace(title)); m != nil {
		title = m[2] + " " + m[1]
	}
	slug := strings.Trim(nonSlugRE.ReplaceAllString(strings.ToLower(title), "+"), "+")
	if slug == "" {
		return ""
	}
	if year != "" {
		slug += "+" + year
	}
	return slug
}

// GroupShare compares one demographic group's share of the user base with
// its share of the data's users and interactions.
type GroupShare struct {
	Group            string  `json:"group"`
	BaseUsers        int     `json:"base_users"` // in the user file
	BaseShare        float64 `json:"base_share"`
	DataUsers        int     `json:"data_users"` // with an interaction
	DataUserShare    float64 `json:"data_user_share"`
	Interactions     int     `json:"interactions"`
	InteractionShare float64 `json:"interaction_share"`
}

// groupShares counts base users (the user file) and data users and
// interactions by groupOf; users missing from the file count as
// UnknownGroup in the data. Groups come in order, then any others by name.
func groupShares(in []Interaction, users map[string]UserInfo, groupOf func(string) string, order []string) []GroupShare {
	by := map[string]*GroupShare{}
	get := func(g string) *GroupShare {
		if by[g] == nil {
			by[g] = &GroupShare{Group: g}
		}
		return by[g]
	}
	for id := range users {
		get(groupOf(id)).BaseUsers++
	}
	dataUsers := map[string]struct{}{}
	for _, x := range in {
		s := get(groupOf(x.User))
		s.Interactions++
		if _, ok := dataUsers[x.User]; !ok {
			dataUsers[x.User] = struct{}{}
			s.DataUsers++
		}
	}
	out := make([]GroupShare, 0, len(by))
	for _, s := range by {
		s.BaseShare = share(s.BaseUsers, len(users))
		s.DataUserShare = share(s.DataUsers, len(dataUsers))
		s.InteractionShare = share(s.Interactions, len(in))
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b GroupShare) int { return compareInOrder(order, a.Group, b.Group) })
	return out
}

// compareInOrder sorts names listed in order by their place there, before
// the rest by name.
func compareInOrder(order []string, a, b string) int {
	ia, ib := slices.Index(order, a), slices.Index(order, b)
	switch {
	case ia >= 0 && ib >= 0:
		return cmp.Compare(ia, ib)
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return cmp.Compare(a, b)
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// GenreMix is one genre's share of the catalog, the candidates and the
// recommended slots (each item's weight spread evenly over its genres, as
// GenreDistribution does).
type GenreMix struct {
	Genre       string  `json:"genre"`
	Catalog     float64 `json:"catalog"`
	Candidates  float64 `json:"candidates"`
	Recommended float64 `json:"recommended"`
}

// genreMix compares the three distributions, by catalog share, largest first.
func genreMix(catalog, candidates, recommended map[string]float64) []GenreMix {
	names := map[string]struct{}{}
	for _, d := range []map[string]float64{catalog, candidates, recommended} {
		for g := range d {
			names[g] = struct{}{}
		}
	}
	out := make([]GenreMix, 0, len(names))
	for g := range names {
		out = append(out, GenreMix{Genre: g, Catalog: catalog[g], Candidates: candidates[g], Recommended: recommended[g]})
	}
	slices.SortFunc(out, func(a, b GenreMix) int {
		if c := cmp.Compare(b.Catalog, a.Catalog); c != 0 {
			return c
		}
		return cmp.Compare(a.Genre, b.Genre)
	})
	return out
}
