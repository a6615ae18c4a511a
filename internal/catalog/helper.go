package catalog

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// HelperOptions choose the helper container that runs neo4j-admin for
// list --inspect, verify --check and verify --adopt. It needs no database:
// only an image with neo4j-admin.
type HelperOptions struct {
	Image             string // "" : the database container's Enterprise image, else the default
	DatabaseContainer string // where to take the image from; "" finds the labelled container
	RegistryAuth      func(ref string) (string, error)
	Transfer          string // helper.TransferAuto, TransferBind or TransferStream
	KeepHelper        bool
	// dumpsOnly: neo4j-admin only checks dumps (verify --check of a folder
	// whose newest chains are all Community dumps), which a Community
	// image does too: a Community database container's own image serves.
	dumpsOnly bool
}

// openHelper starts a helper for the folder. copySeeds makes seeded files
// private copies rather than hard links, so neo4j-admin may rewrite them
// (aggregation before a check) without touching the backups.
func openHelper(ctx context.Context, eng helper.Engine, folder *backupset.Folder, opts HelperOptions, copySeeds bool, pw progress.Writer) (*helper.Session, error) {
	image, own, err := helperImage(ctx, eng, opts)
	if err != nil {
		return nil, err
	}
	// The Community database container's own image is on the host, and
	// EnsureImage refuses Community images (which cannot back up or
	// restore an online database): it serves a check of dumps only.
	if !own {
		if err := helper.EnsureImage(ctx, eng, image, opts.RegistryAuth, pw); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(folder.Dir)
	if err != nil {
		abs = folder.Dir
	}
	// The helper serves the folder, not a database: its lock key names the
	// folder, so it never blocks a backup or restore of the database.
	target := helper.Target{LockKey: "folder:" + abs}
	return helper.OpenSession(ctx, eng, folder, target, helper.SessionOptions{
		Command: "verify", Image: image, Transfer: opts.Transfer, KeepHelper: opts.KeepHelper, ReadableSeeds: copySeeds,
	}, pw)
}

// helperImage is the asked image, else the database container's own
// Enterprise image when there is one (or its Community image when only
// dumps are checked), else the pinned default.
func helperImage(ctx context.Context, eng helper.Engine, opts HelperOptions) (image string, communityOwn bool, err error) {
	if opts.Image != "" {
		return opts.Image, false, nil
	}
	c, err := eng.FindDatabase(ctx, opts.DatabaseContainer)
	switch {
	case err == nil && opts.dumpsOnly && helper.Edition(c) == "community":
		return c.Image, true, nil
	case err == nil:
		return helper.ChooseImage("", helper.Target{Container: &c}), false, nil
	case opts.DatabaseContainer == "" && (errors.Is(err, docker.ErrNoDatabase) || isAmbiguous(err)):
		return helper.ChooseImage("", helper.Target{}), false, nil
	}
	return "", false, err
}

func isAmbiguous(err error) bool {
	var a *docker.AmbiguousError
	return errors.As(err, &a)
}
