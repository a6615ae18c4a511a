package s3location_test

import (
	"io"
	"runtime"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

// zeros is an endless stream of zero bytes, read n at a time.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.left)
	clear(p[:n])
	z.left -= n
	return int(n), nil
}

// TestUploadMemoryIsBoundedByThePart: a stream of unknown size many times
// the part size is uploaded and downloaded with allocations far below its
// size: three part buffers (two in flight, one filling), the object never
// held whole (measured: 16-20 MiB allocated in all for 64 MiB with 5 MiB
// parts; the rest is per-request garbage, not live memory).
func TestUploadMemoryIsBoundedByThePart(t *testing.T) {
	loc, _ := open(t, "mem")
	const size = 64 << 20 // 12.8 parts of 5 MiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := loc.Create(t.Context(), "big", backupset.CreateOptions{Size: -1})
	assert.NilError(t, err)
	_, err = io.Copy(w, &zeros{left: size})
	assert.NilError(t, err)
	rec, err := w.Commit()
	assert.NilError(t, err)
	assert.Equal(t, rec.Size, int64(size))
	rc, _, err := loc.Open(t.Context(), "big")
	assert.NilError(t, err)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	assert.NilError(t, err)
	assert.Equal(t, n, int64(size))
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d MiB for a %d MiB object with %d MiB parts", allocated>>20, size>>20, s3location.MinPartSize>>20)
	assert.Assert(t, allocated < size/2, "allocated %d bytes for a %d byte object", allocated, size)
}
