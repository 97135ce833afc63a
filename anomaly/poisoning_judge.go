package anomaly

import "time"

// Observe judges one rating. A suspicious one should be left out of
// training; the Verdict carries an alert at most once per AlertEvery for
// the user (burst, extreme-only) or the movie (coordinated).
func (p *Poisoning) Observe(r Rating) Verdict {
	cfg := &p.cfg
	if r.Rating < cfg.MinRating || r.Rating > cfg.MaxRating {
		return Verdict{Suspicious: true, Reason: "rating_out_of_range"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.rater(r.User, r.Time)
	repeat := u.ratedWithin(r.Movie, r.Time, cfg.CoordWindow)
	u.push(ratingEntry{r.Time, r.Movie, r.Rating})
	if r.Time.Before(u.flaggedUntil) {
		return Verdict{Suspicious: true, Reason: "flagged_profile"}
	}
	extreme := r.Rating == cfg.MinRating || r.Rating == cfg.MaxRating
	if n := u.countUnwatched(r, cfg.NewAccountAge); n >= cfg.UnwatchedMin {
		return p.flagUser(u, r, "rating_without_watching", map[string]any{"unwatched_ratings": n,
			"account_age_seconds": r.Time.Sub(u.created).Seconds()})
	}
	if n := u.countSince(r.Time.Add(-cfg.BurstWindow)); n > cfg.BurstMax {
		return p.flagUser(u, r, "rating_burst", map[string]any{"ratings": n,
			"window_seconds": cfg.BurstWindow.Seconds()})
	}
	if n := u.sameRun(r.Time.Add(-cfg.ExtremeWindow), r.Rating); extreme && n >= cfg.ExtremeMin {
		return p.flagUser(u, r, "extreme_only", map[string]any{"ratings": n,
			"window_seconds": cfg.ExtremeWindow.Seconds()})
	}
	if repeat {
		return Verdict{} // a user re-rating a movie is not another voice
	}
	m := p.movie(r.Movie, r.Time)
	same, total := m.count(r.Time.Add(-cfg.CoordWindow), r.Rating)
	m.push(movieEntry{r.Time, r.Rating})
	same, total = same+1, total+1
	if !extreme || same < cfg.CoordMin || float64(same) < cfg.CoordShare*float64(total) {
		return Verdict{}
	}
	v := Verdict{Suspicious: true, Reason: "coordinated"}
	if r.Time.Sub(m.alertedAt) >= cfg.AlertEvery {
		m.alertedAt = r.Time
		v.Alert = p.alert(r, "movie "+truncate(r.Movie, 200), "coordinated", map[string]any{
			"same_ratings": same, "ratings": total, "window_seconds": cfg.CoordWindow.Seconds()})
	}
	return v
}

func (p *Poisoning) flagUser(u *raterState, r Rating, reason string, ev map[string]any) Verdict {
	v := Verdict{Suspicious: true, Reason: reason}
	u.flaggedUntil = r.Time.Add(p.cfg.FlagTTL)
	if r.Time.Sub(u.alertedAt) >= p.cfg.AlertEvery {
		u.alertedAt = r.Time
		v.Alert = p.alert(r, truncate(r.User, maxSubjectLen), reason, ev)
	}
	return v
}

func (p *Poisoning) alert(r Rating, subject, reason string, ev map[string]any) *Alert {
	ev["reason"] = reason
	ev["user"] = truncate(r.User, 128)
	ev["movie"] = truncate(r.Movie, 200)
	ev["rating"] = r.Rating
	return &Alert{Time: r.Time, Kind: KindPoisoning, Severity: SeverityWarning,
		Subject: subject, Action: ActionNone, Evidence: ev}
}

// rater returns the user's state, making room when the map is full.
func (p *Poisoning) rater(user string, now time.Time) *raterState {
	if u := p.users[user]; u != nil {
		return u
	}
	if len(p.users) >= p.cfg.MaxUsers {
		horizon := max(p.cfg.ExtremeWindow, p.cfg.CoordWindow, p.cfg.AlertEvery)
		for k, u := range p.users {
			if u.n == 0 || now.Sub(u.newest().at) > horizon || len(p.users) >= p.cfg.MaxUsers {
				delete(p.users, k)
			}
			if len(p.users) < p.cfg.MaxUsers*9/10 {
				break
			}
		}
	}
	u := &raterState{ring: make([]ratingEntry, p.history)}
	p.users[user] = u
	return u
}

// movie returns the movie's state, making room when the map is full.
func (p *Poisoning) movie(id string, now time.Time) *movieState {
	if m := p.movies[id]; m != nil {
		return m
	}
	if len(p.movies) >= p.cfg.MaxMovies {
		for k, m := range p.movies {
			newest := m.ring[(m.next+movieHistory-1)%movieHistory].at
			if now.Sub(newest) > p.cfg.CoordWindow || len(p.movies) >= p.cfg.MaxMovies {
				delete(p.movies, k)
			}
			if len(p.movies) < p.cfg.MaxMovies*9/10 {
				break
			}
		}
	}
	m := &movieState{}
	p.movies[id] = m
	return m
}
