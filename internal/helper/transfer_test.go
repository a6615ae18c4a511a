package helper_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

const (
	neo4jArtifact  = "neo4j-2026-11-20T10-00-00.backup"
	systemArtifact = "system-2026-11-20T10-00-01.backup"
)

// session opens a session on the fake engine with the given transfer and
// puts files into its work dir, as neo4j-admin would have written them.
func session(t *testing.T, eng *helpertest.Engine, transfer string, files map[string]string) (*helper.Session, *backupset.Folder, *helpertest.Helper) {
	t.Helper()
	ctx := context.Background()
	folder, err := backupset.Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	target, err := deployment.FindTarget(ctx, eng, deployment.TargetOptions{})
	assert.NilError(t, err)
	s, err := helper.OpenSession(ctx, eng, folder, target, helper.SessionOptions{Command: "backup", Image: "neo4j:5.26.0-enterprise", Transfer: transfer}, progress.Nop)
	assert.NilError(t, err)
	h := eng.Helpers[len(eng.Helpers)-1]
	for name, data := range files {
		assert.NilError(t, h.WriteFile(helper.WorkDir+"/"+name, []byte(data)))
	}
	return s, folder, h
}

func sum(data string) string {
	s := sha256.Sum256([]byte(data))
	return hex.EncodeToString(s[:])
}

// With bind transfer the files are hashed while the helper still works, and
// Release removes the helper (its work dir emptied but for the files still on
// their way) before they are put in place; Close waits for it and leaves no
// staging dir.
func TestReleaseRemovesTheHelperWhileFilesArePutInPlace(t *testing.T) {
	ctx := context.Background()
	eng := helpertest.New()
	files := map[string]string{neo4jArtifact: "neo4j data", systemArtifact: "system data", "other.log": "log"}
	s, folder, h := session(t, eng, helper.TransferBind, files)
	assert.Equal(t, s.Mode, helper.TransferBind)

	listed, err := s.ListFiles(ctx, helper.WorkDir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listed, 3))

	fetches := s.StartFetches(ctx, folder, "", []string{neo4jArtifact, systemArtifact}, false)
	defer fetches.Abort()
	s.Release(ctx, fetches)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if h.Removed() {
			return poll.Success()
		}
		return poll.Continue("helper not removed yet")
	}, poll.WithTimeout(10*time.Second))
	// The helper emptied its work dir but for the busy files (as root, the
	// client empties it itself at Close).
	left := h.Files(helper.WorkDir)
	assert.Check(t, is.Contains(left, neo4jArtifact))
	assert.Check(t, is.Contains(left, systemArtifact))

	for _, name := range []string{systemArtifact, neo4jArtifact} { // any order
		rec, err := fetches.Finish(ctx, name)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(rec.SHA256, sum(files[name])))
	}
	s.Close(ctx)

	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{neo4jArtifact, systemArtifact}))
	helpertest.AssertNoLeftovers(t, folder)
	assert.Check(t, is.Len(eng.Running(), 0))
	assert.Check(t, is.Len(helpertest.CallsWith(eng.CallLog(), "remove-helper"), 1), "removed once")
}

// With stream transfer the downloads wait for the first Finish; Abort
// removes what was downloaded but not finished.
func TestAbortRemovesWhatWasNotFinished(t *testing.T) {
	ctx := context.Background()
	eng := helpertest.New()
	files := map[string]string{neo4jArtifact: "neo4j data", systemArtifact: "system data"}
	s, folder, _ := session(t, eng, helper.TransferStream, files)
	defer s.Close(ctx)

	fetches := s.StartFetches(ctx, folder, "", []string{neo4jArtifact, systemArtifact}, false)
	time.Sleep(50 * time.Millisecond)
	assert.Check(t, is.Len(helpertest.CallsWith(eng.CallLog(), "copy-from"), 0), "nothing downloaded before Finish")
	rec, err := fetches.Finish(ctx, neo4jArtifact)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(rec.SHA256, sum(files[neo4jArtifact])))
	fetches.Abort()

	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{neo4jArtifact}))
	helpertest.AssertNoLeftovers(t, folder)
}

// A failed fetch stops the ones after it; nothing is left in the folder.
func TestAFailedFetchSkipsTheRest(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) {
			ctx := context.Background()
			eng := helpertest.New()
			s, folder, h := session(t, eng, transfer, map[string]string{systemArtifact: "system data"})
			names := []string{neo4jArtifact, systemArtifact} // the first is missing
			if transfer == helper.TransferStream {
				assert.NilError(t, h.WriteFile(helper.WorkDir+"/"+neo4jArtifact, []byte("x")))
				eng.Faults["copy-from"] = &helpertest.Fault{Err: errors.New("daemon gone"), Times: 1}
			}

			fetches := s.StartFetches(ctx, folder, "", names, false)
			_, err := fetches.Finish(ctx, neo4jArtifact)
			assert.Check(t, err != nil)
			_, err = fetches.Finish(ctx, systemArtifact)
			assert.Check(t, is.ErrorContains(err, "an earlier file failed"))
			fetches.Abort()
			s.Close(ctx)

			assert.Check(t, is.Len(helpertest.FolderFiles(t, folder), 0))
		})
	}
}

// Cancelling the run stops the background work; Abort waits for it.
func TestFetchesHonourCancellation(t *testing.T) {
	eng := helpertest.New()
	s, folder, _ := session(t, eng, helper.TransferStream, map[string]string{neo4jArtifact: "neo4j data"})
	defer s.Close(context.Background())
	eng.Faults["copy-from"] = &helpertest.Fault{Block: true}
	ctx, cancel := context.WithCancel(context.Background())
	fetches := s.StartFetches(ctx, folder, "", []string{neo4jArtifact}, false)
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := fetches.Finish(ctx, neo4jArtifact)
	assert.Check(t, is.ErrorIs(err, context.Canceled))
	fetches.Abort()
	assert.Check(t, is.Len(helpertest.FolderFiles(t, folder), 0))
}

// neo4j-admin --version runs once per session, however many ask at once.
func TestAdminVersionIsAskedOnce(t *testing.T) {
	ctx := context.Background()
	eng := helpertest.New()
	s, _, _ := session(t, eng, helper.TransferStream, nil)
	defer s.Close(ctx)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.AdminVersion(ctx)
			assert.Check(t, err)
			assert.Check(t, is.Equal(v, "5.26.0"))
		}()
	}
	wg.Wait()
	assert.Check(t, is.Len(helpertest.CallsWith(eng.CallLog(), "exec neo4j-admin --version"), 1))
}

func TestInOrderReturnsWhatASequentialRunWould(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	started := make(chan struct{}, 4)
	var cancelled sync.WaitGroup
	cancelled.Add(1)
	err := helper.InOrder(context.Background(),
		func(context.Context) error { started <- struct{}{}; time.Sleep(30 * time.Millisecond); return nil },
		func(context.Context) error { started <- struct{}{}; time.Sleep(20 * time.Millisecond); return first },
		func(context.Context) error { started <- struct{}{}; return second }, // fails sooner, but comes later
		func(ctx context.Context) error { // runs until cancelled
			defer cancelled.Done()
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		},
	)
	assert.Check(t, is.ErrorIs(err, first))
	assert.Check(t, is.Len(started, 4), "every check ran")
	cancelled.Wait() // InOrder returned after the blocked check did

	assert.NilError(t, helper.InOrder(context.Background()))
	// All at once: each waits for the others to start.
	var ready sync.WaitGroup
	ready.Add(3)
	check := func(context.Context) error {
		ready.Done()
		done := make(chan struct{})
		go func() { ready.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("the checks did not run concurrently")
		}
	}
	assert.NilError(t, helper.InOrder(context.Background(), check, check, check))
}
