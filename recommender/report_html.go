package recommender

import (
	"fmt"
	"html/template"
	"io"
	"slices"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG, no scripts, nothing fetched.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := reportTemplate.Execute(w, r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	"f4":   func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"f4p":  func(v *float64) string { return optional(v) },
	"date": func(r *Report) string { return r.Generated.UTC().Format("2006-01-02 15:04:05 UTC") },
	"shareChart": func(g []GroupShare) template.HTML {
		return barChart(groupNames(g), []chartSeries{
			{"user base", pick(g, func(s GroupShare) float64 { return s.BaseShare })},
			{"users in data", pick(g, func(s GroupShare) float64 { return s.DataUserShare })},
			{"interactions", pick(g, func(s GroupShare) float64 { return s.InteractionShare })},
		}, true)
	},
	"genreChart": func(g []GenreMix) template.HTML {
		return barChart(pickS(g, func(m GenreMix) string { return m.Genre }), []chartSeries{
			{"catalog", pickS(g, func(m GenreMix) float64 { return m.Catalog })},
			{"candidates", pickS(g, func(m GenreMix) float64 { return m.Candidates })},
			{"recommended", pickS(g, func(m GenreMix) float64 { return m.Recommended })},
		}, true)
	},
	"ciChart": intervalChart,
	"curveChart": func(c []CurvePoint, loss bool) template.HTML {
		if loss {
			return lineChart("training loss per iteration", pickS(c, func(p CurvePoint) float64 { return p.Loss }))
		}
		return lineChart("held-out nDCG per iteration", pickS(c, func(p CurvePoint) float64 { return p.NDCG }))
	},
	"retrainChart": func(d []FeedbackDecision) template.HTML {
		return lineChart("candidate held-out nDCG per retrain", pickS(d, func(x FeedbackDecision) float64 { return x.CandidateNDCG }))
	},
	"sortedKeys": func(m map[string]float64) []string { return slices.Sorted(mapsKeys(m)) },
}).Parse(reportHTML))

func optional(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", *v)
}

func groupNames(g []GroupShare) []string {
	return pickS(g, func(s GroupShare) string { return s.Group })
}

func pick(g []GroupShare, f func(GroupShare) float64) []float64 { return pickS(g, f) }

// pickS maps a slice.
func pickS[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

const reportHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Recommender report: {{.Model.Version}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}h2{border-bottom:1px solid #ddd;margin-top:2em}
.note{color:#8a4b00}.muted{color:#666}
</style></head><body>
<h1>Recommender report</h1>
<p class="muted">Model <b>{{.Model.Version}}</b> ({{.Model.Kind}}), generated {{date .}}.
{{.Data.Interactions}} interactions, {{.Data.Users}} users, {{.Data.Items}} items;
{{.Model.Candidates}} candidate items (min support {{.Model.MinSupport}});
top-{{.Data.K}} lists of {{.Data.ListUsers}} users{{if .Data.Sampled}} (a seeded sample){{end}}.</p>
{{with .Notes}}<ul class="note">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}

<section id="demographics"><h2>Training data against the user base</h2>
{{with .Demographics}}
<p>{{.BaseUsers}} users in the user file. Shares of the user base, of the users with data, and of the interactions.</p>
<h3>Gender</h3>{{shareChart .Gender}}{{template "shares" .Gender}}
<h3>Age band</h3>{{shareChart .Age}}{{template "shares" .Age}}
{{else}}<p class="note">No user file given.</p>{{end}}
</section>

<section id="genres"><h2>Genre mix: catalog, candidates, recommended</h2>
{{with .Genres}}<p>Each movie's weight is spread evenly over its genres; "recommended" counts every slot of every list.
{{$.Data.ItemsWithMetadata}} of the data's {{$.Data.Items}} items are in the item file.</p>
{{genreChart .}}
<table><tr><th>genre</th><th>catalog</th><th>candidates</th><th>recommended</th></tr>
{{range .}}<tr><td>{{.Genre}}</td><td>{{pct .Catalog}}</td><td>{{pct .Candidates}}</td><td>{{pct .Recommended}}</td></tr>{{end}}</table>
{{else}}<p class="note">No item file given.</p>{{end}}
</section>

<section id="quality"><h2>Quality by group (held-out nDCG@{{.Data.K}})</h2>
{{with .Quality}}<p>{{.Trained}} retrained on a per-user split ({{pct .TestFraction}} of each user's items held out, seed {{.Seed}});
{{.Users}} held-out users. Intervals: 95% percentile bootstrap, {{.Resamples}} resamples.
Gaps count groups with at least {{.MinGroupUsers}} users.</p>
<p>Overall nDCG@{{.K}} <b>{{f4 .NDCG.Mean}}</b> [{{f4 .NDCG.Low}}, {{f4 .NDCG.High}}].
Gender gap <b>{{f4p .GenderGap}}</b>, age-band gap <b>{{f4p .AgeGap}}</b>.</p>
{{with .ByGender}}<h3>By gender</h3>{{ciChart .}}{{template "groups" .}}{{end}}
{{with .ByAge}}<h3>By age band</h3>{{ciChart .}}{{template "groups" .}}{{end}}
{{else}}<p class="note">No held-out quality (see the notes).</p>{{end}}
</section>

<section id="diversity"><h2>Popularity bias and diversity</h2>
{{with .Diversity}}<table>
<tr><td>lists measured</td><td>{{.Lists}}</td></tr>
<tr><td>catalog coverage (share of the data's items recommended to anyone)</td><td>{{pct .Coverage}}</td></tr>
<tr><td>Gini of exposure (0 equal, 1 one item takes all)</td><td>{{f4 .Gini}}</td></tr>
<tr><td>average recommendation popularity (share of users who touched the item)</td><td>{{f4 .AvgPopularity}}</td></tr>
<tr><td>long-tail share (slots outside the top 20% of items by interactions)</td><td>{{pct .LongTailShare}}</td></tr>
<tr><td>calibration, mean KL(history genres ‖ list genres), α = 0.01</td><td>{{f4p .Calibration}}</td></tr>
<tr><td>personalization (1 − mean pairwise Jaccard)</td><td>{{f4 .Personalization}}</td></tr>
</table>{{end}}
</section>

<section id="curves"><h2>Training curves</h2>
{{with .Curve}}<p>ALS retrained on the training half with the model's hyperparameters: loss per unit of confidence, and held-out nDCG, after each iteration.</p>
{{curveChart . true}}{{curveChart . false}}
<table><tr><th>iteration</th><th>loss</th><th>held-out nDCG</th></tr>
{{range .}}<tr><td>{{.Iteration}}</td><td>{{printf "%.6f" .Loss}}</td><td>{{f4 .NDCG}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No per-iteration curve for this model.</p>{{end}}
<h3 id="retrains">Held-out metrics per retrain</h3>
{{with .Retrains}}{{retrainChart .}}
<table><tr><th>time</th><th>current</th><th>candidate</th><th>nDCG current</th><th>nDCG candidate</th><th>users</th><th>promoted</th><th>reason</th></tr>
{{range .}}<tr><td>{{.Time.UTC.Format "2006-01-02 15:04"}}</td><td>{{.Current}}</td><td>{{.Candidate}}</td><td>{{f4 .CurrentNDCG}}</td>
<td>{{f4 .CandidateNDCG}}</td><td>{{.HeldOutUsers}}</td><td>{{.Promoted}}</td><td style="text-align:left">{{.Reason}}</td></tr>{{end}}</table>
{{else}}<p class="muted">The feedback loop has recorded no retrain in this model root.</p>{{end}}
</section>

<section id="lineage"><h2>Model lineage</h2>
<table><tr><th>version</th><th>parent</th><th>kind</th><th>created</th><th>users</th><th>items</th><th>interactions</th><th>metrics</th></tr>
{{range .Lineage}}<tr><td>{{.Version}}{{if .Current}} (current){{end}}</td><td>{{.Parent}}</td><td>{{.Kind}}</td>
<td>{{.Created.UTC.Format "2006-01-02 15:04"}}</td><td>{{.Users}}</td><td>{{.Items}}</td><td>{{.Interactions}}</td>
<td style="text-align:left">{{$m := .Metrics}}{{range sortedKeys .Metrics}}{{.}} {{printf "%.4g" (index $m .)}}<br>{{end}}{{with .Promotion}}<span class="muted">{{.}}</span>{{end}}{{with .Err}}<span class="note">{{.}}</span>{{end}}</td></tr>{{end}}
</table>
</section>
</body></html>
{{define "shares"}}<table><tr><th>group</th><th>users in base</th><th>base share</th><th>users in data</th><th>user share</th><th>interactions</th><th>interaction share</th></tr>
{{range .}}<tr><td>{{.Group}}</td><td>{{.BaseUsers}}</td><td>{{pct .BaseShare}}</td><td>{{.DataUsers}}</td><td>{{pct .DataUserShare}}</td><td>{{.Interactions}}</td><td>{{pct .InteractionShare}}</td></tr>{{end}}</table>{{end}}
{{define "groups"}}<table><tr><th>group</th><th>users</th><th>nDCG</th><th>95% CI</th></tr>
{{range .}}<tr><td>{{.Group}}</td><td>{{.Users}}</td><td>{{f4 .Mean}}</td><td>[{{f4 .Low}}, {{f4 .High}}]</td></tr>{{end}}</table>{{end}}
`
