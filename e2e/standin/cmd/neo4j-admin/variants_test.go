package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
)

// setVariants writes the variant knobs into the server's data directory.
func (f *fixture) setVariants(v map[string]string) {
	b, err := json.Marshal(faults.Knobs{Variant: v})
	assert.NilError(f.t, err)
	assert.NilError(f.t, os.WriteFile(filepath.Join(f.data, faults.File), b, 0o666))
}

func TestAggregateNamingVariants(t *testing.T) {
	for _, tc := range []struct {
		version, variant string
		want             func(f *fixture, newest string) string // the result's name
	}{
		{version: "5.26.0", want: func(_ *fixture, newest string) string { return filepath.Base(newest) }},
		{version: "5.26.0", variant: "new-name"},
		{version: "2025.10.1", variant: "in-place", want: func(_ *fixture, newest string) string { return filepath.Base(newest) }},
		{version: "2025.10.1", variant: "unparsable", want: func(*fixture, string) string { return "neo4j.aggregated.backup" }},
	} {
		t.Run(tc.version+"/"+tc.variant, func(t *testing.T) {
			f := newFixture(t)
			f.version = tc.version
			if tc.variant != "" {
				f.setVariants(map[string]string{"aggregate": tc.variant})
			}
			f.chain()
			newest := f.newest("neo4j")
			r := f.admin("backup", "aggregate", "--from-path="+f.backup, "neo4j")
			if tc.version == "5.26.0" {
				r = f.admin("database", "aggregate-backup", "--from-path="+f.backup, "neo4j")
			}
			assert.Equal(t, r.code, 0, r.stdout+r.stderr)
			files, _ := filepath.Glob(filepath.Join(f.backup, "*.backup"))
			assert.Assert(t, is.Len(files, 1), "the old chain is gone: %v", files)
			got := filepath.Base(files[0])
			if tc.want != nil {
				assert.Check(t, is.Equal(got, tc.want(f, newest)))
			} else {
				assert.Check(t, got != filepath.Base(newest), got)
			}
			assert.Check(t, is.Contains(r.stdout, "new artifact: '"+files[0]+"'"))
		})
	}
}

func TestAggregateSilentVariant(t *testing.T) {
	f := newFixture(t)
	f.setVariants(map[string]string{"aggregate-output": "silent"})
	f.chain()
	r := f.admin("database", "aggregate-backup", "--from-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Check(t, !strings.Contains(r.stdout, "new artifact"), r.stdout)
}

func TestInspectLayoutVariants(t *testing.T) {
	for _, variant := range []string{"json-strings", "unknown"} {
		t.Run(variant, func(t *testing.T) {
			f := newFixture(t)
			f.version = "2025.10.1"
			f.setVariants(map[string]string{"inspect": variant})
			f.chain()
			r := f.admin("backup", "inspect", "--empty", f.backup)
			assert.Equal(t, r.code, 0, r.stderr)
			assert.Check(t, !strings.HasPrefix(strings.TrimSpace(r.stdout), "|"), "not the table: %s", r.stdout)
			assert.Check(t, is.Contains(r.stdout, "neo4j-2024-10-07T16-00-0"))
		})
	}
}

// The backup helper has no /data of the server's: the server relays its
// variants over the backup port, and backup-skip makes backup exit 0 with
// nothing written.
func TestVariantsRelayedToTheBackupHelper(t *testing.T) {
	f := newFixture(t)
	f.setVariants(map[string]string{"backup-skip": "neo4j", "aggregate": "unparsable"})
	helperData, helperConf := t.TempDir(), t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(helperConf, "neo4j.conf"), []byte("server.directories.data="+helperData+"\n"), 0o644))
	f.seed("neo4j", 2)
	r := f.adminEnv([]string{"NEO4J_CONF=" + helperConf, "NEO4J_EDITION=enterprise"}, "database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j", "system")
	assert.Equal(t, r.code, 0, "exit 0 although neo4j was not backed up: %s", r.stderr)
	assert.Check(t, is.Equal(len(f.artifacts()), 1), "only system: %v", f.artifacts())
	assert.Check(t, is.Equal(faults.Variant(helperData, "aggregate"), "unparsable"))
}

func TestCheckReportVariants(t *testing.T) {
	for _, tc := range []struct {
		variant    string
		wantReport bool
	}{{"none", false}, {"elsewhere", false}, {"always", true}} {
		t.Run(tc.variant, func(t *testing.T) {
			f := newFixture(t)
			f.setVariants(map[string]string{"check-report": tc.variant})
			f.seed("neo4j", 2)
			assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
			report := filepath.Join(t.TempDir(), "neo4j.report")
			r := f.admin("database", "check", "--from-path="+f.backup, "--report-path="+report, "neo4j")
			assert.Equal(t, r.code, 0, "a consistent backup: %s", r.stderr)
			_, err := os.Stat(report)
			assert.Check(t, is.Equal(err == nil, tc.wantReport))
		})
	}
}
