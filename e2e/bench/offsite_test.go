//go:build bench

package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

// offsiteRows are the S3 rows of issue 19: backup s3:// of the object
// storage against the same bytes put to the same server (versitygw on
// 127.0.0.1) by a minimal minio-go multipart upload, the download against a
// minimal GetObject, what age adds, and the plugin's peak memory with S3
// and encryption on at a small and a big size. The storage is the
// component measured: its archive is as big as the files seeded, with no
// database between the plugin and the bytes.
//
// backup s3:// streams the archive from the helper through the plugin into
// the location's parts (docs/offsite.md): its wall time holds the helper's
// start and the archive's capture as well, so it is also shown against the
// capture streamed to the same server with nothing in between: docker cp of
// the storage piped into a minimal PutObject.
func (b *bench) offsiteRows(tbl *table, c *kit.Compose) {
	t, runs := b.t, b.runs
	small := int64(envInt("INFRAHUBDB_BENCH_OFFSITE_SMALL_MIB", 64))
	big := int64(envInt("INFRAHUBDB_BENCH_OFFSITE_MIB", 256))
	server := c.Service(t, kit.ServiceServer)
	ctr := c.Service(t, kit.ServiceDatabase).Name
	loc := kit.NewS3Location(t, "bench")
	recipients := writeRecipients(t)
	st := &storageSeeder{b: b, container: server.ID, rng: newRNG("offsite")}

	backupS3 := func(prefix string, encrypt bool) run {
		args := []string{"infrahubdb", "backup", loc.URL + "/" + prefix, "--component", "storage", "--database-container", ctr, "--progress", "json"}
		if encrypt {
			args = append(args, "--encrypt-to", recipients)
		}
		return b.plugin(loc.Env, args...)
	}

	st.seed(small)
	var smallEnc []run
	for i := 0; i < runs; i++ {
		smallEnc = append(smallEnc, backupS3(fmt.Sprintf("small-enc-%d", i), true))
	}

	st.seed(big)
	// The archive the plugin stores, for the floors: a folder backup of the
	// same storage.
	dir := b.folder()
	b.plugin(nil, "infrahubdb", "backup", dir, "--component", "storage", "--database-container", ctr, "--progress", "quiet")
	archiveName, size := b.largest(dir, "*.tar")
	archive := filepath.Join(dir, archiveName)

	cl := floorClient(t, loc)
	var plain, enc, up, down []run
	var upFloor, md5Floor, pipeFloor, downFloor []float64
	// Each plugin run right before its floor: the machine's load changes
	// from minute to minute. Every measure starts with the disk's
	// write-back of the ones before it done (each writes the archive
	// into the server's directory): else whichever comes next pays for it.
	measure := func(f func()) {
		syncDisk(t)
		f()
	}
	for i := 0; i < runs; i++ {
		prefix := fmt.Sprintf("big-%d", i)
		measure(func() {
			r := backupS3(prefix, false)
			r.bytes = size
			plain = append(plain, r)
		})
		measure(func() {
			upFloor = append(upFloor, b.floorPut(cl, loc.Bucket, fmt.Sprintf("floor/%d.tar", i), archive, false))
		})
		measure(func() {
			md5Floor = append(md5Floor, b.floorPut(cl, loc.Bucket, fmt.Sprintf("floor/md5-%d.tar", i), archive, true))
		})
		measure(func() {
			pipeFloor = append(pipeFloor, b.floorPipe(cl, loc.Bucket, fmt.Sprintf("floor/pipe-%d.tar", i), server.ID, "/opt/infrahub/storage"))
		})
		// The plugin's S3 leg alone: the same archive read from disk.
		measure(func() {
			r := b.plugin(loc.Env, "infrahubdb", "copy", dir, loc.URL+"/copy-"+prefix, "--progress", "json")
			r.bytes = size
			up = append(up, r)
		})
		measure(func() {
			r := backupS3(fmt.Sprintf("big-enc-%d", i), true)
			r.bytes = size
			enc = append(enc, r)
		})
		// Both downloads read the object from the page cache (read once
		// first), and take turns to go first: on this VM, writing the
		// same 448 MiB into the page cache and syncing it took 0.2-0.3 s
		// or 0.9-1.4 s depending on what the machine did just before (a
		// plain write loop as much as the plugin; perf puts the time in
		// the kernel's copy into the page cache, copy_folio_from_iter_atomic).
		key := b.archiveKey(cl, loc, prefix)
		b.readObject(cl, loc.Bucket, key)
		pluginDown := func() {
			into := b.folder()
			measure(func() {
				r := b.plugin(loc.Env, "infrahubdb", "copy", loc.URL+"/"+prefix, into, "--progress", "json")
				r.bytes = size
				down = append(down, r)
			})
			b.removeFolder(into)
		}
		// The floor reads the very object the plugin read.
		floorDown := func() { measure(func() { downFloor = append(downFloor, b.floorGet(cl, loc.Bucket, key)) }) }
		if i%2 == 0 {
			pluginDown()
			floorDown()
		} else {
			floorDown()
			pluginDown()
		}
	}
	b.removeFolder(dir)

	tbl.section(fmt.Sprintf("Off-site: the object storage (%d MiB archive) to and from S3 (versitygw on 127.0.0.1, posix backend on the same disk)", size/mib))
	tbl.add(wallThroughputRow("backup s3:// --component storage vs minio-go PutObject (16 MiB parts) of the archive", plain, upFloor))
	tbl.add(wallThroughputRow("  the same vs minio-go PutObject of the archive with Content-MD5 (SendContentMd5), the plugin's per-part check", plain, md5Floor))
	tbl.add(wallThroughputRow("  the same vs docker cp container:/opt/infrahub/storage - piped into minio-go PutObject (16 MiB parts)", plain, pipeFloor))
	tbl.add(wallThroughputRow("copy FOLDER s3://… (the archive from disk, checked) vs minio-go PutObject with Content-MD5", up, md5Floor))
	tbl.add(wallThroughputRow("backup s3:// --component storage --encrypt-to vs docker cp … piped into minio-go PutObject", enc, pipeFloor))
	tbl.add(overheadRow("backup s3:// --encrypt-to (age X25519): wall vs unencrypted", pair(enc, plain), wall, pairedWall))
	tbl.add(wallThroughputRow("copy s3://… FOLDER (download, checked) vs minio-go GetObject into a file, then sync", down, downFloor))
	tbl.add(pairedThroughputRow("  its download step alone", down, "download ", downFloor))
	tbl.add(memoryRow(fmt.Sprintf("backup s3:// --encrypt-to, %d MiB vs %d MiB", big, small), smallEnc, enc))
}

// syncDisk waits for the machine's dirty pages to reach the disk.
func syncDisk(t interface{ Fatalf(string, ...any) }) {
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		t.Fatalf("bench: sync: %v: %s", err, out)
	}
}

// newRNG is a reproducible source of incompressible bytes.
func newRNG(seed string) *rand.ChaCha8 {
	var s [32]byte
	copy(s[:], seed)
	return rand.NewChaCha8(s)
}

// pair stores each run of b in its a counterpart, for overheadRow.
func pair(a, b []run) []run {
	out := make([]run, len(a))
	for i := range a {
		out[i] = a[i]
		out[i].other = &b[i]
	}
	return out
}

func pairedWall(r run) time.Duration { return r.other.wall }

// wallThroughputRow compares bytes per second of wall time with a floor
// measured right after each run; the ratio is the median of the pairs'.
func wallThroughputRow(label string, runs []run, floor []float64) row {
	var f, ratios []float64
	for i, r := range runs {
		v := float64(r.bytes) / r.wall.Seconds()
		f = append(f, v)
		if i < len(floor) && floor[i] > 0 {
			ratios = append(ratios, v/floor[i])
		}
	}
	return row{label: label, figure: spread(f, mibPerSec), floor: spread(floor, mibPerSec),
		ratio: fmt.Sprintf("%.2f", median(ratios)), overhead: "—"}
}

// floorClient is the minimal minio-go client of the floors: path-style, the
// test server's static credentials.
func floorClient(t interface{ Fatal(...any) }, loc *kit.S3Location) *minio.Client {
	host := strings.TrimPrefix(loc.Server.Endpoint, "http://")
	cl, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// floorPut uploads file as key in 16 MiB parts and returns bytes/s.
// minio-go's default checks each part with a CRC32C header; withMD5 sends
// Content-MD5 instead, as the plugin does (docs/offsite.md: Backblaze B2,
// Cloudflare R2 and others refuse x-amz-checksum headers; every S3 store
// checks Content-MD5).
func (b *bench) floorPut(cl *minio.Client, bucket, key, file string, withMD5 bool) float64 {
	t := b.t
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	start := time.Now()
	if _, err := cl.PutObject(context.Background(), bucket, key, f, st.Size(), minio.PutObjectOptions{PartSize: 16 * mib, SendContentMd5: withMD5}); err != nil {
		t.Fatalf("bench: floor upload: %v", err)
	}
	d := time.Since(start)
	t.Logf("floor minio-go PutObject (Content-MD5: %t): %d MiB in %s", withMD5, st.Size()/mib, d.Round(time.Millisecond))
	return float64(st.Size()) / d.Seconds()
}

// floorPipe streams docker cp of path in container (a tar, as the plugin's
// archive) into key with an unknown size, in 16 MiB parts, and returns
// bytes/s: the capture and the upload overlapped, nothing else.
func (b *bench) floorPipe(cl *minio.Client, bucket, key, container, path string) float64 {
	t := b.t
	start := time.Now()
	cmd := exec.Command("docker", "cp", container+":"+path, "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	info, err := cl.PutObject(context.Background(), bucket, key, out, -1, minio.PutObjectOptions{PartSize: 16 * mib})
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		t.Fatalf("bench: floor docker cp | PutObject: %v", err)
	}
	d := time.Since(start)
	t.Logf("floor docker cp | minio-go PutObject: %d MiB in %s", info.Size/mib, d.Round(time.Millisecond))
	return float64(info.Size) / d.Seconds()
}

// archiveKey is the key of the archive of the run stored under prefix in
// loc.
func (b *bench) archiveKey(cl *minio.Client, loc *kit.S3Location, prefix string) string {
	for o := range cl.ListObjects(context.Background(), loc.Bucket, minio.ListObjectsOptions{Prefix: loc.Prefix + "/" + prefix + "/runs/", Recursive: true}) {
		if o.Err != nil {
			b.t.Fatalf("bench: list %s: %v", prefix, o.Err)
		}
		if strings.HasSuffix(o.Key, ".tar") {
			return o.Key
		}
	}
	b.t.Fatalf("bench: no archive under %s/%s", loc.Prefix, prefix)
	return ""
}

// readObject reads key once, unmeasured, into the page cache.
func (b *bench) readObject(cl *minio.Client, bucket, key string) {
	obj, err := cl.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = io.Copy(io.Discard, obj)
		obj.Close()
	}
	if err != nil {
		b.t.Fatalf("bench: read %s: %v", key, err)
	}
}

// floorGet downloads key into a file, synced as the plugin syncs its
// files, and returns bytes/s.
func (b *bench) floorGet(cl *minio.Client, bucket, key string) float64 {
	t := b.t
	file := filepath.Join(b.folder(), "floor")
	defer b.removeFolder(filepath.Dir(file))
	start := time.Now()
	obj, err := cl.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("bench: floor download: %v", err)
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(f, obj)
	obj.Close()
	f.Close()
	if err != nil {
		t.Fatalf("bench: floor download: %v", err)
	}
	syncFile(t, file)
	d := time.Since(start)
	t.Logf("floor minio-go GetObject: %d MiB in %s", n/mib, d.Round(time.Millisecond))
	return float64(n) / d.Seconds()
}

// writeRecipients writes a fresh age X25519 recipient into a file, as an
// operator's --encrypt-to file.
func writeRecipients(t interface {
	Fatal(...any)
	TempDir() string
}) string {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ops.recipients")
	if err := os.WriteFile(file, []byte(id.Recipient().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
