package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

func verifyOffline(t *testing.T, folder *backupset.Folder) *VerifyResult {
	t.Helper()
	res, err := Verify(context.Background(), nil, folder, VerifyOptions{}, progress.Nop)
	assert.NilError(t, err)
	return res
}

func TestVerifyGoodFolder(t *testing.T) {
	folder := makeFolder(t, append(twoChains(), file{name: "notes.txt"})...)
	res := verifyOffline(t, folder)
	assert.Check(t, res.OK, "%+v", res.Problems)
	assert.Check(t, is.Len(res.Checked, 4))
	assert.Check(t, is.DeepEqual(res.Warnings, []backupset.Problem{{File: "notes.txt", Kind: backupset.ProblemUnexpected, Detail: "not a backup file"}}))
	assert.Check(t, res.Err() == nil)
}

func TestVerifyNamesTheFile(t *testing.T) {
	victim := name("neo4j", 21, 11)
	tests := []struct {
		name   string
		damage func(t *testing.T, f *backupset.Folder)
		file   string
		kind   string
	}{
		{"flipped byte", func(t *testing.T, f *backupset.Folder) {
			data, _ := os.ReadFile(f.Path(victim))
			data[3] ^= 0xff
			assert.NilError(t, os.WriteFile(f.Path(victim), data, 0o600))
		}, victim, backupset.ProblemChanged},
		{"truncated", func(t *testing.T, f *backupset.Folder) {
			assert.NilError(t, os.Truncate(f.Path(victim), 2))
		}, victim, backupset.ProblemTruncated},
		{"deleted", func(t *testing.T, f *backupset.Folder) {
			assert.NilError(t, os.Remove(f.Path(victim)))
		}, victim, backupset.ProblemMissing},
		{"unexpected backup file", func(t *testing.T, f *backupset.Folder) {
			assert.NilError(t, os.WriteFile(f.Path(name("neo4j", 23, 10)), []byte("x"), 0o600))
		}, name("neo4j", 23, 10), backupset.ProblemExtra},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			folder := makeFolder(t, twoChains()...)
			tc.damage(t, folder)
			res := verifyOffline(t, folder)
			assert.Check(t, !res.OK)
			assert.Check(t, hasProblem(res.Problems, tc.file, tc.kind), "%+v", res.Problems)
			var ve *backupset.VerifyError
			assert.Check(t, errors.As(res.Err(), &ve))
			assert.Check(t, is.ErrorContains(res.Err(), tc.file))
		})
	}
}

func TestVerifyWithoutManifest(t *testing.T) {
	folder := makeFolder(t, file{name: name("neo4j", 20, 10), unrecorded: true})
	res := verifyOffline(t, folder)
	assert.Check(t, !res.OK)
	assert.Check(t, hasProblem(res.Problems, backupset.ManifestName, ProblemNoManifest))
	assert.Check(t, is.Contains(res.Problems[0].Detail, "verify --adopt"))
}

func TestVerifyMalformedManifest(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	assert.NilError(t, os.WriteFile(folder.Path(backupset.ManifestName), []byte("{"), 0o600))
	// Like every command: the error of the manifest, for its own exit code.
	_, err := Verify(context.Background(), nil, folder, VerifyOptions{}, progress.Nop)
	assert.Check(t, errors.Is(err, backupset.ErrMalformedManifest), "%v", err)
}

func TestVerifyNewerManifest(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	assert.NilError(t, os.WriteFile(folder.Path(backupset.ManifestName), []byte(`{"version": 999, "tool": "docker-infrahubdb 9.0.0", "files": []}`), 0o600))
	_, err := Verify(context.Background(), nil, folder, VerifyOptions{}, progress.Nop)
	assert.Check(t, errors.Is(err, backupset.ErrNewerManifest), "%v", err)
}

// verify means restorable: a folder with nothing restore could take fails,
// whatever else it holds (a mistyped path, an unmounted volume in cron).
func TestVerifyFolderWithNothingToRestore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, f *backupset.Folder)
		kinds []string // problems besides "empty"
	}{
		{name: "empty", setup: func(*testing.T, *backupset.Folder) {}},
		{name: "junk", setup: func(t *testing.T, f *backupset.Folder) {
			assert.NilError(t, os.WriteFile(f.Path("notes.txt"), []byte("hello"), 0o600))
			assert.NilError(t, os.WriteFile(f.Path("neo4j.backup"), []byte("not named like one"), 0o600))
		}},
		{name: "component files only, unrecorded", setup: func(t *testing.T, f *backupset.Folder) {
			for _, c := range []string{backupset.ComponentTaskManager, backupset.ComponentStorage} {
				n, _ := backupset.ComponentFileName(c, day(20, 10))
				assert.NilError(t, os.WriteFile(f.Path(n), componentContent(t, c, false), 0o600))
			}
		}, kinds: []string{backupset.ProblemExtra, backupset.ProblemExtra}},
		{name: "only an incomplete chain", setup: func(t *testing.T, f *backupset.Folder) {
			m := &backupset.Manifest{Version: backupset.ManifestVersion}
			pf, err := f.NewFile(name("neo4j", 20, 11))
			assert.NilError(t, err)
			_, _ = pf.Write([]byte("a diff"))
			rec, err := pf.Commit()
			assert.NilError(t, err)
			rec.Type, rec.FromTx, rec.ToTx = backupset.TypeDiff, 11, 12
			m.Upsert(rec)
			assert.NilError(t, f.WriteManifest(m))
		}, kinds: []string{backupset.ProblemChain}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			folder := makeFolder(t)
			tc.setup(t, folder)
			res := verifyOffline(t, folder)
			assert.Check(t, !res.OK)
			var kinds []string
			for _, p := range res.Problems {
				if p.Kind != ProblemEmpty {
					kinds = append(kinds, p.Kind)
				}
			}
			assert.Check(t, is.DeepEqual(kinds, tc.kinds))
			assert.Check(t, hasProblem(res.Problems, folder.Dir, ProblemEmpty), "%+v", res.Problems)

			res, err := Verify(context.Background(), nil, folder, VerifyOptions{AllowEmpty: true}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, !hasProblem(res.Problems, folder.Dir, ProblemEmpty))
			assert.Check(t, is.Equal(res.OK, len(tc.kinds) == 0))
		})
	}
}

// The restore preflight's content checks, without the engine: files whose
// checksums are right but whose content restore refuses fail verify too.
func TestVerifyContentOfComponentFiles(t *testing.T) {
	for _, hostile := range []string{backupset.ComponentTaskManager, backupset.ComponentStorage} {
		t.Run(hostile, func(t *testing.T) {
			folder := runFolder(t)
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			victim, _ := backupset.ComponentFileName(hostile, day(22, 10))
			// Replace the file and its checksum: only the content is wrong.
			assert.NilError(t, os.WriteFile(folder.Path(victim), componentContent(t, hostile, true), 0o600))
			rec, err := folder.Describe(victim)
			assert.NilError(t, err)
			old, _ := m.Lookup(victim)
			old.Size, old.SHA256 = rec.Size, rec.SHA256
			m.Upsert(old)
			assert.NilError(t, folder.WriteManifest(m))

			res := verifyOffline(t, folder)
			assert.Check(t, !res.OK)
			assert.Check(t, is.Len(res.Problems, 1), "%+v", res.Problems)
			assert.Check(t, hasProblem(res.Problems, victim, ProblemContent), "%+v", res.Problems)
			assert.Check(t, slices.Contains(res.Checked, victim), "its checksum matches")
		})
	}
}

// --adopt judges the folder before the engine: an existing manifest or a
// folder with nothing to adopt is refused without any helper or image.
func TestVerifyAdoptChecksTheFolderFirst(t *testing.T) {
	eng := helpertest.New()
	folder := makeFolder(t, twoChains()...)
	_, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "absent:image"}}, progress.Nop)
	assert.Check(t, errors.Is(err, ErrHasManifest), "%v", err)
	assert.Check(t, is.Len(eng.CallLog(), 0), "nothing asked of the engine: %v", eng.CallLog())

	empty := makeFolder(t)
	res, err := Verify(context.Background(), eng, empty, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "absent:image"}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, hasProblem(res.Problems, empty.Dir, ProblemEmpty))
	assert.Check(t, is.Len(eng.CallLog(), 0), "nothing asked of the engine: %v", eng.CallLog())
}

// --adopt records component files (after restore's content checks) and the
// runs they were taken in, not only the graph; a folder of component files
// alone needs no engine at all.
func TestVerifyAdoptRecordsComponentsAndRuns(t *testing.T) {
	folder := makeFolder(t,
		file{name: name("neo4j", 20, 10), unrecorded: true},
		file{name: name("neo4j", 21, 10), unrecorded: true},
	)
	for _, d := range []int{20, 21} {
		for _, c := range []string{backupset.ComponentTaskManager, backupset.ComponentStorage} {
			n, _ := backupset.ComponentFileName(c, day(d, 10).Add(time.Minute))
			assert.NilError(t, os.WriteFile(folder.Path(n), componentContent(t, c, false), 0o600))
		}
	}
	eng := newEngine(inspectAdmin(map[string]string{
		name("neo4j", 20, 10): `"full":true,"lowestTx":1,"highestTx":10`,
		name("neo4j", 21, 10): `"full":true,"lowestTx":1,"highestTx":20`,
	}, false))
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%+v", res.Problems)
	assert.Check(t, is.Len(res.Adopted, 6))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 2))
	for i, d := range []int{20, 21} {
		r := m.Runs[i]
		assert.Check(t, is.Equal(r.ID, backupset.NewRunID(day(d, 10))))
		assert.Check(t, r.Complete)
		assert.Check(t, is.DeepEqual(r.Components, backupset.Components))
		assert.Check(t, is.Len(m.RunFiles(r.ID), 3))
	}

	// Component files alone: no helper.
	only := makeFolder(t)
	n, _ := backupset.ComponentFileName(backupset.ComponentStorage, day(22, 10))
	assert.NilError(t, os.WriteFile(only.Path(n), componentContent(t, backupset.ComponentStorage, false), 0o600))
	bare := helpertest.New()
	res, err = Verify(context.Background(), bare, only, VerifyOptions{Adopt: true}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%+v", res.Problems)
	assert.Check(t, is.Len(bare.CallLog(), 0))

	// A hostile archive is not adopted.
	bad := makeFolder(t)
	assert.NilError(t, os.WriteFile(bad.Path(n), componentContent(t, backupset.ComponentStorage, true), 0o600))
	res, err = Verify(context.Background(), nil, bad, VerifyOptions{Adopt: true}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, hasProblem(res.Problems, n, ProblemContent), "%+v", res.Problems)
	_, err = os.Stat(bad.Path(backupset.ManifestName))
	assert.Check(t, os.IsNotExist(err), "no manifest may be written")
}

func TestVerifyCheckAggregatesACopyAndKeepsTheReport(t *testing.T) {
	files := twoChains()
	files[2].content = "diff with corrupt body" // neo4j's newest chain: full + this diff
	folder := makeFolder(t, files...)
	eng := newEngine(checkAdmin)

	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Check: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, !res.OK)
	assert.Assert(t, is.Len(res.Checks, 2))
	neo4j, system := res.Checks[0], res.Checks[1]
	assert.Check(t, is.DeepEqual(neo4j.Files, []string{name("neo4j", 21, 10), name("neo4j", 21, 11)}))
	assert.Check(t, neo4j.Aggregated && !neo4j.Consistent)
	assert.Check(t, neo4j.Report != "")
	assert.Check(t, system.Consistent && !system.Aggregated)
	assert.Check(t, hasProblem(res.Problems, name("neo4j", 21, 11), neo4jbackup.ProblemInconsistent), "%+v", res.Problems)

	// The report is next to the backups; the backups are untouched.
	data, err := os.ReadFile(folder.Path(neo4j.Report))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(data), "ERROR: corrupt\n"))
	again := verifyOffline(t, folder)
	assert.Check(t, again.OK, "%+v", again.Problems)
	assert.Check(t, is.Len(again.Warnings, 0)) // reports are not "unexpected"
	assert.Check(t, eng.Helpers[0].Removed())
	assert.Check(t, is.Equal(eng.Helpers[0].Spec().Labels["org.opsmill.infrahubdb.helper"], "verify"))
}

func TestVerifyAdoptWritesManifestFromInspect(t *testing.T) {
	folder, eng := unrecordedChain(t)
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Tool: "docker-infrahubdb test", Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%+v", res.Problems)
	assert.Check(t, is.Len(res.Adopted, 2))
	assert.Check(t, is.Len(res.Checked, 2))

	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(m.Tool, "docker-infrahubdb test"))
	full, _ := m.Lookup(name("neo4j", 20, 10))
	diff, _ := m.Lookup(name("neo4j", 20, 11))
	assert.Check(t, is.Equal(full.Type, backupset.TypeFull))
	assert.Check(t, is.Equal(diff.Type, backupset.TypeDiff))
	assert.Check(t, is.Equal(diff.FromTx, int64(11)))
	assert.Check(t, is.Equal(diff.Database, "neo4j"))

	// A second adopt refuses: the manifest would hide changes.
	_, err = Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.Check(t, errors.Is(err, ErrHasManifest))
}

func TestVerifyAdoptRetriesWithoutShowMetadata(t *testing.T) {
	folder := makeFolder(t, file{name: name("neo4j", 20, 10), unrecorded: true})
	eng := newEngine(inspectAdmin(map[string]string{name("neo4j", 20, 10): `"full":true`}, true))
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%+v", res.Problems)
	m, _ := folder.ReadManifest()
	rec, _ := m.Lookup(name("neo4j", 20, 10))
	assert.Check(t, is.Equal(rec.Type, backupset.TypeFull))
}

func TestVerifyAdoptRefusesUnreadableArtifacts(t *testing.T) {
	folder := makeFolder(t, file{name: name("neo4j", 20, 10), content: "corrupt", unrecorded: true})
	eng := newEngine(inspectAdmin(nil, false))
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, !res.OK)
	assert.Check(t, is.Equal(res.Problems[0].Kind, ProblemUnreadable))
	_, err = os.Stat(folder.Path(backupset.ManifestName))
	assert.Check(t, os.IsNotExist(err), "no manifest may be written")
}

func hasProblem(ps []backupset.Problem, file, kind string) bool {
	return slices.ContainsFunc(ps, func(p backupset.Problem) bool { return p.File == file && p.Kind == kind })
}

// A check that fails without writing a report did not run: that is not an
// inconsistency (exit 5) but a precondition (exit 3), with the reason.
func TestVerifyCheckThatCannotRunIsNotInconsistent(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	refuse := func(h *helpertest.Helper, args []string, stdout io.Writer) int {
		if len(args) >= 2 && args[1] == "check" {
			fmt.Fprintln(stdout, "Consistency check is not supported for unrecovered full backups.")
			return 1
		}
		return checkAdmin(h, args, stdout)
	}
	eng := newEngine(refuse)
	_, err := Verify(context.Background(), eng, folder, VerifyOptions{Check: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	var notRun *neo4jbackup.CheckNotRunError
	assert.Assert(t, errors.As(err, &notRun), "%v", err)
	assert.Check(t, is.Contains(err.Error(), "not supported for unrecovered full backups"))
	assert.Check(t, is.Contains(err.Error(), "says nothing about the backup's consistency"))
}

// Whether and where database check writes its report is not documented in
// detail (research NEO4J.md §7): whichever way Neo4j goes, the exit status
// and the printed summary decide, never the report file alone.
func TestVerifyCheckReportVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		// corrupt: what the fake check does on the corrupt chain; clean: on
		// the good one. Each returns the exit code.
		corrupt, clean func(h *helpertest.Helper, report string, stdout io.Writer) int
		wantReport     bool
	}{
		{
			name: "report only on problems",
			corrupt: func(h *helpertest.Helper, report string, stdout io.Writer) int {
				_ = h.WriteFile(report, []byte("ERROR: corrupt\n"))
				fmt.Fprintf(stdout, "Inconsistencies found. See '%s' for details.\n", report)
				return 1
			},
			clean:      func(*helpertest.Helper, string, io.Writer) int { return 0 },
			wantReport: true,
		},
		{
			name: "a report file always",
			corrupt: func(h *helpertest.Helper, report string, stdout io.Writer) int {
				_ = h.WriteFile(report, []byte("ERROR: corrupt\n"))
				fmt.Fprintf(stdout, "Inconsistencies found. See '%s' for details.\n", report)
				return 1
			},
			clean: func(h *helpertest.Helper, report string, _ io.Writer) int {
				_ = h.WriteFile(report, nil)
				return 0
			},
			wantReport: true,
		},
		{
			name: "the report elsewhere",
			corrupt: func(h *helpertest.Helper, report string, stdout io.Writer) int {
				_ = h.WriteFile("/var/lib/neo4j/inconsistencies-2026-01-01.10.00.00.report", []byte("ERROR: corrupt\n"))
				fmt.Fprintln(stdout, "WARN  [o.n.c.ConsistencyCheckService] Inconsistencies found: ConsistencySummaryStatistics{\n    Number of errors: 1\n}")
				fmt.Fprintln(stdout, "Inconsistencies found. See '/var/lib/neo4j/inconsistencies-2026-01-01.10.00.00.report' for details.")
				return 1
			},
			clean: func(*helpertest.Helper, string, io.Writer) int { return 0 },
		},
		{
			name: "no report, summary only",
			corrupt: func(_ *helpertest.Helper, _ string, stdout io.Writer) int {
				fmt.Fprintln(stdout, "Inconsistencies found: ConsistencySummaryStatistics{ Number of errors: 1 }")
				return 1
			},
			clean: func(*helpertest.Helper, string, io.Writer) int { return 0 },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := twoChains()
			files[2].content = "diff with corrupt body"
			folder := makeFolder(t, files...)
			admin := func(h *helpertest.Helper, args []string, stdout io.Writer) int {
				if len(args) < 2 || args[1] != "check" {
					return checkAdmin(h, args, stdout)
				}
				dir := flag(args, "--from-path")
				names := h.Files(dir)
				data, _ := h.FileData(path.Join(dir, names[0]))
				if strings.Contains(string(data), "corrupt") {
					return tc.corrupt(h, flag(args, "--report-path"), stdout)
				}
				return tc.clean(h, flag(args, "--report-path"), stdout)
			}
			eng := newEngine(admin)
			res, err := Verify(context.Background(), eng, folder, VerifyOptions{Check: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
			assert.NilError(t, err)
			assert.Assert(t, is.Len(res.Checks, 2))
			neo4j, system := res.Checks[0], res.Checks[1]
			assert.Check(t, !neo4j.Consistent, "the corrupt chain is inconsistent")
			assert.Check(t, system.Consistent, "the good chain is consistent")
			assert.Check(t, is.Equal(neo4j.Report != "", tc.wantReport))
			assert.Check(t, hasProblem(res.Problems, name("neo4j", 21, 11), neo4jbackup.ProblemInconsistent), "%+v", res.Problems)
			assert.Check(t, !hasProblem(res.Problems, name("system", 21, 10), neo4jbackup.ProblemInconsistent), "%+v", res.Problems)
		})
	}
}

// verify --check of a folder of Community dumps: a check of dumps needs no
// Enterprise image, so the Community database container's own image runs
// it (nothing is pulled), and each newest dump is checked as it is.
func TestVerifyCheckOfDumpsUsesTheCommunityImage(t *testing.T) {
	neo4jDump, systemDump := backupset.DumpName("neo4j", day(1, 2)), backupset.DumpName("system", day(1, 2))
	folder := makeFolder(t,
		file{name: neo4jDump, typ: backupset.TypeDump, content: helpertest.DumpContent("neo4j", "5 nodes")},
		file{name: systemDump, typ: backupset.TypeDump, content: helpertest.DumpContent("system", "users")})
	eng := helpertest.New()
	eng.PullErr = errors.New("no registry")
	eng.Database.Image = "neo4j:5.26.0-community"
	eng.Database.Env = []string{"NEO4J_EDITION=community"}
	eng.Images = map[string][]string{eng.Database.Image: {"NEO4J_EDITION=community"}}
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Check: true, Helper: HelperOptions{Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%v", res.Problems)
	assert.Assert(t, is.Len(eng.Helpers, 1))
	assert.Check(t, is.Equal(eng.Helpers[0].Spec().Image, "neo4j:5.26.0-community"))
	assert.Check(t, is.DeepEqual(res.Checks, []neo4jbackup.CheckResult{
		{Database: "neo4j", Files: []string{neo4jDump}, Consistent: true},
		{Database: "system", Files: []string{systemDump}, Consistent: true},
	}))

	// A damaged dump is inconsistent.
	folder = makeFolder(t, file{name: neo4jDump, typ: backupset.TypeDump, content: helpertest.DumpContent("system", "wrong")})
	res, err = Verify(context.Background(), eng, folder, VerifyOptions{Check: true, Helper: HelperOptions{Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, !res.OK)
	assert.Check(t, is.Len(res.Problems, 1))
}

// A file whose header says it is a backup of another database than its
// name is refused by verify --adopt (nothing written) as restore's
// preflight refuses it in a folder without a manifest, in the same words;
// before, adopt recorded it under its name's database.
func TestVerifyAdoptRefusesABackupOfAnotherDatabase(t *testing.T) {
	folder := makeFolder(t, file{name: name("neo4j", 20, 10), unrecorded: true})
	eng := newEngine(inspectAdmin(map[string]string{name("neo4j", 20, 10): `"database":"infrahub","full":true`}, true))
	res, err := Verify(context.Background(), eng, folder, VerifyOptions{Adopt: true, Helper: HelperOptions{Image: "img", Transfer: helper.TransferStream}}, progress.Nop)
	assert.NilError(t, err)
	assert.Assert(t, !res.OK)
	assert.Check(t, is.Equal(res.Problems[0].Detail, "a backup of database infrahub, not neo4j, according to its header"))
	_, err = os.Stat(folder.Path(backupset.ManifestName))
	assert.Check(t, os.IsNotExist(err), "no manifest may be written")
}
