package recommender

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// PromotionsFile is a model root's append-only log of promotions, one JSON
// Promotion a line, oldest first. Versions' metadata is signed and never
// rewritten, so who promoted what, and why, is kept here.
const PromotionsFile = "promotions.jsonl"

// Promotion records one change of a model root's current version.
type Promotion struct {
	Time time.Time `json:"time"`
	// From is the version current pointed at before ("" when none); To the
	// promoted one.
	From string `json:"from"`
	To   string `json:"to"`
	// Source is the folder To was published from when it came from outside
	// the root (a canary root); empty when it was already a root version.
	Source string `json:"source,omitempty"`
	// By and Reason say who asked and why (free text, from the operator).
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Online is the monitor's verdict the promotion relied on, or overrode
	// when Online.Required is false; nil for a promotion made without one.
	Online *OnlineEvidence `json:"online,omitempty"`
}

// OnlineEvidence is a canary verdict as a promotion records it: the online
// monitor's GET /promotion answer and both arms' figures.
type OnlineEvidence struct {
	// Monitor is the monitor's base URL.
	Monitor string `json:"monitor"`
	// Required tells whether the promotion waited for a positive verdict.
	Required bool `json:"required"`
	// Promote, Reason, Detail, QualityDiff, LowerBound and Watermark are the
	// monitor's answer (see CanaryVerdict).
	Promote     bool    `json:"promote"`
	Reason      string  `json:"reason"`
	Detail      string  `json:"detail,omitempty"`
	QualityDiff float64 `json:"quality_diff"`
	LowerBound  float64 `json:"lower_bound"`
	Watermark   string  `json:"watermark,omitempty"`
	// Main and Canary are the arms' figures, as the monitor exported them
	// next to the verdict; Found false when it had none for a version.
	Main   ArmFigures `json:"main"`
	Canary ArmFigures `json:"canary"`
}

// ArmFigures are one model version's online figures.
type ArmFigures struct {
	Version      string  `json:"version"`
	Found        bool    `json:"found"`
	Quality      float64 `json:"quality"`
	Settled      int     `json:"settled"`
	Converted    int     `json:"converted"`
	Availability float64 `json:"availability"`
}

// ReadPromotions reads root's promotions log, oldest first; none when the
// root has never had a promotion.
func ReadPromotions(root string) ([]Promotion, error) {
	f, err := os.Open(filepath.Join(root, PromotionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("promotions log: %w", err)
	}
	defer f.Close()
	var out []Promotion
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20) // a line holds two clipped texts and the monitor's figures
	for sc.Scan() {
		var p Promotion
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("promotions log line %q: %w", sc.Text(), err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("promotions log: %w", err)
	}
	return out, nil
}

// maxPromotionText bounds By and Reason in the log.
const maxPromotionText = 1000

// logPromotion appends rec, stamped now, to root's promotions log and
// runs swap; when swap fails the line is cut off again, so the log holds a
// promotion exactly when current moved.
func logPromotion(root string, rec *Promotion, swap func() error) (err error) {
	rec.Time = time.Now().UTC()
	rec.By, rec.Reason = clipText(rec.By), clipText(rec.Reason)
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode promotion: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, PromotionsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("promotions log: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("promotions log: %w", cerr)
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("promotions log: %w", err)
	}
	undo := func(cause error) error {
		if terr := f.Truncate(info.Size()); terr != nil {
			return errors.Join(cause, fmt.Errorf("promotions log: take back the line: %w", terr))
		}
		return cause
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return undo(fmt.Errorf("promotions log: %w", err))
	}
	if err := f.Sync(); err != nil {
		return undo(fmt.Errorf("promotions log: %w", err))
	}
	if err := swap(); err != nil {
		return undo(err)
	}
	return nil
}

// clipText bounds free text; JSON escapes its newlines, so a line stays one.
func clipText(s string) string {
	if len(s) > maxPromotionText {
		return s[:maxPromotionText]
	}
	return s
}
