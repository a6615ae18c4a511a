package offsite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// origin is the run a location's run stands for: the folder run it was
// copied from, else itself.
func origin(m *backupset.RunManifest) string {
	if m.CopiedFrom != "" {
		return m.CopiedFrom
	}
	return m.Run.ID
}

// BetweenLocations copies runs from one location to another (a migration
// between providers, a second off-site copy): every run of src that dst does
// not have yet, or those named. Stored bytes are copied as they are (an
// encrypted run stays encrypted to the same recipients; no key is needed),
// each checked against the source manifest before it is committed, and each
// run's manifest is written last. It holds dst's lease.
func BetweenLocations(ctx context.Context, src, dst backupset.Location, runs []string, allowMixed bool, pw progress.Writer) (*CopyResult, error) {
	lease, err := dst.Lock(ctx, "copy")
	if err != nil {
		return nil, err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	from, err := backupset.ListRuns(ctx, src)
	if err != nil {
		return nil, err
	}
	to, err := backupset.ListRuns(ctx, dst)
	if err != nil {
		return nil, err
	}
	if err := copyKeys(ctx, src, dst); err != nil {
		return nil, err
	}
	present := map[string]bool{}
	dstID := map[string]string{} // origin → dst's run ID, for bases
	for _, m := range to.Runs {
		present[origin(m)] = true
		dstID[origin(m)] = m.Run.ID
	}
	srcOrigin := map[string]string{}
	for _, m := range from.Runs {
		srcOrigin[m.Run.ID] = origin(m)
	}
	res := &CopyResult{}
	for _, m := range from.Runs {
		if len(runs) > 0 && !slices.Contains(runs, m.Run.ID) {
			continue
		}
		if present[origin(m)] {
			res.Present = append(res.Present, m.Run.ID)
			continue
		}
		encrypted := slices.ContainsFunc(m.Files, func(f backupset.RunFile) bool { return f.Encryption != nil })
		if err := agecrypt.CheckConsistent(to.Runs, encrypted, allowMixed); err != nil {
			return res, err
		}
		c := CopiedRun{Source: m.Run.ID, ID: backupset.NewLocationRunID(m.Run.Started)}
		out := *m
		out.Run.ID, out.CopiedFrom, out.Written = c.ID, origin(m), m.Written
		if m.Base != "" {
			// A differential run needs its base in dst (copied before it:
			// runs go oldest first).
			base, ok := dstID[srcOrigin[m.Base]]
			if !ok || srcOrigin[m.Base] == "" {
				return res, fmt.Errorf("run %s depends on run %s, which %s does not hold: copy run %s too (or every run)", m.Run.ID, m.Base, dst.Describe(), m.Base)
			}
			out.Base = base
		}
		for _, f := range m.Files {
			if err := lease.Refresh(ctx); err != nil {
				return res, err
			}
			if err := copyObject(ctx, src, m.Run.ID, dst, c.ID, f, pw); err != nil {
				return res, err
			}
			c.Files++
			c.Bytes += f.Size
		}
		if err := lease.Refresh(ctx); err != nil {
			return res, err
		}
		if err := backupset.CommitRun(ctx, dst, out); err != nil {
			return res, err
		}
		res.Copied = append(res.Copied, c)
		to.Runs = append(to.Runs, &out)
		dstID[origin(m)] = c.ID
	}
	return res, nil
}

// copyObject copies one stored object, committing it only when its bytes
// match the source manifest.
func copyObject(ctx context.Context, src backupset.Location, srcRun string, dst backupset.Location, dstRun string, f backupset.RunFile, pw progress.Writer) error {
	rc, _, err := src.Open(ctx, backupset.ArtifactKey(srcRun, f.Name))
	if err != nil {
		return err
	}
	defer rc.Close()
	obj, err := dst.Create(ctx, backupset.ArtifactKey(dstRun, f.Name), backupset.CreateOptions{Size: f.Size})
	if err != nil {
		return err
	}
	defer obj.Abort()
	h := sha256.New()
	var n int64
	err = progress.RunStep(orNop(pw), progress.Event{ID: "copy " + f.Name, Text: "Copy " + backupset.ArtifactKey(srcRun, f.Name)}, func(s *progress.Step) error {
		n, err = io.Copy(obj, &counting{r: io.TeeReader(rc, h), step: s, total: f.Size})
		return err
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return fmt.Errorf("%s in %s: %d bytes with SHA-256 %s, its manifest records %d bytes with %s; not copied: %w",
			f.Name, src.Describe(), n, got, f.Size, f.SHA256, ErrChecksum)
	}
	_, err = obj.Commit()
	return err
}

// copyKeys copies the passphrase-wrapped location keys (agecrypt.KeysPrefix)
// that dst lacks: without them, runs encrypted to a location key could not be
// opened with the passphrase at their new place.
func copyKeys(ctx context.Context, src, dst backupset.Location) error {
	have, err := dst.List(ctx, agecrypt.KeysPrefix)
	if err != nil {
		return err
	}
	keys, err := src.List(ctx, agecrypt.KeysPrefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if slices.ContainsFunc(have, func(o backupset.ObjectInfo) bool { return o.Name == k.Name }) {
			continue
		}
		data, err := backupset.ReadObject(ctx, src, k.Name, 1<<20)
		if err != nil {
			return err
		}
		if _, err := backupset.WriteObject(ctx, dst, k.Name, data); err != nil {
			return err
		}
	}
	return nil
}
