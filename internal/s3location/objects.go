package s3location

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// putSmall sends data as one PUT with its exact size and Content-MD5 (a size
// of -1 would make minio-go start a multipart upload even for 20 bytes).
func (l *Location) putSmall(ctx context.Context, key string, data []byte, cond func(*minio.PutObjectOptions)) (minio.UploadInfo, error) {
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if cond != nil {
		cond(&opts)
	}
	info, err := l.core.PutObject(ctx, l.bucket, key, bytes.NewReader(data), int64(len(data)), md5Base64(data), "", opts)
	return info, l.describeErr("write", strings.TrimPrefix(key, l.prefix), err)
}

func md5Base64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// Create starts a create-only upload. Up to one part it stays in memory and
// goes out as one PUT; beyond, as a multipart upload with partsInFlight
// parts in flight while the next one fills: a part buffer more than that,
// reused by the next upload.
func (l *Location) Create(ctx context.Context, name string, o backupset.CreateOptions) (backupset.ObjectWriter, error) {
	key, err := l.key(name)
	if err != nil {
		return nil, err
	}
	if key == l.prefix+LeaseName || key == l.prefix+MarkerName {
		return nil, fmt.Errorf("%s is reserved for the location itself", name)
	}
	partSize := l.partSize
	if o.Size > 0 {
		// Sized from the artifact: never more than 10 000 parts.
		partSize = max(partSize, (o.Size+maxParts-1)/maxParts)
	}
	w := &writer{l: l, ctx: ctx, name: name, key: key, partSize: partSize, sum: sha256.New(), partMD5: md5.New()}
	if o.Size >= 0 && o.Size < partSize {
		w.buf = make([]byte, 0, o.Size) // one PUT: no part buffer needed
	} else {
		w.buf = w.partBuf()
	}
	return w, nil
}

// getBuf takes a part buffer of l.partSize from the spares of earlier
// uploads, or makes one.
func (l *Location) getBuf() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b[:0]
	}
	return make([]byte, 0, l.partSize)
}

// putBuf keeps a part buffer for the next upload (as many as one upload
// uses; uploads of one run go one after the other).
func (l *Location) putBuf(b []byte) {
	if int64(cap(b)) != l.partSize {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spare) < partsInFlight+1 {
		l.spare = append(l.spare, b[:0])
	}
}

// partsInFlight is how many parts an upload sends at once while the next
// one fills: each costs a part buffer. Two: with the payload unsigned and
// each part's MD5 taken as it fills, one part at a time left the writer
// waiting on the server's answer (256 MiB into a local versitygw: 1.35 s
// with one, 1.05 s with two; a third part buffer, 8 MiB, is the cost).
var partsInFlight = 2

type writer struct {
	l        *Location
	ctx      context.Context
	name     string
	key      string
	partSize int64
	buf      []byte   // the part being filled
	spare    [][]byte // part buffers whose upload is done
	sum      hash.Hash
	// partMD5 hashes the part being filled as it fills, for its
	// Content-MD5: the writer's goroutine mostly waits for its source,
	// and the part goes out as soon as it is full instead of after a
	// pass of MD5 over it (about 12 ms per 8 MiB here).
	partMD5  hash.Hash
	size     int64
	uploadID string
	parts    []minio.CompletePart
	flights  []*inflight // the parts being uploaded, oldest first
	done     bool
	err      error
}

// inflight is a part being uploaded by its own goroutine.
type inflight struct {
	num    int
	buf    []byte
	md5    string // base64, for Content-MD5
	cancel context.CancelFunc
	finish chan struct{} // closed when etag and err are set
	etag   string
	err    error
}

func (w *writer) partBuf() []byte {
	if w.partSize == w.l.partSize {
		return w.l.getBuf()
	}
	return make([]byte, 0, w.partSize)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("write after commit or abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	w.sum.Write(p)
	w.size += int64(n)
	for len(p) > 0 {
		if int64(len(w.buf)) == w.partSize {
			if w.err = w.flushPart(); w.err != nil {
				return 0, w.err
			}
		}
		k := min(int(w.partSize)-len(w.buf), len(p))
		if len(w.buf)+k > cap(w.buf) {
			// Grown past the announced size: take a whole part buffer.
			w.buf = append(w.partBuf(), w.buf...)
		}
		w.buf = append(w.buf, p[:k]...)
		w.partMD5.Write(p[:k])
		p = p[k:]
	}
	return n, nil
}

// flushPart starts the upload of the buffer as the next part (starting the
// multipart upload first), once the part before it is done; the writer
// then fills the other buffer while this one is sent.
func (w *writer) flushPart() error {
	if w.uploadID == "" {
		id, err := w.l.core.NewMultipartUpload(w.ctx, w.l.bucket, w.key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return w.l.describeErr("start upload of", w.name, err)
		}
		w.uploadID = id
	}
	for len(w.flights) >= partsInFlight {
		if err := w.wait(); err != nil {
			return err
		}
	}
	num := len(w.parts) + len(w.flights) + 1
	if num > maxParts {
		return fmt.Errorf("upload of %s to %s: more than %d parts of %d bytes; raise --s3-part-size", w.name, w.l.Describe(), maxParts, w.partSize)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	f := &inflight{num: num, buf: w.buf, md5: base64.StdEncoding.EncodeToString(w.partMD5.Sum(nil)), cancel: cancel, finish: make(chan struct{})}
	w.partMD5.Reset()
	go func() {
		defer close(f.finish)
		// Content-MD5 is the part's transport check, which every S3 store
		// verifies (and Object Lock requires). The payload itself is left
		// unsigned over plain HTTP as over HTTPS, where minio-go always
		// does so: its streaming signature (aws-chunked) would cost a
		// SHA-256 and an HMAC per 64 KiB on both ends for what the signed
		// Content-MD5 already binds; the manifest's SHA-256 proves the
		// content end to end.
		o := minio.PutObjectPartOptions{Md5Base64: f.md5, DisableContentSha256: true}
		part, err := w.l.core.PutObjectPart(ctx, w.l.bucket, w.key, w.uploadID, f.num, bytes.NewReader(f.buf), int64(len(f.buf)), o)
		f.etag, f.err = part.ETag, w.l.describeErr(fmt.Sprintf("upload part %d of", f.num), w.name, err)
	}()
	w.flights = append(w.flights, f)
	if n := len(w.spare); n > 0 {
		w.buf, w.spare = w.spare[n-1][:0], w.spare[:n-1]
	} else {
		w.buf = w.partBuf()
	}
	return nil
}

// wait waits for the oldest part in flight, if any, and records it.
func (w *writer) wait() error {
	if len(w.flights) == 0 {
		return nil
	}
	f := w.flights[0]
	<-f.finish
	f.cancel()
	w.flights = w.flights[1:]
	w.spare = append(w.spare, f.buf)
	if f.err != nil {
		return f.err
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: f.num, ETag: f.etag})
	return nil
}

// release hands the part buffers back to the location for the next upload.
func (w *writer) release() {
	w.l.putBuf(w.buf)
	for _, b := range w.spare {
		w.l.putBuf(b)
	}
	w.buf, w.spare = nil, nil
}

func (w *writer) Commit() (backupset.FileRecord, error) {
	if w.done {
		return backupset.FileRecord{}, fmt.Errorf("%s: already committed or aborted", w.name)
	}
	if w.err != nil {
		w.Abort()
		return backupset.FileRecord{}, w.err
	}
	var err error
	if w.uploadID == "" {
		_, err = w.l.putSmall(w.ctx, w.key, w.buf, func(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") })
	} else {
		if len(w.buf) > 0 {
			err = w.flushPart()
		}
		for err == nil && len(w.flights) > 0 {
			err = w.wait()
		}
		if err == nil {
			opts := minio.PutObjectOptions{}
			opts.SetMatchETagExcept("*") // minio-go's PutObject would drop this
			_, err = w.l.core.CompleteMultipartUpload(w.ctx, w.l.bucket, w.key, w.uploadID, w.parts, opts)
			err = w.l.describeErr("complete upload of", w.name, err)
		}
	}
	if err != nil {
		w.Abort()
		return backupset.FileRecord{}, err
	}
	w.done = true
	w.release()
	return backupset.FileRecord{
		Name:   w.name,
		Size:   w.size,
		SHA256: hex.EncodeToString(w.sum.Sum(nil)),
		Added:  time.Now().UTC(),
	}, nil
}

// Abort cancels the part in flight and waits for it, then drops the
// multipart upload, with a context of its own (the run's may be cancelled:
// that is often why we abort).
func (w *writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	for _, f := range w.flights {
		f.cancel()
	}
	for len(w.flights) > 0 {
		_ = w.wait()
	}
	w.release()
	if w.uploadID != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
		defer cancel()
		_ = w.l.core.AbortMultipartUpload(ctx, w.l.bucket, w.key, w.uploadID) // else a leftover for prune
	}
}

// Open streams a committed object.
func (l *Location) Open(ctx context.Context, name string) (io.ReadCloser, backupset.ObjectInfo, error) {
	key, err := l.key(name)
	if err != nil {
		return nil, backupset.ObjectInfo{}, err
	}
	rc, info, _, err := l.core.GetObject(ctx, l.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, backupset.ObjectInfo{}, l.describeErr("read", name, err)
	}
	return &body{ReadCloser: rc, l: l, name: name, size: info.Size}, backupset.ObjectInfo{Name: name, Size: info.Size, Modified: info.LastModified.UTC()}, nil
}

// Stat describes a committed object.
func (l *Location) Stat(ctx context.Context, name string) (backupset.ObjectInfo, error) {
	key, err := l.key(name)
	if err != nil {
		return backupset.ObjectInfo{}, err
	}
	info, err := l.client.StatObject(ctx, l.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return backupset.ObjectInfo{}, l.describeErr("stat", name, err)
	}
	return backupset.ObjectInfo{Name: name, Size: info.Size, Modified: info.LastModified.UTC()}, nil
}

// List lists committed objects under prefix, leaving out the lease and marker.
func (l *Location) List(ctx context.Context, prefix string) ([]backupset.ObjectInfo, error) {
	var out []backupset.ObjectInfo
	for o := range l.client.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: l.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, l.describeErr("list", "", o.Err)
		}
		name := strings.TrimPrefix(o.Key, l.prefix)
		if name == LeaseName || name == MarkerName || backupset.CheckObjectName(name) != nil {
			continue
		}
		out = append(out, backupset.ObjectInfo{Name: name, Size: o.Size, Modified: o.LastModified.UTC()})
	}
	slices.SortFunc(out, func(a, b backupset.ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete removes an object; S3 answers a delete of a missing key with success.
func (l *Location) Delete(ctx context.Context, name string) error {
	key, err := l.key(name)
	if err != nil {
		return err
	}
	return l.describeErr("delete", name, l.client.RemoveObject(ctx, l.bucket, key, minio.RemoveObjectOptions{}))
}

// Leftovers lists the incomplete multipart uploads under the prefix.
func (l *Location) Leftovers(ctx context.Context) ([]backupset.Leftover, error) {
	var out []backupset.Leftover
	for u := range l.client.ListIncompleteUploads(ctx, l.bucket, l.prefix, true) {
		if u.Err != nil {
			return nil, l.describeErr("list incomplete uploads in", "", u.Err)
		}
		out = append(out, backupset.Leftover{Name: strings.TrimPrefix(u.Key, l.prefix), Kind: "incomplete upload", Started: u.Initiated.UTC(), ID: u.UploadID})
	}
	return out, nil
}

// RemoveLeftover aborts an incomplete upload.
func (l *Location) RemoveLeftover(ctx context.Context, lo backupset.Leftover) error {
	key, err := l.key(lo.Name)
	if err != nil {
		return err
	}
	return l.describeErr("abort upload of", lo.Name, l.core.AbortMultipartUpload(ctx, l.bucket, key, lo.ID))
}
