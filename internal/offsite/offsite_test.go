package offsite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.StopShared()
	os.Exit(code)
}

// sourceFolder is a folder with one complete run of three components.
func sourceFolder(t *testing.T) (*backupset.Folder, string) {
	f, ids := locationtest.FolderWithRuns(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	return f, ids[0]
}

type target struct {
	name string
	open func(t *testing.T) backupset.Location
}

func targets() []target {
	return []target{
		{"folder", func(t *testing.T) backupset.Location {
			loc, err := backupset.NewFolderLocation(t.TempDir())
			assert.NilError(t, err)
			return loc
		}},
		{"s3", func(t *testing.T) backupset.Location {
			srv := s3test.ForTest(t)
			for k, v := range srv.Env() {
				t.Setenv(k, v)
			}
			bucket, err := srv.MakeBucket("offsite")
			assert.NilError(t, err)
			loc, err := s3location.Open(t.Context(), "s3://"+bucket+"/infrahub", s3location.Options{PartSize: s3location.MinPartSize})
			assert.NilError(t, err)
			return loc
		}},
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			src, runID := sourceFolder(t)
			loc := tg.open(t)
			key, err := age.GenerateX25519Identity()
			assert.NilError(t, err)
			rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}

			res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcp, Tool: "test"})
			assert.NilError(t, err)
			assert.Assert(t, is.Len(res.Copied, 1))
			assert.Check(t, is.Equal(res.Copied[0].Source, runID))
			assert.Check(t, is.Equal(res.Copied[0].Files, 3))

			// Copying again finds the run there.
			res, err = offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcp})
			assert.NilError(t, err)
			assert.Check(t, is.Len(res.Copied, 0))
			assert.Check(t, is.DeepEqual(res.Present, []string{runID}))
			// A plain copy into this encrypted location is refused.
			_, err = offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{})
			assert.Check(t, errors.Is(err, agecrypt.ErrMixed), "%v", err)

			// Verify: stored bytes without a key, plaintext with it; a
			// wrong key is an error of its own.
			vr, err := offsite.Verify(ctx, loc, nil, nil, nil)
			assert.NilError(t, err)
			assert.Check(t, is.Len(vr.Runs, 1))
			assert.Check(t, vr.Runs[0].Encrypted)
			_, err = offsite.Verify(ctx, loc, nil, []age.Identity{key}, nil)
			assert.NilError(t, err)
			wrong, _ := age.GenerateX25519Identity()
			_, err = offsite.Verify(ctx, loc, nil, []age.Identity{wrong}, nil)
			assert.Check(t, errors.Is(err, agecrypt.ErrNoIdentity), "%v", err)

			// Back into an empty folder: the files as they were.
			dst, err := backupset.Create(t.TempDir())
			assert.NilError(t, err)
			locRun := vr.Runs[0].ID
			_, err = offsite.ToFolder(ctx, loc, locRun, dst, nil, nil)
			assert.Check(t, errors.Is(err, agecrypt.ErrNoIdentity), "%v", err)
			_, err = offsite.ToFolder(ctx, loc, locRun, dst, []age.Identity{wrong}, nil)
			assert.Check(t, errors.Is(err, agecrypt.ErrNoIdentity), "%v", err)
			entries, _ := os.ReadDir(dst.Dir)
			for _, e := range entries {
				assert.Check(t, !strings.HasSuffix(e.Name(), ".dump"), "nothing lands with a wrong key: %s", e.Name())
			}
			_, err = offsite.ToFolder(ctx, loc, locRun, dst, []age.Identity{key}, nil)
			assert.NilError(t, err)
			for _, name := range []string{"neo4j-2026-12-01T03-00-00.dump", "task-manager-2026-12-01T03-00-00.pgdump", "storage-2026-12-01T03-00-00.tar"} {
				a, err := os.ReadFile(filepath.Join(src.Dir, name))
				assert.NilError(t, err)
				b, err := os.ReadFile(filepath.Join(dst.Dir, name))
				assert.NilError(t, err)
				assert.Check(t, string(a) == string(b), name)
			}
			m, err := dst.ReadManifest()
			assert.NilError(t, err)
			run, ok := m.Run(runID)
			assert.Assert(t, ok, "the folder knows the run under its original id")
			assert.Check(t, run.Complete)
			assert.Check(t, is.Len(m.RunFiles(runID), 3))
		})
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	ctx := t.Context()
	src, _ := sourceFolder(t)
	dir := t.TempDir()
	loc, err := backupset.NewFolderLocation(dir)
	assert.NilError(t, err)
	key, _ := age.GenerateX25519Identity()
	rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
	res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcp})
	assert.NilError(t, err)
	p := filepath.Join(dir, "runs", res.Copied[0].ID, "neo4j-2026-12-01T03-00-00.dump.age")
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)/2] ^= 0x20
	assert.NilError(t, os.WriteFile(p, data, 0o600))

	_, err = offsite.Verify(ctx, loc, nil, nil, nil)
	var ve *offsite.VerifyError
	assert.Check(t, errors.As(err, &ve), "%v", err)
	_, err = offsite.Verify(ctx, loc, nil, []age.Identity{key}, nil)
	assert.Check(t, errors.As(err, &ve), "%v", err)

	dst, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	_, err = offsite.ToFolder(ctx, loc, res.Copied[0].ID, dst, []age.Identity{key}, nil)
	assert.Check(t, errors.Is(err, agecrypt.ErrChecksum), "%v", err)
	_, err = os.Stat(filepath.Join(dst.Dir, "neo4j-2026-12-01T03-00-00.dump"))
	assert.Check(t, errors.Is(err, os.ErrNotExist), "a damaged file never gets its name")
}

func TestCopyChecksTheSource(t *testing.T) {
	src, _ := sourceFolder(t)
	assert.NilError(t, os.WriteFile(filepath.Join(src.Dir, "storage-2026-12-01T03-00-00.tar"), []byte("TAR"), 0o600))
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	_, err = offsite.ToLocation(t.Context(), src, loc, offsite.CopyOptions{})
	assert.Check(t, errors.Is(err, offsite.ErrChecksum), "%v", err)
	listing, err := backupset.ListRuns(t.Context(), loc)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listing.Runs, 0), "no run without its manifest")
}

// TestDownloadChecksAPlainFile: an unencrypted object damaged in the
// location (same size, one bit) is refused, never gets its name in the
// folder, and leaves no partial.
func TestDownloadChecksAPlainFile(t *testing.T) {
	src, _ := sourceFolder(t)
	dir := t.TempDir()
	loc, err := backupset.NewFolderLocation(dir)
	assert.NilError(t, err)
	res, err := offsite.ToLocation(t.Context(), src, loc, offsite.CopyOptions{})
	assert.NilError(t, err)
	p := filepath.Join(dir, "runs", res.Copied[0].ID, "storage-2026-12-01T03-00-00.tar")
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)/2] ^= 1
	assert.NilError(t, os.WriteFile(p, data, 0o600))

	dst, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	_, err = offsite.ToFolder(t.Context(), loc, res.Copied[0].ID, dst, nil, nil)
	assert.Check(t, errors.Is(err, offsite.ErrChecksum), "%v", err)
	assert.Check(t, is.ErrorContains(err, "stored bytes of storage-2026-12-01T03-00-00.tar"))
	entries, err := os.ReadDir(dst.Dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Check(t, !strings.HasPrefix(e.Name(), "storage-"), "left in the folder: %s", e.Name())
	}
}

// TestInterruptedCopyLeavesNoRun: a copy that dies leaves no run, only
// objects that prune removes.
func TestInterruptedCopyLeavesNoRun(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			src, _ := sourceFolder(t)
			loc := tg.open(t)
			_, err := offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 3}, offsite.CopyOptions{})
			assert.ErrorContains(t, err, "killed")

			listing, err := backupset.ListRuns(ctx, loc)
			assert.NilError(t, err)
			assert.Check(t, is.Len(listing.Runs, 0), "no run without its manifest")
			assert.Check(t, is.Len(listing.Orphans, 4), "two files and their copy records")

			pr, err := backupset.PruneLocation(ctx, loc, backupset.KeepPolicy{Last: 1}, time.Now(), false)
			assert.NilError(t, err)
			assert.Check(t, is.Len(pr.Removed, 0))
			listing, err = backupset.ListRuns(ctx, loc)
			assert.NilError(t, err)
			assert.Check(t, is.Len(listing.Runs, 0))
			assert.Check(t, is.Len(listing.Orphans, 0), "prune removed the dead copy's objects")
		})
	}
}

// TestTwoClientsOneLocation: while one client copies, a second (another
// handle, as from another machine) is refused by the lock.
func TestTwoClientsOneLocation(t *testing.T) {
	ctx := t.Context()
	srv := s3test.ForTest(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	bucket, err := srv.MakeBucket("two")
	assert.NilError(t, err)
	url := "s3://" + bucket + "/x"
	a, err := s3location.Open(ctx, url, s3location.Options{})
	assert.NilError(t, err)
	b, err := s3location.Open(ctx, url, s3location.Options{})
	assert.NilError(t, err)
	lease, err := a.Lock(ctx, "copy")
	assert.NilError(t, err)
	src, _ := sourceFolder(t)
	_, err = offsite.ToLocation(ctx, src, b, offsite.CopyOptions{})
	var locked *backupset.LockedError
	assert.Check(t, errors.As(err, &locked), "%v", err)
	assert.NilError(t, lease.Release(ctx))
	_, err = offsite.ToLocation(ctx, src, b, offsite.CopyOptions{})
	assert.NilError(t, err)
}

// droppingLocation's objects break off after limit bytes, as when the S3
// server goes away in the middle of a download.
type droppingLocation struct {
	backupset.Location
	limit int64
}

type droppingReader struct {
	io.ReadCloser
	left int64
}

func (d *droppingReader) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.ReadCloser.Read(p)
	d.left -= int64(n)
	return n, err
}

func (d *droppingLocation) Open(ctx context.Context, name string) (io.ReadCloser, backupset.ObjectInfo, error) {
	rc, info, err := d.Location.Open(ctx, name)
	if err != nil {
		return nil, info, err
	}
	return &droppingReader{ReadCloser: rc, left: d.limit}, info, nil
}

// TestServerGoneMidDownload: nothing half-downloaded gets a name in the
// folder, no partial file stays, and the folder's manifest is untouched, so
// restore never sees the run.
func TestServerGoneMidDownload(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		ctx := t.Context()
		src, _ := sourceFolder(t)
		loc := targets()[0].open(t)
		key, _ := age.GenerateX25519Identity()
		o := offsite.CopyOptions{}
		if encrypted {
			o.Encrypt = agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
		}
		res, err := offsite.ToLocation(ctx, src, loc, o)
		assert.NilError(t, err)
		dst, err := backupset.Create(t.TempDir())
		assert.NilError(t, err)
		_, err = offsite.ToFolder(ctx, &droppingLocation{Location: loc, limit: 100_000}, res.Copied[0].ID, dst, []age.Identity{key}, nil)
		assert.Check(t, is.ErrorContains(err, "connection reset"), "encrypted %v", encrypted)
		entries, err := os.ReadDir(dst.Dir)
		assert.NilError(t, err)
		for _, e := range entries {
			assert.Check(t, is.Equal(e.Name(), backupset.ManifestName), "left in the folder: %s", e.Name())
		}
		m, err := dst.ReadManifest()
		assert.NilError(t, err)
		assert.Check(t, is.Len(m.Runs, 0))
	}
}

func TestBetweenLocations(t *testing.T) {
	ctx := t.Context()
	src, runID := sourceFolder(t)
	a, s3 := targets()[0].open(t), targets()[1].open(t)
	key, _ := age.GenerateX25519Identity()
	rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
	_, err := offsite.ToLocation(ctx, src, a, offsite.CopyOptions{Encrypt: rcp})
	assert.NilError(t, err)

	res, err := offsite.BetweenLocations(ctx, a, s3, nil, false, nil)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	vr, err := offsite.Verify(ctx, s3, nil, []age.Identity{key}, nil)
	assert.NilError(t, err)
	assert.Check(t, vr.Runs[0].Encrypted)
	m, err := backupset.ReadRun(ctx, s3, vr.Runs[0].ID)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(m.CopiedFrom, runID), "the run keeps its origin")

	// Again: already there, also when copied from the folder directly.
	res, err = offsite.BetweenLocations(ctx, a, s3, nil, false, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Copied, 0))
	r2, err := offsite.ToLocation(ctx, src, s3, offsite.CopyOptions{Encrypt: rcp})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(r2.Present, []string{runID}))

	// A damaged source object is not copied, and no run appears.
	dir := a.(*backupset.FolderLocation).Dir
	listing, err := backupset.ListRuns(ctx, a)
	assert.NilError(t, err)
	p := filepath.Join(dir, "runs", listing.Runs[0].Run.ID, "storage-2026-12-01T03-00-00.tar.age")
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)-1] ^= 1
	assert.NilError(t, os.WriteFile(p, data, 0o600))
	c := targets()[0].open(t)
	_, err = offsite.BetweenLocations(ctx, a, c, nil, false, nil)
	assert.Check(t, errors.Is(err, offsite.ErrChecksum), "%v", err)
	listing, err = backupset.ListRuns(ctx, c)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listing.Runs, 0))
}

// A sealed staging folder (backup s3://… --encrypt-to) holds ciphertext
// only; its files go up as they are, with the manifest of an encrypted copy,
// and come back as the plaintext the folder was given.
func TestSealedFolderToLocation(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			key, err := age.GenerateX25519Identity()
			assert.NilError(t, err)
			rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
			started := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
			src, runID := locationtest.SealedFolderWithRun(t, started, agecrypt.Sealer(rcp))
			plain, _ := locationtest.FolderWithRuns(t, started)
			names := []string{"neo4j-2026-12-01T03-00-00.dump", "task-manager-2026-12-01T03-00-00.pgdump", "storage-2026-12-01T03-00-00.tar"}
			for _, name := range names {
				disk, err := os.ReadFile(filepath.Join(src.Dir, name))
				assert.NilError(t, err)
				want, err := os.ReadFile(filepath.Join(plain.Dir, name))
				assert.NilError(t, err)
				assert.Check(t, !strings.Contains(string(disk), string(want[:20])), "plaintext on disk: %s", name)
			}

			loc := tg.open(t)
			_, err = offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{})
			assert.Check(t, is.ErrorContains(err, "sealed"), "a sealed file needs the recipients for its manifest")
			res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcp, Tool: "test"})
			assert.NilError(t, err)
			assert.Assert(t, is.Len(res.Copied, 1))
			assert.Check(t, is.Equal(res.Copied[0].Source, runID))

			vr, err := offsite.Verify(ctx, loc, nil, []age.Identity{key}, nil)
			assert.NilError(t, err)
			assert.Assert(t, is.Len(vr.Runs, 1))
			assert.Check(t, vr.Runs[0].Encrypted)
			// No copy records: no later copy could resume this one.
			recs, err := loc.List(ctx, backupset.ArtifactKey(vr.Runs[0].ID, backupset.CopyRecordDir))
			assert.NilError(t, err)
			assert.Check(t, is.Len(recs, 0))
			dst, err := backupset.Create(t.TempDir())
			assert.NilError(t, err)
			_, err = offsite.ToFolder(ctx, loc, vr.Runs[0].ID, dst, []age.Identity{key}, nil)
			assert.NilError(t, err)
			for _, name := range names {
				a, err := os.ReadFile(filepath.Join(plain.Dir, name))
				assert.NilError(t, err)
				b, err := os.ReadFile(filepath.Join(dst.Dir, name))
				assert.NilError(t, err)
				assert.Check(t, string(a) == string(b), name)
			}
		})
	}
}

// Into a folder that unseals (restore s3:// of an encrypted run), the
// ciphertext is kept as stored and checked, decrypted, on the way: the
// folder then reads the plaintext; a wrong key or a flipped byte refuses
// the file before it gets its name.
func TestToUnsealedFolder(t *testing.T) {
	ctx := t.Context()
	src, runID := sourceFolder(t)
	dir := t.TempDir()
	loc, err := backupset.NewFolderLocation(dir)
	assert.NilError(t, err)
	key, _ := age.GenerateX25519Identity()
	rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
	res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcp})
	assert.NilError(t, err)
	locRun := res.Copied[0].ID
	names := []string{"neo4j-2026-12-01T03-00-00.dump", "task-manager-2026-12-01T03-00-00.pgdump", "storage-2026-12-01T03-00-00.tar"}
	unsealed := func(ids ...age.Identity) *backupset.Folder {
		f, err := backupset.Create(t.TempDir())
		assert.NilError(t, err)
		f.Unseal(agecrypt.Unsealer(ids))
		return f
	}

	dst := unsealed(key)
	_, err = offsite.ToFolder(ctx, loc, locRun, dst, []age.Identity{key}, nil)
	assert.NilError(t, err)
	for _, name := range names {
		disk, err := os.ReadFile(dst.Path(name))
		assert.NilError(t, err)
		assert.Check(t, strings.HasPrefix(string(disk), "age-encryption.org/v1\n"), "ciphertext on disk: %s", name)
		want, err := os.ReadFile(src.Path(name))
		assert.NilError(t, err)
		rc, _, err := dst.OpenFile(name)
		assert.NilError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		assert.NilError(t, err)
		assert.Check(t, string(got) == string(want), name)
	}
	rep, err := dst.Verify(nil)
	assert.NilError(t, err)
	assert.Check(t, rep.OK(), "%v", rep.Problems)
	m, err := dst.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Len(m.RunFiles(runID), 3), "the manifest records the plaintext")

	wrong, _ := age.GenerateX25519Identity()
	dst = unsealed(wrong)
	_, err = offsite.ToFolder(ctx, loc, locRun, dst, []age.Identity{wrong}, nil)
	assert.Check(t, errors.Is(err, agecrypt.ErrNoIdentity), "%v", err)
	assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Environment))

	p := filepath.Join(dir, "runs", locRun, "storage-2026-12-01T03-00-00.tar.age")
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)-20] ^= 0x01
	assert.NilError(t, os.WriteFile(p, data, 0o600))
	dst = unsealed(key)
	_, err = offsite.ToFolder(ctx, loc, locRun, dst, []age.Identity{key}, nil)
	assert.Check(t, errors.Is(err, agecrypt.ErrChecksum), "%v", err)
	assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Verify))
	entries, _ := os.ReadDir(dst.Dir)
	for _, e := range entries {
		assert.Check(t, !slices.Contains(names, e.Name()), "nothing of a damaged run stays: %s", e.Name())
	}
}

// backup s3://…'s streamed path: a folder that forwards its files into the
// location as they arrive keeps empty placeholders only (ciphertext or
// plaintext alike never reach its disk), refuses to read them back, and
// the run exists once Commit writes its manifest; it then reads back as
// the files were given.
func TestForwardedRun(t *testing.T) {
	for _, tg := range targets() {
		for _, c := range []struct{ encrypted, staged bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			encrypted := c.encrypted
			t.Run(fmt.Sprintf("%s/encrypted=%v/staged=%v", tg.name, c.encrypted, c.staged), func(t *testing.T) {
				ctx := t.Context()
				loc := tg.open(t)
				key, err := age.GenerateX25519Identity()
				assert.NilError(t, err)
				var rcp agecrypt.Recipients
				if encrypted {
					rcp = agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
				}
				lease, err := loc.Lock(ctx, "backup")
				assert.NilError(t, err)
				defer lease.Release(ctx)
				started := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
				locRun := backupset.NewLocationRunID(started)
				var fw *offsite.Forwarding
				src, runID := locationtest.PreparedFolderWithRun(t, started, func(f *backupset.Folder) {
					if encrypted {
						f.Seal(agecrypt.Sealer(rcp))
					}
					fw = offsite.Forward(ctx, f, loc, lease, locRun, rcp)
					if c.staged {
						// As during an outage: the files stay here
						// (ciphertext when sealed) until Commit.
						f.StageLocally()
					}
				})
				plain, _ := locationtest.FolderWithRuns(t, started)
				names := []string{"neo4j-2026-12-01T03-00-00.dump", "task-manager-2026-12-01T03-00-00.pgdump", "storage-2026-12-01T03-00-00.tar"}
				for _, name := range names {
					disk, err := os.ReadFile(filepath.Join(src.Dir, name))
					assert.NilError(t, err)
					_, _, err = src.OpenFile(name)
					if c.staged {
						assert.Check(t, len(disk) > 0, name)
						want, _ := os.ReadFile(filepath.Join(plain.Dir, name))
						assert.Check(t, is.Equal(bytes.Equal(disk, want), !encrypted), "%s: staged as plaintext %v", name, !encrypted)
						continue
					}
					assert.Check(t, is.Len(disk, 0), "%s holds bytes on this machine", name)
					assert.Check(t, errors.Is(err, backupset.ErrForwarded), "%v", err)
				}
				if c.staged {
					objs, err := loc.List(ctx, backupset.RunsPrefix)
					assert.NilError(t, err)
					assert.Check(t, is.Len(objs, 0), "uploaded during the outage: %v", objs)
				}
				// Nothing is a run before the manifest.
				listing, err := backupset.ListRuns(ctx, loc)
				assert.NilError(t, err)
				assert.Check(t, is.Len(listing.Runs, 0))

				res, err := fw.Commit(ctx, src, "test", nil)
				assert.NilError(t, err)
				assert.Assert(t, is.Len(res.Copied, 1))
				assert.Check(t, is.Equal(res.Copied[0].Source, runID))
				assert.Check(t, is.Equal(res.Copied[0].ID, locRun))
				assert.Check(t, is.Equal(res.Copied[0].Files, 3))

				var ids []age.Identity
				if encrypted {
					ids = []age.Identity{key}
				}
				vr, err := offsite.Verify(ctx, loc, nil, ids, nil)
				assert.NilError(t, err)
				assert.Assert(t, is.Len(vr.Runs, 1))
				assert.Check(t, is.Equal(vr.Runs[0].Encrypted, encrypted))
				dst, err := backupset.Create(t.TempDir())
				assert.NilError(t, err)
				_, err = offsite.ToFolder(ctx, loc, locRun, dst, ids, nil)
				assert.NilError(t, err)
				for _, name := range names {
					a, err := os.ReadFile(filepath.Join(plain.Dir, name))
					assert.NilError(t, err)
					b, err := os.ReadFile(filepath.Join(dst.Dir, name))
					assert.NilError(t, err)
					assert.Check(t, string(a) == string(b), name)
				}
			})
		}
	}
}

// A streamed run that fails leaves no run, and Discard removes what it had
// forwarded.
func TestForwardedRunDiscarded(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			loc := tg.open(t)
			lease, err := loc.Lock(ctx, "backup")
			assert.NilError(t, err)
			defer lease.Release(ctx)
			started := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
			var fw *offsite.Forwarding
			src, _ := locationtest.PreparedFolderWithRun(t, started, func(f *backupset.Folder) {
				fw = offsite.Forward(ctx, f, loc, lease, backupset.NewLocationRunID(started), agecrypt.Recipients{})
			})
			objs, err := loc.List(ctx, backupset.RunsPrefix)
			assert.NilError(t, err)
			assert.Check(t, is.Len(objs, 3))
			assert.NilError(t, fw.Discard(ctx, src))
			objs, err = loc.List(ctx, backupset.RunsPrefix)
			assert.NilError(t, err)
			assert.Check(t, is.Len(objs, 0), "%v", objs)
		})
	}
}
