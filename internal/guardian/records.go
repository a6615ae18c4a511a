package guardian

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// reportRecords tells the operator, first, what guardians did for runs
// that died on this deployment, then forgets the records and removes the
// dead runs' helper containers (their owner is provably gone: its guardian
// saw it go).
func reportRecords(ctx context.Context, eng Engine, db docker.Container, pw progress.Writer) {
	vols, err := eng.VolumesWithLabel(ctx, agent.LabelRecord, db.ID)
	if err != nil {
		pw.Info("cannot read the guardians' records: " + err.Error())
		return
	}
	for _, v := range vols {
		var rec agent.Record
		if err := json.Unmarshal([]byte(v.Labels[agent.LabelRecordJSON]), &rec); err != nil {
			pw.Info(fmt.Sprintf("a guardian's record %s is unreadable: %v", v.Name, err))
			continue
		}
		pw.Info(Describe(rec))
		removed := removeHelpers(ctx, eng, rec.Owner)
		if len(removed) > 0 {
			pw.Info(fmt.Sprintf("removed the helper container(s) of that run: %s", strings.Join(removed, ", ")))
		}
		if err := eng.RemoveVolume(ctx, v.Name); err != nil {
			pw.Info(fmt.Sprintf("cannot remove the guardian's record %s: %v", v.Name, err))
		}
	}
}

func removeHelpers(ctx context.Context, eng Engine, owner string) []string {
	if owner == "" {
		return nil
	}
	hs, err := eng.List(ctx, map[string]string{docker.LabelHelper: "", docker.LabelOwner: owner}, true)
	if err != nil {
		return nil
	}
	var removed []string
	for _, h := range hs {
		if eng.RemoveContainer(ctx, h.ID) == nil {
			removed = append(removed, strings.TrimPrefix(h.Name, "/"))
		}
	}
	return removed
}

// Describe says in one paragraph what happened to a run and what its
// guardian did.
func Describe(rec agent.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INTERRUPTED RUN: a %s run (%s, started %s) was lost at %s: %s.",
		orWord(rec.Command, "docker infrahubdb"), orWord(rec.Owner, "unknown owner"), when(rec.RunStarted), when(rec.Lost), rec.Cause)
	if len(rec.Stopped) > 0 {
		fmt.Fprintf(&b, " It had stopped %s.", strings.Join(rec.Stopped, ", "))
	}
	if len(rec.Started) > 0 {
		fmt.Fprintf(&b, " Its guardian started %s again.", strings.Join(rec.Started, ", "))
	}
	if len(rec.Failed) > 0 {
		fmt.Fprintf(&b, " The guardian FAILED: %s; start those containers by hand.", strings.Join(rec.Failed, "; "))
	}
	if len(rec.Helpers) > 0 {
		fmt.Fprintf(&b, " It stopped the run's helper container(s) %s.", strings.Join(rec.Helpers, ", "))
	}
	if rec.PutBack != "" {
		fmt.Fprintf(&b, " Safety copy: %s.", rec.PutBack)
	}
	fmt.Fprintf(&b, " Data: %s.", rec.Data)
	for _, c := range rec.Components {
		fmt.Fprintf(&b, " Component %s.", c)
	}
	return b.String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
