package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// workDir creates the temporary directory restore, aggregate and check work
// in. [S3][S5] (5.24+): "If --temp-path is not set, a temporary directory is
// created inside the directory specified by the --from-path option" (the
// folder of a file, or the folder itself); --temp-path must be an existing
// directory. So a user who cannot write to the backup folder gets an
// AccessDeniedException, as with real Neo4j. The caller removes it.
func workDir(fromDir, tempPath string) (string, func(), error) {
	base := fromDir
	if tempPath != "" {
		st, err := os.Stat(tempPath)
		if err != nil || !st.IsDir() {
			return "", nil, failed("Temp path '%s' does not exist or is not a directory.", tempPath)
		}
		base = tempPath
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	dir := filepath.Join(base, ".neo4j-admin-temp-"+hex.EncodeToString(b))
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "", nil, failed("java.nio.file.AccessDeniedException: %s", dir)
		}
		return "", nil, failed("Unable to create the temporary directory %s: %v", dir, err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// stage copies the chain's transactions into the work directory, the way
// the real tool extracts artifacts there before using them (so the space
// and the permission are really needed).
func stage(dir string, txs []store.RawTx) error {
	p := filepath.Join(dir, "staged.log")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("java.nio.file.AccessDeniedException: %s", p)
		}
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := store.WriteRawTxs(w, txs); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
